import { spawn } from 'node:child_process'
import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs'
import { availableParallelism, loadavg } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { setFlagsFromString } from 'node:v8'
import {
  FileProvisioningStore,
  MemoryProvisioningStore,
  loadProvider,
  startAdapter,
  type Adapter,
  type AdapterOptions,
  type FsyncMode,
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
import { decideHeapGrowth, DEFAULT_HEAP_GROWTH_PERCENT } from '../cli/heap-growth.js'

/**
 * `npm run bench:adapter`: the provisioning adapter provisions N BECOME_SUBSCRIBER actions (3
 * services, a smartcard paired with an STB: 4 requests each) into the built simulator CLI running
 * in a child process (in-memory store), once with the memory store and once with the durable file
 * store (fsync per group commit), then holds 100,000 PENDING requests with the CA down. Each of
 * these phases runs in a child process of its own, so that each peak RSS is its own. A delivery
 * phase applies the actions with a bounded number in flight while delivery already runs (a), then
 * waits until every request is COMPLETED or REJECTED (b). Prints each phase's table, a summary
 * with the durable/memory ratio and, last, one JSON line; exits 1 when a result does not verify.
 *
 * Flags: --subscriptions <n> (10000), --concurrency <n> (16, the adapter's requests in flight to
 * Conax), --in-flight <n> (100, actions applied at once), --poll-ms <n> (250), --spot-checks <n>
 * (20), --pending <n> (100000 requests; 0 skips the phase), --stores memory,durable (which delivery
 * phases run, in that order), --fsync group|never (the durable store's), --node-options="<flags>"
 * (V8 flags for the phase processes, e.g. --node-options=--max-old-space-size=256), --heap-growth
 * <percent> (30, as conax-adapter sizes its heap; 0: V8's own sizing), --rounds <n>
 * (1: the delivery phases n times in turn, summarised by medians), --memory-store (only the
 * memory delivery phase, as before).
 */

type StoreKind = 'memory' | 'durable'

interface BenchOptions {
  readonly subscriptions: number
  readonly concurrency: number
  readonly inFlight: number
  readonly pollMs: number
  readonly spotChecks: number
  readonly pending: number
  readonly stores: readonly StoreKind[]
  /** Times the delivery phases run, in turn. */
  readonly rounds: number
  readonly fsync: FsyncMode
  readonly nodeOptions: readonly string[]
  /** The phase processes' heap growth, as `conax-adapter --heap-growth` sets it (0: V8's own). */
  readonly heapGrowth: number
  /** Set in a phase process: what it runs. */
  readonly phase: { readonly kind: 'deliver' | 'pending'; readonly store: StoreKind } | null
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
  readonly adapter: ProcessMemory & {
    readonly heapUsedMb: number
    /** Heap in use right after a full collection: what the adapter really holds. */
    readonly liveHeapMb: number
    readonly cpuMs: number
  }
  readonly simulator: ProcessMemory & { readonly rssAfterLoadMb: number; readonly cpuMs: number }
  readonly storeBytes: number | null
}

const STALL_TIMEOUT_MS = 120_000
const PROGRESS_EVERY_MS = 5_000

const STORE_KINDS = ['memory', 'durable'] as const satisfies readonly StoreKind[]

function storeKind(text: string): StoreKind {
  const kind = STORE_KINDS.find((known) => known === text)
  if (kind === undefined) {
    throw new Error(`--stores takes memory and/or durable, not '${text}'.`)
  }
  return kind
}

function readOptions(): BenchOptions {
  const { values } = parseArgs({
    options: {
      subscriptions: { type: 'string' },
      concurrency: { type: 'string' },
      'in-flight': { type: 'string' },
      'poll-ms': { type: 'string' },
      'memory-store': { type: 'boolean', default: false },
      'spot-checks': { type: 'string' },
      pending: { type: 'string' },
      stores: { type: 'string' },
      rounds: { type: 'string' },
      fsync: { type: 'string' },
      'node-options': { type: 'string' },
      'heap-growth': { type: 'string' },
      phase: { type: 'string' },
    },
    strict: true,
  })
  const fsync = values.fsync ?? 'group'
  if (fsync !== 'group' && fsync !== 'never') {
    throw new Error(`--fsync takes group or never, not '${fsync}'.`)
  }
  const phase = values.phase?.split(':')
  return {
    subscriptions: positiveInteger('subscriptions', values.subscriptions, 10_000),
    concurrency: positiveInteger('concurrency', values.concurrency, 16),
    inFlight: positiveInteger('in-flight', values['in-flight'], 100),
    pollMs: positiveInteger('poll-ms', values['poll-ms'], 250),
    spotChecks: positiveInteger('spot-checks', values['spot-checks'], 20),
    pending:
      values.pending === '0' || values['memory-store']
        ? 0
        : positiveInteger('pending', values.pending, 100_000),
    stores: values['memory-store']
      ? ['memory']
      : (values.stores ?? 'memory,durable').split(',').map(storeKind),
    rounds: positiveInteger('rounds', values.rounds, 1),
    fsync,
    nodeOptions: (values['node-options'] ?? '').split(' ').filter((flag) => flag !== ''),
    heapGrowth:
      values['heap-growth'] === '0'
        ? 0
        : positiveInteger('heap-growth', values['heap-growth'], DEFAULT_HEAP_GROWTH_PERCENT),
    phase:
      phase === undefined
        ? null
        : {
            kind: phase[0] === 'pending' ? 'pending' : 'deliver',
            store: storeKind(phase[1] ?? ''),
          },
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

/** This process's RSS and V8 heap, where the peak RSS comes from. */
function memoryLine(): string {
  const { heapUsed, heapTotal, external } = process.memoryUsage()
  const mb = (bytes: number): string => (bytes / 1024 / 1024).toFixed(0)
  return `RSS ${readMemory().rssMb.toFixed(0)} MB (heap ${mb(heapUsed)}/${mb(heapTotal)}, external ${mb(external)})`
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
          `pending ${c.pending}, rejected ${c.rejected}; ${memoryLine()}`,
      ),
    )
  }, PROGRESS_EVERY_MS)
  timer.unref()
  return timer
}

