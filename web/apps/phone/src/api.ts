// The app's one API client (packages/api), with tokens kept in localStorage so a reload stays logged in.
import { createApi, type Tokens } from '@inspect/api'
import { reactive } from 'vue'

const KEY = 'inspect-phone-tokens'

export const session = reactive({ tokens: null as Tokens | null, lost: false })
try { session.tokens = JSON.parse(localStorage.getItem(KEY) || 'null') } catch { session.tokens = null }
session.lost = localStorage.getItem(`${KEY}-lost`) === '1'

export const api = createApi({
  store: {
    get: () => session.tokens,
    set(t) {
      session.tokens = t
      session.lost = false
      localStorage.setItem(KEY, JSON.stringify(t))
      localStorage.removeItem(`${KEY}-lost`)
    },
    clear() {
      session.tokens = null
      session.lost = false
      localStorage.removeItem(KEY)
      localStorage.removeItem(`${KEY}-lost`)
    },
  },
  // The refresh token was refused (expired, or the session ended): ask for the password again and
  // keep every unsent visit and photo.
  onSessionLost() {
    session.lost = true
    localStorage.setItem(`${KEY}-lost`, '1')
  },
})
