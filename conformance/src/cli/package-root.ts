import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

/** The package's root folder (the one holding fixtures/), found from this module in src or dist. */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  for (;;) {
    if (existsSync(join(dir, 'fixtures')) && existsSync(join(dir, 'package.json'))) {
      return dir
    }
    const parent = dirname(dir)
    if (parent === dir) {
      return process.cwd()
    }
    dir = parent
  }
}

/** The scenarios shipped with the package (`fixtures/scenarios`): `conax-conformance run`'s default. */
export function shippedScenarioFolder(): string {
  return join(packageRoot(), 'fixtures', 'scenarios')
}
