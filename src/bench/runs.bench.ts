import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs'
import { availableParallelism, loadavg } from 'node:os'
import { dirname, join } from 'node:path'
import { Session } from 'node:inspector/promises'
import { performance } from 'node:perf_hooks'
import { parseArgs } from 'node:util'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import {
  FileProvisioningStore,
  MemoryProvisioningStore,
  loadProvider,
  startAdapter,
  type Adapter,
  type AdapterOptions,
  type ProvisioningProvider,
  type ProvisioningStore,
} from '../index.js'
import type { CaReader, RunStore } from '../application/runs/run-ports.js'
import type { RunStatus } from '../application/runs/run-service.js'
import { createFastCaReader } from '../infrastructure/conax/fast-reader.js'
import { LowdbRunStore } from '../infrastructure/runs/lowdb-run-store.js'
import { MemoryRunStore } from '../infrastructure/runs/memory-run-store.js'
import { readMemory } from './proc-status.js'
import {
  DRIFT_KINDS,
  Phases,
  buildWorkload,
  eachLimited,
  instrument,
  loadCaState,
  verifyWorkload,
  type CaCard,
  type DriftKind,
  type PhaseStat,
  type Workload,
} from './runs-workload.js'
import { SimulatorChild } from './simulator-child.js'
import { benchMain, positiveInteger } from './bench-main.js'

/**
 * `npm run bench:runs`: the batch runs over a whole subscriber base. N subscriptions (faker, fixed
 * seed; two viewing points, Main and TWIN1, each one smartcard and one STB; three services) are
 * loaded into the adapter's store (in this process, default file store, background
 * delivery), and their CA state into the simulator CLI in a child process (in memory; over SOAP),
 * with a share of subscriptions out of sync on purpose (a missing product, a stray product, a
 * product on the wrong distributor, a missing pairing). Then:
 *
 * - a RESET_SUBSCRIPTION run over every subscription: it reads every smartcard from the CA and
 *   must repair exactly the subscriptions made out of sync; timed until the run settles and until
 *   its repairs are delivered;
 * - a MAIL_BARK_MESSAGE run (BARK) of one communication to every subscriber: every smartcard must
 *   be reached; 20 random cards' screens are checked through the simulator's admin API.
 *
 * Prints a table and, last, one JSON line; exits 1 when a result does not verify (the time
 * targets are reported with ✓/✗, not enforced).
 *
 * The simulator runs in memory: with `--data` it rewrites its whole state file after every call
 * (reads included, for the journal), which at this size would measure the simulator's store and
 * not the adapter. So its state is put in over SOAP (AddSubscriptions, 500 cards a call, then one
 * CreatePairing per card), which is set-up and timed apart.
 *
 * Flags: --subscriptions <n> (100000), --out-of-sync-percent <p> (1), --memory-store
 * (MemoryProvisioningStore and MemoryRunStore instead of the files), --page-size <n> (the
 * adapter's default, 500), --read-concurrency <n> (default 64), --concurrency <n> (16, delivery),
 * --reader fast|gateway (fast), --plain (hand dataFile and reader to startAdapter as they are,
 * without the timing wrappers: no phase breakdown), --spot-checks <n> (20), --poll-ms <n> (50),
 * --cpu-profile <dir> (a V8 CPU profile of the adapter's process for each run, from its start until
 * its requests are delivered: BENCH-RESET.cpuprofile, BENCH-BARK.cpuprofile; open them in Chrome
 * DevTools or speedscope), --reader-sockets <n> (connections of the fast reader; its default is 64,
 * and each card is two queries at once, so 64 cards in flight queue half their queries).
 */

interface BenchOptions {
  readonly subscriptions: number
  readonly outOfSyncPercent: number
  readonly memoryStore: boolean
  readonly pageSize: number | null
  readonly readConcurrency: number | null
  readonly concurrency: number
  readonly reader: 'fast' | 'gateway'
  readonly plain: boolean
  readonly spotChecks: number
  readonly pollMs: number
  /** Connections of the fast reader (its default, 64, when null). */
  readonly readerSockets: number | null
  /** Folder for a CPU profile of this process per run (`<code>.cpuprofile`), or null. */
  readonly cpuProfile: string | null
}

const TARGET_RESET_S = 60
const TARGET_BARK_S = 30
const STALL_TIMEOUT_MS = 120_000
const PROGRESS_EVERY_MS = 5_000
const BARK_TEXT = 'Free preview weekend: every channel is open until Sunday night!'

