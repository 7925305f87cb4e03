#!/usr/bin/env node
// Thin launcher: the harness is TypeScript compiled to dist/ by `npm install` (the prepare script).
import { existsSync } from 'node:fs'

// A closed pipe (`| head`) only stops the console report: the run goes on, so its exit code (and
// the JUnit/HTML files) still tell whether the scenarios passed.
process.stdout.on('error', (error) => {
  if (error.code !== 'EPIPE') {
    throw error
  }
})

const main = new URL('../dist/conformance/src/cli/main.js', import.meta.url)
if (!existsSync(main)) {
  console.error(
    'conax-conformance: BUILD_MISSING: dist/ is not there. Run `npm install` (it builds in prepare) or `npm run build`.',
  )
  process.exit(2)
}
const { runConformanceCli } = await import(main.href)
process.exitCode = await runConformanceCli(process.argv)
