import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { dirname, join } from 'node:path'
import { parseArgs } from 'node:util'
import {
  MemoryProvisioningStore,
  loadProvider,
  startAdapter,
  type Adapter,
  type AdapterOptions,
  type LifeCycleState,
} from '../index.js'
import {
  BENCH_PRODUCTS,
  REQUESTS_PER_SUBSCRIPTION,
  becomeSubscriber,
  cardId,
  inventoryOf,
  stbId,
} from './adapter-workload.js'
import { readMemory, type ProcessMemory } from './proc-status.js'
import { SimulatorChild } from './simulator-child.js'
import { benchMain, positiveInteger } from './bench-main.js'

/**
 * `npm run bench:adapter`: the provisioning adapter (in this process, default lowdb file store,
 * background delivery) provisions N BECOME_SUBSCRIBER actions (3 services, a smartcard paired with
 * an STB: 4 requests each) into the built simulator CLI running in a child process (in-memory
 * store). Phase a applies the actions with a bounded number in flight while delivery already runs;
 * phase b waits until every request is COMPLETED or REJECTED. Prints a table and, last, one JSON
 * line; exits 1 when the result does not verify.
 *
 * Flags: --subscriptions <n> (10000), --concurrency <n> (16, the adapter's requests in flight to
 * Conax), --in-flight <n> (100, actions applied at once), --poll-ms <n> (250), --memory-store
 * (MemoryProvisioningStore instead of the lowdb file store), --spot-checks <n> (20).
 */

interface BenchOptions {
  readonly subscriptions: number
  readonly concurrency: number
  readonly inFlight: number
  readonly pollMs: number
  readonly memoryStore: boolean
  readonly spotChecks: number
}

interface Counts {
  readonly pending: number
  readonly completed: number
  readonly rejected: number
}

interface Timings {
  readonly applyMs: number
  readonly drainMs: number
  readonly totalMs: number
  readonly closeMs: number
  readonly completedAfterApply: number
}

interface Verification {
  readonly requests: number
  readonly pairings: number
  readonly counts: Counts
  readonly refusedActions: number
  readonly refusals: readonly string[]
  readonly spotChecked: number
  readonly spotFailures: readonly string[]
  readonly ok: boolean
}

interface Resources {
  readonly adapter: ProcessMemory & { readonly heapUsedMb: number; readonly cpuMs: number }
  readonly simulator: ProcessMemory & { readonly rssAfterLoadMb: number; readonly cpuMs: number }
  readonly storeBytes: number | null
}

const STALL_TIMEOUT_MS = 120_000
const PROGRESS_EVERY_MS = 5_000

function readOptions(): BenchOptions {
  const { values } = parseArgs({
    options: {
      subscriptions: { type: 'string' },
      concurrency: { type: 'string' },
      'in-flight': { type: 'string' },
      'poll-ms': { type: 'string' },
      'memory-store': { type: 'boolean', default: false },
      'spot-checks': { type: 'string' },
    },
    strict: true,
  })
  return {
    subscriptions: positiveInteger('subscriptions', values.subscriptions, 10_000),
    concurrency: positiveInteger('concurrency', values.concurrency, 16),
    inFlight: positiveInteger('in-flight', values['in-flight'], 100),
    pollMs: positiveInteger('poll-ms', values['poll-ms'], 250),
    memoryStore: values['memory-store'],
    spotChecks: positiveInteger('spot-checks', values['spot-checks'], 20),
  }
}