function readOptions(): BenchOptions {
  const { values } = parseArgs({
    options: {
      subscriptions: { type: 'string' },
      'out-of-sync-percent': { type: 'string' },
      'memory-store': { type: 'boolean', default: false },
      'page-size': { type: 'string' },
      'read-concurrency': { type: 'string' },
      concurrency: { type: 'string' },
      reader: { type: 'string', default: 'fast' },
      plain: { type: 'boolean', default: false },
      'spot-checks': { type: 'string' },
      'poll-ms': { type: 'string' },
      'cpu-profile': { type: 'string' },
      'reader-sockets': { type: 'string' },
    },
    strict: true,
  })
  const percent = Number(values['out-of-sync-percent'] ?? '1')
  if (!Number.isFinite(percent) || percent < 0 || percent > 100) {
    throw new Error(
      `--out-of-sync-percent must be 0 to 100, not '${values['out-of-sync-percent']}'.`,
    )
  }
  if (values.reader !== 'fast' && values.reader !== 'gateway') {
    throw new Error(`--reader must be fast or gateway, not '${values.reader}'.`)
  }
  return {
    subscriptions: positiveInteger('subscriptions', values.subscriptions, 100_000),
    outOfSyncPercent: percent,
    memoryStore: values['memory-store'],
    pageSize: positiveInteger('page-size', values['page-size'], null),
    readConcurrency: positiveInteger('read-concurrency', values['read-concurrency'], null),
    concurrency: positiveInteger('concurrency', values.concurrency, 16),
    reader: values.reader,
    plain: values.plain,
    spotChecks: positiveInteger('spot-checks', values['spot-checks'], 20),
    pollMs: positiveInteger('poll-ms', values['poll-ms'], 50),
    cpuProfile: values['cpu-profile'] ?? null,
    readerSockets: positiveInteger('reader-sockets', values['reader-sockets'], null),
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

// A full collection before each run, so that its peak RSS is its own and the heap at its start is
// what the adapter retains (the flag reaches `gc` in a new context; no --expose-gc on the command line).
setFlagsFromString('--expose-gc')
const collectGarbage = runInNewContext('gc') as () => void

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))
const seconds = (ms: number): number => Math.round(ms) / 1000

