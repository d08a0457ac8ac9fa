import { describe, expect, it } from 'vitest'
import { changedFields, sameValue } from '../src/stale'

describe('changedFields', () => {
  const base = { id: 1, name: '甲', phone: '1', tags: ['a'], version: 3, updated_at: 'x' }

  it('lists what others changed, with my edit where I touched it too', () => {
    const current = { ...base, name: '乙', tags: ['a', 'b'], version: 4, updated_at: 'y' }
    const out = changedFields(base, current, { name: '丙', phone: '2' })
    expect(out).toEqual([
      { field: 'name', before: '甲', now: '乙', mine: '丙', conflict: true },
      { field: 'tags', before: ['a'], now: ['a', 'b'], conflict: false },
    ])
  })

  it('ignores bookkeeping and treats null and undefined alike', () => {
    expect(changedFields({ ...base, address: null }, { ...base, version: 9 }, {})).toEqual([])
  })

  it('an edit equal to the loaded value is no conflict', () => {
    const out = changedFields(base, { ...base, name: '乙' }, { name: '甲' })
    expect(out[0].conflict).toBe(false)
  })

  it('limits the comparison to the given fields', () => {
    expect(changedFields(base, { ...base, name: '乙', phone: '9' }, {}, ['phone']).map((c) => c.field)).toEqual(['phone'])
  })

  it('compares objects deeply, key order aside', () => {
    expect(sameValue({ a: 1, b: [1, { c: 2 }] }, { b: [1, { c: 2 }], a: 1 })).toBe(true)
    expect(sameValue({ a: 1 }, { a: 1, b: 2 })).toBe(false)
  })
})
