#!/usr/bin/env node
// Thin launcher: the simulator is TypeScript compiled to dist/ by `npm install` (the prepare script).
import { existsSync } from 'node:fs'

// `conax-sim --help | head` closes stdout early; that is not an error worth a stack trace.
process.stdout.on('error', (error) => {
  if (error.code === 'EPIPE') {
    process.exit(0)
  }
  throw error
})

const main = new URL('../dist/simulator/src/cli/main.js', import.meta.url)
if (!existsSync(main)) {
  console.error(
    'conax-sim: BUILD_MISSING: dist/ is not there. Run `npm install` (it builds in prepare) or `npm run build`.',
  )
  process.exit(2)
}
const { runCli } = await import(main.href)
process.exitCode = await runCli(process.argv)
