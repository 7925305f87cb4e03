// npm run openapi:write: writes the OpenAPI documents both servers serve to docs/openapi/ (after
// the build); a test fails when the files differ from what the code generates.
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'

const root = join(import.meta.dirname, '..')
const { adminOpenApiDocument } = await import('../dist/simulator/src/admin/admin-openapi.js')
const { openApiDocument } = await import('../dist/src/api/openapi.js')
for (const [file, document] of [
  ['simulator-admin.json', adminOpenApiDocument()],
  ['adapter.json', openApiDocument()],
]) {
  writeFileSync(join(root, 'docs', 'openapi', file), `${JSON.stringify(document, null, 2)}\n`)
}
