import { describe, expect, it } from 'vitest'
import { storable } from '../src/visit'

describe('storable', () => {
  it('replaces a lone surrogate, drops NUL, keeps pairs and everything else', () => {
    const cut = '😀'.slice(0, 1) // half an emoji, as a length limit leaves it
    expect(cut.length).toBe(1)
    expect(storable(`未佩戴${cut}工牌`)).toBe('未佩戴\uFFFD工牌')
    expect(storable('\uDE00尾')).toBe('\uFFFD尾') // a low half alone
    expect(storable('a\u0000b')).toBe('ab')
    expect(storable('笑😀脸')).toBe('笑😀脸')
    expect(JSON.stringify(storable(`x${cut}`))).not.toMatch(/\\ud8/i)
  })

  it('walks objects, arrays and keys, and leaves other values as they are', () => {
    const cut = '😀'.slice(1)
    const input = { note: `备注${cut}`, n: 3, ok: true, none: null, list: [`a\u0000`, { [`k${cut}`]: 'v' }] }
    expect(storable(input)).toEqual({ note: '备注\uFFFD', n: 3, ok: true, none: null, list: ['a', { 'k\uFFFD': 'v' }] })
  })
})
