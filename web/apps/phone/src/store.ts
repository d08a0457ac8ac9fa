// The app's state and the actions the screens call. Every action writes IndexedDB first, then the
// screens re-read it (so what is shown is what survives a reload).
import { newOutbox, newShopperFacts, sha256Hex, transition, type ShopperFacts, type ChecklistTemplate, type LocalAnswer, type LocalVisit, type Mode, type Person } from '@inspect/core'
import { ref } from 'vue'
import { api, session } from './api'
import { db, getMeta, setMeta, templateKey, type PhotoRow, type ServiceItemRow, type StaffRow, type TemplateRow, type UnitRow } from './db'

export const online = ref(navigator.onLine)
export const visits = ref<LocalVisit[]>([])
export const photoCounts = ref<Record<string, { total: number; sent: number }>>({})

export interface Assignment { id: number; unit_id: number; unit_name: string; day: string; start: string; end: string; team: number[]; visit_id: string | null }
export interface Colleague { id: number; username: string; full_name: string }
export interface Notice { id: number; kind: string; title: string; body: string | null; created_at: string }

export async function reloadVisits() {
  const rows = await db.visits.orderBy('updatedAt').reverse().toArray()
  const counts: Record<string, { total: number; sent: number }> = {}
  await db.photos.each((p) => {
    const c = (counts[p.visitId] ??= { total: 0, sent: 0 })
    c.total++
    if (p.sent) c.sent++
  })
  photoCounts.value = counts
  visits.value = rows
}

