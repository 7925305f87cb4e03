import { readFile, unlink, writeFile } from 'node:fs/promises'
import { DataFile } from 'lowdb/node'
import { StoreError } from './store-error.js'

/** File helpers both file stores (provisioning requests, runs) share: the lock and JSON reads. */

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

/**
 * What both file stores know about their file's life: once a write has failed, every later
 * change is refused with that failure (what was not written is lost, and the store must not act
 * as if it were); once closed, changes are refused and the lock is given back.
 */
export class StoreFileLife {
  private readonly file: string
  /** `provisioning store`, `run store`: how errors name it. */
  private readonly name: string
  /** How to open it again, for the error of a change after close (`LowdbRunStore.open`). */
  private readonly opener: string
  private failure: StoreError | null = null
  private closed = false

  constructor(file: string, name: string, opener: string) {
    this.file = file
    this.name = name
    this.opener = opener
  }

  /** The first write failure, or null while every write succeeded. */
  get failed(): StoreError | null {
    return this.failure
  }

  /** Throws the first write failure, if there was one. */
  assertNotFailed(): void {
    if (this.failure !== null) {
      throw this.failure
    }
  }

  /** Throws when a change cannot be taken: a write failed, or the store is closed. */
  assertWritable(): void {
    this.assertNotFailed()
    if (this.closed) {
      throw new StoreError(
        'STORE_WRITE_FAILED',
        `Failed to change the ${this.name} ${this.file}: it is closed. Open it again with ${this.opener}.`,
      )
    }
  }

  /** Records a write failure (the first one is kept) and answers it. */
  fail(error: unknown): StoreError {
    this.failure ??= new StoreError(
      'STORE_WRITE_FAILED',
      `Failed to write the ${this.name} ${this.file}: ${reason(error)}. Changes not yet written are lost and this store accepts no more; fix the cause (disk space, permissions) and restart the adapter, which reloads the last written state.`,
      { cause: error },
    )
    return this.failure
  }

  /** Waits for `flush` and gives the lock back; closing again only waits for `flush`. */
  async close(flush: () => Promise<void>): Promise<void> {
    if (this.closed) {
      return flush()
    }
    this.closed = true
    try {
      await flush()
    } finally {
      await releaseLock(`${this.file}.lock`)
    }
  }
}