/** Resets VmHWM to the current RSS (Linux: `5` into clear_refs), so a phase's peak is its own. */
function resetPeak(pid: number | 'self'): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5')
    return true
  } catch {
    return false
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

async function getJson<T>(sim: SimulatorChild, path: string): Promise<{ status: number; body: T }> {
  const res = await sim.admin(path)
  return { status: res.status, body: (await res.json()) as T }
}

/**
 * The sequence number of the simulator's newest journal entry (0 when none): every SOAP call is
 * journalled with the next number, so the difference over a phase is the calls it received. A
 * search over `since`, as the journal keeps only its last entries and big ones are costly to list.
 */
async function lastJournalSeq(sim: SimulatorChild, atLeast = 0): Promise<number> {
  const has = async (since: number): Promise<boolean> =>
    (await getJson<unknown[]>(sim, `/admin/journal?since=${since}&limit=1`)).body.length > 0
  let low = atLeast
  if (!(await has(low))) {
    return low
  }
  let step = 1024
  while (await has(low + step)) {
    low += step
    step *= 2
  }
  // has(low) is true and has(low + step) false: the newest sequence number is in (low, low + step].
  let high = low + step
  while (high - low > 1) {
    const middle = Math.floor((low + high) / 2)
    if (await has(middle)) {
      low = middle
    } else {
      high = middle
    }
  }
  return high
}

interface CardView {
  readonly subscriptions?: readonly {
    readonly productId: string
    readonly distributor: string | null
  }[]
  readonly pairing?: { readonly pairingModuleIds: readonly string[] } | null
  readonly screen?: readonly { readonly message: string }[]
}

/** Compares cards in the simulator with the CA state the workload meant; answers the problems. */
async function checkCards(sim: SimulatorChild, cards: readonly CaCard[]): Promise<string[]> {
  const problems: string[] = []
  for (const card of cards) {
    const { status, body } = await getJson<CardView>(sim, `/admin/cards/${card.caId}`)
    const held = (body.subscriptions ?? []).map((p) => `${p.productId}@${p.distributor ?? '-'}`)
    const meant = card.products.map((p) => `${p.productId}@${p.distributor}`)
    const stbs = body.pairing?.pairingModuleIds ?? []
    if (
      status !== 200 ||
      held.sort().join() !== meant.sort().join() ||
      (card.paired ? stbs.join() !== card.stb : stbs.length > 0)
    ) {
      problems.push(
        `card ${card.caId}: HTTP ${status}, products [${held.join(', ')}] (meant [${meant.join(', ')}]), paired with [${stbs.join(', ')}] (meant ${card.paired ? card.stb : 'none'})`,
      )
    }
  }
  return problems
}

async function pendingCount(adapter: Adapter): Promise<number> {
  return (await adapter.store.listRequests({ lifeCycleState: 'PENDING', limit: 0 })).total
}

/** Polls until nothing is PENDING (the runs' requests are the only ones); fails on a long stall. */
async function drain(adapter: Adapter, pollMs: number): Promise<void> {
  let pending = await pendingCount(adapter)
  let lastChange = Date.now()
  while (pending > 0) {
    await sleep(pollMs)
    const now = await pendingCount(adapter)
    if (now !== pending) {
      lastChange = Date.now()
    } else if (Date.now() - lastChange > STALL_TIMEOUT_MS) {
      throw new Error(`No request was delivered for ${STALL_TIMEOUT_MS / 1000} s: ${now} PENDING.`)
    }
    pending = now
  }
}

function startProgress(
  adapter: Adapter,
  label: string,
  executionId: () => string | null,
): NodeJS.Timeout {
  const started = Date.now()
  const timer = setInterval(() => {
    const id = executionId()
    void Promise.all([id ? adapter.runs.get(id) : null, pendingCount(adapter)]).then(
      ([status, pending]) =>
        console.error(
          `  ${label} ${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s: ` +
            (status
              ? `${status.state}, processed ${status.counts.processed}/${status.total ?? '?'}, ` +
                `requests ${status.counts.requests}, `
              : '') +
            `pending ${pending}`,
        ),
    )
  }, PROGRESS_EVERY_MS)
  timer.unref()
  return timer
}

/** Starts the V8 profiler on this process; the answer stops it and writes `<dir>/<name>.cpuprofile`. */
async function startProfile(dir: string, name: string): Promise<() => Promise<void>> {
  const session = new Session()
  session.connect()
  await session.post('Profiler.enable')
  await session.post('Profiler.start')
  return async () => {
    const { profile } = await session.post('Profiler.stop')
    mkdirSync(dir, { recursive: true })
    writeFileSync(join(dir, `${name}.cpuprofile`), JSON.stringify(profile))
    session.disconnect()
  }
}

/** What a run phase measured. */
interface RunFigures {
  readonly runMs: number
  readonly deliveredMs: number
  readonly status: RunStatus
  readonly requests: number
  readonly completed: number
  readonly attempts: number
  readonly journalCalls: number
  readonly adapterPeakMb: number
  readonly adapterRssStartMb: number
  /** Heap the adapter retains at the run's start (after a full collection). */
  readonly adapterHeapStartMb: number
  readonly adapterCpuMs: number
  readonly eventLoopUtilization: number
  readonly simulatorPeakMb: number
  readonly simulatorCpuMs: number
  /** CPU the machine spent outside the adapter and the simulator (other work sharing the cores). */
  readonly othersCpuMs: number
  readonly phases: Record<string, Omit<PhaseStat, 'inFlight' | 'busySince'>>
}

/** CPU time the whole machine has spent so far (every core, user + system), in ms, from /proc/stat. */
function machineCpuMs(): number {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]?.trim().split(/\s+/) ?? []
  // cpu user nice system idle iowait irq softirq steal: busy = all but idle and iowait.
  const ticks = fields.slice(1, 9).map(Number)
  const busy = ticks.reduce((sum, t, i) => (i === 3 || i === 4 ? sum : sum + t), 0)
  return busy * 10
}