export function uuid4(): string {
  if (crypto.randomUUID) return crypto.randomUUID() // secure contexts only
  const b = crypto.getRandomValues(new Uint8Array(16))
  b[6] = (b[6] & 0x0f) | 0x40
  b[8] = (b[8] & 0x3f) | 0x80
  const h = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('')
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`
}

/** Fetch what the phone needs offline: checklists, units (delta feed), colleagues, assignments. */
export async function refreshCaches(): Promise<void> {
  const c = api.client
  const summaries = await api.unwrap(c.GET('/api/v1/checklists'))
  for (const s of summaries ?? []) {
    const key = templateKey(s.code!, s.version!)
    if (await db.templates.get(key)) continue // a published version never changes
    const full = await api.unwrap(c.GET('/api/v1/checklists/{code}/versions/{version}',
      { params: { path: { code: s.code!, version: s.version! } } }))
    await db.templates.put({ key, code: s.code!, version: s.version!, title: s.title!, kind: s.kind!,
      template: full as unknown as ChecklistTemplate })
  }
  await setMeta('currentChecklists', (summaries ?? []).map((s) => templateKey(s.code!, s.version!)))
  let since = await getMeta<number>('orgCursor', 0)
  for (let page = 0; page < 50; page++) {
    const d = await api.unwrap(c.GET('/api/v1/org/delta', { params: { query: { since, limit: 500 } } }))
    const units = (d.units ?? []) as UnitRow[]
    const staff = (d.staff ?? []) as StaffRow[]
    const items = (d.service_items ?? []) as ServiceItemRow[]
    await db.transaction('rw', db.units, db.staff, db.serviceItems, async () => {
      await db.units.bulkPut(units)
      await db.units.bulkDelete(units.filter((u) => u.is_active === false).map((u) => u.id))
      await db.staff.bulkPut(staff)
      await db.staff.bulkDelete(staff.filter((x) => x.is_active === false).map((x) => x.id))
      await db.serviceItems.bulkPut(items)
      await db.serviceItems.bulkDelete(items.filter((x) => x.is_active === false).map((x) => x.id))
    })
    since = d.cursor ?? since
    await setMeta('orgCursor', since)
    if (!d.has_more) break
  }
  await setMeta('inspectors', await api.unwrap(c.GET('/api/v1/auth/inspectors')))
  await setMeta('assignments', await api.unwrap(c.GET('/api/v1/me/assignments')))
  await setMeta('scenarios', await api.unwrap(c.GET('/api/v1/shopper/scenarios')))
  const notes = await api.unwrap(c.GET('/api/v1/me/notifications', { params: { query: { unread: true } } }))
  await setMeta('notifications', notes)
  document.body.dataset.cached = '1' // the offline copy is complete (tests wait for it)
}

export async function currentTemplates(): Promise<TemplateRow[]> {
  const keys = await getMeta<string[]>('currentChecklists', [])
  const rows = await db.templates.bulkGet(keys)
  return rows.filter((r): r is TemplateRow => !!r)
}

export interface Scenario { id: number; code: string; title: string; service_item_id: number; persona: string; ask: string;
  materials_brought: string[] }

export function setShopper(id: string, patch: Partial<ShopperFacts>) {
  return change(id, (v) => {
    if (!editable(v) || !v.shopper) return
    v.shopper = { ...v.shopper, ...patch }
    if (v.outbox.state === 'draft') v.outbox = transition(v.outbox, { type: 'edit' })
  })
}

export async function templateOf(v: Pick<LocalVisit, 'checklist'>): Promise<ChecklistTemplate | undefined> {
  return (await db.templates.get(templateKey(v.checklist.code, v.checklist.version)))?.template
}

export async function createVisit(p: { unit: UnitRow; mode: Mode; team: number[]; checklist: { code: string; version: number };
  windowNo?: string | null; assignmentId?: number | null; scenarioId?: number | null }): Promise<string> {
  const now = new Date().toISOString()
  const v: LocalVisit = {
    id: uuid4(), mode: p.mode, unitId: p.unit.id, unitName: p.unit.name, windowNo: p.windowNo ?? null,
    team: [...new Set(p.team)], assignmentId: p.assignmentId ?? null, checklist: p.checklist, startedAt: now,
    answers: {}, submitRequested: false, serverVersion: null, serverStatus: null, code: null, verdicts: {},
    outbox: newOutbox(), createdAt: now, updatedAt: now,
    shopper: p.scenarioId ? newShopperFacts(p.scenarioId) : null,
  }
  await db.visits.put(v)
  await reloadVisits()
  return v.id
}

async function change(id: string, fn: (v: LocalVisit) => void): Promise<LocalVisit> {
  let out!: LocalVisit
  await db.transaction('rw', db.visits, async () => {
    const v = await db.visits.get(id)
    if (!v) throw new Error(`no visit ${id}`)
    fn(v)
    v.updatedAt = new Date().toISOString()
    await db.visits.put(v)
    out = v
  })
  await reloadVisits()
  return out
}

export function editable(v: LocalVisit) {
  return v.outbox.state === 'draft' || v.outbox.state === 'attention'
}

export function setAnswer(id: string, code: string, patch: Partial<Omit<LocalAnswer, 'answeredAt'>> & { person?: Person | null }) {
  return change(id, (v) => {
    if (!editable(v)) return
    const prev = v.answers[code]
    // The person is merged here, inside the transaction, so quick edits of two of its fields never
    // overwrite each other with a stale copy.
    const person = patch.person ? { ...(prev?.person ?? {}), ...patch.person } : prev?.person
    const next: LocalAnswer = { ...(prev ?? { answer: null }), ...patch, person,
      answeredAt: prev?.answeredAt ?? new Date().toISOString() }
    if ('answer' in patch && patch.answer !== prev?.answer) next.answeredAt = new Date().toISOString()
    next.findingId ??= uuid4()
    v.answers[code] = next
    if (v.outbox.state === 'draft') v.outbox = transition(v.outbox, { type: 'edit' })
  })
}

export async function addPhoto(visitId: string, itemCode: string | null, file: File): Promise<PhotoRow> {
  const bytes = await file.arrayBuffer()
  const sha256 = await sha256Hex(new Uint8Array(bytes))
  const key = `${visitId}/${sha256}`
  const existing = await db.photos.get(key)
  if (existing) return existing
  const row: PhotoRow = { key, sha256, visitId, itemCode, name: file.name || `${sha256.slice(0, 12)}.jpg`,
    mediaType: file.type || 'image/jpeg', size: bytes.byteLength, sent: false, createdAt: new Date().toISOString(),
    thumb: null }
  await db.transaction('rw', db.photos, db.blobs, async () => { // the bytes first; the thumbnail is a convenience
    await db.blobs.put({ key, bytes })
    await db.photos.put(row)
  })
  await reloadVisits()
  try {
    row.thumb = await thumbnail(file)
    await db.photos.update(key, { thumb: row.thumb })
  } catch { /* an image the browser cannot decode (HEIC on some phones): no thumbnail */ }
  return row
}

async function thumbnail(file: Blob, size = 160): Promise<string> {
  const bmp = await createImageBitmap(file)
  const scale = Math.min(1, size / Math.max(bmp.width, bmp.height))
  const canvas = document.createElement('canvas')
  canvas.width = Math.round(bmp.width * scale)
  canvas.height = Math.round(bmp.height * scale)
  canvas.getContext('2d')!.drawImage(bmp, 0, 0, canvas.width, canvas.height)
  bmp.close()
  return canvas.toDataURL('image/jpeg', 0.7)
}

export function photosOf(visitId: string) {
  return db.photos.where('visitId').equals(visitId).toArray()
}

export function submitVisit(id: string) {
  return change(id, (v) => {
    v.submitRequested = true
    v.outbox = transition(v.outbox, { type: 'submit' })
  })
}

export async function unsentCount(): Promise<number> {
  const all = await db.visits.toArray()
  return all.filter((v) => v.outbox.state !== 'sent').length
}

export async function logout() {
  try { if (online.value) await api.logout() } catch { /* offline or already ended: forget locally */ }
  api.store.clear()
  await db.transaction('rw', [db.visits, db.photos, db.blobs, db.meta], async () => {
    await db.visits.clear()
    await db.photos.clear()
    await db.blobs.clear()
    await db.meta.clear()
  })
  await reloadVisits()
}

export async function storageInfo(): Promise<{ used: string; persisted: boolean }> {
  const s = navigator.storage
  if (!s?.estimate) return { used: '—', persisted: false }
  const [est, persisted] = await Promise.all([s.estimate(), s.persisted ? s.persisted() : Promise.resolve(false)])
  const mb = (est.usage ?? 0) / 1024 / 1024
  return { used: mb < 1 ? `${Math.round(mb * 1024)} KB` : `${mb.toFixed(1)} MB`, persisted }
}

export { session }

/** The offline registry's size, for the today screen. */
export async function registryCounts() {
  const [units, staff, items] = await Promise.all([db.units.count(), db.staff.count(), db.serviceItems.count()])
  return { units, staff, items }
}

/** A staff member by badge number, from the offline registry (null when unknown). */
export async function staffByBadge(badge: string): Promise<StaffRow | null> {
  return badge ? ((await db.staff.where('badge_no').equals(badge.trim()).first()) ?? null) : null
}
