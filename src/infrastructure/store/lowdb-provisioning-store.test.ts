import { spawn } from 'node:child_process'
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { describe, expect, it, onTestFinished } from 'vitest'
import type { LowdbStoreOptions } from './lowdb-provisioning-store.js'
import { LowdbProvisioningStore, STORE_FORMAT } from './lowdb-provisioning-store.js'
import {
  aNewRequest,
  aSubscription,
  describeProvisioningStoreContract,
} from './provisioning-store.contract.js'

const HERE = dirname(fileURLToPath(import.meta.url))
const ROOT = join(HERE, '..', '..', '..')
const DIST_MODULE = join(
  ROOT,
  'dist',
  'src',
  'infrastructure',
  'store',
  'lowdb-provisioning-store.js',
)
const T0 = '2025-03-01T10:00:00.000Z'
/** Every cycle checkpoints into two-record segments: exercises the whole file layout. */
const TINY: LowdbStoreOptions = {
  journalLimit: 0,
  requestsPerSegment: 2,
  subscriptionsPerSegment: 2,
}

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'conax-store-'))
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

async function openTemp(options: LowdbStoreOptions = {}) {
  const file = join(tempDir(), 'data', 'adapter.json')
  const store = await LowdbProvisioningStore.open(file, options)
  onTestFinished(() => store.close())
  return { file, store }
}

describeProvisioningStoreContract(
  'LowdbProvisioningStore',
  async () => {
    const file = join(tempDir(), 'data', 'adapter.json')
    return {
      store: await LowdbProvisioningStore.open(file),
      reopen: () => LowdbProvisioningStore.open(file),
    }
  },
  { durable: true },
)

describeProvisioningStoreContract(
  'LowdbProvisioningStore checkpointing every write',
  async () => {
    const file = join(tempDir(), 'adapter.json')
    return {
      store: await LowdbProvisioningStore.open(file, TINY),
      reopen: () => LowdbProvisioningStore.open(file, TINY),
    }
  },
  { durable: true },
)