/** The package root: the first folder up from this file that holds bin/conax-sim.js. */
function packageRoot(): string {
  let dir = import.meta.dirname
  while (!existsSync(join(dir, 'bin', 'conax-sim.js'))) {
    const parent = dirname(dir)
    if (parent === dir) {
      throw new Error(`No bin/conax-sim.js above ${import.meta.dirname}.`)
    }
    dir = parent
  }
  return dir
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/** Counts by life cycle state; `limit: 0` makes the store count without copying any request. */
async function countState(adapter: Adapter, lifeCycleState: LifeCycleState): Promise<number> {
  return (await adapter.store.listRequests({ lifeCycleState, limit: 0 })).total
}

async function counts(adapter: Adapter): Promise<Counts> {
  return {
    pending: await countState(adapter, 'PENDING'),
    completed: await countState(adapter, 'COMPLETED'),
    rejected: await countState(adapter, 'REJECTED'),
  }
}

/** Phase a: applies every action, at most `inFlight` at once; refusals are counted, not thrown. */
async function applyAll(
  adapter: Adapter,
  options: BenchOptions,
  progress: { applied: number; refusals: string[] },
): Promise<void> {
  let next = 1
  const worker = async (): Promise<void> => {
    while (next <= options.subscriptions) {
      const n = next++
      try {
        await adapter.service.applyAction(becomeSubscriber(n))
      } catch (error) {
        progress.refusals.push(`S${n}: ${error instanceof Error ? error.message : String(error)}`)
      }
      progress.applied++
    }
  }
  await Promise.all(
    Array.from({ length: Math.min(options.inFlight, options.subscriptions) }, worker),
  )
}

/**
 * Phase b: polls until nothing is PENDING. Only the PENDING count is polled: the store indexes
 * PENDING requests, while counting COMPLETED ones walks every request (the bench's own overhead).
 */
async function drain(adapter: Adapter, pollMs: number): Promise<void> {
  let pending = await countState(adapter, 'PENDING')
  let lastChange = Date.now()
  while (pending > 0) {
    await sleep(pollMs)
    const now = await countState(adapter, 'PENDING')
    if (now !== pending) {
      lastChange = Date.now()
    } else if (Date.now() - lastChange > STALL_TIMEOUT_MS) {
      throw new Error(
        `No request was delivered for ${STALL_TIMEOUT_MS / 1000} s: ${now} still PENDING.`,
      )
    }
    pending = now
  }
}

interface CardView {
  readonly subscriptions?: readonly { readonly productId: string }[]
  readonly pairing?: {
    readonly caClientIds: readonly string[]
    readonly pairingModuleIds: readonly string[]
  } | null
}

/** Checks `count` random cards through the simulator's admin API; answers the problems found. */
async function spotCheck(
  sim: SimulatorChild,
  subscriptions: number,
  count: number,
): Promise<string[]> {
  const picks = new Set<number>()
  while (picks.size < Math.min(count, subscriptions)) {
    picks.add(1 + Math.floor(Math.random() * subscriptions))
  }
  const problems: string[] = []
  for (const n of picks) {
    const res = await sim.admin(`/admin/cards/${cardId(n)}`)
    if (res.status !== 200) {
      problems.push(`card ${cardId(n)}: HTTP ${res.status}`)
      continue
    }
    const card = (await res.json()) as CardView
    const products = (card.subscriptions ?? []).map((s) => s.productId)
    const missing = BENCH_PRODUCTS.filter((p) => !products.includes(p))
    const paired =
      (card.pairing?.caClientIds.includes(cardId(n)) ?? false) &&
      (card.pairing?.pairingModuleIds.includes(stbId(n)) ?? false)
    if (missing.length > 0 || !paired) {
      problems.push(
        `card ${cardId(n)}: products [${products.join(', ')}]` +
          `${missing.length > 0 ? ` lack ${missing.join(', ')}` : ''}; ` +
          `pairing ${JSON.stringify(card.pairing ?? null)}${paired ? '' : ` lacks STB ${stbId(n)}`}`,
      )
    }
  }
  return problems
}

async function verify(
  adapter: Adapter,
  sim: SimulatorChild,
  options: BenchOptions,
  refusals: readonly string[],
): Promise<Verification> {
  const expected = options.subscriptions * REQUESTS_PER_SUBSCRIPTION
  const requests = (await adapter.store.listRequests({ limit: 0 })).total
  const pairings = (await adapter.store.listRequests({ type: 'CREATE_PAIRING', limit: 0 })).total
  const final = await counts(adapter)
  const spotFailures = await spotCheck(sim, options.subscriptions, options.spotChecks)
  return {
    requests,
    pairings,
    counts: final,
    refusedActions: refusals.length,
    refusals: refusals.slice(0, 5),
    spotChecked: Math.min(options.spotChecks, options.subscriptions),
    spotFailures,
    ok:
      requests === expected &&
      pairings === options.subscriptions &&
      final.completed === expected &&
      final.rejected === 0 &&
      final.pending === 0 &&
      refusals.length === 0 &&
      spotFailures.length === 0,
  }
}

function directoryBytes(dir: string): number {
  let bytes = 0
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    bytes += entry.isDirectory() ? directoryBytes(path) : statSync(path).size
  }
  return bytes
}

