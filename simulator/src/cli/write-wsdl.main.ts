/* eslint-disable no-console -- a maintenance script */
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { shippedWsdlFiles } from '../operations/served-wsdl.js'

// Regenerates fixtures/wsdl/*.wsdl from the operation table (npm run fixtures:wsdl).
const target = process.argv[2] ?? 'fixtures/wsdl'
mkdirSync(target, { recursive: true })
for (const { file, content } of shippedWsdlFiles()) {
  writeFileSync(join(target, file), content)
  console.log(`wrote ${join(target, file)}`)
}
