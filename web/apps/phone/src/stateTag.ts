// One colour per outbox state, the same in the list and on the visit screen.
import type { OutboxState } from '@inspect/core'

export const STATE_TAG: Record<OutboxState, 'default' | 'primary' | 'warning' | 'success' | 'danger'> = {
  draft: 'default', queued: 'warning', sending: 'primary', sent: 'success', attention: 'danger',
}
