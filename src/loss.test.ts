import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { describe, expect, it, onTestFinished } from 'vitest'
import type { CaGateway } from './application/ports.js'
import type { Adapter } from './create-adapter.js'
import { createConaxClient } from './infrastructure/conax/conax-client.js'
import {
  card,
  cardItem,
  providerFor,
  startTestAdapter,
  startTestCa,
  stb,
  stbItem,
} from './test-support/adapter-harness.js'

// The loss tests of issue 3: a Conax outage in the middle of a batch, and an adapter that dies
// between sending a request and storing its outcome. Neither may lose a request or apply one twice.
const BIN = join(import.meta.dirname, '..', 'bin', 'conax-sim.js')
const SUBSCRIPTIONS = 40

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'conax-loss-'))
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

const become = (n: number) =>
  ({
    action: 'BECOME_SUBSCRIBER',
    subscriptionId: `S${n}`,
    services: [
      { service: 'GEOLOGICAL', distributor: 'Main' },
      { service: 'ENTERTAIN', distributor: 'Main' },
    ],
    installedItems: [cardItem(n), stbItem(n)],
  }) as const

/** The built simulator CLI in a child process (so it can be killed with SIGKILL). */
/** The admin token of the simulator processes (the same across a restart). */
const ADMIN_TOKEN = 'loss-test-admin-token-0123456789'
const adminHeaders = { Authorization: `Bearer ${ADMIN_TOKEN}` }

function startSimProcess(
  args: string[],
): Promise<{ child: ChildProcess; url: string; exited: Promise<void> }> {
  const child = spawn(process.execPath, [BIN, '--log-level', 'silent', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, CONTEGO_SIM_ADMIN_TOKEN: ADMIN_TOKEN },
  })
  onTestFinished(() => {
    child.kill('SIGKILL')
  })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  return new Promise((resolve, reject) => {
    let stderr = ''
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
    child.on('exit', (code) => reject(new Error(`conax-sim exited with ${code}: ${stderr}`)))
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      const url = /listening on (http:\/\/\S+)/.exec(line)?.[1]
      if (url) {
        resolve({ child, url, exited })
      }
    })
  })
}

/**
 * Watches requests reach COMPLETED or REJECTED, as the dispatcher reports each outcome it stores;
 * `reached(n)` resolves once n of them have.
 */
async function watchFinal(
  adapter: Adapter,
  ids: readonly string[],
): Promise<{ reached(count: number): Promise<void> }> {
  const final = new Set<string>()
  const waiters: { count: number; resolve: () => void }[] = []
  const mark = (id: string): void => {
    final.add(id)
    waiters.filter((w) => final.size >= w.count).forEach((w) => w.resolve())
  }
  // Asked for before the look at the store, so an outcome stored in between is not missed.
  ids.forEach((id) => void adapter.dispatcher.settled(id).then(() => mark(id)))
  for (const id of ids) {
    if ((await adapter.store.getRequest(id))?.lifeCycleState !== 'PENDING') {
      mark(id)
    }
  }
  return {
    reached: (count) =>
      new Promise((resolve) => {
        waiters.push({ count, resolve })
        if (final.size >= count) {
          resolve()
        }
      }),
  }
}

interface JournalEntry {
  operation: string | null
  statusCode: string
  replay: boolean
  transactionId: string | null
  request: { Subscriptions?: { Subscription: { CaClientId: string; ProductId: string }[] } } | null
}

/** How many times each card+product was really applied (OK and not a replay). */
function applications(journal: readonly JournalEntry[]): Map<string, number> {
  const counts = new Map<string, number>()
  for (const entry of journal) {
    if (entry.operation === 'AddSubscriptions' && entry.statusCode === 'OK' && !entry.replay) {
      for (const item of entry.request?.Subscriptions?.Subscription ?? []) {
        const key = `${item.CaClientId} ${item.ProductId}`
        counts.set(key, (counts.get(key) ?? 0) + 1)
      }
    }
  }
  return counts
}

