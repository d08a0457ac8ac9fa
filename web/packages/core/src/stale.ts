// What changed under a stale write (412): the fields someone else changed since the form was loaded,
// with the user's own edit beside each, so the console can say what changed before offering a reload.

export interface FieldChange {
  field: string
  /** The value when the user started editing. */
  before: unknown
  /** The value now on the server. */
  now: unknown
  /** The user's unsaved value, when the user edited this field too. */
  mine?: unknown
  /** Whether the user edited this field as well (a real conflict, not just news). */
  conflict: boolean
}

/** Deep equality for JSON values (key order of objects does not matter). */
export function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true
  if ((a === null || a === undefined) && (b === null || b === undefined)) return true
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false
  if (Array.isArray(a) !== Array.isArray(b)) return false
  if (Array.isArray(a)) {
    const bb = b as unknown[]
    return a.length === bb.length && a.every((x, i) => sameValue(x, bb[i]))
  }
  const ka = Object.keys(a as object), kb = Object.keys(b as object)
  const ra = a as Record<string, unknown>, rb = b as Record<string, unknown>
  return new Set([...ka, ...kb]).size === ka.length && ka.length === kb.length && ka.every((k) => sameValue(ra[k], rb[k]))
}

/** Bookkeeping fields that change on every write and say nothing to the user. */
export const BOOKKEEPING = ['version', 'updated_at', 'change_seq', 'etag']

/**
 * The fields that differ between `base` (as loaded) and `current` (as now), each with the user's edit
 * when `edited` holds one for it; `fields` limits the comparison (default: every key of both).
 * An edited field that nobody else changed is not listed: saving it again is safe.
 */
export function changedFields(base: Record<string, unknown>, current: Record<string, unknown>,
  edited: Record<string, unknown> = {}, fields?: string[]): FieldChange[] {
  const keys = fields ?? [...new Set([...Object.keys(base), ...Object.keys(current)])]
  const out: FieldChange[] = []
  for (const field of keys) {
    if (!fields && BOOKKEEPING.includes(field)) continue
    if (sameValue(base[field], current[field])) continue
    const touched = field in edited && !sameValue(edited[field], base[field])
    out.push({ field, before: base[field], now: current[field], conflict: touched,
      ...(touched ? { mine: edited[field] } : {}) })
  }
  return out
}
