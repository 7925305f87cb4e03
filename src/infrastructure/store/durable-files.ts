import { open, rename } from 'node:fs/promises'
import { dirname } from 'node:path'

/**
 * How the file stores make writes durable: `group` (default) fsyncs every group commit before it
 * is acknowledged, so an acknowledged change survives a power cut; `never` leaves that to the
 * operating system (an acknowledged change survives a killed process, not a power cut), for speed
 * runs.
 */
export type FsyncMode = 'group' | 'never'

export const FSYNC_MODES = ['group', 'never'] as const satisfies readonly FsyncMode[]

/** Fsyncs a folder, so that files created, renamed or deleted in it stay so after a power cut. */
export async function syncFolder(folder: string): Promise<void> {
  const handle = await open(folder, 'r')
  try {
    await handle.sync()
  } finally {
    await handle.close()
  }
}

/**
 * Replaces `path` with `chunks` atomically: writes `<path>.tmp`, fsyncs it, renames it over `path`
 * and fsyncs the folder. A crash at any point leaves either the old file or the new one whole.
 * `step` is told when the temporary file is complete and when the rename is done (tests stop there).
 * Without `sync` nothing is fsynced: the replacement is still atomic, but only a killed process
 * (not a power cut) is survived.
 */
export async function replaceFile(
  path: string,
  chunks: AsyncIterable<string | Buffer> | Iterable<string | Buffer>,
  options: {
    readonly sync?: boolean
    readonly step?: (name: 'temporary-written' | 'renamed') => Promise<void>
  } = {},
): Promise<void> {
  const sync = options.sync ?? true
  const step = options.step ?? (() => Promise.resolve())
  const temporary = `${path}.tmp`
  const handle = await open(temporary, 'w')
  try {
    for await (const chunk of chunks) {
      await handle.write(typeof chunk === 'string' ? Buffer.from(chunk) : chunk)
    }
    if (sync) {
      await handle.sync()
    }
  } finally {
    await handle.close()
  }
  await step('temporary-written')
  await rename(temporary, path)
  if (sync) {
    await syncFolder(dirname(path))
  }
  await step('renamed')
}