/** Reports progress on stderr every few seconds (stdout keeps the results only). */
function startProgress(
  adapter: Adapter,
  started: number,
  progress: { applied: number },
  total: number,
): NodeJS.Timeout {
  const timer = setInterval(() => {
    void counts(adapter).then((c) =>
      console.error(
        `  ${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s: applied ` +
          `${progress.applied}/${total} actions; requests completed ${c.completed}, ` +
          `pending ${c.pending}, rejected ${c.rejected}`,
      ),
    )
  }, PROGRESS_EVERY_MS)
  timer.unref()
  return timer
}

const fix = (value: number, digits = 1): string => value.toFixed(digits)
const perSecond = (count: number, ms: number): number => (ms > 0 ? count / (ms / 1000) : 0)

function printResults(
  options: BenchOptions,
  timings: Timings,
  verification: Verification,
  resources: Resources,
): void {
  const requests = options.subscriptions * REQUESTS_PER_SUBSCRIPTION
  const drained = verification.counts.completed - timings.completedAfterApply
  const store = options.memoryStore ? 'memory (MemoryProvisioningStore)' : 'lowdb file (default)'
  const rows: [string, string][] = [
    ['store', store],
    ['subscriptions (BECOME_SUBSCRIBER)', String(options.subscriptions)],
    ['provisioning requests', String(requests)],
    ['adapter concurrency / actions in flight', `${options.concurrency} / ${options.inFlight}`],
    ['(a) apply actions', `${fix(timings.applyMs / 1000, 2)} s`],
    ['    actions/s', fix(perSecond(options.subscriptions, timings.applyMs), 0)],
    ['    requests COMPLETED by end of (a)', String(timings.completedAfterApply)],
    ['(b) until all COMPLETED', `${fix(timings.drainMs / 1000, 2)} s`],
    ['    requests delivered in (b), per s', fix(perSecond(drained, timings.drainMs), 0)],
    ['total (a + b)', `${fix(timings.totalMs / 1000, 2)} s`],
    ['requests/s, end to end (all / total)', fix(perSecond(requests, timings.totalMs), 0)],
    ['adapter close (store flush)', `${fix(timings.closeMs, 0)} ms`],
    ['adapter peak RSS (VmHWM)', `${fix(resources.adapter.peakRssMb)} MB`],
    [
      'adapter RSS / heap used at end',
      `${fix(resources.adapter.rssMb)} / ${fix(resources.adapter.heapUsedMb)} MB`,
    ],
    ['adapter CPU during a + b', `${fix(resources.adapter.cpuMs / 1000, 1)} s`],
    ['simulator RSS after inventory load', `${fix(resources.simulator.rssAfterLoadMb)} MB`],
    ['simulator peak RSS (VmHWM)', `${fix(resources.simulator.peakRssMb)} MB`],
    ['simulator CPU during a + b', `${fix(resources.simulator.cpuMs / 1000, 1)} s`],
    [
      'adapter store on disk',
      resources.storeBytes === null ? '-' : `${fix(resources.storeBytes / 1024 / 1024)} MB`,
    ],
    [
      'COMPLETED / REJECTED / PENDING',
      `${verification.counts.completed} / ${verification.counts.rejected} / ${verification.counts.pending}`,
    ],
    ['CREATE_PAIRING requests', String(verification.pairings)],
    ['refused actions', String(verification.refusedActions)],
    [
      'simulator spot check',
      `${verification.spotChecked - verification.spotFailures.length}/${verification.spotChecked} cards OK`,
    ],
    ['result', verification.ok ? 'PASS' : 'FAIL'],
  ]
  const width = Math.max(...rows.map(([label]) => label.length))
  console.log('')
  console.log(
    `Adapter provisioning benchmark: node ${process.version}, ${availableParallelism()} CPUs ` +
      'shared by the adapter and the simulator child',
  )
  for (const [label, value] of rows) {
    console.log(`${label.padEnd(width)}  ${value}`)
  }
  for (const problem of [...verification.refusals, ...verification.spotFailures]) {
    console.log(`!! ${problem}`)
  }
  console.log(
    JSON.stringify({
      bench: 'adapter',
      node: process.version,
      cpus: availableParallelism(),
      options,
      requests,
      timings,
      requestsPerSec: perSecond(requests, timings.totalMs),
      drainRequestsPerSec: perSecond(drained, timings.drainMs),
      actionsPerSec: perSecond(options.subscriptions, timings.applyMs),
      resources,
      verification,
    }),
  )
}