const fix = (value: number, digits = 1): string => value.toFixed(digits)
const perSecond = (count: number, ms: number): number => (ms > 0 ? count / (ms / 1000) : 0)

const STORE_NAMES: Readonly<Record<StoreKind, string>> = {
  memory: 'memory (MemoryProvisioningStore)',
  durable: 'durable file (FileProvisioningStore)',
}

function printResults(
  options: BenchOptions,
  kind: StoreKind,
  timings: Timings,
  verification: Verification,
  resources: Resources,
): void {
  const requests = options.subscriptions * REQUESTS_PER_SUBSCRIPTION
  const drained = verification.counts.completed - timings.completedAfterApply
  const store =
    kind === 'memory' ? STORE_NAMES.memory : `${STORE_NAMES.durable}, fsync ${options.fsync}`
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
      'adapter RSS / heap used / live heap at end',
      `${fix(resources.adapter.rssMb)} / ${fix(resources.adapter.heapUsedMb)} / ${fix(resources.adapter.liveHeapMb)} MB`,
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
      phase: 'deliver',
      store: kind,
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

/** A delivery phase: N actions into a fresh simulator, delivered, verified. */
async function deliverPhase(
  options: BenchOptions,
  kind: StoreKind,
  dir: string,
  sims: SimulatorChild[],
): Promise<boolean> {
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
    ...(kind === 'memory'
      ? { store: new MemoryProvisioningStore() }
      : { dataFile: join(dataDir, 'adapter.json'), createDataFolder: true, fsync: options.fsync }),
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
    const liveHeapMb = liveHeap()
    const closing = performance.now()
    await adapter.close()
    closeMs = performance.now() - closing
    printResults(
      options,
      kind,
      {
        applyMs: applied - started,
        drainMs: finished - applied,
        totalMs: finished - started,
        closeMs,
        completedAfterApply,
      },
      verification,
      {
        adapter: {
          ...adapterMemory,
          heapUsedMb,
          liveHeapMb,
          cpuMs: (cpu.user + cpu.system) / 1000,
        },
        simulator: { ...simMemory, rssAfterLoadMb, cpuMs: simCpuMs },
        storeBytes: kind === 'memory' ? null : directoryBytes(dataDir),
      },
    )
    return verification.ok
  } finally {
    clearInterval(ticker)
    await adapter.close()
  }
}

