// The one way the web apps talk to the server: a typed openapi-fetch client (types generated from
// /api/v1/openapi.json into ./schema.d.ts) with bearer auth, refresh-token rotation and error mapping.

import createClient from 'openapi-fetch'
import type { components, paths } from './schema'

export type { components, paths }
export type Schemas = components['schemas']

export interface Tokens {
  access: string
  refresh: string
  userId: number
  username: string
  fullName: string
}

export interface TokenStore {
  get(): Tokens | null
  set(tokens: Tokens): void
  clear(): void
}

/** A refused or failed call. status 0: no answer at all (offline, reset connection, timeout). */
export class ApiError extends Error {
  constructor(public status: number, public code: string, message: string, public details: Record<string, unknown> = {}) {
    super(message)
  }
}

export class SessionLost extends ApiError {}

const here = () => globalThis.location?.href ?? 'http://localhost/'

type TokenBody = { access_token: string; refresh_token: string; user?: { id?: number; username?: string; full_name?: string } }

export function tokensFrom(body: TokenBody, previous?: Tokens | null): Tokens {
  return {
    access: body.access_token, refresh: body.refresh_token,
    userId: body.user?.id ?? previous?.userId ?? 0,
    username: body.user?.username ?? previous?.username ?? '',
    fullName: body.user?.full_name ?? previous?.fullName ?? '',
  }
}

/** An ApiError from a status and a parsed body (`{"error": {"code", "message", "details"}}` when it is ours). */
export function errorFrom(status: number, body: unknown): ApiError {
  const e = (body as { error?: { code?: string; message?: string; details?: Record<string, unknown> } } | null)?.error
  return new ApiError(status, e?.code ?? `http_${status}`, e?.message ?? `HTTP ${status}`, e?.details ?? {})
}

export async function errorOf(resp: Response): Promise<ApiError> {
  let code = `http_${resp.status}`, message = `HTTP ${resp.status}`, details: Record<string, unknown> = {}
  try {
    const body = await resp.clone().json()
    if (body?.error) ({ code = code, message = message, details = {} } = body.error)
  } catch { /* not JSON */ }
  return new ApiError(resp.status, code, message, details)
}

/** The error of an openapi-fetch result: it has already read the body into `error`, so the response's
 * own body can no longer be read (errorOf would only see "HTTP 401"). */
export async function errorOfResult(response: Response, error: unknown): Promise<ApiError> {
  const e = (error as { error?: { code?: string; message?: string; details?: Record<string, unknown> } } | undefined)?.error
  if (e?.message) return new ApiError(response.status, e.code ?? `http_${response.status}`, e.message, e.details ?? {})
  return errorOf(response)
}

export interface ApiOptions {
  baseUrl?: string // default: same origin (the paths carry /api/v1)
  store: TokenStore
  onSessionLost?: () => void // the refresh token was refused: ask for the password, keep the data
  fetch?: typeof fetch
  timeoutMs?: number
}

export function createApi(opts: ApiOptions) {
  const baseUrl = opts.baseUrl ?? ''
  const rawFetch = opts.fetch ?? ((input: RequestInfo | URL, init?: RequestInit) => globalThis.fetch(input, init))
  const timeoutMs = opts.timeoutMs ?? 60_000
  let refreshing: Promise<boolean> | null = null

  async function send(req: Request): Promise<Response> {
    try {
      return await rawFetch(req, { signal: AbortSignal.timeout(timeoutMs) })
    } catch (e) {
      throw new ApiError(0, 'network', (e as Error).message || 'network error')
    }
  }

  /** Rotate the tokens once, however many calls asked at the same time. */
  function refresh(): Promise<boolean> {
    refreshing ??= (async () => {
      const t = opts.store.get()
      if (!t) return false
      const resp = await send(new Request(new URL(`${baseUrl}/api/v1/auth/refresh`, here()), {
        method: 'POST', headers: { Authorization: `Bearer ${t.refresh}` } }))
      if (resp.ok) {
        opts.store.set(tokensFrom(await resp.json(), t))
        return true
      }
      if (resp.status === 401) {
        opts.onSessionLost?.()
        throw new SessionLost(401, 'session_lost', '登录已过期，请重新输入密码')
      }
      throw await errorOf(resp)
    })().finally(() => { refreshing = null })
    return refreshing
  }

  async function authFetch(input: Request): Promise<Response> {
    const spare = input.clone() // the body of a retried request after a refresh
    const t = opts.store.get()
    if (t) input.headers.set('Authorization', `Bearer ${t.access}`)
    const resp = await send(input)
    if (resp.status !== 401 || !t || input.url.endsWith('/auth/token') || input.url.endsWith('/auth/refresh')) return resp
    // Expired, invalid or revoked: one refresh decides. A refused refresh token ends in SessionLost
    // (the app asks for the password and keeps everything unsent).
    if (!(await refresh())) return resp
    spare.headers.set('Authorization', `Bearer ${opts.store.get()!.access}`)
    return send(spare)
  }

  const client = createClient<paths>({ baseUrl, fetch: authFetch })

  /** Unwrap an openapi-fetch result: the data, or an ApiError. */
  async function unwrap<T>(p: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T> {
    const { data, error, response } = await p
    // openapi-fetch has already read the body of an error: map its parsed form
    if (!response.ok) throw errorFrom(response.status, error)
    return data as T
  }

  async function login(username: string, password: string): Promise<Tokens> {
    const body = await unwrap(client.POST('/api/v1/auth/token', { body: { username, password } }))
    const tokens = tokensFrom(body as TokenBody)
    opts.store.set(tokens)
    return tokens
  }

  async function logout(): Promise<void> {
    try { await client.POST('/api/v1/auth/logout') } finally { opts.store.clear() }
  }

  /** Upload one photo (multipart); the answer's status tells new (201) from known (200). */
  async function uploadEvidence(visitId: string, file: Blob, name: string, itemCode: string | null) {
    const form = new FormData()
    form.append('file', file, name)
    if (itemCode) form.append('item_code', itemCode)
    const resp = await authFetch(new Request(new URL(`${baseUrl}/api/v1/visits/${visitId}/evidence`, here()), { method: 'POST', body: form }))
    if (!resp.ok) throw await errorOf(resp)
    return (await resp.json()) as Schemas['Evidence']
  }

  return { client, unwrap, login, logout, refresh, uploadEvidence, store: opts.store }
}

export type Api = ReturnType<typeof createApi>
