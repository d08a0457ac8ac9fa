// The phone's IndexedDB (Dexie): everything the inspector can lose lives here before the screen says
// "saved". Photos are kept byte for byte (ArrayBuffer) under (visit, SHA-256).
import Dexie, { type Table } from 'dexie'
import type { ChecklistTemplate, LocalPhoto, LocalVisit } from '@inspect/core'

export interface PhotoRow extends LocalPhoto {
  key: string // `${visitId}/${sha256}`
  bytes: ArrayBuffer
  thumb: string | null // a small JPEG data URL for the app's own lists
}

export interface TemplateRow { key: string; code: string; version: number; title: string; kind: string; template: ChecklistTemplate }
export interface UnitRow { id: number; name: string; kind: string; code: string; is_active?: boolean }
export interface MetaRow { key: string; value: unknown }

class PhoneDb extends Dexie {
  visits!: Table<LocalVisit, string>
  photos!: Table<PhotoRow, string>
  templates!: Table<TemplateRow, string>
  units!: Table<UnitRow, number>
  meta!: Table<MetaRow, string>

  constructor() {
    super('inspect-phone')
    this.version(1).stores({
      visits: 'id, updatedAt',
      photos: 'key, visitId',
      templates: 'key, code',
      units: 'id, name',
      meta: 'key',
    })
  }
}

export const db = new PhoneDb()

export async function getMeta<T>(key: string, fallback: T): Promise<T> {
  const row = await db.meta.get(key)
  return row === undefined ? fallback : (row.value as T)
}

export function setMeta(key: string, value: unknown) {
  return db.meta.put({ key, value })
}

export function templateKey(code: string, version: number) {
  return `${code}@${version}`
}
