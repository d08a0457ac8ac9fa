import { describe, expect, it } from 'vitest'
import { backoffMs, BACKOFF_CAP_MS, classify, InvalidTransition, isDue, newOutbox, transition } from '../src/outbox'

describe('outbox', () => {
  it('goes draft -> queued -> sending -> sent', () => {
    let o = newOutbox()
    o = transition(o, { type: 'submit' })
    expect(o.state).toBe('queued')
    o = transition(o, { type: 'start' })
    expect(o.state).toBe('sending')
    o = transition(o, { type: 'succeeded' })
    expect(o).toEqual({ state: 'sent', attempts: 0, nextAttemptAt: null, message: null, code: null })
  })

  it('puts a failed send back in the queue with a growing wait', () => {
    let o = transition(transition(newOutbox(), { type: 'submit' }), { type: 'start' })
    o = transition(o, { type: 'retry', now: 1000, random: () => 0 })
    expect(o.state).toBe('queued')
    expect(o.attempts).toBe(1)
    expect(o.nextAttemptAt).toBe(1000 + 1000)
    expect(isDue(o, 1999)).toBe(false)
    expect(isDue(o, 2000)).toBe(true)
    o = transition(transition(o, { type: 'start' }), { type: 'retry', now: 0, random: () => 0 })
    expect(o.nextAttemptAt).toBe(2000)
  })

  it('never drops a refused visit: it waits as 需处理 with the message, and can be sent again', () => {
    let o = transition(transition(newOutbox(), { type: 'submit' }), { type: 'start' })
    o = transition(o, { type: 'refused', message: '还缺 1 张必需的照片', code: 'evidence_missing' })
    expect(o.state).toBe('attention')
    expect(o.message).toContain('照片')
    expect(transition(o, { type: 'edit' }).state).toBe('draft')
    expect(transition(o, { type: 'submit' }).state).toBe('queued')
  })

  it('brings a sent visit back as 需处理 with the office reason', () => {
    const sent = { ...newOutbox(), state: 'sent' as const }
    const o = transition(sent, { type: 'sent_back', reason: '照片不清楚' })
    expect(o).toMatchObject({ state: 'attention', message: '照片不清楚', code: 'sent_back' })
  })

  it('refuses transitions that make no sense', () => {
    expect(() => transition(newOutbox(), { type: 'start' })).toThrow(InvalidTransition)
    expect(() => transition({ ...newOutbox(), state: 'sent' }, { type: 'edit' })).toThrow(InvalidTransition)
  })

  it('caps the backoff and keeps it above half the ceiling', () => {
    for (let n = 1; n < 30; n++) {
      const lo = backoffMs(n, () => 0), hi = backoffMs(n, () => 1)
      expect(hi).toBeLessThanOrEqual(BACKOFF_CAP_MS)
      expect(lo).toBe(hi / 2)
    }
  })

  it('classifies answers', () => {
    expect([200, 201, 0, 503, 429, 401, 409, 412, 422].map(classify))
      .toEqual(['ok', 'ok', 'retry', 'retry', 'retry', 'auth', 'refused', 'refused', 'refused'])
  })
})
