// Unit names by id (lists carry ids only): each id fetched once and shared by every page.
import { reactive } from 'vue'
import { client } from './api'

export const unitNames = reactive<Record<number, string>>({})
const asked = new Set<number>()

export async function nameUnits(ids: (number | null | undefined)[]): Promise<void> {
  const todo = [...new Set(ids.filter((x): x is number => typeof x === 'number' && !asked.has(x)))]
  todo.forEach((id) => asked.add(id))
  await Promise.all(todo.map(async (id) => {
    const { data } = await client.GET('/api/v1/org/units/{obj_id}', { params: { path: { obj_id: id } } })
    if (data) unitNames[id] = (data as { name: string }).name
  }))
}

export async function searchUnits(q: string): Promise<{ id: number; name: string }[]> {
  const { data } = await client.GET('/api/v1/org/units', { params: { query: { q: q || undefined, page_size: 30 } } })
  const rows = (data ?? []) as { id: number; name: string }[]
  rows.forEach((u) => { unitNames[u.id] = u.name; asked.add(u.id) })
  return rows
}
