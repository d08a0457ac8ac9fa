// The outbox sender: visits through the batch sync endpoint, photos through the evidence endpoint,
// with backoff; idempotent by the visit's UUID and the photo's hash, so a retry after a lost answer
// changes nothing on the server. Refused writes become 需处理 with the server's message.
import { ApiError, SessionLost, type Schemas } from '@inspect/api'
import { classify, isDue, syncItem, transition, type LocalVisit } from '@inspect/core'
import { api, session } from './api'
import { db, getMeta, setMeta } from './db'
import { M } from './messages'
import { online, reloadVisits, templateOf, type Notice } from './store'

let running: Promise<void> | null = null
let again = false

/** The office's notices (a visit sent back among them) are read after every send, and otherwise at
 * most this often: a phone open all day polled them every 3 s before, 1,200 times an hour. The
 * browser revalidates the list by its ETag, so an unchanged one costs a bodiless 304. */
export const NOTICES_EVERY_MS = 30_000
let noticesReadAt: number | null = null // Date.now() of the last read; null: at the next run

/** Send everything due; a call while a run is under way (the 3 s tick's, say, which had not seen the
 * visit just submitted) makes that run go round once more, and waits for it. */
export function flush(): Promise<void> {
  if (running) {
    again = true
    return running
  }
  running = (async () => {
    do {
      again = false
      await run()
    } while (again)
  })().finally(() => { running = null })
  return running
}

function statusOf(e: unknown): number {
  return e instanceof ApiError ? e.status : 0
}

function messageOf(e: unknown): string {
  if (e instanceof ApiError) return e.message
  return (e as Error)?.message ?? String(e)
}

async function put(v: LocalVisit) {
  v.updatedAt = new Date().toISOString()
  await db.visits.put(v)
}

async function fail(v: LocalVisit, e: unknown) {
  if (e instanceof SessionLost || statusOf(e) === 401) {
    v.outbox = { ...v.outbox, state: 'queued' } // no attempt counted: it waits for the password
  } else if (classify(statusOf(e)) === 'refused') {
    v.outbox = transition(v.outbox, { type: 'refused', message: messageOf(e), code: e instanceof ApiError ? e.code : null })
    const d = e instanceof ApiError ? e.details : {}
    for (const p of (d.missing_photos as { item_code: string }[] | undefined) ?? []) v.verdicts[p.item_code] = M.verdictMissingPhoto
  } else {
    v.outbox = transition(v.outbox, { type: 'retry', now: Date.now() })
  }
  await put(v)
}

async function run(): Promise<void> {
  if (!navigator.onLine || !session.tokens || session.lost) return
  const now = Date.now()
  const due = (await db.visits.toArray()).filter((v) => isDue(v.outbox, now))
  if (due.length) await sendVisits(due)
  if (due.length || noticesReadAt === null || now < noticesReadAt || now - noticesReadAt >= NOTICES_EVERY_MS) {
    noticesReadAt = now
    await checkSentBack()
  }
  await reloadVisits()
}

