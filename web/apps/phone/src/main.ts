import { createApp } from 'vue'
import {
  Button, Cell, CellGroup, Checkbox, CheckboxGroup, Empty, Field, NavBar, NoticeBar, Radio, RadioGroup, Search,
  Tag,
} from 'vant'
import 'vant/lib/index.css'
import './app.css'
import App from './App.vue'
import { startSender } from './sender'
import { reloadVisits } from './store'

void reloadVisits()
startSender()
const app = createApp(App)
for (const c of [Button, Cell, CellGroup, Checkbox, CheckboxGroup, Empty, Field, NavBar, NoticeBar, Radio, RadioGroup,
  Search, Tag]) app.use(c)
app.mount('#app')
