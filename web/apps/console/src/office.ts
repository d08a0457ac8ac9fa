// What the office's screens share: their Chinese labels, one call helper (the API's message shown; a
// refused state change reloads the record so the screen shows what changed) and render-job progress.
import { ApiError } from '@inspect/api'
import { ElMessage } from 'element-plus'
import { client, session } from './api'

export const PLAN_STATUS: Record<string, string> = {
  draft: '草稿', committed: '已承诺种子', drawn: '已抽取', revealed: '已公开',
}
export const UNIT_KIND: Record<string, string> = {
  county: '县（区）', department: '部门', hall: '政务大厅', window: '窗口', other: '其他',
}
export const COMPLAINT_STATUS: Record<string, string> = {
  received: '已受理，待分办', assigned: '已分办', investigating: '已转单位调查核实', investigated: '调查核实完毕',
  answered: '已答复投诉人', closed: '已办结',
}
export const COMPLAINT_CHANNEL: Record<string, string> = {
  web: '网上投诉', hotline: '投诉电话', letter: '来信', in_person: '来访',
}
export const COMPLAINT_LEVEL: Record<string, string> = {
  citizen_routine: '一般（1–5 个工作日）', citizen_heavy: '较复杂（5–10 个工作日）', citizen_multi_department: '涉及多个部门（30 个工作日）',
}
export const CITIZEN_CATEGORY: Record<string, string> = {
  poor_attitude: '服务态度差（门难进、脸难看、事难办）', shirking: '推诿扯皮、首问不负责', incomplete_notice: '未一次性告知，让群众来回跑',
  overdue: '超过承诺时限未办结', no_receipt: '不能当场办理又不出具回执', off_post: '工作时间擅自离岗、串岗',
  unrelated_activity: '上班做与工作无关的事', late_or_early: '迟到早退', unequal_treatment: '区别对待', other: '其他',
}
export const ANSWER_CHANNEL: Record<string, string> = {
  phone: '电话', sms: '短信', email: '电子邮件', letter: '书面', in_person: '当面', online: '网上查询（凭查询码查看）',
}
export const COMPLAINT_OUTCOME: Record<string, string> = { substantiated: '投诉成立', unsubstantiated: '投诉不成立' }
export const PROPOSAL_STATUS: Record<string, string> = { open: '待处理', accepted: '已立案', dismissed: '已驳回' }
export const SUBJECT: Record<string, string> = { staff: '工作人员', unit: '单位' }
export const CASE_STATUS: Record<string, string> = {
  open: '立案', approved: '已审批', sent: '已移送', decided: '已处理', closed: '已结案',
}
export const CASE_OUTCOME: Record<string, string> = {
  criticism_education: '批评教育', written_self_criticism: '书面检查', efficiency_warning: '效能告诫',
  circulated_criticism: '通报批评', admonishment_talk: '诫勉谈话', off_post_training: '离岗培训',
  reassignment: '调离岗位', referral: '移送纪委监委',
}
export const SURVEY_SOURCE: Record<string, string> = { ratings: '好差评记录', recipients: '导入的服务对象名单' }
export const GRADE: Record<string, string> = { excellent: '优秀', pass: '合格', fail: '不合格', not_assessable: '不予评定' }
export const SCORE: Record<string, string> = { 5: '非常满意', 4: '满意', 3: '基本满意', 2: '不满意', 1: '非常不满意' }

/** A write through the typed client: the data, or undefined after showing the API's Chinese message.
 * `onStale` runs after a 409/412 (the record changed under us): the caller reloads it, and the message
 * says what the state is now. */
export async function write<T>(p: Promise<{ data?: T; error?: unknown; response: Response }>,
  onStale?: () => Promise<unknown>): Promise<T | undefined> {
  try {
    const { data, error, response } = await p
    if (!response.ok) {
      const e = (error as { error?: { code?: string; message?: string; details?: Record<string, unknown> } } | undefined)?.error
      throw new ApiError(response.status, e?.code ?? `http_${response.status}`, e?.message ?? `HTTP ${response.status}`, e?.details ?? {})
    }
    return (data ?? ({} as T)) as T
  } catch (e) {
    let msg = e instanceof ApiError ? (e.status === 0 ? `网络错误：${e.message}` : e.message) : String(e)
    if (e instanceof ApiError && (e.status === 409 || e.status === 412)) {
      msg = `${msg}（数据已被他人更改，页面已刷新为最新状态）`
      if (onStale) await onStale()
    }
    if (e instanceof ApiError && e.status === 422) {
      const fields = (e.details?.fields ?? {}) as Record<string, unknown>
      const parts = Object.entries(fields).map(([k, v]) => `${k}：${Array.isArray(v) ? v.join('；') : JSON.stringify(v)}`)
      if (parts.length) msg = `${msg}（${parts.join('，')}）`
    }
    ElMessage({ type: 'error', message: msg, duration: 8000, showClose: true })
    return undefined
  }
}

/** Wait for a render job (queued → rendering → done | failed), telling `say` where it is. */
export async function waitJob(location: string | null, say: (s: string) => void, stopped = () => false): Promise<boolean> {
  if (!location) return true
  const path = location.replace(/^https?:\/\/[^/]+/, '')
  for (let i = 0; i < 300 && !stopped(); i++) {
    const r = await fetch(path, { headers: { Authorization: `Bearer ${session.tokens!.access}` } }).catch(() => null)
    const job = r && r.ok ? await r.json() : null
    const s = job?.status
    say(s === 'queued' ? '排队等待生成 PDF…' : s === 'rendering' ? '正在生成 PDF…' : s === 'failed' ? `生成失败：${job?.error ?? ''}` : '')
    if (s === 'done') return true
    if (s === 'failed' || !job) return false
    await new Promise((res) => setTimeout(res, 1000))
  }
  return false
}

/** Inspectors by id (teams and conflicts carry ids). */
export async function inspectors(): Promise<{ id: number; full_name: string }[]> {
  const { data } = await client.GET('/api/v1/auth/inspectors')
  return ((data ?? []) as { id: number; full_name: string }[])
}

export function download(url: string, name: string) {
  const a = document.createElement('a')
  a.href = url
  a.download = name
  a.click()
}

export const num = (n: number | null | undefined, digits = 1) => (n === null || n === undefined ? '—' : n.toFixed(digits))
export const pct = (n: number | null | undefined) => (n === null || n === undefined ? '—' : `${(n * 100).toFixed(1)}%`)
