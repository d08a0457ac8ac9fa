import vue from '@vitejs/plugin-vue'
import { defineConfig, type Plugin } from 'vite'
import { VitePWA } from 'vite-plugin-pwa'

// Served by the Flask app at /m/ (same origin as the API): hashed assets under /m/assets/. Where
// service workers exist, Workbox precaches the page and its assets, so the app opens with no network.
// Vant's icon font names a CDN copy after its inlined WOFF2: nothing may come from a CDN, so drop it.
function noCdn(): Plugin {
  return {
    name: 'inspect-no-cdn',
    enforce: 'post',
    generateBundle(_, bundle) {
      for (const file of Object.values(bundle)) {
        if (file.type === 'asset' && file.fileName.endsWith('.css') && typeof file.source === 'string') {
          file.source = file.source.replace(/,\s*url\(\/\/[^)]*\)\s*format\("[^"]*"\)/g, '')
          if (/url\((https?:)?\/\//.test(file.source)) this.error(`${file.fileName} refers to another site`)
        }
      }
    },
  }
}

export default defineConfig({
  base: '/m/',
  plugins: [
    vue(),
    noCdn(),
    VitePWA({
      registerType: 'autoUpdate',
      injectRegister: 'script',
      manifest: {
        name: '效能督查', short_name: '督查', lang: 'zh-CN', start_url: '/m/', scope: '/m/', display: 'standalone',
        theme_color: '#1989fa', background_color: '#f7f8fa', icons: [],
      },
      workbox: {
        globPatterns: ['**/*.{js,css,html,woff2,svg,png}'],
        navigateFallback: '/m/index.html',
        navigateFallbackAllowlist: [/^\/m\//],
        cleanupOutdatedCaches: true,
      },
    }),
  ],
  build: { outDir: 'dist', emptyOutDir: true, target: 'es2020', chunkSizeWarningLimit: 800 },
})
