// The org registry's three kinds of record: their API paths, Chinese field labels and form fields.
export type OrgKind = 'units' | 'staff' | 'service-items'

export interface OrgField { key: string; label: string; type: 'text' | 'number' | 'bool' | 'select' | 'tags'; options?: Record<string, string>; required?: boolean }

export const UNIT_KIND: Record<string, string> = { county: '县（区）', department: '部门', hall: '大厅', window: '窗口', other: '其他' }

export const ORG_FIELDS: Record<OrgKind, OrgField[]> = {
  units: [
    { key: 'code', label: '单位编码', type: 'text', required: true },
    { key: 'name', label: '单位名称', type: 'text', required: true },
    { key: 'kind', label: '类型', type: 'select', options: UNIT_KIND, required: true },
    { key: 'head_name', label: '主要负责人', type: 'text' },
    { key: 'head_title', label: '负责人职务', type: 'text' },
    { key: 'address', label: '地址', type: 'text' },
    { key: 'phone', label: '电话', type: 'text' },
    { key: 'opening_hours', label: '办公时间', type: 'text' },
    { key: 'tags', label: '标签', type: 'tags' },
  ],
  staff: [
    { key: 'badge_no', label: '工牌号', type: 'text', required: true },
    { key: 'name', label: '姓名', type: 'text', required: true },
    { key: 'post', label: '岗位', type: 'text', required: true },
    { key: 'position', label: '职务', type: 'text' },
    { key: 'window_no', label: '窗口号', type: 'text' },
  ],
  'service-items': [
    { key: 'code', label: '事项编码', type: 'text', required: true },
    { key: 'name', label: '事项名称', type: 'text', required: true },
    { key: 'statutory_limit_days', label: '法定时限（工作日）', type: 'number', required: true },
    { key: 'committed_limit_days', label: '承诺时限（工作日）', type: 'number', required: true },
    { key: 'on_the_spot', label: '即办件', type: 'bool' },
  ],
}

export const KIND_TITLE: Record<OrgKind, string> = { units: '单位', staff: '工作人员', 'service-items': '服务事项' }

/** Every label of a kind, plus the ones only history shows. */
export function labelsOf(kind: OrgKind): Record<string, string> {
  const out: Record<string, string> = { parent_id: '上级单位', unit_id: '所属单位', is_active: '启用', materials: '申请材料',
    accepting_window_ids: '受理窗口', staffing_unit_id: '进驻部门', backup_id: 'AB 角', unit_code: '所属单位编码',
    parent_code: '上级单位编码', backup_badge_no: 'AB 角工牌号', staffing_code: '进驻部门编码', accepting_window_codes: '受理窗口编码' }
  for (const f of ORG_FIELDS[kind]) out[f.key] = f.label
  return out
}

export const HISTORY_ACTION: Record<string, string> = {
  create: '新建', update: '修改', deactivate: '停用', activate: '启用', import: '导入', move: '移动',
}