/** Starts a defined run, waits until it settles and until its requests are delivered. */
async function measureRun(
  adapter: Adapter,
  sim: SimulatorChild,
  phases: Phases,
  code: string,
  options: BenchOptions,
): Promise<RunFigures> {
  collectGarbage()
  const usage = process.memoryUsage()
  const adapterHeapStartMb = usage.heapUsed / 1024 / 1024
  console.error(
    `  ${code}: adapter memory at start (MB): ` +
      Object.entries(usage)
        .map(([name, bytes]) => `${name} ${fix(bytes / 1024 / 1024, 0)}`)
        .join(', '),
  )
  const adapterRssStartMb = readMemory().rssMb
  resetPeak('self')
  resetPeak(sim.pid)
  phases.reset()
  const journalBefore = await lastJournalSeq(sim)
  const cpuStart = process.cpuUsage()
  const simCpuStart = sim.cpuMs()
  const machineStart = machineCpuMs()
  const elu = performance.eventLoopUtilization()
  let id: string | null = null
  const ticker = startProgress(adapter, code, () => id)
  const stopProfile = options.cpuProfile ? await startProfile(options.cpuProfile, code) : null
  const started = performance.now()
  try {
    id = (await adapter.runs.start(code)).id
    await adapter.runs.settled(id)
    const ran = performance.now()
    await drain(adapter, options.pollMs)
    // The execution completes (its verdict tallied) once its last request is final.
    const status = await adapter.runs.finished(id)
    const delivered = performance.now()
    const cpu = process.cpuUsage(cpuStart)
    const eventLoopUtilization = performance.eventLoopUtilization(elu).utilization
    const simulatorCpuMs = sim.cpuMs() - simCpuStart
    const adapterCpuMs = (cpu.user + cpu.system) / 1000
    const othersCpuMs = Math.max(0, machineCpuMs() - machineStart - adapterCpuMs - simulatorCpuMs)
    const adapterPeakMb = readMemory().peakRssMb
    const simulatorPeakMb = sim.memory().peakRssMb
    const snapshot = phases.snapshot()
    await stopProfile?.()
    const journalCalls = (await lastJournalSeq(sim, journalBefore)) - journalBefore
    const mine = await adapter.runs.requests(id)
    return {
      runMs: ran - started,
      deliveredMs: delivered - started,
      status,
      requests: mine.total,
      completed: mine.items.filter((r) => r.lifeCycleState === 'COMPLETED').length,
      attempts: mine.items.reduce((n, r) => n + r.attempts, 0),
      journalCalls,
      adapterPeakMb,
      adapterRssStartMb,
      adapterHeapStartMb,
      adapterCpuMs,
      eventLoopUtilization,
      simulatorPeakMb,
      simulatorCpuMs,
      othersCpuMs,
      phases: snapshot,
    }
  } finally {
    clearInterval(ticker)
  }
}

/** The adapter's stores and reader, timed unless `--plain`. */
async function adapterParts(
  options: BenchOptions,
  provider: ProvisioningProvider,
  dataFile: string,
  phases: Phases,
): Promise<
  Partial<Pick<AdapterOptions, 'store' | 'runStore' | 'reader' | 'dataFile' | 'createDataFolder'>>
> {
  if (options.plain) {
    return {
      ...(options.memoryStore ? {} : { dataFile, createDataFolder: true }),
      reader: options.reader,
    }
  }
  const store: ProvisioningStore = options.memoryStore
    ? new MemoryProvisioningStore()
    : await FileProvisioningStore.open(dataFile)
  // As startAdapter places it beside dataFile.
  const runStore: RunStore = options.memoryStore
    ? new MemoryRunStore()
    : await LowdbRunStore.open(`${dataFile.replace(/\.json$/, '')}.runs.json`)
  const reader: CaReader | 'gateway' =
    options.reader === 'gateway'
      ? 'gateway'
      : createFastCaReader({
          ...provider.connection,
          ...(options.readerSockets ? { maxSockets: options.readerSockets } : {}),
        })
  return {
    store: instrument(store, 'store', ['listSubscriptions', 'commit', 'updateRequest'], phases),
    runStore: instrument(runStore, 'runStore', ['saveExecution', 'pendingCommunications'], phases),
    reader:
      typeof reader === 'string' ? reader : instrument(reader, 'reader', ['readCard'], phases),
  }
}

interface SetUp {
  readonly buildMs: number
  readonly verifyMs: number
  readonly simulatorStartMs: number
  readonly simulatorLoadMs: number
  readonly simulatorLoadCalls: number
  readonly simulatorRssAfterLoadMb: number
  readonly adapterLoadMs: number
  readonly outOfSync: number
  readonly byKind: Readonly<Record<DriftKind, number>>
  readonly loadProblems: readonly string[]
}

interface Checks {
  readonly resetProblems: string[]
  readonly barkProblems: string[]
  readonly repairedStillOut: number
  readonly spotChecked: number
  readonly spotFailures: string[]
}

const fix = (value: number, digits = 1): string => value.toFixed(digits)
const perSecond = (count: number, ms: number): number => (ms > 0 ? count / (ms / 1000) : 0)
const mark = (ok: boolean): string => (ok ? '✓' : '✗')

