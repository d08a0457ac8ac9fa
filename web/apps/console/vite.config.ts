import vue from '@vitejs/plugin-vue'
import { defineConfig, type Plugin } from 'vite'

// Served by the Flask app at /console/ (same origin as the API): hashed assets under /console/assets/.
// Nothing may come from another site: the build fails when a stylesheet refers to one.
function noCdn(): Plugin {
  return {
    name: 'inspect-no-cdn',
    enforce: 'post',
    generateBundle(_, bundle) {
      for (const file of Object.values(bundle)) {
        if (file.type === 'asset' && file.fileName.endsWith('.css') && typeof file.source === 'string'
            && /url\((https?:)?\/\//.test(file.source)) this.error(`${file.fileName} refers to another site`)
      }
    },
  }
}

export default defineConfig({
  base: '/console/',
  plugins: [vue(), noCdn()],
  build: { outDir: 'dist', emptyOutDir: true, target: 'es2020', chunkSizeWarningLimit: 1200 },
})
