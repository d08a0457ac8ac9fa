// Stale writes (412 Precondition Failed): every edit form sends the version it loaded as If-Match; when
// someone else saved first, this fetches the resource as it is now and shows, field by field, what
// changed (as loaded / now / your edit), then lets the user reload the form or save over the change.
//
// Use:
//   const saved = await guardedWrite(
//     (ifMatch) => unwrap(client.PATCH('/api/v1/org/units/{obj_id}', { params: { path: { obj_id: id } },
//       headers: { 'If-Match': ifMatch }, body: edits })),
//     { base: loaded, edited: edits, current: () => unwrap(client.GET(...)), labels: { name: '名称' },
//       onReload: (now) => { loaded = now; resetForm(now) } })
//   // saved: the write's answer, or undefined (refused, cancelled or reloaded; messages already shown)
import { ApiError } from '@inspect/api'
import { changedFields, type FieldChange } from '@inspect/core'
import { ElMessage, ElMessageBox } from 'element-plus'
import { h } from 'vue'
import { attempt } from './api'

export interface StaleGuard<T> {
  /** The resource as loaded when editing started: its `version` goes in If-Match. */
  base: T
  /** The user's unsaved values (field -> value). */
  edited: Record<string, unknown>
  /** Fetch the resource as it is now. */
  current: () => Promise<T>
  /** Chinese labels by field; a field without one is shown by its key. */
  labels?: Record<string, string>
  /** Only these fields are compared (default: all but bookkeeping such as version/updated_at). */
  fields?: string[]
  /** How a value is shown (default: text, lists joined by "、", empty as "（空）"). */
  format?: (field: string, value: unknown) => string
  /** The user chose to reload: put `current` into the form. */
  onReload: (current: T) => void
  /** Offer "save mine over theirs" (default true). */
  allowOverwrite?: boolean
  /** What to do next, under the table (default: reload and edit again, or save over it). */
  hint?: string
}

export type StaleChoice = 'reload' | 'overwrite' | 'cancel'

export const isStale = (e: unknown): e is ApiError => e instanceof ApiError && e.status === 412

/** `"v3"` for a resource with version 3 (the API's If-Match form); undefined without a version. */
export function ifMatchOf(resource: unknown): string | undefined {
  const v = (resource as { version?: number } | null)?.version
  return typeof v === 'number' ? `"v${v}"` : undefined
}

function show(value: unknown): string {
  if (value === null || value === undefined || value === '') return '（空）'
  if (Array.isArray(value)) return value.length ? value.map((x) => (typeof x === 'object' ? JSON.stringify(x) : String(x))).join(value.some((x) => String(x).length > 20) ? ' ／ ' : '、') : '（空）'
  if (typeof value === 'boolean') return value ? '是' : '否'
  if (typeof value === 'object') return JSON.stringify(value)
  return String(value)
}

/** The dialog: what changed, and the user's choice. */
export async function showStale(changes: FieldChange[], opts: { labels?: Record<string, string>;
  format?: (field: string, value: unknown) => string; allowOverwrite?: boolean; hint?: string }): Promise<StaleChoice> {
  const fmt = (f: string, v: unknown) => (opts.format ? opts.format(f, v) : show(v))
  const cell = (text: string, extra: Record<string, unknown> = {}) => h('td', { style: 'padding:4px 8px;border:1px solid #ebeef5', ...extra }, text)
  const conflicts = changes.filter((c) => c.conflict).length
  // "your edit" only when the user edited something that changed
  const titles = ['字段', '您打开时', '现在（他人已保存）', ...(conflicts ? ['您的修改'] : [])]
  const head = titles.map((t) => h('th', { style: 'padding:4px 8px;border:1px solid #ebeef5;background:#f5f7fa;white-space:nowrap', scope: 'col' }, t))
  const body = changes.length
    ? changes.map((c) => h('tr', { 'data-field': c.field, class: c.conflict ? 'stale-conflict' : '' }, [
      cell(opts.labels?.[c.field] ?? c.field, { style: 'padding:4px 8px;border:1px solid #ebeef5;white-space:nowrap' }), cell(fmt(c.field, c.before)),
      cell(fmt(c.field, c.now), { style: 'padding:4px 8px;border:1px solid #ebeef5;color:#e6a23c;font-weight:600' }),
      ...(conflicts ? [cell(c.conflict ? fmt(c.field, c.mine) : '—', c.conflict ? { style: 'padding:4px 8px;border:1px solid #ebeef5;color:#f56c6c' } : {})] : []),
    ]))
    : [h('tr', [h('td', { colspan: titles.length, style: 'padding:4px 8px' }, '内容未变，仅版本号已更新（可能是启用/停用等操作）。')])]
  const message = h('div', { 'data-test': 'stale-diff' }, [
    h('p', { style: 'margin:0 0 8px' }, `在您编辑期间，其他人已保存了修改（共 ${changes.length} 处${conflicts ? `，其中 ${conflicts} 处与您的修改冲突` : ''}）：`),
    h('table', { style: 'border-collapse:collapse;width:100%;font-size:13px' }, [h('thead', [h('tr', head)]), h('tbody', body)]),
    h('p', { style: 'margin:8px 0 0;color:#909399' }, opts.hint ?? (opts.allowOverwrite === false
      ? '请载入最新数据后重新修改。' : '可载入最新数据后重新修改，或以您的修改覆盖（会替换上表中他人的修改）。')),
  ])
  try {
    await ElMessageBox.confirm(message, '数据已被他人修改', {
      confirmButtonText: '载入最新数据', cancelButtonText: '仍以我的修改保存', showCancelButton: opts.allowOverwrite !== false,
      distinguishCancelAndClose: true, type: 'warning', customClass: 'stale-dialog', customStyle: { width: '760px', maxWidth: '90vw' },
    } as never)
    return 'reload'
  } catch (action) {
    return action === 'cancel' ? 'overwrite' : 'cancel'
  }
}

/**
 * Run a write with If-Match = the loaded version. On 412, fetch the current resource, show what
 * changed and do what the user picks: reload (onReload(current)), save over it (the write again with
 * the current version), or keep editing. Any other failure shows the API's Chinese message.
 * Returns the write's answer, or undefined.
 */
export async function guardedWrite<T, R>(write: (ifMatch: string | undefined) => Promise<R>, guard: StaleGuard<T>): Promise<R | undefined> {
  let base = guard.base
  for (let round = 0; round < 3; round++) {
    try {
      return await write(ifMatchOf(base))
    } catch (e) {
      if (!isStale(e)) { await attempt(() => Promise.reject(e)); return undefined }
      const current = await attempt(guard.current)
      if (current === undefined) return undefined
      const changes = changedFields(base as Record<string, unknown>, current as Record<string, unknown>, guard.edited, guard.fields)
      const choice = await showStale(changes, guard)
      if (choice === 'reload') { guard.onReload(current); ElMessage.info('已载入最新数据，请核对后重新保存'); return undefined }
      if (choice === 'cancel') return undefined
      base = current
    }
  }
  return undefined
}
