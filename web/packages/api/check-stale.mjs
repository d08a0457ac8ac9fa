// Fails when src/schema.d.ts is not what openapi-typescript makes of openapi.json (npm run check:api).
import { readFileSync, rmSync } from 'node:fs'
const here = new URL('.', import.meta.url)
const fresh = readFileSync(new URL('.schema.check.d.ts', here), 'utf8')
rmSync(new URL('.schema.check.d.ts', here))
let committed = ''
try { committed = readFileSync(new URL('src/schema.d.ts', here), 'utf8') } catch { /* missing */ }
if (fresh !== committed) {
  console.error('web/packages/api/src/schema.d.ts is stale: run `npm run gen:api` in web/ and commit it')
  process.exit(1)
}