function phaseRows(figures: RunFigures): [string, string][] {
  const p = figures.phases
  const get = (name: string): Omit<PhaseStat, 'inFlight' | 'busySince'> =>
    p[name] ?? { calls: 0, syncMs: 0, wallMs: 0, busyMs: 0 }
  const list = get('store.listSubscriptions')
  const reads = get('reader.readCard')
  const commit = get('store.commit')
  const save = get('runStore.saveExecution')
  const update = get('store.updateRequest')
  if (list.calls === 0) {
    return [['    phases', '- (--plain)']]
  }
  const accounted = list.syncMs + reads.busyMs + commit.wallMs + save.wallMs
  return [
    ['    listSubscriptions (pages, CPU)', `${list.calls} calls, ${fix(list.syncMs / 1000, 2)} s`],
    [
      '    reader.readCard (cards, wall busy)',
      reads.calls === 0
        ? '- (the gateway reader is not timed: its reads are in the rest)'
        : `${reads.calls} cards, ${fix(reads.busyMs / 1000, 2)} s ` +
          `(${fix(reads.wallMs / reads.calls, 2)} ms a card on average)`,
    ],
    ['    createBatch commit (wall)', `${commit.calls} calls, ${fix(commit.wallMs / 1000, 2)} s`],
    ['    saveExecution (wall)', `${save.calls} calls, ${fix(save.wallMs / 1000, 2)} s`],
    [
      '    rest (planReset, messages, awaits)',
      `${fix(Math.max(0, figures.runMs - accounted) / 1000, 2)} s`,
    ],
    [
      '    delivery updateRequest (wall busy)',
      `${update.calls} calls, ${fix(update.busyMs / 1000, 2)} s`,
    ],
  ]
}

function runRows(figures: RunFigures): [string, string][] {
  return [
    [
      '    adapter peak RSS (VmHWM) / RSS, heap at start',
      `${fix(figures.adapterPeakMb)} / ${fix(figures.adapterRssStartMb)}, ${fix(figures.adapterHeapStartMb)} MB`,
    ],
    [
      '    adapter CPU / event loop utilization',
      `${fix(figures.adapterCpuMs / 1000)} s / ${fix(figures.eventLoopUtilization * 100, 0)}%`,
    ],
    ['    simulator peak RSS (VmHWM)', `${fix(figures.simulatorPeakMb)} MB`],
    ['    simulator CPU', `${fix(figures.simulatorCpuMs / 1000)} s`],
    [
      '    other processes CPU (noise) / load avg',
      `${fix(figures.othersCpuMs / 1000)} s / ${loadavg()
        .map((l) => fix(l, 2))
        .join(' ')}`,
    ],
  ]
}

