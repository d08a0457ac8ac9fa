// The phone's own record of a visit and the payload the batch sync endpoint takes. Pure data.

import type { Outbox } from './outbox'
import { answerFails, allItems, type Answer, type ChecklistTemplate } from './preview'

export type Mode = 'covert' | 'overt' | 'mystery_shopper'

export interface Person {
  badgeNo?: string | null // 工牌号, when a badge was seen
  windowNo?: string | null // 窗口号 and 岗位 when no badge was worn
  position?: string | null
}

export interface LocalAnswer {
  answer: Answer
  note?: string | null
  person?: Person | null
  findingId?: string | null // the id of the finding that names the person, chosen once on the phone
  answeredAt: string // ISO with offset
}

/** What a mystery shopper (模拟办事) observed, as the server's `shopper` record takes it. */
export interface ShopperFacts {
  scenario_id: number
  queue_minutes: number | null
  wait_minutes: number | null
  first_receiver_badge: string | null
  first_receiver_window: string | null
  sent_elsewhere: boolean
  sent_to: string | null
  materials_told: string[] // codes from the service item's official list
  materials_told_other: string[] // anything asked for that is not on it (乱要材料)
  done_on_spot: boolean
  receipt_given: boolean | null
  promised_date: string | null // YYYY-MM-DD
  attitude: 'warm' | 'ordinary' | 'cold' | 'rude'
  told_come_back: boolean
  notes: string | null
}

export function newShopperFacts(scenarioId: number): ShopperFacts {
  return { scenario_id: scenarioId, queue_minutes: null, wait_minutes: null, first_receiver_badge: null,
    first_receiver_window: null, sent_elsewhere: false, sent_to: null, materials_told: [], materials_told_other: [],
    done_on_spot: false, receipt_given: null, promised_date: null, attitude: 'ordinary', told_come_back: false, notes: null }
}

export interface LocalVisit {
  id: string // UUID chosen on the phone: the idempotency key of every send
  mode: Mode
  unitId: number
  unitName: string
  windowNo?: string | null
  team: number[]
  assignmentId?: number | null
  checklist: { code: string; version: number }
  startedAt: string
  answers: Record<string, LocalAnswer>
  submitRequested: boolean
  serverVersion: number | null // the version the server last acknowledged
  serverStatus: 'draft' | 'submitted' | null
  code: string | null // the server's visit number (V2026-000123), once known
  verdicts: Record<string, string> // item code -> what the server said about it
  shopper?: ShopperFacts | null
  outbox: Outbox
  createdAt: string
  updatedAt: string
}

export interface LocalPhoto {
  sha256: string // the evidence's identity: sent once, recognised again by the server
  visitId: string
  itemCode: string | null
  name: string
  mediaType: string
  size: number
  sent: boolean // true only after a 2xx from the server for this hash
  createdAt: string
}

// Half of a surrogate pair without its other half (an emoji cut off by a length limit or a paste), and NUL.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g

/** Every string in `value` as a database can store it: a lone surrogate becomes U+FFFD (as UTF-8
 * encoding would make it), NUL is dropped. The server refuses either with 422 `invalid_character`. */
export function storable<T>(value: T): T {
  if (typeof value === 'string') return value.replace(LONE_SURROGATE, '\uFFFD').replaceAll('\u0000', '') as T
  if (Array.isArray(value)) return value.map(storable) as T
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [storable(k), storable(v)])) as T
  }
  return value
}

/** The visit as `POST /api/v1/sync` takes it (one element of `visits`), its text made storable. */
export function syncItem(v: LocalVisit, template: ChecklistTemplate, submit: boolean, deviceTime: string) {
  return storable(rawSyncItem(v, template, submit, deviceTime))
}

function rawSyncItem(v: LocalVisit, template: ChecklistTemplate, submit: boolean, deviceTime: string) {
  const items = new Map(allItems(template).map((i) => [i.code, i]))
  const responses = Object.entries(v.answers)
    .filter(([code, a]) => items.has(code) && a.answer !== undefined && a.answer !== null && a.answer !== '')
    .map(([code, a]) => ({ item_code: code, answer: a.answer ?? null, note: a.note || null, answered_at: a.answeredAt }))
  const findings = Object.entries(v.answers)
    .filter(([code, a]) => {
      const item = items.get(code)
      const p = a.person
      return item && a.findingId && answerFails(item, a.answer) && p && (p.badgeNo || p.windowNo || p.position)
    })
    .map(([code, a]) => {
      const item = items.get(code)!
      const p = a.person!
      return {
        id: a.findingId!, item_code: code, category: item.category!, severity: item.severity!,
        badge_no: p.badgeNo || null, window_no: p.badgeNo ? null : p.windowNo || null,
        position: p.badgeNo ? null : p.position || null, description: a.note || null,
      }
    })
  return {
    id: v.id,
    base_version: v.serverVersion,
    submit,
    mode: v.mode,
    unit_id: v.unitId,
    window_no: v.windowNo || null,
    checklist: { code: v.checklist.code, version: v.checklist.version },
    team: v.team,
    assignment_id: v.assignmentId ?? null,
    started_at: v.startedAt,
    device_time: deviceTime,
    responses,
    findings,
    shopper: v.shopper ? { ...v.shopper, sent_to: v.shopper.sent_elsewhere ? v.shopper.sent_to : null } : null,
  }
}

/** An ISO timestamp with the phone's offset (the server stores UTC and keeps the skew). */
export function isoNow(d: Date = new Date()): string {
  return d.toISOString()
}

export const STATE_LABELS: Record<Outbox['state'], string> = {
  draft: '草稿', queued: '待发送', sending: '发送中', sent: '已发送', attention: '需处理',
}
