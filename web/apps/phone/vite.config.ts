import vue from '@vitejs/plugin-vue'
import { defineConfig } from 'vite'

// Served by the Flask app at /m/ (same origin as the API): hashed assets under /m/assets/.
export default defineConfig({
  base: '/m/',
  plugins: [vue()],
  build: { outDir: 'dist', emptyOutDir: true, target: 'es2020', chunkSizeWarningLimit: 800 },
})