/** Heap in use after full collections (the phase processes run with --expose-gc), in MB. */
function liveHeap(): number {
  const gc = (globalThis as { gc?: () => void }).gc
  gc?.()
  gc?.()
  return process.memoryUsage().heapUsed / 1024 / 1024
}

/**
 * The pending phase: `options.pending` requests created with the CA out of reach (no delivery), so
 * all stay PENDING; answers RSS and live heap after collection, and for the durable store how long
 * reopening it takes.
 */
async function pendingPhase(options: BenchOptions, kind: StoreKind, dir: string): Promise<boolean> {
  const root = packageRoot()
  const provider = await loadProvider(
    join(root, 'fixtures', 'scenarios', 'providers', 'conax-ws.yaml'),
  )
  const dataFile = join(dir, 'pending', 'adapter.json')
  const adapter = await startAdapter({
    provider,
    port: null,
    autoDeliver: false,
    ...(kind === 'memory'
      ? { store: new MemoryProvisioningStore() }
      : { dataFile, createDataFolder: true, fsync: options.fsync }),
  })
  const actions = Math.ceil(options.pending / REQUESTS_PER_SUBSCRIPTION)
  console.error(`creating ${actions * REQUESTS_PER_SUBSCRIPTION} PENDING requests (${kind}) ...`)
  const progress = { applied: 0, refusals: [] as string[] }
  const started = performance.now()
  let pending = 0
  let reopenMs: number | null = null
  // VmHWM after reopening: the peak of holding the requests or of reading them back, if higher.
  let reopenPeakRssMb: number | null = null
  const rssBefore = readMemory().rssMb
  let after: ProcessMemory & { liveHeapMb: number }
  try {
    await applyAll(adapter, { ...options, subscriptions: actions }, progress)
    pending = await countState(adapter, 'PENDING')
    const liveHeapMb = liveHeap()
    after = { ...readMemory(), liveHeapMb }
  } finally {
    await adapter.close()
  }
  const createMs = performance.now() - started
  if (kind === 'durable') {
    const opening = performance.now()
    const reopened = await FileProvisioningStore.open(dataFile)
    reopenMs = performance.now() - opening
    pending = Math.min(
      pending,
      (await reopened.listRequests({ lifeCycleState: 'PENDING', limit: 0 })).total,
    )
    reopenPeakRssMb = readMemory().peakRssMb
    await reopened.close()
  }
  const ok = progress.refusals.length === 0 && pending === actions * REQUESTS_PER_SUBSCRIPTION
  const rows: [string, string][] = [
    [
      'store',
      kind === 'memory' ? STORE_NAMES.memory : `${STORE_NAMES.durable}, fsync ${options.fsync}`,
    ],
    ['PENDING requests (CA out of reach)', String(pending)],
    ['created in', `${fix(createMs / 1000, 2)} s`],
    ['RSS before / after, after collection', `${fix(rssBefore)} / ${fix(after.rssMb)} MB`],
    ['live heap after collection', `${fix(after.liveHeapMb)} MB`],
    ['peak RSS (VmHWM)', `${fix(after.peakRssMb)} MB`],
    ['reopened in', reopenMs === null ? '-' : `${fix(reopenMs / 1000, 2)} s`],
    ['peak RSS once reopened', reopenPeakRssMb === null ? '-' : `${fix(reopenPeakRssMb)} MB`],
    ['result', ok ? 'PASS' : 'FAIL'],
  ]
  console.log('')
  console.log(`Adapter holding PENDING requests: node ${process.version}`)
  const width = Math.max(...rows.map(([label]) => label.length))
  for (const [label, value] of rows) {
    console.log(`${label.padEnd(width)}  ${value}`)
  }
  for (const refusal of progress.refusals.slice(0, 5)) {
    console.log(`!! ${refusal}`)
  }
  console.log(
    JSON.stringify({
      bench: 'adapter',
      phase: 'pending',
      store: kind,
      pending,
      createMs,
      reopenMs,
      reopenPeakRssMb,
      memory: { ...after, rssBeforeMb: rssBefore },
      ok,
    }),
  )
  return ok
}

