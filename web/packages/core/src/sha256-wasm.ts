// The WebAssembly SHA-256 (hash-wasm), in a module of its own so the app loads it only where the page
// has no Web Crypto (sha256.ts imports it on demand) and the build puts it in a chunk of its own.
export { sha256 } from 'hash-wasm'
