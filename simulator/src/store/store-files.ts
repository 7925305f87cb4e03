import { mkdir, stat } from 'node:fs/promises'
import { dirname } from 'node:path'
import { SimulatorError } from '../runtime/simulator-error.js'

/** Errors and checks shared by the file stores (the lowdb snapshot store and the log store). */

/** STORE_UNREADABLE for a store that cannot be used as it is: one line naming it and the problem. */
export function unreadableStore(store: string, problem: string, cause?: unknown): SimulatorError {
  return new SimulatorError(
    'STORE_UNREADABLE',
    `Failed to read the simulator store ${store}: ${problem}. It was left untouched; repair or move it away, or point --data at another file.`,
    cause === undefined ? {} : { cause },
  )
}

/** The errno code of a file system error (`ENOENT`...), if it is one. */
export function errorCode(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | null)?.code
}

/** A message on one line, so the CLI prints one line whatever the parser put in it. */
export function oneLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).replace(/\s+/g, ' ').trim()
}

/**
 * Checks (or with `create`, creates) the folder of a store file. A missing folder is refused with
 * STORE_FOLDER_MISSING, since it usually means a mistyped path.
 */
export async function checkFolder(file: string, create: boolean): Promise<void> {
  const folder = dirname(file)
  try {
    if (create) {
      await mkdir(folder, { recursive: true })
    }
    if (!(await stat(folder)).isDirectory()) {
      throw unreadableStore(file, `its folder ${folder} is a file`)
    }
  } catch (error) {
    if (error instanceof SimulatorError) {
      throw error
    }
    if (errorCode(error) === 'ENOENT') {
      throw new SimulatorError(
        'STORE_FOLDER_MISSING',
        `Failed to open the simulator store ${file}: its folder ${folder} does not exist. Create it (mkdir -p ${folder}) or pass --create-data-dir; nothing was written.`,
      )
    }
    throw unreadableStore(file, `its folder ${folder} cannot be used (${oneLine(error)})`, error)
  }
}