function printResults(
  options: BenchOptions,
  setUp: SetUp,
  reset: RunFigures,
  bark: RunFigures,
  checks: Checks,
  storeBytes: number | null,
): boolean {
  const cards = options.subscriptions * 2
  const rc = reset.status.counts
  const bc = bark.status.counts
  const resetCalls = rc.caCalls + reset.attempts
  const resetOk = reset.runMs / 1000 < TARGET_RESET_S
  const barkOk = bark.runMs / 1000 < TARGET_BARK_S
  const ok =
    checks.resetProblems.length === 0 &&
    checks.barkProblems.length === 0 &&
    checks.spotFailures.length === 0 &&
    setUp.loadProblems.length === 0
  const store = options.memoryStore ? 'memory' : 'files (default)'
  const rows: [string, string][] = [
    ['store / reader', `${store} / ${options.reader}${options.plain ? ' (plain)' : ''}`],
    [
      'page size / read concurrency / reader sockets / delivery concurrency',
      `${options.pageSize ?? '500 (default)'} / ${options.readConcurrency ?? '64 (default)'} / ` +
        `${options.readerSockets ?? '64 (default)'} / ${options.concurrency}`,
    ],
    ['subscriptions / smartcards', `${options.subscriptions} / ${cards}`],
    [
      'made out of sync',
      `${setUp.outOfSync} (${DRIFT_KINDS.map((k) => `${k.toLowerCase()} ${setUp.byKind[k]}`).join(', ')})`,
    ],
    ['set-up: build workload (faker)', `${fix(setUp.buildMs / 1000, 2)} s`],
    ['set-up: check drift (planReset over all)', `${fix(setUp.verifyMs / 1000, 2)} s`],
    ['set-up: simulator start (inventory)', `${fix(setUp.simulatorStartMs / 1000, 2)} s`],
    [
      'set-up: simulator state over SOAP',
      `${fix(setUp.simulatorLoadMs / 1000, 2)} s (${setUp.simulatorLoadCalls} calls)`,
    ],
    ['set-up: simulator RSS after load', `${fix(setUp.simulatorRssAfterLoadMb)} MB`],
    ['set-up: adapter store load (commit)', `${fix(setUp.adapterLoadMs / 1000, 2)} s`],
    ['RESET_SUBSCRIPTION run', `${fix(reset.runMs / 1000, 2)} s`],
    ['    until repairs delivered', `${fix(reset.deliveredMs / 1000, 2)} s`],
    [
      '    SOAP calls (reads + repairs)',
      `${resetCalls} (${rc.caCalls} + ${reset.attempts}); simulator journal ${reset.journalCalls}`,
    ],
    [
      '    calls/s, subscriptions/s',
      `${fix(perSecond(resetCalls, reset.deliveredMs), 0)}, ${fix(perSecond(rc.checked, reset.runMs), 0)}`,
    ],
    ['    requests created / COMPLETED', `${reset.requests} / ${reset.completed}`],
    [
      '    checked / in sync / repaired / failed',
      `${rc.checked} / ${rc.inSync} / ${rc.repaired} / ${rc.failed}`,
    ],
    [
      '    repaired subscriptions in sync after',
      `${setUp.outOfSync - checks.repairedStillOut}/${setUp.outOfSync}`,
    ],
    ...phaseRows(reset),
    ...runRows(reset),
    ['MAIL_BARK_MESSAGE run (BARK)', `${fix(bark.runMs / 1000, 2)} s`],
    ['    until delivered', `${fix(bark.deliveredMs / 1000, 2)} s`],
    ['    SOAP calls', `${bark.attempts}; simulator journal ${bark.journalCalls}`],
    ['    requests created / COMPLETED', `${bark.requests} / ${bark.completed}`],
    ['    requests/s (created / run)', fix(perSecond(bark.requests, bark.runMs), 0)],
    ['    smartcards reached', `${bc.cards} (expected ${cards})`],
    ...phaseRows(bark).filter(([label]) => !label.includes('readCard')),
    ...runRows(bark),
    [
      '    simulator spot check (screens)',
      `${checks.spotChecked - checks.spotFailures.length}/${checks.spotChecked} cards OK`,
    ],
    [
      'adapter store on disk at end',
      storeBytes === null ? '-' : `${fix(storeBytes / 1024 / 1024)} MB`,
    ],
    [`target: reset run < ${TARGET_RESET_S} s`, `${mark(resetOk)} ${fix(reset.runMs / 1000, 1)} s`],
    [`target: bark run < ${TARGET_BARK_S} s`, `${mark(barkOk)} ${fix(bark.runMs / 1000, 1)} s`],
    ['result', ok ? 'PASS' : 'FAIL'],
  ]
  const width = Math.max(...rows.map(([label]) => label.length))
  console.log('')
  console.log(
    `Batch runs benchmark: node ${process.version}, ${availableParallelism()} CPUs shared by ` +
      'the adapter and the simulator child',
  )
  for (const [label, value] of rows) {
    console.log(`${label.padEnd(width)}  ${value}`)
  }
  for (const problem of [
    ...setUp.loadProblems,
    ...checks.resetProblems,
    ...checks.barkProblems,
    ...checks.spotFailures,
  ].slice(0, 20)) {
    console.log(`!! ${problem}`)
  }
  const figures = (f: RunFigures) => ({
    runS: seconds(f.runMs),
    deliveredS: seconds(f.deliveredMs),
    counts: f.status.counts,
    state: f.status.state,
    requests: f.requests,
    completed: f.completed,
    deliveryCalls: f.attempts,
    journalCalls: f.journalCalls,
    adapterPeakRssMb: f.adapterPeakMb,
    adapterRssStartMb: f.adapterRssStartMb,
    adapterHeapStartMb: f.adapterHeapStartMb,
    adapterCpuS: seconds(f.adapterCpuMs),
    eventLoopUtilization: f.eventLoopUtilization,
    simulatorPeakRssMb: f.simulatorPeakMb,
    simulatorCpuS: seconds(f.simulatorCpuMs),
    othersCpuS: seconds(f.othersCpuMs),
    phases: f.phases,
  })
  console.log(
    JSON.stringify({
      bench: 'runs',
      node: process.version,
      cpus: availableParallelism(),
      options,
      setUp,
      reset: {
        ...figures(reset),
        soapCalls: resetCalls,
        callsPerSec: perSecond(resetCalls, reset.deliveredMs),
        subscriptionsPerSec: perSecond(rc.checked, reset.runMs),
        repairedInSyncAfter: setUp.outOfSync - checks.repairedStillOut,
        targetS: TARGET_RESET_S,
        targetMet: resetOk,
      },
      bark: {
        ...figures(bark),
        requestsPerSec: perSecond(bark.requests, bark.runMs),
        targetS: TARGET_BARK_S,
        targetMet: barkOk,
        spotChecked: checks.spotChecked,
        spotFailures: checks.spotFailures.length,
      },
      storeBytes,
      ok,
    }),
  )
  return ok
}