/** Runs one phase in a child process of this script; answers its JSON line (null if it failed). */
function runPhase(
  options: BenchOptions,
  phase: 'deliver' | 'pending',
  store: StoreKind,
): Promise<Record<string, unknown> | null> {
  // The orchestrator's own flags stay here; a phase gets the rest.
  const own = ['--stores', '--node-options', '--memory-store', '--rounds']
  const passed: string[] = []
  const given = process.argv.slice(2)
  for (let i = 0; i < given.length; i++) {
    const arg = given[i] ?? ''
    const flag = own.find((name) => arg === name || arg.startsWith(`${name}=`))
    if (flag === undefined) {
      passed.push(arg)
    } else if (arg === flag && flag !== '--memory-store') {
      i++
    }
  }
  const args = [
    ...options.nodeOptions,
    '--expose-gc',
    fileURLToPath(import.meta.url),
    ...passed,
    '--phase',
    `${phase}:${store}`,
  ]
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] })
    let out = ''
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString()
      process.stdout.write(chunk)
    })
    child.on('error', reject)
    child.on('close', (code) => {
      const last = out.trim().split('\n').at(-1) ?? ''
      try {
        const json = JSON.parse(last) as Record<string, unknown>
        resolve(code === 0 ? json : { ...json, failed: true })
      } catch {
        resolve(null)
      }
    })
  })
}

function numberAt(json: Record<string, unknown> | null, ...path: string[]): number | null {
  let value: unknown = json
  for (const key of path) {
    value =
      typeof value === 'object' && value !== null
        ? (value as Record<string, unknown>)[key]
        : undefined
  }
  return typeof value === 'number' ? value : null
}

function median(values: readonly number[]): number | null {
  const sorted = [...values].sort((a, b) => a - b)
  if (sorted.length === 0) {
    return null
  }
  const middle = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1
    ? (sorted[middle] ?? null)
    : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2
}

/**
 * The orchestrator: the delivery phases, `rounds` times in turn (memory, durable, memory, ...: a
 * machine that gets busier or quieter affects both alike), then the pending phase, then the
 * summary: medians over the rounds and the durable/memory ratio of the medians.
 */
