// The console's one API client (packages/api, the same token + refresh flow as the phone), tokens in
// localStorage so a reload stays logged in; `me` is the account behind them (role, unit).
import { ApiError, createApi, errorOf, errorOfResult, type Schemas, type Tokens } from '@inspect/api'
import { ElMessage } from 'element-plus'
import { reactive } from 'vue'

const KEY = 'inspect-console-tokens'

export type Me = Schemas['User']
export const session = reactive({ tokens: null as Tokens | null, me: null as Me | null, lost: false })
try { session.tokens = JSON.parse(localStorage.getItem(KEY) || 'null') } catch { session.tokens = null }

export const api = createApi({
  store: {
    get: () => session.tokens,
    set(t) { session.tokens = t; session.lost = false; localStorage.setItem(KEY, JSON.stringify(t)) },
    clear() { session.tokens = null; session.me = null; localStorage.removeItem(KEY) },
  },
  onSessionLost() { session.lost = true },
})

export const { client, unwrap } = api

export async function loadMe(): Promise<Me | null> {
  if (!session.tokens) return null
  session.me = await unwrap(client.GET('/api/v1/auth/me'))
  return session.me
}

export interface Page { total: number; page: number; pageSize: number }

/** A list call with its X-Pagination header (the server paginates; the console never loads all). */
export async function listed<T>(p: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<{ rows: T; page: Page }> {
  const { data, error, response } = await p
  if (!response.ok) throw await errorOfResult(response, error)
  const info = JSON.parse(response.headers.get('X-Pagination') || '{}')
  return { rows: data as T, page: { total: info.total ?? 0, page: info.page ?? 1, pageSize: 20 } }
}

/** Show the API's own (Chinese) message for a failed call; the caller gets undefined. */
export async function attempt<T>(work: () => Promise<T>): Promise<T | undefined> {
  try {
    return await work()
  } catch (e) {
    const msg = e instanceof ApiError ? (e.status === 0 ? `网络错误：${e.message}` : e.message) : String(e)
    ElMessage({ type: 'error', message: msg, duration: 6000, showClose: true })
    return undefined
  }
}

/** How long a page waits for a photo copy the media worker is still making (202 + Retry-After). */
const COPY_WAIT_MS = 30_000

/** A file under the API behind the bearer token (photos, attachments, PDFs) as an object URL. A photo's
 * copy (display, thumbnail, watermarked) that is not made yet answers 202 with Retry-After: asked
 * again after that many seconds, for up to COPY_WAIT_MS, then an error saying it is still being made. */
export async function blobUrl(path: string): Promise<string> {
  const started = Date.now()
  for (;;) {
    const t = session.tokens
    let resp = await fetch(path, { headers: t ? { Authorization: `Bearer ${t.access}` } : {} })
    if (resp.status === 401 && (await api.refresh())) {
      resp = await fetch(path, { headers: { Authorization: `Bearer ${session.tokens!.access}` } })
    }
    if (resp.status === 202) {
      const wait = Math.min(10, Math.max(1, Number(resp.headers.get('Retry-After')) || 2)) * 1000
      if (Date.now() - started + wait > COPY_WAIT_MS) throw new ApiError(202, 'derivative_pending', '照片副本正在生成，请稍后再打开', {})
      await new Promise((r) => setTimeout(r, wait))
      continue
    }
    if (!resp.ok) throw await errorOf(resp)
    return URL.createObjectURL(await resp.blob())
  }
}

/** multipart POST (appeals, reports with attachments) through the same refresh flow. */
export async function postForm<T>(path: string, form: FormData): Promise<T> {
  const { data, error, response } = await (client.POST as any)(path, { body: form, bodySerializer: (b: FormData) => b,
    params: { path: {} } }) as { data?: T; error?: unknown; response: Response }
  if (!response.ok) throw await errorOfResult(response, error)
  return data as T
}