describe('no request is lost or applied twice', () => {
  it('when the simulator is killed mid-batch and started again on the same store', async () => {
    const dir = tempDir()
    const numbers = Array.from({ length: SUBSCRIPTIONS }, (_, i) => i + 1)
    writeFileSync(
      join(dir, 'inventory.json'),
      JSON.stringify({
        smartcards: numbers.map((n) => ({ caClientId: card(n) })),
        pairingModules: numbers.map((n) => ({
          pairingModuleId: stb(n),
          serialNumber: `SN${n}`,
          productCode: 'KSTB5043',
          productDescription: 'Kaon',
        })),
        products: [{ productId: 'GFA1' }, { productId: 'EFA2' }],
      }),
    )
    const simArgs = ['--data', join(dir, 'sim.json'), '--inventory', join(dir, 'inventory.json')]
    const first = await startSimProcess(['--port', '0', ...simArgs])
    const port = new URL(first.url).port
    const adapter = await startTestAdapter(first.url, {
      dataFile: join(dir, 'adapter.json'),
      autoDeliver: true,
      concurrency: 4,
    })
    onTestFinished(() => adapter.close())
    for (const n of numbers) {
      await adapter.service.applyAction(become(n))
    }
    const ids = (await adapter.store.listRequests({ limit: 1000 })).items.map((r) => r.id)
    const outcomes = await watchFinal(adapter, ids)
    await outcomes.reached(30)
    first.child.kill('SIGKILL')
    // The port is free once the process is gone.
    await first.exited
    const second = await startSimProcess(['--port', port, ...simArgs])
    await outcomes.reached(ids.length)

    const requests = (await adapter.store.listRequests({ limit: 1000 })).items
    expect(requests).toHaveLength(SUBSCRIPTIONS * 3)
    expect(requests.filter((r) => r.lifeCycleState !== 'COMPLETED')).toEqual([])
    const journal = (await (
      await fetch(`${second.url}/admin/journal`, { headers: adminHeaders })
    ).json()) as JournalEntry[]
    const applied = applications(journal)
    for (const n of numbers) {
      const view = (await (
        await fetch(`${second.url}/admin/cards/${card(n)}`, { headers: adminHeaders })
      ).json()) as {
        subscriptions: { productId: string }[]
      }
      expect(view.subscriptions.map((s) => s.productId).sort()).toEqual(['EFA2', 'GFA1'])
      expect([applied.get(`${card(n)} GFA1`), applied.get(`${card(n)} EFA2`)]).toEqual([1, 1])
    }
    const references = new Set(
      journal.filter((e) => e.statusCode === 'OK').map((e) => e.transactionId),
    )
    expect(requests.every((r) => references.has(r.referenceNumber))).toBe(true)
  }, 60_000)

  it('when the adapter dies between sending a request and storing its outcome', async () => {
    const dir = tempDir()
    const sim = await startTestCa(SUBSCRIPTIONS)
    onTestFinished(() => sim.close())
    const provider = await providerFor(sim)
    const client = await createConaxClient(provider.connection)
    onTestFinished(() => client.close())
    let sent = 0
    let lost = -1
    let tenthApplied: () => void = () => undefined
    const tenthReachedConax = new Promise<void>((resolve) => (tenthApplied = resolve))
    // Request 10 reaches Conax, which applies it; its answer never reaches the adapter (it "dies").
    const dying: CaGateway = {
      send: async (command, sequence) => {
        const number = ++sent
        const outcome = await client.send(command, sequence)
        if (number === 10) {
          lost = sequence
          tenthApplied()
          return new Promise<never>(() => undefined)
        }
        return outcome
      },
    }
    const file = join(dir, 'adapter.json')
    const first = await startTestAdapter(sim, { dataFile: file, gateway: dying, concurrency: 1 })
    for (let n = 1; n <= 5; n++) {
      await first.service.applyAction(become(n))
    }
    void first.deliverDue()
    // Conax has answered request 10; the nine before it were stored before it was sent.
    await tenthReachedConax
    // No close(): the process is gone, leaving its lock (here with the pid of a process that no
    // longer exists). A second adapter opens the same store file.
    writeFileSync(`${file}.lock`, '2147483646')
    writeFileSync(join(dir, 'adapter.runs.json.lock'), '2147483646')
    const second = await startTestAdapter(sim, { dataFile: file })
    onTestFinished(() => second.close())
    const pending = await second.store.pendingRequests()
    expect(pending.length).toBe(15 - 9)
    await second.deliverDue()
    const requests = (await second.store.listRequests({ limit: 100 })).items
    expect(requests.map((r) => r.lifeCycleState)).toEqual(Array(15).fill('COMPLETED'))
    const tenth = requests.find((r) => r.sequenceNumber === lost)
    const journal = sim.journal.list()
    expect(
      journal.filter((e) => e.transactionId === tenth?.referenceNumber).map((e) => e.replay),
    ).toEqual([false, true])
    const applied = applications(journal)
    expect([...applied.values()].every((count) => count === 1)).toBe(true)
    expect(applied.size).toBe(10)
  })
})