async function orchestrate(options: BenchOptions): Promise<void> {
  const loadAtStart = loadavg()
  const runs: Record<StoreKind, (Record<string, unknown> | null)[]> = { memory: [], durable: [] }
  for (let round = 0; round < options.rounds; round++) {
    for (const store of options.stores) {
      runs[store].push(await runPhase(options, 'deliver', store))
    }
  }
  const pending = options.pending > 0 ? await runPhase(options, 'pending', 'durable') : null
  const loadAtEnd = loadavg()
  const figure = (store: StoreKind, ...path: string[]): number | null =>
    median(runs[store].map((run) => numberAt(run, ...path)).filter((value) => value !== null))
  const cell = (value: number | null, unit = '', digits = 0): string =>
    value === null ? '-' : `${fix(value, digits)}${unit}`
  const row = (label: string, unit: string, ...path: string[]): [string, string, string] => [
    label,
    cell(figure('memory', ...path), unit),
    cell(figure('durable', ...path), unit),
  ]
  const rates = (store: StoreKind): string =>
    runs[store].map((run) => cell(numberAt(run, 'requestsPerSec'))).join(', ')
  const rows: [string, string, string][] = [
    row('requests/s, end to end', '', 'requestsPerSec'),
    row('adapter peak RSS (VmHWM)', ' MB', 'resources', 'adapter', 'peakRssMb'),
    row('adapter live heap at end', ' MB', 'resources', 'adapter', 'liveHeapMb'),
    row('adapter CPU', ' ms', 'resources', 'adapter', 'cpuMs'),
  ]
  const memory = figure('memory', 'requestsPerSec')
  const durable = figure('durable', 'requestsPerSec')
  console.log('')
  console.log(
    `Summary: ${options.subscriptions} actions (${options.subscriptions * REQUESTS_PER_SUBSCRIPTION} requests), concurrency ${options.concurrency}, ${options.rounds} round(s), node ${process.version}, ${availableParallelism()} CPUs, load average ${fix(loadAtStart[0] ?? 0, 2)} at start, ${fix(loadAtEnd[0] ?? 0, 2)} at end${options.nodeOptions.length > 0 ? `, node options ${options.nodeOptions.join(' ')}` : ''}, heap growth ${options.heapGrowth === 0 ? "V8's own" : `${options.heapGrowth} %`}`,
  )
  const width = Math.max(...rows.map(([label]) => label.length), 28)
  console.log(
    `${'(medians)'.padEnd(width)}  ${'memory'.padStart(12)}  ${`durable, fsync ${options.fsync}`.padStart(22)}`,
  )
  for (const [label, a, b] of rows) {
    console.log(`${label.padEnd(width)}  ${a.padStart(12)}  ${b.padStart(22)}`)
  }
  const ratio = memory !== null && durable !== null && memory > 0 ? durable / memory : null
  console.log(`${'durable / memory requests/s'.padEnd(width)}  ${cell(ratio, '', 2)}`)
  if (options.rounds > 1) {
    console.log(
      `${'requests/s of each round'.padEnd(width)}  memory ${rates('memory')}; durable ${rates('durable')}`,
    )
  }
  if (pending !== null) {
    console.log(
      `${`${numberAt(pending, 'pending') ?? 0} PENDING requests, durable`.padEnd(width)}  RSS after collection ${cell(numberAt(pending, 'memory', 'rssMb'), ' MB')}, live heap ${cell(numberAt(pending, 'memory', 'liveHeapMb'), ' MB')}, peak ${cell(numberAt(pending, 'memory', 'peakRssMb'), ' MB')}, reopened in ${cell(numberAt(pending, 'reopenMs'), ' ms')} (peak ${cell(numberAt(pending, 'reopenPeakRssMb'), ' MB')})`,
    )
  }
  const phases = [...runs.memory, ...runs.durable, ...(options.pending > 0 ? [pending] : [])]
  const ok = phases.every((phase) => phase !== null && phase.failed !== true)
  console.log(
    JSON.stringify({
      bench: 'adapter',
      summary: true,
      loadAverage: { start: loadAtStart, end: loadAtEnd },
      requestsPerSec: { memory, durable },
      ratio,
      runs,
      pending,
      ok,
    }),
  )
  process.exitCode = ok ? 0 : 1
}

const options = readOptions()
const phase = options.phase
if (phase === null) {
  orchestrate(options).catch((error: unknown) => {
    console.error('bench:adapter FAILED:', error instanceof Error ? error.message : error)
    process.exitCode = 1
  })
} else {
  // The phase process is the adapter: its heap is sized as the conax-adapter CLI sizes its own.
  const heap = decideHeapGrowth(options.heapGrowth, process.execArgv, process.env['NODE_OPTIONS'])
  if (heap.kind === 'set') {
    setFlagsFromString(heap.flag)
  }
  benchMain(`adapter-${phase.kind}`, (dir, sims) =>
    phase.kind === 'deliver'
      ? deliverPhase(options, phase.store, dir, sims)
      : pendingPhase(options, phase.store, dir),
  )
}
