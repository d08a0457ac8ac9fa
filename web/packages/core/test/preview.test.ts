import { describe, expect, it } from 'vitest'
import { answerFails, preview, type ChecklistTemplate } from '../src/preview'
import { syncItem, type LocalVisit } from '../src/visit'
import { newOutbox } from '../src/outbox'

const T: ChecklistTemplate = {
  code: 't', version: 1, title: 'T',
  systems: [{ code: 's', label: 'S', items: [
    { code: 'A1', question: '工牌?', answer_type: 'yes_no', fail_answer: 'no', category: 'badge_missing',
      severity: 'minor', points: 2, photo_required: true },
    { code: 'A2', question: '回执?', answer_type: 'choice', choices: [{ code: 'ok', label: '有' }, { code: 'none', label: '无' }],
      fail_choices: ['none'], category: 'no_receipt', severity: 'serious', points: 5 },
    { code: 'B1', question: '超期?', answer_type: 'number', fail_above: 0, category: 'overdue', severity: 'serious', points: 5 },
    { code: 'B2', question: '说明', answer_type: 'text' },
  ] }],
}

describe('preview', () => {
  it('fails answers like the server does', () => {
    const [a1, a2, b1, b2] = T.systems[0].items
    expect(answerFails(a1, 'no')).toBe(true)
    expect(answerFails(a1, 'yes')).toBe(false)
    expect(answerFails(a1, null)).toBe(false)
    expect(answerFails(a2, 'none')).toBe(true)
    expect(answerFails(b1, 0)).toBe(false)
    expect(answerFails(b1, 1)).toBe(true)
    expect(answerFails(b2, 'x')).toBe(false)
  })

  it('lists expected findings and the photos still missing', () => {
    const p = preview(T, { A1: 'no', A2: 'none', B1: 0 })
    expect(p.answered).toBe(3)
    expect(p.failed.map((f) => f.itemCode)).toEqual(['A1', 'A2'])
    expect(p.missingPhotos).toEqual(['A1'])
    expect(p.deductedPoints).toBe(7)
    expect(preview(T, { A1: 'no' }, { A1: 1 }).missingPhotos).toEqual([])
  })

  it('builds the sync payload with the person named on a failed item', () => {
    const v: LocalVisit = {
      id: '00000000-0000-4000-8000-000000000001', mode: 'covert', unitId: 3, unitName: 'U', team: [5, 6],
      checklist: { code: 't', version: 1 }, startedAt: '2026-11-23T02:00:00.000Z',
      answers: {
        A1: { answer: 'no', note: '未戴工牌', person: { windowNo: '3', position: '收件' }, findingId: 'f-1', answeredAt: 'x' },
        A2: { answer: 'ok', answeredAt: 'y' },
        B2: { answer: '', answeredAt: 'z' },
      },
      submitRequested: true, serverVersion: null, serverStatus: null, code: null, verdicts: {}, outbox: newOutbox(),
      createdAt: '', updatedAt: '',
    }
    const item = syncItem(v, T, true, 'now')
    expect(item.responses.map((r) => r.item_code)).toEqual(['A1', 'A2'])
    expect(item.findings).toEqual([{ id: 'f-1', item_code: 'A1', category: 'badge_missing', severity: 'minor',
      badge_no: null, window_no: '3', position: '收件', description: '未戴工牌' }])
    expect(item.submit).toBe(true)
    // half an emoji left by a length limit is sent as U+FFFD (the server refuses a lone surrogate)
    v.answers.A1.note = `未戴工牌${'😀'.slice(0, 1)}`
    expect(syncItem(v, T, true, 'now').findings[0].description).toBe('未戴工牌\uFFFD')
  })
})
