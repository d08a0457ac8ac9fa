import { createApp } from 'vue'
import {
  ElAlert, ElAside, ElBadge, ElButton, ElCard, ElCheckbox, ElCol, ElConfigProvider, ElContainer, ElDatePicker,
  ElDescriptions, ElDescriptionsItem, ElDialog, ElDropdown, ElDropdownItem, ElDropdownMenu, ElEmpty, ElForm,
  ElFormItem, ElHeader, ElImage, ElInput, ElLoading, ElMain, ElMenu, ElMenuItem, ElOption, ElPagination, ElRow,
  ElSelect, ElSkeleton, ElStatistic, ElSwitch, ElTable, ElTableColumn, ElTag, ElTimeline, ElTimelineItem, ElUpload,
} from 'element-plus'
import 'element-plus/dist/index.css'
import './app.css'
import App from './App.vue'
import { loadMe, session } from './api'
import { router } from './router'

const app = createApp(App)
for (const c of [ElAlert, ElAside, ElBadge, ElButton, ElCard, ElCheckbox, ElCol, ElConfigProvider, ElContainer,
  ElDatePicker, ElDescriptions, ElDescriptionsItem, ElDialog, ElDropdown, ElDropdownItem, ElDropdownMenu, ElEmpty,
  ElForm, ElFormItem, ElHeader, ElImage, ElInput, ElLoading, ElMain, ElMenu, ElMenuItem, ElOption, ElPagination,
  ElRow, ElSelect, ElSkeleton, ElStatistic, ElSwitch, ElTable, ElTableColumn, ElTag, ElTimeline, ElTimelineItem,
  ElUpload]) app.use(c)

async function start() {
  if (session.tokens) {
    try { await loadMe() } catch { /* the router sends to the login page */ }
  }
  app.use(router)
  app.mount('#app')
}
void start()