describe('LowdbProvisioningStore files', () => {
  it('creates the folder and a compact file with the format marker', async () => {
    const { file, store } = await openTemp()

    await store.commit({ requests: [aNewRequest()] }, T0)

    const text = readFileSync(file, 'utf8')
    expect(text).not.toContain('\n')
    expect(JSON.parse(text)).toMatchObject({
      format: STORE_FORMAT,
      nextSequence: expect.any(Number),
    })
    expect(store.description).toBe(file)
  })

  it('reads requests stored before error classes and splits existed, with their defaults', async () => {
    const { file, store } = await openTemp()
    const [request] = await store.commit({ requests: [aNewRequest()] }, T0)
    await store.close()
    const json = JSON.parse(readFileSync(file, 'utf8')) as {
      journal: { request?: Record<string, unknown> }[]
    }
    for (const entry of json.journal) {
      for (const field of ['errorClass', 'precedence', 'splitFrom', 'splitInto']) {
        delete entry.request?.[field]
      }
    }
    writeFileSync(file, JSON.stringify(json))

    const again = await LowdbProvisioningStore.open(file)
    onTestFinished(() => again.close())

    expect(await again.getRequest(request!.id)).toEqual(request)
    expect(await again.countPending('none')).toBe(0)
  })

  it('refuses a file that is not JSON and leaves it untouched', async () => {
    const file = join(tempDir(), 'adapter.json')
    writeFileSync(file, '{"format": "conax-adapter/1", ')

    const opening = LowdbProvisioningStore.open(file)

    await expect(opening).rejects.toMatchObject({ code: 'STORE_UNREADABLE' })
    await expect(opening).rejects.toThrow(file)
    await expect(opening).rejects.toThrow(/left untouched/)
    expect(readFileSync(file, 'utf8')).toBe('{"format": "conax-adapter/1", ')
    expect(existsSync(`${file}.segments`)).toBe(false)
  })

  it.each([
    ['the simulator store', '{"format":"conax-sim/1","model":{}}'],
    ['null', 'null'],
    ['an array', '[]'],
    ['a marker without the rest', '{"format":"conax-adapter/1"}'],
  ])('refuses JSON that is %s and leaves it untouched', async (_what, content) => {
    const file = join(tempDir(), 'adapter.json')
    writeFileSync(file, content)

    const opening = LowdbProvisioningStore.open(file)

    await expect(opening).rejects.toMatchObject({
      code: 'STORE_UNREADABLE',
      message: expect.stringContaining(`not a ${STORE_FORMAT} provisioning store`),
    })
    expect(readFileSync(file, 'utf8')).toBe(content)
  })

  it('refuses a store whose segment file is missing', async () => {
    const { file, store } = await openTemp(TINY)
    await store.commit({ requests: [aNewRequest('1'), aNewRequest('2'), aNewRequest('3')] }, T0)
    await store.close()
    const main = readFileSync(file, 'utf8')
    unlinkSync(join(`${file}.segments`, 'requests-000001.json'))

    const opening = LowdbProvisioningStore.open(file)

    await expect(opening).rejects.toMatchObject({
      code: 'STORE_UNREADABLE',
      message: expect.stringContaining('requests-000001.json is missing'),
    })
    expect(readFileSync(file, 'utf8')).toBe(main)
  })

  it('refuses to start afresh over segment files whose main file is gone', async () => {
    const { file, store } = await openTemp(TINY)
    await store.commit({ requests: [aNewRequest()] }, T0)
    await store.close()
    unlinkSync(file)

    await expect(LowdbProvisioningStore.open(file)).rejects.toMatchObject({
      code: 'STORE_UNREADABLE',
      message: expect.stringContaining('the main file was lost'),
    })
    expect(existsSync(file)).toBe(false)
  })

  it('reads in a new instance what another wrote, from segments and journal', async () => {
    const { file, store } = await openTemp({ requestsPerSegment: 3, subscriptionsPerSegment: 2 })
    for (let i = 0; i < 5; i++) {
      await store.commit(
        {
          subscription: aSubscription(`S${String(i)}`),
          requests: [aNewRequest('1', { subscriptionId: `S${String(i)}` }), aNewRequest('2')],
        },
        T0,
      )
    }
    const [first] = (await store.listRequests({ limit: 1 })).items
    await store.updateRequest(first!.id, { lifeCycleState: 'COMPLETED' }, T0)
    const requests = await store.listRequests({})
    const subscriptions = await store.listSubscriptions({})
    await store.close()

    // Journal only (the limit was not reached): then a tiny limit moves it all into segments.
    const second = await LowdbProvisioningStore.open(file, { journalLimit: 0 })
    expect(await second.listRequests({})).toEqual(requests)
    await second.commit({ requests: [] }, T0)
    await second.close()
    const main = JSON.parse(readFileSync(file, 'utf8')) as { journal: unknown[] }
    expect(main.journal).toEqual([])
    expect(readdirSync(`${file}.segments`).sort()).toEqual([
      'requests-000000.json',
      'requests-000001.json',
      'requests-000002.json',
      'requests-000003.json',
      'subscriptions-000000.json',
      'subscriptions-000001.json',
      'subscriptions-000002.json',
    ])

    const third = await LowdbProvisioningStore.open(file)
    onTestFinished(() => third.close())
    expect(await third.listRequests({})).toEqual(requests)
    expect(await third.listSubscriptions({})).toEqual(subscriptions)
    expect((await third.pendingRequests()).map((r) => r.number)).toEqual([
      '2',
      '3',
      '4',
      '5',
      '6',
      '7',
      '8',
      '9',
      '10',
    ])
  })

  it('stops accepting changes once a write failed, and says why', async () => {
    const { file, store } = await openTemp()
    await store.commit({ requests: [aNewRequest()] }, T0)
    rmSync(dirname(file), { recursive: true, force: true })

    const failed = store.commit({ requests: [aNewRequest()] }, T0)

    await expect(failed).rejects.toMatchObject({
      code: 'STORE_WRITE_FAILED',
      message: expect.stringContaining(file),
    })
    // Even with the folder back, the store does not pretend later changes are safe.
    mkdirSync(dirname(file), { recursive: true })
    await expect(store.commit({ requests: [aNewRequest()] }, T0)).rejects.toMatchObject({
      code: 'STORE_WRITE_FAILED',
    })
    // Nothing is handed to delivery any more: the failed commit's request may not be on disk.
    expect(await store.pendingRequests()).toEqual([])
  })
})

describe('LowdbProvisioningStore killed mid-write', () => {
  it('keeps every commit and update the process had seen resolve (SIGKILL, 3 rounds)', async () => {
    assertBuilt()
    const dir = tempDir()
    const file = join(dir, 'adapter.json')
    const script = join(dir, 'writer.mjs')
    writeFileSync(script, writerScript())
    const commits = new Map<string, readonly string[]>()
    const updates = new Set<string>()

    for (let round = 0; round < 3; round++) {
      const lines = await runUntilKilled(script, file, 150 + round * 50)
      for (const line of lines) {
        const [kind, ...ids] = line.split(' ')
        if (kind === 'commit') {
          commits.set(ids[0]!, ids.slice(1))
        } else if (kind === 'update') {
          updates.add(ids[0]!)
        } else {
          throw new Error(`unexpected line from the writer: ${line}`)
        }
      }

      const store = await LowdbProvisioningStore.open(file)
      try {
        for (const [subscriptionId, requestIds] of commits) {
          expect(await store.getSubscription(subscriptionId)).not.toBeNull()
          for (const id of requestIds) {
            expect(await store.getRequest(id)).toMatchObject({ id, subscriptionId })
          }
        }
        for (const id of updates) {
          expect(await store.getRequest(id)).toMatchObject({ lifeCycleState: 'COMPLETED' })
        }
        const all = await store.listRequests({})
        expect(all.items.map((r) => r.number)).toEqual(all.items.map((_, i) => String(i + 1)))
      } finally {
        await store.close()
      }
    }
    expect(commits.size).toBeGreaterThanOrEqual(150 + 200 + 250)
    expect(readdirSync(`${file}.segments`).length).toBeGreaterThan(10)
  }, 60_000)
})

