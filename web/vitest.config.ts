import { defineConfig } from 'vitest/config'

// The pure packages' tests (the phone app's screens are tested in a real browser by tests/system).
export default defineConfig({ test: { include: ['packages/*/test/**/*.test.ts'] } })
