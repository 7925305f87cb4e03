import { spawn } from 'node:child_process'
import {
  existsSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { describe, expect, it, onTestFinished } from 'vitest'
import { FileProvisioningStore, type CompactionStep } from './file-provisioning-store.js'

/**
 * kill -9 at seeded random points while a child process writes to a store, then open it here: it
 * always opens, and every commit and update the child had seen acknowledged is there. The child
 * runs the built module, as the adapter does in production.
 */

const HERE = dirname(fileURLToPath(import.meta.url))
const DIST = join(HERE, '..', '..', '..', 'dist', 'src', 'infrastructure', 'store')
const DIST_MODULE = join(DIST, 'file-provisioning-store.js')

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'conax-store-crash-'))
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

/** The test drives the built module; it never skips, and refuses a build older than the sources. */
function assertBuilt(): void {
  if (!existsSync(DIST_MODULE)) {
    throw new Error(`${DIST_MODULE} is missing: run npm run build first, then run the tests again.`)
  }
  const sources = readdirSync(HERE).filter((name) => !/\.(test|contract)\.ts$/.test(name))
  for (const source of sources) {
    const built = join(DIST, source.replace(/\.ts$/, '.js'))
    if (!existsSync(built) || statSync(join(HERE, source)).mtimeMs > statSync(built).mtimeMs) {
      throw new Error(
        `${built} is older than ${source}: run npm run build first, then run the tests again.`,
      )
    }
  }
}

/** A seeded generator of numbers in [0, 1) (mulberry32). */
function seeded(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/**
 * A writer: 8 loops, each committing a subscription with two requests, completing the first and
 * retrying the second (it stays PENDING), printing a line as each call resolves. A small
 * compaction size makes it compact often, so kills land in every phase. With a step name it
 * kills itself when a compaction reaches that step.
 */
function writerScript(): string {
  return `
import { FileProvisioningStore } from ${JSON.stringify(pathToFileURL(DIST_MODULE).href)}
const [file, compactBytes, crashAt] = process.argv.slice(2)
const store = await FileProvisioningStore.open(file, {
  compactBytes: Number(compactBytes),
  onCompactionStep: (step) => { if (step === crashAt) process.kill(process.pid, 'SIGKILL') },
})
process.stdout.write('open\\n')
let next = 0
const command = (card) => ({ type: 'ADD_SUBSCRIPTIONS', smartcardCaId: card, serviceCaId: '100', distributor: null })
async function loop() {
  for (;;) {
    const subscriptionId = 'S-' + process.pid + '-' + next++
    const now = new Date().toISOString()
    const subscription = { id: subscriptionId, type: null, state: 'EFFECTIVE', services: [], installedItems: [], swaps: [], createdAt: now, updatedAt: now }
    const requests = [1, 2].map((n) => ({ command: command(String(n)), processName: 'MANUAL', processId: 'P' + (next % 4), subscriptionId }))
    const [a, b] = await store.commit({ subscription, requests }, now)
    process.stdout.write(['commit', subscriptionId, a.id, a.sequenceNumber, b.id, b.sequenceNumber].join(' ') + '\\n')
    await store.updateRequest(a.id, { lifeCycleState: 'COMPLETED', response: 'x'.repeat(300), referenceNumber: 'T' + a.number }, now)
    process.stdout.write('update ' + a.id + '\\n')
    await store.updateRequest(b.id, { attempts: 1, errorCode: 'E' + b.number }, now)
    process.stdout.write('retry ' + b.id + ' E' + b.number + '\\n')
  }
}
await Promise.all(Array.from({ length: 8 }, loop))
`
}

/**
 * Runs the writer until it has printed `acknowledged` lines after `open` (then kills it), or until
 * it kills itself; answers every line it printed.
 */
function runUntilKilled(
  script: string,
  args: readonly string[],
  acknowledged: number | null,
): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
    onTestFinished(() => {
      child.kill('SIGKILL')
    })
    const lines: string[] = []
    let stderr = ''
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
    // Pipe writes of a short line are atomic on Linux, so every line read is whole.
    createInterface({ input: child.stdout }).on('line', (line) => {
      lines.push(line)
      if (acknowledged !== null && lines.length > acknowledged) {
        child.kill('SIGKILL')
      }
    })
    child.on('close', (code, signal) => {
      if (signal === 'SIGKILL') {
        resolve(lines)
      } else {
        reject(new Error(`the writer exited with ${String(code)} before it was killed: ${stderr}`))
      }
    })
  })
}

/** What the writers had seen acknowledged, over all rounds. */
class Acknowledged {
  readonly commits = new Map<string, { id: string; sequence: number }[]>()
  readonly completed = new Set<string>()
  readonly retried = new Map<string, string>()