/** The test drives the built module, as the adapter runs in production; it never skips. */
function assertBuilt(): void {
  if (!existsSync(DIST_MODULE)) {
    throw new Error(`${DIST_MODULE} is missing: run npm run build first, then run the tests again.`)
  }
  const built = statSync(DIST_MODULE).mtimeMs
  for (const source of [
    'lowdb-provisioning-store.ts',
    'provisioning-state.ts',
    'group-commit.ts',
    'store-error.ts',
  ]) {
    if (statSync(join(HERE, source)).mtimeMs > built) {
      throw new Error(
        `${DIST_MODULE} is older than ${source}: run npm run build first, then run the tests again.`,
      )
    }
  }
}

/**
 * A writer that commits (a subscription and two requests) and then completes one of them, with 8
 * loops in parallel so that writes are group commits, printing a line as each call resolves.
 * Small segments and journal limit make it checkpoint often, so the kill lands in all phases.
 */
function writerScript(): string {
  return `
import { LowdbProvisioningStore } from ${JSON.stringify(pathToFileURL(DIST_MODULE).href)}
const file = process.argv[2]
const store = await LowdbProvisioningStore.open(file, { journalLimit: 20000, requestsPerSegment: 40, subscriptionsPerSegment: 25 })
const run = process.pid
let next = 0
const command = (card) => ({ type: 'ADD_SUBSCRIPTIONS', smartcardCaId: card, serviceCaId: '100', distributor: null })
async function loop() {
  for (;;) {
    const subscriptionId = 'S-' + run + '-' + next++
    const now = new Date().toISOString()
    const subscription = { id: subscriptionId, type: null, state: 'EFFECTIVE', services: [], installedItems: [], swaps: [], createdAt: now, updatedAt: now }
    const requests = [1, 2].map((n) => ({ command: command(String(n)), processName: 'MANUAL', subscriptionId }))
    const [a, b] = await store.commit({ subscription, requests }, now)
    process.stdout.write('commit ' + subscriptionId + ' ' + a.id + ' ' + b.id + '\\n')
    await store.updateRequest(a.id, { lifeCycleState: 'COMPLETED', response: 'x'.repeat(500) }, now)
    process.stdout.write('update ' + a.id + '\\n')
  }
}
await Promise.all(Array.from({ length: 8 }, loop))
`
}

/** Runs the writer until it has reported `commits` commits, kills it with SIGKILL, returns every line it printed. */
function runUntilKilled(script: string, file: string, commits: number): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, file], { stdio: ['ignore', 'pipe', 'pipe'] })
    onTestFinished(() => {
      child.kill('SIGKILL')
    })
    const lines: string[] = []
    let stderr = ''
    let seen = 0
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
    // Pipe writes of a short line are atomic on Linux, so every line read is whole.
    createInterface({ input: child.stdout }).on('line', (line) => {
      lines.push(line)
      if (line.startsWith('commit ') && ++seen === commits) {
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

describe('LowdbProvisioningStore lock', () => {
  it('refuses a second opener while the first holds the store, and frees it on close', async () => {
    const file = join(tempDir(), 'locked.json')
    const first = await LowdbProvisioningStore.open(file)
    await expect(LowdbProvisioningStore.open(file)).rejects.toMatchObject({ code: 'STORE_LOCKED' })
    await first.close()
    const second = await LowdbProvisioningStore.open(file)
    await second.close()
  })

  it('takes over a lock left by a process that is gone', async () => {
    const file = join(tempDir(), 'stale.json')
    writeFileSync(`${file}.lock`, '2147483646')
    const store = await LowdbProvisioningStore.open(file)
    expect(readFileSync(`${file}.lock`, 'utf8')).toBe(String(process.pid))
    const [created] = await store.commit({ requests: [aNewRequest()] }, T0)
    expect(await store.getRequest(created!.id)).toEqual(created)
    await store.close()
    expect(existsSync(`${file}.lock`)).toBe(false)
  })
})