async function run(options: BenchOptions, dir: string, sims: SimulatorChild[]): Promise<boolean> {
  const root = packageRoot()
  const inventory = join(dir, 'inventory.json')
  writeFileSync(inventory, JSON.stringify(inventoryOf(options.subscriptions)))
  console.error(`starting the simulator with ${options.subscriptions} cards and STBs ...`)
  const sim = await SimulatorChild.start(join(root, 'bin', 'conax-sim.js'), [
    ...['--port', '0', '--inventory', inventory],
    ...['--log-level', 'silent', '--journal-limit', '1000'],
  ])
  sims.push(sim)
  const rssAfterLoadMb = sim.memory().rssMb
  const provider = await loadProvider(
    join(root, 'fixtures', 'scenarios', 'providers', 'conax-ws.yaml'),
  )
  const dataDir = join(dir, 'adapter')
  const adapterOptions: AdapterOptions = {
    provider: {
      ...provider,
      connection: { ...provider.connection, endpoint: `${sim.url}/ca-server/webservices/caclient` },
    },
    port: null,
    autoDeliver: true,
    concurrency: options.concurrency,
    ...(options.memoryStore
      ? { store: new MemoryProvisioningStore() }
      : { dataFile: join(dataDir, 'adapter.json'), createDataFolder: true }),
  }
  const adapter = await startAdapter(adapterOptions)
  let closeMs = 0
  const expected = options.subscriptions * REQUESTS_PER_SUBSCRIPTION
  const progress = { applied: 0, refusals: [] as string[] }
  let ticker: NodeJS.Timeout | undefined
  try {
    console.error(
      `applying ${options.subscriptions} BECOME_SUBSCRIBER actions (${expected} requests) ...`,
    )
    const cpuStart = process.cpuUsage()
    const simCpuStart = sim.cpuMs()
    const started = performance.now()
    ticker = startProgress(adapter, Date.now(), progress, options.subscriptions)
    await applyAll(adapter, options, progress)
    const applied = performance.now()
    const completedAfterApply = await countState(adapter, 'COMPLETED')
    await drain(adapter, options.pollMs)
    const finished = performance.now()
    clearInterval(ticker)
    const cpu = process.cpuUsage(cpuStart)
    const simCpuMs = sim.cpuMs() - simCpuStart
    console.error('verifying ...')
    const verification = await verify(adapter, sim, options, progress.refusals)
    const simMemory = sim.memory()
    const adapterMemory = readMemory()
    const heapUsedMb = process.memoryUsage().heapUsed / 1024 / 1024
    const closing = performance.now()
    await adapter.close()
    closeMs = performance.now() - closing
    printResults(
      options,
      {
        applyMs: applied - started,
        drainMs: finished - applied,
        totalMs: finished - started,
        closeMs,
        completedAfterApply,
      },
      verification,
      {
        adapter: { ...adapterMemory, heapUsedMb, cpuMs: (cpu.user + cpu.system) / 1000 },
        simulator: { ...simMemory, rssAfterLoadMb, cpuMs: simCpuMs },
        storeBytes: options.memoryStore ? null : directoryBytes(dataDir),
      },
    )
    return verification.ok
  } finally {
    clearInterval(ticker)
    await adapter.close()
  }
}

benchMain('adapter', (dir, sims) => run(readOptions(), dir, sims))
