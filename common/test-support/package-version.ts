import { readFileSync } from 'node:fs'
import { join } from 'node:path'

/** The version in the repository's package.json, read directly (not through common/package-info). */
export function versionInPackageJson(): string {
  const file = join(import.meta.dirname, '..', '..', 'package.json')
  return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version
}
