// Filters and the page number live in the URL, so a link can be shared and Back works.
import { computed } from 'vue'
import { useRoute, useRouter } from 'vue-router'

export function useQueryState<T extends Record<string, string | undefined>>(defaults: T) {
  const route = useRoute()
  const router = useRouter()
  const state = computed(() => {
    const out = { ...defaults } as Record<string, string | undefined>
    for (const k of Object.keys(defaults)) {
      const v = route.query[k]
      if (typeof v === 'string') out[k] = v
    }
    return out as T
  })
  const page = computed(() => Number(route.query.page ?? 1) || 1)
  function set(patch: Partial<T>, keepPage = false) {
    const q: Record<string, string> = {}
    const merged = { ...state.value, ...patch } as Record<string, string | undefined>
    for (const [k, v] of Object.entries(merged)) if (v) q[k] = v
    if (keepPage && page.value > 1) q.page = String(page.value)
    void router.push({ query: q })
  }
  function goPage(n: number) {
    void router.push({ query: { ...route.query, page: String(n) } })
  }
  return { state, page, set, goPage, route }
}