interface Prepared {
  /** Dropped once the adapter's store holds the subscriptions. */
  workload: Workload | null
  readonly sim: SimulatorChild
  readonly drifted: readonly string[]
  readonly spotCards: readonly string[]
  readonly setUp: SetUp
}

/** Builds the workload, starts and fills the simulator; answers it with the set-up figures. */
async function prepare(
  options: BenchOptions,
  provider: ProvisioningProvider,
  dir: string,
  sims: SimulatorChild[],
): Promise<Prepared> {
  console.error(`building ${options.subscriptions} subscriptions with faker ...`)
  let began = performance.now()
  const workload = buildWorkload(provider, options)
  const buildMs = performance.now() - began
  began = performance.now()
  const check = verifyWorkload(provider, workload)
  const verifyMs = performance.now() - began
  if (check.problems.length > 0 || check.outOfSync !== workload.drift.size) {
    throw new Error(
      `The workload's drift is not what it should be: ${check.outOfSync} out of sync for ${workload.drift.size} drifted; ${check.problems.slice(0, 5).join(' | ')}`,
    )
  }
  const inventory = join(dir, 'inventory.json')
  writeFileSync(inventory, JSON.stringify(workload.inventory))
  console.error(`starting the simulator with ${workload.cards.length} cards and STBs ...`)
  began = performance.now()
  const root = packageRoot()
  const sim = await SimulatorChild.start(join(root, 'bin', 'conax-sim.js'), [
    ...['--port', '0', '--inventory', inventory],
    ...['--log-level', 'silent', '--journal-limit', '1000'],
  ])
  sims.push(sim)
  const simulatorStartMs = performance.now() - began
  console.error('putting the CA state into the simulator over SOAP ...')
  began = performance.now()
  const loaded = await loadCaState(sim.url, workload.cards)
  const simulatorLoadMs = performance.now() - began
  // Every drifted card and as many others, compared with what the workload meant.
  const driftedCards = workload.cards.filter((_, index) =>
    workload.drift.has(workload.subscriptions[Math.floor(index / 2)]?.id ?? ''),
  )
  const sample = Array.from(
    { length: Math.min(200, workload.cards.length) },
    () => workload.cards[Math.floor(Math.random() * workload.cards.length)] as CaCard,
  )
  const stats = (await getJson<{ pairings: number; smartcards: number }>(sim, '/admin/stats')).body
  const loadProblems = await checkCards(sim, [...driftedCards, ...sample])
  if (stats.pairings !== loaded.pairings) {
    loadProblems.push(`the simulator holds ${stats.pairings} pairings, ${loaded.pairings} made`)
  }
  const drifted = [...workload.drift.keys()]
  const spotCards = Array.from(
    { length: Math.min(options.spotChecks, workload.cards.length) },
    () => (workload.cards[Math.floor(Math.random() * workload.cards.length)] as CaCard).caId,
  )
  return {
    workload,
    sim,
    drifted,
    spotCards,
    setUp: {
      buildMs,
      verifyMs,
      simulatorStartMs,
      simulatorLoadMs,
      simulatorLoadCalls: loaded.addCalls + loaded.pairCalls,
      simulatorRssAfterLoadMb: sim.memory().rssMb,
      adapterLoadMs: 0,
      outOfSync: check.outOfSync,
      byKind: check.byKind,
      loadProblems,
    } satisfies SetUp,
  }
}

function resetProblems(figures: RunFigures, options: BenchOptions, outOfSync: number): string[] {
  const c = figures.status.counts
  const problems: string[] = []
  if (figures.status.state !== 'COMPLETED') {
    problems.push(`reset run ${figures.status.state}: ${figures.status.lastError ?? ''}`)
  }
  if (c.repaired !== outOfSync) {
    problems.push(
      `reset run repaired ${c.repaired} subscriptions, ${outOfSync} were made out of sync`,
    )
  }
  if (c.checked !== options.subscriptions || c.failed !== 0) {
    problems.push(`reset run checked ${c.checked}/${options.subscriptions}, failed ${c.failed}`)
  }
  if (figures.completed !== figures.requests || figures.requests !== outOfSync) {
    problems.push(
      `reset run: ${figures.completed}/${figures.requests} requests COMPLETED, ${outOfSync} expected (one per drift)`,
    )
  }
  if (figures.journalCalls !== c.caCalls + figures.attempts) {
    problems.push(
      `the simulator journalled ${figures.journalCalls} calls, the adapter made ${c.caCalls + figures.attempts}`,
    )
  }
  return problems
}

