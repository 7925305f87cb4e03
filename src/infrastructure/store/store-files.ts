import { readFile, unlink, writeFile } from 'node:fs/promises'
import { DataFile } from 'lowdb/node'
import { StoreError } from './store-error.js'

/** File helpers both lowdb stores (provisioning requests, runs) share: the lock and JSON reads. */

/** The message of an error, for texts. */
export function reason(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/**
 * Takes `<file>.lock` (created exclusively, holding our pid), so two processes never write one
 * store: the last writer would win and each would reuse the other's numbers. A lock left by a
 * process that is gone (killed) is taken over. `store` names the store in errors.
 */
export async function takeLock(lock: string, store: string): Promise<void> {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      await writeFile(lock, String(process.pid), { flag: 'wx' })
      return
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new StoreError(
          'STORE_UNREADABLE',
          `Failed to lock the ${store} with ${lock}: ${reason(error)}. Check that its folder is writable.`,
          { cause: error },
        )
      }
    }
    const owner = Number((await readFile(lock, 'utf8').catch(() => '')).trim())
    if (Number.isInteger(owner) && owner > 0 && isAlive(owner)) {
      throw new StoreError(
        'STORE_LOCKED',
        `The ${store} is in use by process ${owner} (${lock}). Stop that adapter first; if it is gone, delete the lock file.`,
      )
    }
    await unlink(lock).catch(() => undefined)
  }
  throw new StoreError(
    'STORE_LOCKED',
    `Failed to take the lock ${lock}: another process keeps taking it.`,
  )
}

/** Gives the lock back; a lock already gone is fine. */
export async function releaseLock(lock: string): Promise<void> {
  await unlink(lock).catch(() => undefined)
}

/**
 * The parsed file, or null if it does not exist (wrapped, so that a file holding `null` is not
 * "missing"). A file that cannot be read or parsed becomes `unreadable(cause)`.
 */
export async function readJson(
  path: string,
  unreadable: (error: unknown) => StoreError,
): Promise<{ json: unknown } | null> {
  const reader = new DataFile<{ json: unknown }>(path, {
    parse: (text) => ({ json: JSON.parse(text) as unknown }),
    stringify: (data) => JSON.stringify(data.json),
  })
  try {
    return await reader.read()
  } catch (error) {
    throw unreadable(error)
  }
}
