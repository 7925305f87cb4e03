import { spawn } from 'node:child_process'
import {
  closeSync,
  copyFileSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  rmSync,
  statSync,
} from 'node:fs'
import { basename, dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import autocannon from 'autocannon'
import { ServerProcess } from './server-process.js'
import { addSubscriptionsWorkload, cannonRequests } from './workloads.js'

/**
 * Log stores for the durable benchmarks (`npm run bench:sim -- --durable`,
 * `npm run bench:sim:conformance`): a base store of generated cards with an empty log, and a copy
 * of it whose log was grown by load to a given size.
 */

const SIM_SERVER = fileURLToPath(new URL('./sim-server.js', import.meta.url))

/** A compaction threshold no benchmark log reaches: the grown log stays one log. */
export const NO_COMPACTION = String(64 * 1024 * 1024 * 1024)

/** Bytes of a store's log segments. */
export function logBytes(file: string): number {
  const folder = dirname(file)
  const prefix = `${basename(file)}.`
  return readdirSync(folder)
    .filter((name) => name.startsWith(prefix) && name.endsWith('.log'))
    .reduce((sum, name) => sum + statSync(join(folder, name)).size, 0)
}

/** Flushes a store's files to disk (fsync), so their writeback does not disturb what follows. */
export function syncStore(file: string): void {
  const prefix = basename(file)
  for (const name of readdirSync(dirname(file))) {
    if (name.startsWith(prefix)) {
      const fd = openSync(join(dirname(file), name), 'r')
      try {
        fsyncSync(fd)
      } finally {
        closeSync(fd)
      }
    }
  }
}

/** Copies a store's files (not its lock) into `folder`; answers the copy's data file. */
export function copyStore(file: string, folder: string): string {
  mkdirSync(folder, { recursive: true })
  const prefix = basename(file)
  for (const name of readdirSync(dirname(file))) {
    if (name.startsWith(prefix) && !name.endsWith('.lock')) {
      copyFileSync(join(dirname(file), name), join(folder, name))
    }
  }
  const copy = join(folder, prefix)
  syncStore(copy)
  return copy
}

/**
 * Generates `cards` cards and STBs into a new store at `file` and compacts it. The log segment the
 * snapshot covers (the inventory's group) is removed, so the store's log is empty: the next group
 * starts a new segment.
 */
export async function prepareBase(file: string, cards: number): Promise<number> {
  mkdirSync(dirname(file), { recursive: true })
  const started = performance.now()
  const child = spawn(process.execPath, [SIM_SERVER, String(cards), '--data', file, '--prepare'], {
    stdio: ['ignore', 'ignore', 'inherit'],
  })
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve))
  if (code !== 0) {
    throw new Error(`Preparing the store ${file} failed (exit code ${code}).`)
  }
  for (const name of readdirSync(dirname(file))) {
    if (name.startsWith(`${basename(file)}.`) && name.endsWith('.log')) {
      rmSync(join(dirname(file), name))
    }
  }
  return performance.now() - started
}

/** How a log was grown. */
export interface Growth {
  readonly bytes: number
  readonly requests: number
  readonly seconds: number
}

/**
 * Grows the log of the store at `file` to at least `bytes` by AddSubscriptions load (50
 * connections, `--fsync never`, no compaction), then closes the simulator. The requests are the
 * workload's first ones: a benchmark on the grown store goes on after them (`startAt`).
 */
export async function growLog(file: string, bytes: number): Promise<Growth> {
  const { server, ready } = await ServerProcess.start('grower', './sim-server.js', [
    '1',
    '--data',
    file,
    '--fsync',
    'never',
    '--compact-at',
    NO_COMPACTION,
  ])
  const started = performance.now()
  const counter = { next: 0 }
  try {
    // The child lists one card; the workload needs them all: ask the admin API.
    const cards = await allCards(ready.url, ready.adminToken ?? '')
    const workload = addSubscriptionsWorkload(cards)
    while (logBytes(file) < bytes) {
      await new Promise<void>((resolve, reject) => {
        autocannon(
          {
            url: ready.url,
            connections: 50,
            duration: 3,
            requests: cannonRequests(workload, counter),
          },
          (error: unknown) =>
            error
              ? reject(error instanceof Error ? error : new Error(JSON.stringify(error)))
              : resolve(),
        )
      })
    }
  } finally {
    await server.stop(120_000)
  }
  return {
    bytes: logBytes(file),
    requests: counter.next,
    seconds: (performance.now() - started) / 1000,
  }
}

/** Every card id of a simulator, through `GET /admin/cards` pages. */
export async function allCards(url: string, token: string): Promise<string[]> {
  const ids: string[] = []
  for (;;) {
    const res = await fetch(`${url}/admin/cards?offset=${ids.length}&limit=10000`, {
      headers: { Authorization: `Bearer ${token}` },
    })
    const page = (await res.json()) as { total: number; ids: string[] }
    ids.push(...page.ids)
    if (page.ids.length === 0 || ids.length >= page.total) {
      return ids
    }
  }
}
