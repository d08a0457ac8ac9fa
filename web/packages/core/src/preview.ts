// A preview of what a checklist's answers will raise: failed items (the findings the server will
// derive) and the photos those items need. The server decides; this only tells the inspector early.

export interface ChecklistItem {
  code: string
  question: string
  answer_type: 'yes_no' | 'choice' | 'number' | 'text' | string
  fail_answer?: string | null
  choices?: { code: string; label: string }[] | null
  fail_choices?: string[] | null
  fail_above?: number | null
  fail_below?: number | null
  min?: number | null
  max?: number | null
  unit?: string | null
  category?: string | null
  severity?: string | null
  points?: number | null
  photo_required?: boolean | null
  hint?: string | null
}

export interface ChecklistSystem {
  code: string
  label: string
  items: ChecklistItem[]
}

export interface ChecklistTemplate {
  code: string
  version: number
  title: string
  systems: ChecklistSystem[]
}

export type Answer = string | number | null | undefined

/** The same test as the server's `answer_fails` (inspect_api/checklists/rules.py). */
export function answerFails(item: ChecklistItem, answer: Answer): boolean {
  if (answer === null || answer === undefined || answer === '') return false
  switch (item.answer_type) {
    case 'yes_no':
      return item.fail_answer != null && answer === item.fail_answer
    case 'choice':
      return (item.fail_choices ?? []).includes(String(answer))
    case 'number': {
      if (typeof answer !== 'number' || !Number.isFinite(answer)) return false
      if (item.fail_above != null && answer > item.fail_above) return true
      return item.fail_below != null && answer < item.fail_below
    }
    default:
      return false
  }
}

export interface ExpectedFinding {
  itemCode: string
  category: string | null
  severity: string | null
  points: number
  photoRequired: boolean
}

export interface Preview {
  answered: number
  total: number
  failed: ExpectedFinding[]
  missingPhotos: string[] // item codes whose required photo is not taken yet
  deductedPoints: number
}

export function allItems(t: ChecklistTemplate): ChecklistItem[] {
  return t.systems.flatMap((s) => s.items)
}

export function preview(t: ChecklistTemplate, answers: Record<string, Answer>,
                        photosByItem: Record<string, number> = {}): Preview {
  const items = allItems(t)
  const failed = items
    .filter((i) => answerFails(i, answers[i.code]))
    .map((i) => ({ itemCode: i.code, category: i.category ?? null, severity: i.severity ?? null,
                   points: i.points ?? 0, photoRequired: !!i.photo_required }))
  return {
    answered: items.filter((i) => answers[i.code] !== undefined && answers[i.code] !== null && answers[i.code] !== '').length,
    total: items.length,
    failed,
    missingPhotos: failed.filter((f) => f.photoRequired && !(photosByItem[f.itemCode] > 0)).map((f) => f.itemCode),
    deductedPoints: failed.reduce((s, f) => s + f.points, 0),
  }
}
