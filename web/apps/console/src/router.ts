// Routes by role: a page a role may not use is neither in its menu nor reachable (the API refuses it too).
import { createRouter, createWebHistory, type RouteComponent, type RouteRecordRaw } from 'vue-router'
import { loadMe, session } from './api'

export interface MenuItem { path: string; title: string; roles: string[] }

export const MENU: MenuItem[] = [
  { path: '/office', title: '待办概览', roles: ['office', 'admin'] },
  { path: '/review', title: '问题审核', roles: ['office', 'admin'] },
  { path: '/cases', title: '申辩与整改', roles: ['office', 'admin'] },
  { path: '/documents', title: '公文', roles: ['office', 'admin', 'leader'] },
  { path: '/complaints', title: '投诉举报', roles: ['office', 'admin'] },
  { path: '/sampling', title: '双随机抽查', roles: ['office', 'admin'] },
  { path: '/accountability', title: '问责', roles: ['office', 'admin'] },
  { path: '/assessment', title: '年度考评', roles: ['office', 'admin', 'leader'] },
  { path: '/rankings', title: '排名', roles: ['office', 'admin', 'leader'] },
  { path: '/ratings', title: '好差评', roles: ['office', 'admin', 'leader'] },
  { path: '/unit/findings', title: '本单位问题', roles: ['unit_liaison'] },
  { path: '/unit/documents', title: '涉及本单位的公文', roles: ['unit_liaison'] },
  { path: '/unit/complaints', title: '转办投诉', roles: ['unit_liaison'] },
  { path: '/unit/follow-ups', title: '差评整改', roles: ['unit_liaison'] },
  { path: '/dashboard', title: '统计看板', roles: ['leader', 'office', 'admin'] },
  { path: '/users', title: '用户管理', roles: ['admin'] },
  { path: '/org', title: '组织机构', roles: ['admin'] },
  { path: '/imports', title: '数据导入', roles: ['admin'] },
  { path: '/checklists', title: '检查表', roles: ['admin'] },
  { path: '/calendar', title: '节假日', roles: ['admin'] },
  { path: '/policy', title: '问责规则', roles: ['admin'] },
]

const page = (path: string, component: () => Promise<RouteComponent | { default: RouteComponent }>): RouteRecordRaw => ({
  path, component, meta: { roles: MENU.find((m) => path.startsWith(m.path))?.roles },
})

export const router = createRouter({
  history: createWebHistory('/console/'),
  routes: [
    { path: '/login', component: () => import('./pages/Login.vue'), meta: { public: true } },
    { path: '/', redirect: () => home() },
    page('/office', () => import('./pages/OfficeHome.vue')),
    page('/review', () => import('./pages/Review.vue')),
    page('/cases', () => import('./pages/Cases.vue')),
    page('/documents', () => import('./pages/Documents.vue')),
    page('/documents/:id', () => import('./pages/DocumentDetail.vue')),
    page('/unit/findings', () => import('./pages/UnitFindings.vue')),
    page('/unit/findings/:id', () => import('./pages/UnitFindingDetail.vue')),
    page('/unit/documents', () => import('./pages/UnitDocuments.vue')),
    page('/complaints', () => import('./pages/office/Complaints.vue')),
    page('/complaints/:id', () => import('./pages/office/Complaint.vue')),
    page('/sampling', () => import('./pages/office/Sampling.vue')),
    page('/sampling/:id', () => import('./pages/office/SamplingPlan.vue')),
    page('/accountability', () => import('./pages/office/Accountability.vue')),
    page('/accountability/cases/:id', () => import('./pages/office/AccountabilityCase.vue')),
    page('/assessment', () => import('./pages/office/Assessment.vue')),
    page('/assessment/draws/:id', () => import('./pages/office/SurveyDraw.vue')),
    page('/assessment/runs/:id', () => import('./pages/office/GradeRun.vue')),
    page('/rankings', () => import('./pages/office/Rankings.vue')),
    page('/ratings', () => import('./pages/office/Ratings.vue')),
    page('/unit/complaints', () => import('./pages/office/UnitComplaints.vue')),
    page('/unit/follow-ups', () => import('./pages/office/UnitFollowUps.vue')),
    page('/dashboard', () => import('./pages/Dashboard.vue')),
    page('/users', () => import('./pages/Users.vue')),
    page('/org', () => import('./pages/Org.vue')),
    page('/imports', () => import('./pages/Imports.vue')),
    page('/checklists', () => import('./pages/Checklists.vue')),
    page('/calendar', () => import('./pages/Calendar.vue')),
    page('/policy', () => import('./pages/Policy.vue')),
    { path: '/:rest(.*)*', redirect: () => home() },
  ],
})

export function menuFor(role: string | undefined): MenuItem[] {
  return MENU.filter((m) => role && m.roles.includes(role))
}

export function home(): string {
  return menuFor(session.me?.role)[0]?.path ?? '/login'
}

router.beforeEach(async (to) => {
  if (to.meta.public) return true
  if (!session.tokens) return { path: '/login', query: { next: to.fullPath } }
  if (!session.me) {
    try { await loadMe() } catch { return { path: '/login', query: { next: to.fullPath } } }
  }
  const roles = to.meta.roles as string[] | undefined
  if (roles && !roles.includes(session.me!.role)) return home()
  return true
})
