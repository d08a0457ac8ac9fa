import { createHash, randomBytes } from 'node:crypto'
import { readdirSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { loadWasmSha256, sha256Hex, sha256HexJs } from '../src/sha256'

const ABC = 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'
const nodeHex = (d: Uint8Array) => createHash('sha256').update(d).digest('hex')

/** Real files of the repository (the phone screenshots, PNGs of tens of KB). */
function realFiles(): Uint8Array[] {
  const dir = fileURLToPath(new URL('../../../../docs/screenshots/phone/', import.meta.url))
  return readdirSync(dir).filter((f) => f.endsWith('.png')).slice(0, 4).map((f) => new Uint8Array(readFileSync(dir + f)))
}

describe('sha256', () => {
  it('matches the known vectors', () => {
    expect(sha256HexJs(new Uint8Array())).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855')
    expect(sha256HexJs(new TextEncoder().encode('abc'))).toBe(ABC)
  })

  it('agrees with node on random data of awkward sizes', () => {
    for (const n of [1, 55, 56, 63, 64, 65, 1000, 300_001]) {
      const data = new Uint8Array(randomBytes(n))
      expect(sha256HexJs(data)).toBe(nodeHex(data))
    }
  })

  it('Web Crypto, WebAssembly and JS give the same hash of the same bytes', async () => {
    const wasm = await loadWasmSha256()
    expect(wasm).not.toBeNull()
    const samples = [...realFiles(), new Uint8Array(randomBytes(3 * 1024 * 1024 + 17))] // and a phone-sized photo
    expect(samples.length).toBeGreaterThan(1)
    for (const data of samples) {
      const viaWebCrypto = await sha256Hex(data) // node's crypto.subtle
      const viaWasm = await sha256Hex(data, null) // no crypto.subtle: the WebAssembly digest
      const viaJs = await sha256Hex(data, null, async () => null) // no WebAssembly either
      expect(viaWasm).toBe(viaWebCrypto)
      expect(viaJs).toBe(viaWebCrypto)
      expect(viaWebCrypto).toBe(nodeHex(data))
    }
  })

  it('falls back when crypto.subtle is missing or refuses, and when WebAssembly cannot be had', async () => {
    const data = new TextEncoder().encode('abc')
    expect(await sha256Hex(data, null)).toBe(ABC)
    expect(await sha256Hex(data, { digest: () => Promise.reject(new Error('insecure')) })).toBe(ABC)
    let asked = 0
    expect(await sha256Hex(data, null, async () => { asked++; return null })).toBe(ABC)
    expect(await sha256Hex(data, null, async () => () => Promise.reject(new Error('no memory')))).toBe(ABC)
    expect(asked).toBe(1)
    expect(await sha256Hex(data)).toBe(ABC) // node's Web Crypto
  })

  it('loads the WebAssembly module once', async () => {
    expect(loadWasmSha256()).toBe(loadWasmSha256())
  })
})
