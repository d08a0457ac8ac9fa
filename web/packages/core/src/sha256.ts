// SHA-256 of a photo's bytes, hex. Web Crypto where the page is a secure context (https, localhost);
// otherwise (a phone on http over a LAN has no crypto.subtle) a WebAssembly digest (hash-wasm), and a
// plain-JS one as the last resort, for webviews that refuse WebAssembly too (iOS Lockdown Mode).

const K = new Uint32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
])

function toHex(words: Uint32Array): string {
  let out = ''
  for (const w of words) out += w.toString(16).padStart(8, '0')
  return out
}

/** Plain-JS SHA-256 (FIPS 180-4). About 100 MB/s on a desktop, enough for phone photos. */
export function sha256HexJs(data: Uint8Array): string {
  const h = new Uint32Array([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                             0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19])
  const len = data.length
  const padded = new Uint8Array(((len + 9 + 63) >> 6) << 6)
  padded.set(data)
  padded[len] = 0x80
  const view = new DataView(padded.buffer)
  view.setUint32(padded.length - 8, Math.floor(len / 0x20000000), false)
  view.setUint32(padded.length - 4, (len << 3) >>> 0, false)
  const w = new Uint32Array(64)
  for (let off = 0; off < padded.length; off += 64) {
    for (let i = 0; i < 16; i++) w[i] = view.getUint32(off + i * 4, false)
    for (let i = 16; i < 64; i++) {
      const a = w[i - 15], b = w[i - 2]
      const s0 = ((a >>> 7) | (a << 25)) ^ ((a >>> 18) | (a << 14)) ^ (a >>> 3)
      const s1 = ((b >>> 17) | (b << 15)) ^ ((b >>> 19) | (b << 13)) ^ (b >>> 10)
      w[i] = (w[i - 16] + s0 + w[i - 7] + s1) | 0
    }
    let [a, b, c, d, e, f, g, hh] = h
    for (let i = 0; i < 64; i++) {
      const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7))
      const ch = (e & f) ^ (~e & g)
      const t1 = (hh + S1 + ch + K[i] + w[i]) | 0
      const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10))
      const maj = (a & b) ^ (a & c) ^ (b & c)
      const t2 = (S0 + maj) | 0
      hh = g; g = f; f = e; e = (d + t1) | 0; d = c; c = b; b = a; a = (t1 + t2) | 0
    }
    h[0] += a; h[1] += b; h[2] += c; h[3] += d; h[4] += e; h[5] += f; h[6] += g; h[7] += hh
  }
  return toHex(h)
}

type Subtle = { digest(alg: string, data: Uint8Array): Promise<ArrayBuffer> }
export type Digest = (data: Uint8Array) => Promise<string>

let wasm: Promise<Digest | null> | null = null

/** The WebAssembly SHA-256, loaded once. Call it early where crypto.subtle is missing (the app does at
 * start-up), while the page still has the network it was opened with: a photo taken offline later
 * must not wait for a download. null when it cannot be loaded or instantiated (no WebAssembly). */
export function loadWasmSha256(): Promise<Digest | null> {
  wasm ??= import('./sha256-wasm').then(
    async (m) => { await m.sha256(new Uint8Array()); return m.sha256 }, // instantiates the module now
    () => { wasm = null; return null }, // a chunk that did not arrive: try again next time
  ).catch(() => null) // WebAssembly refused
  return wasm
}

/** Whether this page must hash without Web Crypto. */
export function needsFallbackSha256(): boolean {
  return !(globalThis.crypto as { subtle?: unknown } | undefined)?.subtle
}

/** SHA-256 hex of `data`: Web Crypto when there is one, else WebAssembly, else the JS digest. */
export async function sha256Hex(data: Uint8Array, subtle: Subtle | undefined | null =
  (globalThis.crypto as { subtle?: Subtle } | undefined)?.subtle, fallback: () => Promise<Digest | null> = loadWasmSha256,
): Promise<string> {
  if (subtle) {
    try {
      const buf = await subtle.digest('SHA-256', data)
      return Array.from(new Uint8Array(buf), (b) => b.toString(16).padStart(2, '0')).join('')
    } catch {
      // some webviews expose crypto.subtle but refuse it outside a secure context
    }
  }
  const digest = await fallback()
  if (digest) {
    try {
      return await digest(data)
    } catch { /* out of memory for the module's buffer: the JS digest needs none of its own */ }
  }
  return sha256HexJs(data)
}
