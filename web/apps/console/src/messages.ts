// Every Chinese label of the console in one table.
export const ROLE: Record<string, string> = {
  office: '效能办', unit_liaison: '联络员', leader: '领导', admin: '管理员', inspector: '督查员',
}
export const CATEGORY: Record<string, string> = {
  badge_missing: '未佩戴工牌', desk_plate_missing: '未摆放桌牌', certificate_not_shown: '未公示证照', off_post: '脱岗离岗',
  late_or_early: '迟到早退', unrelated_activity: '做与工作无关的事', incomplete_notice: '一次性告知不到位',
  poor_attitude: '服务态度差', unequal_treatment: '区别对待', shirking: '推诿扯皮', no_inquiry_register: '无咨询登记',
  no_receipt: '未出具收件凭证', overdue: '超时办理', commitment_not_public: '承诺未公开', no_evaluation: '未开展评价',
}
export const SEVERITY: Record<string, string> = { minor: '一般', serious: '较重', severe: '严重' }
export const FINDING_STATUS: Record<string, string> = {
  pending_review: '待审核', confirmed: '已确认', dismissed: '已驳回', returned: '已退回', withdrawn: '已撤销', draft: '草稿',
}
export const MODE: Record<string, string> = { covert: '暗访', overt: '明查', mystery_shopper: '模拟办事' }
export const DOC_KIND: Record<string, string> = {
  criticism: '通报批评', bulletin: '督查通报', rectification: '整改通知', commendation: '通报表扬',
}
export const DOC_STATUS: Record<string, string> = {
  draft: '草稿', approved: '已审批', issuing: '印发中', issued: '已印发',
}
export const label = (table: Record<string, string>, key: string | null | undefined) => (key ? table[key] ?? key : '')

/** "剩余 N 个工作日" (逾期 when past), with the provisional mark where a year's calendar is not loaded. */
export function daysLeft(n: number | null | undefined, provisional: boolean): string {
  if (n === null || n === undefined) return ''
  const text = n >= 0 ? `剩余 ${n} 个工作日` : `已逾期 ${-n} 个工作日`
  return provisional ? `${text}（暂定）` : text
}

export function localTime(iso: string | null | undefined): string {
  if (!iso) return ''
  const d = new Date(iso)
  const p = (x: number) => String(x).padStart(2, '0')
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}`
}
