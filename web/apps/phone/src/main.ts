import { loadWasmSha256, needsFallbackSha256 } from '@inspect/core'
import { createApp } from 'vue'
import {
  Button, Cell, CellGroup, Checkbox, CheckboxGroup, Empty, Field, NavBar, NoticeBar, Radio, RadioGroup, Search,
  Tag,
} from 'vant'
import 'vant/lib/index.css'
import './app.css'
import App from './App.vue'
import { db } from './db'
import { M } from './messages'
import { startSender } from './sender'
import { reloadVisits } from './store'

// Without IndexedDB (some private modes, storage blocked or cleared mid-use) nothing could be kept:
// say so plainly instead of letting an inspector fill a checklist that would be lost.
async function main() {
  const storageOk = await db.open().then(() => true, () => false)
  if (!storageOk) {
    document.getElementById('app')!.innerHTML = `<div style="padding:24px;line-height:1.6">
      <h3>${M.noStorageTitle}</h3><p>${M.noStorage}</p></div>`
    return
  }
  // No Web Crypto (http over a LAN is not a secure context): load the WebAssembly SHA-256 now, while
  // the page has the network it was opened with, so photos taken offline later are hashed at once.
  if (needsFallbackSha256()) void loadWasmSha256()
  void reloadVisits()
  startSender()
  const app = createApp(App)
  for (const c of [Button, Cell, CellGroup, Checkbox, CheckboxGroup, Empty, Field, NavBar, NoticeBar, Radio, RadioGroup,
    Search, Tag]) app.use(c)
  app.mount('#app')
}

void main()
