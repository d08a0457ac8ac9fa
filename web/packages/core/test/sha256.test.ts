import { createHash, randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { sha256Hex, sha256HexJs } from '../src/sha256'

describe('sha256', () => {
  it('matches the known vectors', () => {
    expect(sha256HexJs(new Uint8Array())).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855')
    expect(sha256HexJs(new TextEncoder().encode('abc')))
      .toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad')
  })

  it('agrees with node on random data of awkward sizes', () => {
    for (const n of [1, 55, 56, 63, 64, 65, 1000, 300_001]) {
      const data = new Uint8Array(randomBytes(n))
      expect(sha256HexJs(data)).toBe(createHash('sha256').update(data).digest('hex'))
    }
  })

  it('falls back to JS when crypto.subtle is missing or refuses', async () => {
    const data = new TextEncoder().encode('abc')
    const want = 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'
    expect(await sha256Hex(data, null)).toBe(want)
    expect(await sha256Hex(data, { digest: () => Promise.reject(new Error('insecure')) })).toBe(want)
    expect(await sha256Hex(data)).toBe(want) // node's Web Crypto
  })
})
