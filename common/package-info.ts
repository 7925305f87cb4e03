import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

/**
 * The package's own name and version, read from its package.json at run time (not imported: a
 * JSON import would copy package.json into dist/), whether the code runs from source, from dist/
 * or from node_modules/conax-contego-sim of a project that installed it.
 * @module
 */

const PACKAGE_NAME = 'conax-contego-sim'

let cached: { readonly name: string; readonly version: string } | undefined

/** The name and version of the package that holds this file. */
export function packageInfo(): { readonly name: string; readonly version: string } {
  if (cached !== undefined) {
    return cached
  }
  let dir = dirname(fileURLToPath(import.meta.url))
  for (;;) {
    const file = join(dir, 'package.json')
    if (existsSync(file)) {
      const json = JSON.parse(readFileSync(file, 'utf8')) as { name?: unknown; version?: unknown }
      if (json.name === PACKAGE_NAME && typeof json.version === 'string') {
        cached = { name: PACKAGE_NAME, version: json.version }
        return cached
      }
    }
    const parent = dirname(dir)
    if (parent === dir) {
      throw new Error(
        `Failed to find the package.json of ${PACKAGE_NAME} above ${fileURLToPath(import.meta.url)}: reinstall the package.`,
      )
    }
    dir = parent
  }
}

/** The package's version, e.g. `0.2.0`, which every CLI prints for `version` and `--version`. */
export function packageVersion(): string {
  return packageInfo().version
}
