import { describe, expect, it } from 'vitest'
import { ApiError, createApi, SessionLost, type Tokens } from '../src/index'

function memoryStore(t: Tokens | null) {
  let tokens = t
  return { get: () => tokens, set: (x: Tokens) => { tokens = x }, clear: () => { tokens = null } }
}

const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } })
const expired = () => json(401, { error: { code: 'token_expired', message: '令牌已过期', details: {} } })
const B = 'http://phone.test' // openapi-fetch needs an absolute URL outside a browser
const T0: Tokens = { access: 'a0', refresh: 'r0', userId: 7, username: 'inspector1', fullName: '王磊' }

describe('api client', () => {
  it('refreshes once for many calls that met an expired token, rotates, and retries each', async () => {
    const seen: string[] = []
    let refreshes = 0
    const fetch = async (req: Request) => {
      const auth = req.headers.get('Authorization')
      seen.push(`${new URL(req.url).pathname} ${auth}`)
      if (req.url.endsWith('/auth/refresh')) {
        refreshes++
        expect(auth).toBe('Bearer r0')
        return json(200, { access_token: 'a1', refresh_token: 'r1', token_type: 'bearer', expires_in: 900 })
      }
      return auth === 'Bearer a1' ? json(200, []) : expired()
    }
    const store = memoryStore(T0)
    const api = createApi({ baseUrl: B, store, fetch: fetch as typeof globalThis.fetch })
    const results = await Promise.all([1, 2, 3].map(() => api.unwrap(api.client.GET('/api/v1/me/assignments'))))
    expect(results).toEqual([[], [], []])
    expect(refreshes).toBe(1)
    expect(store.get()).toMatchObject({ access: 'a1', refresh: 'r1', userId: 7, username: 'inspector1' })
  })

  it('keeps the body of a retried POST', async () => {
    const bodies: string[] = []
    const fetch = async (req: Request) => {
      if (req.url.endsWith('/auth/refresh')) return json(200, { access_token: 'a1', refresh_token: 'r1' })
      bodies.push(await req.text())
      return req.headers.get('Authorization') === 'Bearer a1' ? json(200, { results: [] }) : expired()
    }
    const api = createApi({ baseUrl: B, store: memoryStore(T0), fetch: fetch as typeof globalThis.fetch })
    await api.unwrap(api.client.POST('/api/v1/sync', { body: { visits: [] } }))
    expect(bodies).toEqual(['{"visits":[]}', '{"visits":[]}'])
  })

  it('reports a refused refresh token as SessionLost and keeps the tokens for the password prompt', async () => {
    let lost = 0
    const fetch = async (req: Request) => req.url.endsWith('/auth/refresh')
      ? json(401, { error: { code: 'invalid_token', message: 'x', details: {} } }) : expired()
    const store = memoryStore(T0)
    const api = createApi({ baseUrl: B, store, fetch: fetch as typeof globalThis.fetch, onSessionLost: () => { lost++ } })
    await expect(api.unwrap(api.client.GET('/api/v1/me/assignments'))).rejects.toBeInstanceOf(SessionLost)
    expect(lost).toBe(1)
    expect(store.get()?.username).toBe('inspector1')
  })

  it('maps errors to ApiError: the server error body, or status 0 with no answer at all', async () => {
    const refused = createApi({ baseUrl: B, store: memoryStore(T0), fetch: (async () =>
      json(409, { error: { code: 'visit_frozen', message: '检查记录已提交', details: { current_version: 3 } } })) as typeof fetch })
    const e = await refused.unwrap(refused.client.POST('/api/v1/sync', { body: { visits: [] } })).catch((x) => x)
    expect(e).toBeInstanceOf(ApiError)
    expect([e.status, e.code, e.message, e.details]).toEqual([409, 'visit_frozen', '检查记录已提交', { current_version: 3 }])
    const offline = createApi({ baseUrl: B, store: memoryStore(T0), fetch: (async () => { throw new TypeError('Failed to fetch') }) as typeof fetch })
    const n = await offline.unwrap(offline.client.GET('/api/v1/me/assignments')).catch((x) => x)
    expect([n.status, n.code]).toEqual([0, 'network'])
  })
})
