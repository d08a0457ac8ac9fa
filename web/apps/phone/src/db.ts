// The phone's IndexedDB (Dexie): everything the inspector can lose lives here before the screen says
// "saved". Photos are kept byte for byte (ArrayBuffer) under (visit, SHA-256).
import Dexie, { type Table } from 'dexie'
import type { ChecklistTemplate, LocalPhoto, LocalVisit } from '@inspect/core'

export interface PhotoRow extends LocalPhoto {
  key: string // `${visitId}/${sha256}`
  thumb: string | null // a small JPEG data URL for the app's own lists
}

/** A photo's original bytes, apart from its row, so that lists and counts never read megabytes. */
export interface BlobRow { key: string; bytes: ArrayBuffer }

export interface TemplateRow { key: string; code: string; version: number; title: string; kind: string; template: ChecklistTemplate }
export interface UnitRow { id: number; name: string; kind: string; code: string; is_active?: boolean }
export interface StaffRow { id: number; badge_no: string; name: string; unit_id: number; post?: string | null; window_no?: string | null; is_active?: boolean }
export interface ServiceItemRow { id: number; code: string; name: string; unit_id: number; materials?: { code: string; name: string }[]; is_active?: boolean }
export interface MetaRow { key: string; value: unknown }

class PhoneDb extends Dexie {
  visits!: Table<LocalVisit, string>
  photos!: Table<PhotoRow, string>
  blobs!: Table<BlobRow, string>
  templates!: Table<TemplateRow, string>
  units!: Table<UnitRow, number>
  staff!: Table<StaffRow, number>
  serviceItems!: Table<ServiceItemRow, number>
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
    // v2: the bytes move to their own table (counting 150 photos read every original: 6 GB of reads).
    this.version(2).stores({ blobs: 'key' }).upgrade(async (tx) => {
      await tx.table('photos').toCollection().modify((p: PhotoRow & { bytes?: ArrayBuffer }) => {
        if (p.bytes) void tx.table('blobs').put({ key: p.key, bytes: p.bytes })
        delete p.bytes
      })
    })
    // v3: staff and service items of the registry kept offline too (the delta feed carries them);
    // the cursor starts again so they are fetched once.
    this.version(3).stores({ staff: 'id, badge_no, unit_id', serviceItems: 'id, unit_id' }).upgrade(async (tx) => {
      await tx.table('meta').delete('orgCursor')
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