async function sendVisits(due: LocalVisit[]) {
  for (const v of due) {
    v.outbox = transition(v.outbox, { type: 'start' })
    await put(v)
  }
  await reloadVisits()
  const live: LocalVisit[] = []
  // 1. the visits themselves, in one batch (each saved or refused on its own)
  const items: Schemas['SyncItem'][] = []
  for (const v of due) {
    const t = await templateOf(v)
    if (!t) { await fail(v, new ApiError(422, 'no_template', '本机缺少该检查表，请联网后重试')); continue }
    const unsent = await db.photos.where('visitId').equals(v.id).filter((p) => !p.sent).count()
    items.push(syncItem(v, t, v.submitRequested && unsent === 0, new Date().toISOString()) as Schemas['SyncItem'])
    live.push(v)
  }
  if (!items.length) return
  let results
  try {
    results = (await api.unwrap(api.client.POST('/api/v1/sync', { body: { visits: items } }))).results ?? []
  } catch (e) {
    for (const v of live) await fail(v, e)
    return
  }
  const saved: LocalVisit[] = []
  for (const v of live) {
    const r = results.find((x) => x.id === v.id)
    if (!r) { await fail(v, new ApiError(0, 'no_result', 'no result')); continue }
    const ok = r.status! >= 200 && r.status! < 300
    if (r.version != null) v.serverVersion = r.version
    if (r.visit_status) v.serverStatus = r.visit_status as LocalVisit['serverStatus']
    if (r.code) v.code = r.code
    if (!ok && !(r.error?.code === 'evidence_missing')) {
      const err = r.error as { code?: string; message?: string; details?: Record<string, unknown> } | undefined
      await fail(v, new ApiError(r.status!, err?.code ?? 'error', err?.message ?? `HTTP ${r.status}`, err?.details ?? {}))
      continue
    }
    await put(v)
    saved.push(v)
  }
  // 2. the photos of the visits the server holds: shown as sent only after a 2xx for that hash
  const toSubmit: LocalVisit[] = []
  for (const v of saved) {
    let broken: unknown = null
    for (const p of await db.photos.where('visitId').equals(v.id).filter((p) => !p.sent).toArray()) {
      try {
        const original = await db.blobs.get(p.key)
        if (!original) throw new ApiError(422, 'photo_lost', `照片 ${p.name} 的原件不在本机`)
        await api.uploadEvidence(v.id, new Blob([original.bytes], { type: p.mediaType }), p.name, p.itemCode)
        await db.photos.update(p.key, { sent: true })
        await reloadVisits()
      } catch (e) {
        broken = e
        break
      }
    }
    if (broken) { await fail(v, broken); continue }
    if (v.submitRequested && v.serverStatus !== 'submitted') toSubmit.push(v)
    else await succeed(v)
  }
  // 3. submit what now has all its photos (same content again: "unchanged", then the submit)
  if (!toSubmit.length) return
  const again: Schemas['SyncItem'][] = []
  for (const v of toSubmit) again.push(syncItem(v, (await templateOf(v))!, true, new Date().toISOString()) as Schemas['SyncItem'])
  try {
    results = (await api.unwrap(api.client.POST('/api/v1/sync', { body: { visits: again } }))).results ?? []
  } catch (e) {
    for (const v of toSubmit) await fail(v, e)
    return
  }
  for (const v of toSubmit) {
    const r = results.find((x) => x.id === v.id)!
    if (r.version != null) v.serverVersion = r.version
    if (r.visit_status) v.serverStatus = r.visit_status as LocalVisit['serverStatus']
    if (r.code) v.code = r.code
    const err = r.error as { code?: string; message?: string; details?: Record<string, unknown> } | undefined
    if (err) await fail(v, new ApiError(r.status!, err.code ?? 'error', err.message ?? '', err.details ?? {}))
    else await succeed(v)
  }
}

async function succeed(v: LocalVisit) {
  v.verdicts = {}
  if (!v.code) { // the sync's answer carries the number; a server that does not say it is asked
    try {
      const full = await api.unwrap(api.client.GET('/api/v1/visits/{visit_id}', { params: { path: { visit_id: v.id } } }))
      v.code = full.code ?? v.code
      v.serverVersion = full.version ?? v.serverVersion
    } catch { /* the number is a nicety */ }
  }
  v.outbox = transition(v.outbox, { type: 'succeeded' })
  await put(v)
}

/** A visit the office sent back comes back as 需处理 with the reason, on the item it concerns. */
async function checkSentBack() {
  type Note = Notice & { subject?: Record<string, string> }
  let notes: Note[]
  try {
    notes = (await api.unwrap(api.client.GET('/api/v1/me/notifications', { params: { query: { unread: true } } }))) as Note[]
  } catch { return }
  await setMeta('notifications', notes)
  const handled = new Set(await getMeta<number[]>('handledNotices', []))
  for (const n of notes) {
    if (n.kind !== 'finding.returned' || handled.has(n.id)) continue
    const v = await db.visits.get(n.subject?.visit_id ?? '')
    if (v && v.outbox.state === 'sent') {
      try {
        const full = await api.unwrap(api.client.GET('/api/v1/visits/{visit_id}', { params: { path: { visit_id: v.id } } }))
        v.serverVersion = full.version ?? v.serverVersion
        v.serverStatus = (full.status as LocalVisit['serverStatus']) ?? v.serverStatus
        const f = (full.findings ?? []).find((x) => x.id === n.subject?.finding_id)
        if (f?.item_code) v.verdicts[f.item_code] = `${M.sentBack}：${n.body ?? ''}`
      } catch { continue }
      v.submitRequested = false
      v.outbox = transition(v.outbox, { type: 'sent_back', reason: `${M.sentBack}：${n.body ?? n.title}` })
      await put(v)
    }
    handled.add(n.id)
  }
  await setMeta('handledNotices', [...handled])
}

/** When the network comes back, waiting visits go at once (their backoff was for a dead network). */
export async function networkBack() {
  noticesReadAt = null
  await db.visits.toCollection().modify((v) => {
    if (v.outbox.state === 'queued') v.outbox.nextAttemptAt = null
  })
  return flush()
}

export function startSender() {
  window.addEventListener('online', () => { online.value = true; void networkBack() })
  window.addEventListener('offline', () => { online.value = false })
  // A visit left in 发送中 by a closed page goes back to the queue (the server side is idempotent).
  void db.visits.toCollection().modify((v) => {
    if (v.outbox.state === 'sending') v.outbox.state = 'queued'
  }).then(() => flush())
  setInterval(() => { void flush() }, 3000)
  // the phone picked up again: what the office sent meanwhile shows at once
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible') { noticesReadAt = null; void flush() }
  })
}
