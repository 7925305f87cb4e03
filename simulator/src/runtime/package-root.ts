import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

let cached: string | undefined

/** The repository root (the folder holding `fixtures/`), found from this file whether run from source or `dist/`. */
export function packageRoot(): string {
  if (cached !== undefined) {
    return cached
  }
  let dir = dirname(fileURLToPath(import.meta.url))
  while (!existsSync(join(dir, 'fixtures', 'catalogue.json'))) {
    const parent = dirname(dir)
    if (parent === dir) {
      throw new Error(
        'Failed to find the conax-sim package root: no fixtures/catalogue.json above this file.',
      )
    }
    dir = parent
  }
  cached = dir
  return dir
}