  take(lines: readonly string[]): void {
    for (const line of lines) {
      const [kind, ...fields] = line.split(' ')
      if (kind === 'commit') {
        const [subscriptionId, a, aSequence, b, bSequence] = fields as [
          string,
          string,
          string,
          string,
          string,
        ]
        this.commits.set(subscriptionId, [
          { id: a, sequence: Number(aSequence) },
          { id: b, sequence: Number(bSequence) },
        ])
      } else if (kind === 'update') {
        this.completed.add(fields[0]!)
      } else if (kind === 'retry') {
        this.retried.set(fields[0]!, fields[1]!)
      } else if (kind !== 'open') {
        throw new Error(`unexpected line from the writer: ${line}`)
      }
    }
  }

  /** Opens the store (it must open) and checks that everything acknowledged is in it. */
  async check(file: string): Promise<void> {
    const store = await FileProvisioningStore.open(file)
    try {
      for (const [subscriptionId, requests] of this.commits) {
        expect(await store.getSubscription(subscriptionId)).toMatchObject({ id: subscriptionId })
        for (const { id, sequence } of requests) {
          expect(await store.getRequest(id)).toMatchObject({
            id,
            subscriptionId,
            sequenceNumber: sequence,
          })
        }
      }
      for (const id of this.completed) {
        expect(await store.getRequest(id)).toMatchObject({
          lifeCycleState: 'COMPLETED',
          response: 'x'.repeat(300),
        })
      }
      for (const [id, errorCode] of this.retried) {
        expect(await store.getRequest(id)).toMatchObject({ lifeCycleState: 'PENDING', errorCode })
      }
      // Numbers run 1..n without a hole, and sequence numbers increase with them.
      const all = await store.listRequests({})
      expect(all.items.map((r) => r.number)).toEqual(all.items.map((_, i) => String(i + 1)))
      const sequence = all.items.map((r) => r.sequenceNumber)
      expect(sequence.every((value, i) => i === 0 || value > sequence[i - 1]!)).toBe(true)
    } finally {
      await store.close()
    }
  }
}

/** Only the snapshot's archives and the log files from its `logFrom` on are left. */
function expectNoLeftovers(file: string): void {
  const snapshot = JSON.parse(readFileSync(file, 'utf8')) as {
    logFrom: number
    archives: { file: string }[]
  }
  expect(existsSync(`${file}.tmp`)).toBe(false)
  for (const name of readdirSync(`${file}.d`)) {
    if (name.startsWith('archive-')) {
      expect(snapshot.archives.map((ref) => ref.file)).toContain(name)
    } else {
      expect(Number(/^log-(\d+)\.jsonl$/.exec(name)?.[1])).toBeGreaterThanOrEqual(snapshot.logFrom)
    }
  }
}

describe('FileProvisioningStore killed with SIGKILL', () => {
  it('opens after every one of 50 kills at seeded random points with every acknowledged change', async () => {
    assertBuilt()
    const dir = tempDir()
    const file = join(dir, 'adapter.json')
    const script = join(dir, 'writer.mjs')
    writeFileSync(script, writerScript())
    const acknowledged = new Acknowledged()
    const random = seeded(2026)

    for (let round = 0; round < 50; round++) {
      // 0 kills it just after it opened the store; up to 60 lets it compact a few times.
      const lines = await runUntilKilled(script, [file, '20000'], Math.floor(random() * 61))
      acknowledged.take(lines)
      await acknowledged.check(file)
    }

    expect(acknowledged.commits.size).toBeGreaterThan(300)
    const names = readdirSync(`${file}.d`)
    expect(names.filter((name) => name.startsWith('archive-')).length).toBeGreaterThan(5)
  }, 120_000)

  it.each<CompactionStep>([
    'rotated',
    'archive-written',
    'snapshot-temporary-written',
    'snapshot-renamed',
    'logs-deleted',
  ])('opens with every acknowledged change after a kill at compaction step %s', async (step) => {
    assertBuilt()
    const dir = tempDir()
    const file = join(dir, 'adapter.json')
    const script = join(dir, 'writer.mjs')
    writeFileSync(script, writerScript())
    const acknowledged = new Acknowledged()

    acknowledged.take(await runUntilKilled(script, [file, '30000', step], null))
    await acknowledged.check(file)

    // What the compaction left half done is gone once the store has opened.
    expectNoLeftovers(file)
    // The next run compacts again and dies at the same step; the store still opens.
    acknowledged.take(await runUntilKilled(script, [file, '30000', step], null))
    await acknowledged.check(file)
    expectNoLeftovers(file)
    expect(acknowledged.completed.size).toBeGreaterThan(0)
  })
})