function barkProblems(figures: RunFigures, options: BenchOptions): string[] {
  const c = figures.status.counts
  const problems: string[] = []
  if (figures.status.state !== 'COMPLETED' || c.communications !== 1) {
    problems.push(
      `bark run ${figures.status.state}, ${c.communications} communication(s) processed`,
    )
  }
  if (c.cards !== options.subscriptions * 2) {
    problems.push(`bark run reached ${c.cards} smartcards, ${options.subscriptions * 2} expected`)
  }
  if (figures.completed !== figures.requests || figures.journalCalls !== figures.attempts) {
    problems.push(
      `bark run: ${figures.completed}/${figures.requests} requests COMPLETED; ${figures.attempts} sent, ${figures.journalCalls} journalled`,
    )
  }
  return problems
}

async function spotCheckScreens(sim: SimulatorChild, cards: readonly string[]): Promise<string[]> {
  const problems: string[] = []
  for (const caId of cards) {
    const { status, body } = await getJson<CardView>(sim, `/admin/cards/${caId}`)
    if (status !== 200 || !(body.screen ?? []).some((m) => m.message === BARK_TEXT)) {
      problems.push(`card ${caId}: HTTP ${status}, screen ${JSON.stringify(body.screen ?? null)}`)
    }
  }
  return problems
}

async function run(options: BenchOptions, dir: string, sims: SimulatorChild[]): Promise<boolean> {
  const root = packageRoot()
  const fileProvider = await loadProvider(
    join(root, 'fixtures', 'scenarios', 'providers', 'conax-ws.yaml'),
  )
  const prepared = await prepare(options, fileProvider, dir, sims)
  const { sim, drifted, spotCards } = prepared
  const provider: ProvisioningProvider = {
    ...fileProvider,
    connection: {
      ...fileProvider.connection,
      endpoint: `${sim.url}/ca-server/webservices/caclient`,
    },
  }
  const phases = new Phases()
  const dataDir = join(dir, 'adapter')
  const adapter = await startAdapter({
    provider,
    port: null,
    autoDeliver: true,
    concurrency: options.concurrency,
    ...(options.pageSize ? { runPageSize: options.pageSize } : {}),
    ...(options.readConcurrency ? { readConcurrency: options.readConcurrency } : {}),
    ...(await adapterParts(options, provider, join(dataDir, 'adapter.json'), phases)),
  })
  try {
    console.error(`loading ${options.subscriptions} subscriptions into the adapter's store ...`)
    const began = performance.now()
    const now = new Date().toISOString()
    await eachLimited(prepared.workload?.subscriptions ?? [], 1000, async (subscription) => {
      await adapter.store.commit({ subscription, requests: [] }, now)
    })
    const setUp: SetUp = { ...prepared.setUp, adapterLoadMs: performance.now() - began }
    prepared.workload = null
    await sleep(200)

    console.error('RESET_SUBSCRIPTION run over every subscription ...')
    await adapter.runs.define({
      name: 'Bench reset',
      alternativeCode: 'BENCH-RESET',
      kind: 'RESET_SUBSCRIPTION',
      criteria: {},
    })
    const reset = await measureRun(adapter, sim, phases, 'BENCH-RESET', options)
    console.error('checking the repaired subscriptions against the CA ...')
    let repairedStillOut = 0
    await eachLimited(drifted, 16, async (id) => {
      const plan = await adapter.runs.resetSubscription(id, { preview: true })
      repairedStillOut += plan.inSync ? 0 : 1
    })

    console.error('MAIL_BARK_MESSAGE run (BARK) to every subscriber ...')
    await adapter.runs.enqueue([
      { externalSystem: 'BENCH', message: BARK_TEXT, recipients: { segment: {} } },
    ])
    await adapter.runs.define({
      name: 'Bench bark',
      alternativeCode: 'BENCH-BARK',
      kind: 'MAIL_BARK_MESSAGE',
      messageType: 'BARK',
      externalSystem: 'BENCH',
      displayDurationInSeconds: 30,
    })
    const bark = await measureRun(adapter, sim, phases, 'BENCH-BARK', options)
    const spotFailures = await spotCheckScreens(sim, spotCards)
    await adapter.close()
    const checks: Checks = {
      resetProblems: [
        ...resetProblems(reset, options, setUp.outOfSync),
        ...(repairedStillOut > 0
          ? [`${repairedStillOut} repaired subscriptions are still out of sync`]
          : []),
      ],
      barkProblems: barkProblems(bark, options),
      repairedStillOut,
      spotChecked: spotCards.length,
      spotFailures,
    }
    return printResults(
      options,
      setUp,
      reset,
      bark,
      checks,
      options.memoryStore ? null : directoryBytes(dataDir),
    )
  } finally {
    await adapter.close()
  }
}

benchMain('runs', (dir, sims) => run(readOptions(), dir, sims))
