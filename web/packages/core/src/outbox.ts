// The outbox state machine of a visit on the phone: 草稿 → 待发送 → 发送中 → 已发送, or 需处理 when the
// server refuses it (never dropped). Pure: the screens and the sender call `transition` and store the result.

export type OutboxState = 'draft' | 'queued' | 'sending' | 'sent' | 'attention'

export interface Outbox {
  state: OutboxState
  attempts: number // failed tries since the last success, for the backoff
  nextAttemptAt: number | null // epoch ms; null = send as soon as a network is there
  message: string | null // the server's message when 需处理, or the office's reason when sent back
  code: string | null // the server's error code (evidence_missing, visit_frozen, ...)
}

export type OutboxEvent =
  | { type: 'edit' } // the inspector changed something
  | { type: 'submit' } // the inspector pressed 提交
  | { type: 'start' } // the sender picked it up
  | { type: 'succeeded' } // every write answered 2xx
  | { type: 'retry'; now: number; random?: () => number } // network gone, 5xx, 429: try later
  | { type: 'refused'; message: string; code?: string | null } // 409 / 412 / 422 ...: the inspector decides
  | { type: 'sent_back'; reason: string } // the office returned a finding: back to the inspector

export const STATE_ORDER: OutboxState[] = ['draft', 'queued', 'sending', 'sent', 'attention']

export function newOutbox(): Outbox {
  return { state: 'draft', attempts: 0, nextAttemptAt: null, message: null, code: null }
}

export class InvalidTransition extends Error {}

export function transition(o: Outbox, e: OutboxEvent): Outbox {
  switch (e.type) {
    case 'edit':
      if (o.state === 'sent' || o.state === 'sending') throw new InvalidTransition(`edit in ${o.state}`)
      // An edit of a refused visit makes it a draft again; the message stays until it is sent.
      return { ...o, state: 'draft' }
    case 'submit':
      if (o.state !== 'draft' && o.state !== 'attention') throw new InvalidTransition(`submit in ${o.state}`)
      return { ...o, state: 'queued', attempts: 0, nextAttemptAt: null }
    case 'start':
      if (o.state !== 'queued') throw new InvalidTransition(`start in ${o.state}`)
      return { ...o, state: 'sending' }
    case 'succeeded':
      if (o.state !== 'sending') throw new InvalidTransition(`succeeded in ${o.state}`)
      return { state: 'sent', attempts: 0, nextAttemptAt: null, message: null, code: null }
    case 'retry': {
      if (o.state !== 'sending' && o.state !== 'queued') throw new InvalidTransition(`retry in ${o.state}`)
      const attempts = o.attempts + 1
      return { ...o, state: 'queued', attempts, nextAttemptAt: e.now + backoffMs(attempts, e.random) }
    }
    case 'refused':
      if (o.state !== 'sending') throw new InvalidTransition(`refused in ${o.state}`)
      return { state: 'attention', attempts: 0, nextAttemptAt: null, message: e.message, code: e.code ?? null }
    case 'sent_back':
      return { state: 'attention', attempts: 0, nextAttemptAt: null, message: e.reason, code: 'sent_back' }
  }
}

/** Due for sending now: queued, and its backoff (if any) has passed. */
export function isDue(o: Outbox, now: number): boolean {
  return o.state === 'queued' && (o.nextAttemptAt === null || o.nextAttemptAt <= now)
}

export const BACKOFF_BASE_MS = 2_000
export const BACKOFF_CAP_MS = 5 * 60_000

/** Exponential backoff with "equal jitter": half fixed, half random, so phones that lost the network
 * together do not all come back in the same second, and the wait never drops to zero. */
export function backoffMs(attempt: number, random: () => number = Math.random): number {
  const ceiling = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** Math.max(0, attempt - 1))
  return Math.round(ceiling / 2 + (ceiling / 2) * random())
}

export type Verdict = 'ok' | 'retry' | 'auth' | 'refused'

/** What an HTTP answer means for the outbox. 0 = no answer at all (offline, connection reset). */
export function classify(status: number): Verdict {
  if (status >= 200 && status < 300) return 'ok'
  if (status === 0 || status === 408 || status === 429 || status >= 500) return 'retry'
  if (status === 401) return 'auth'
  return 'refused' // 400, 403, 404, 409, 412, 413, 415, 422, 428: a person must look at it
}
