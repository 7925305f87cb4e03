import { availableParallelism } from 'node:os'
import { parseArgs } from 'node:util'
import type { ChildReport } from './child-protocol.js'
import { runDurable } from './durable-runs.js'
import { measureWorkload, type LoadOptions, type RunFigures, type Target } from './measure.js'
import { ServerProcess, type ReadyLine } from './server-process.js'
import {
  BENCH_PRODUCTS,
  CANNED_ADD_SUBSCRIPTIONS_RESPONSE,
  addSubscriptionsWorkload,
  barkWorkload,
} from './workloads.js'

/**
 * `npm run bench:sim`: the simulator (100,000 cards, in-memory store) against a bare `node:http`
 * server answering a canned SOAP response, each in its own child process, loaded by autocannon
 * from this process. Prints a table and, last, one JSON line.
 *
 * Flags: --duration <s> (10, per server and workload), --connections <n> (50), --warmup <s> (2),
 * --rounds <n> (5: the measured seconds alternate between the servers), --cards <n> (100000).
 *
 * With --durable: the log store instead (durable-runs.ts): durable against in memory, an empty
 * log against one grown to --grow-mb <MB> (100), and the start time of the grown store.
 */

const TARGET_ADD_RATIO = 0.35
const TARGET_RSS_MB = 200

interface BenchOptions extends LoadOptions {
  readonly cards: number
  readonly durable: boolean
  readonly growMb: number
}

interface WorkloadFigures {
  readonly workload: string
  readonly simulator: RunFigures
  readonly bare: RunFigures
  readonly ratio: number
}

interface Servers {
  readonly sim: Target
  readonly bare: Target
}

function positiveNumber(name: string, text: string | undefined, fallback: number): number {
  if (text === undefined) {
    return fallback
  }
  const value = Number(text)
  if (!Number.isFinite(value) || value <= 0) {
    throw new Error(`--${name} must be a positive number, not '${text}'.`)
  }
  return value
}

function readOptions(): BenchOptions {
  const { values } = parseArgs({
    options: {
      duration: { type: 'string' },
      connections: { type: 'string' },
      warmup: { type: 'string' },
      rounds: { type: 'string' },
      cards: { type: 'string' },
      durable: { type: 'boolean' },
      'grow-mb': { type: 'string' },
    },
    strict: true,
  })
  const options = {
    duration: positiveNumber('duration', values.duration, 10),
    connections: positiveNumber('connections', values.connections, 50),
    warmup: positiveNumber('warmup', values.warmup, 2),
    rounds: positiveNumber('rounds', values.rounds, 5),
    cards: positiveNumber('cards', values.cards, 100_000),
    durable: values.durable ?? false,
    growMb: positiveNumber('grow-mb', values['grow-mb'], 100),
  }
  for (const name of ['connections', 'rounds', 'cards'] as const) {
    if (!Number.isInteger(options[name])) {
      throw new Error(`--${name} must be a whole number, not ${options[name]}.`)
    }
  }
  return options
}

/** Checks, through the admin API, that the AddSubscriptions run really subscribed the first card. */
async function verifyStateChanged(ready: ReadyLine, cardId: string): Promise<string> {
  const res = await fetch(`${ready.url}/admin/cards/${cardId}`, {
    headers: { Authorization: `Bearer ${ready.adminToken ?? ''}` },
  })
  const card = (await res.json()) as { subscriptions?: { productId: string }[] }
  const products = (card.subscriptions ?? []).map((s) => s.productId)
  if (!products.includes(BENCH_PRODUCTS[0])) {
    throw new Error(
      `After AddSubscriptions, card ${cardId} has no ${BENCH_PRODUCTS[0]}: ${JSON.stringify(card)}`,
    )
  }
  return `card ${cardId} now has ${products.join(', ')}`
}

async function runWorkloads(servers: Servers, options: BenchOptions): Promise<WorkloadFigures[]> {
  const cardIds = servers.sim.ready.cardIds ?? []
  const missing = BENCH_PRODUCTS.filter((p) => !(servers.sim.ready.products ?? []).includes(p))
  if (cardIds.length !== options.cards || missing.length > 0) {
    throw new Error(
      `The simulator reported ${cardIds.length} cards (expected ${options.cards}); ` +
        `missing products: ${missing.join(', ') || 'none'}.`,
    )
  }
  const result: WorkloadFigures[] = []
  for (const workload of [addSubscriptionsWorkload(cardIds), barkWorkload(cardIds)]) {
    console.error(`running ${workload.name} ...`)
    const [simulator, bare] = await measureWorkload([servers.sim, servers.bare], workload, options)
    if (workload.operation === 'AddSubscriptions') {
      console.error(`  state check: ${await verifyStateChanged(servers.sim.ready, cardIds[0]!)}`)
    }
    result.push({
      workload: workload.name,
      simulator: simulator!,
      bare: bare!,
      ratio: bare!.requestsPerSec > 0 ? simulator!.requestsPerSec / bare!.requestsPerSec : 0,
    })
  }
  return result
}

const fix = (value: number, digits = 1): string => value.toFixed(digits)
const pass = (ok: boolean): string => (ok ? 'PASS' : 'FAIL')

const COLUMNS: readonly [string, number, (f: WorkloadFigures, run: RunFigures) => string][] = [
  ['workload', 25, (f) => f.workload],
  ['server', 9, (_, r) => r.server],
  ['req/s', 8, (_, r) => fix(r.requestsPerSec, 0)],
  ['p50 ms', 7, (_, r) => fix(r.p50Ms, 2)],
  ['p99 ms', 7, (_, r) => fix(r.p99Ms, 1)],
  ['max ms', 7, (_, r) => fix(r.maxMs, 0)],
  ['1st ans. max', 12, (_, r) => fix(r.firstAnswerMaxMs, 0)],
  ['peak RSS MB', 11, (_, r) => fix(r.peakRssMb)],
  ['srv CPU%', 8, (_, r) => fix(r.serverCpuPercent, 0)],
  ['ldr CPU%', 8, (_, r) => fix(r.loaderCpuPercent, 0)],
  ['requests', 8, (_, r) => String(r.requests)],
  ['non2xx', 6, (_, r) => String(r.non2xx)],
  ['errors', 6, (_, r) => String(r.errors)],
  ['timeouts', 8, (_, r) => String(r.timeouts)],
  ['resp B', 6, (_, r) => String(r.sampleBytes)],
  ['req/s per round', 15, (_, r) => r.roundRequestsPerSec.map((v) => fix(v, 0)).join(' ')],
]

function printTable(all: readonly WorkloadFigures[]): void {
  const line = (cells: readonly string[]): string =>
    cells
      .map((cell, i) => {
        const width = COLUMNS[i]![1]
        return i < 2 || i === COLUMNS.length - 1 ? cell.padEnd(width) : cell.padStart(width)
      })
      .join('  ')
      .trimEnd()
  console.log(line(COLUMNS.map(([title]) => title)))
  console.log(line(COLUMNS.map(([title]) => '-'.repeat(title.length))))
  for (const f of all) {
    for (const run of [f.simulator, f.bare]) {
      console.log(line(COLUMNS.map(([, , cell]) => cell(f, run))))
    }
  }
}

function printJournal(report: ChildReport, workload: string): void {
  const statuses = (report.extra.journalStatuses ?? {}) as Record<string, number>
  const notOk = Object.entries(statuses).filter(([key]) => !key.endsWith(' OK'))
  const summary = Object.entries(statuses)
    .map(([key, count]) => `${key}: ${count}`)
    .join(', ')
  console.log(`simulator journal after ${workload} (entries kept): ${summary}`)
  if (notOk.length > 0) {
    console.log(`!! non-OK StatusCodes answered during ${workload}: ${JSON.stringify(notOk)}`)
  }
}

function printProblems(all: readonly WorkloadFigures[]): void {
  let clean = true
  for (const f of all) {
    for (const run of [f.simulator, f.bare]) {
      if (run.non2xx + run.errors + run.timeouts > 0) {
        clean = false
        console.log(
          `!! ${f.workload} on ${run.server}: ${run.non2xx} non-2xx, ${run.errors} errors, ` +
            `${run.timeouts} timeouts`,
        )
      }
    }
  }
  if (clean) {
    console.log('no non-2xx answers, connection errors or timeouts in any run')
  }
}

function printHeader(servers: Servers, options: BenchOptions): void {
  const ready = servers.sim.ready
  const afterLoadMb = ready.afterLoad.rssMb
  console.log(
    `Conax Contego simulator benchmark: ${options.connections} keep-alive connections, pipelining ` +
      `1, ${options.duration} s per server and workload in ${options.rounds} alternating rounds, ` +
      `after a ${options.warmup} s warm-up; node ${process.version}, ${availableParallelism()} CPUs ` +
      `shared by the load generator and the server`,
  )
  console.log(
    `Simulator: ${ready.cards ?? 0} cards loaded in ${fix(ready.loadMs ?? 0, 0)} ms; RSS before ` +
      `load ${fix(ready.beforeLoad?.rssMb ?? 0)} MB, right after load ${fix(afterLoadMb)} MB ` +
      `(peak ${fix(ready.afterLoad.hwmMb)} MB)   target < ${TARGET_RSS_MB} MB: ` +
      pass(afterLoadMb < TARGET_RSS_MB),
  )
  console.log(
    `Bare node:http: RSS at start ${fix(servers.bare.ready.afterLoad.rssMb)} MB; canned ` +
      `AddSubscriptionsResponse of ${Buffer.byteLength(CANNED_ADD_SUBSCRIPTIONS_RESPONSE)} B`,
  )
}

function printResults(servers: Servers, options: BenchOptions, all: WorkloadFigures[]): void {
  const afterLoadMb = servers.sim.ready.afterLoad.rssMb
  const add = all[0]!
  console.log('')
  printHeader(servers, options)
  console.log('')
  printTable(all)
  console.log(
    'p50/p99/max: every 2xx answer on a kept-alive connection; "1st ans. max": the slowest first ' +
      'answer on a fresh connection (each round opens new connections), left out of the percentiles',
  )
  console.log('')
  for (const f of all) {
    const target =
      f === add ? `   target >= ${TARGET_ADD_RATIO}: ${pass(f.ratio >= TARGET_ADD_RATIO)}` : ''
    console.log(
      `ratio simulator/bare req/s, ${f.workload}: ${fix(f.ratio, 3)}${target}   ` +
        `(simulator peak RSS under this load ${fix(f.simulator.peakRssMb)} MB)`,
    )
  }
  for (const f of all) {
    printJournal(f.simulator.report, f.workload)
  }
  printProblems(all)
  const strip = ({ report: _report, ...rest }: RunFigures) => rest
  console.log(
    JSON.stringify({
      bench: 'sim',
      node: process.version,
      cpus: availableParallelism(),
      options,
      simulatorRssAfterLoadMb: afterLoadMb,
      simulatorLoadMs: servers.sim.ready.loadMs,
      workloads: all.map((f) => ({
        workload: f.workload,
        ratio: f.ratio,
        simulator: strip(f.simulator),
        bare: strip(f.bare),
      })),
      targets: {
        addSubscriptionsRatio: {
          min: TARGET_ADD_RATIO,
          value: add.ratio,
          pass: add.ratio >= TARGET_ADD_RATIO,
        },
        rssAfterLoadMb: {
          max: TARGET_RSS_MB,
          value: afterLoadMb,
          pass: afterLoadMb < TARGET_RSS_MB,
        },
      },
    }),
  )
}

async function main(): Promise<void> {
  const options = readOptions()
  if (options.durable) {
    await runDurable(options)
    return
  }
  const started: ServerProcess[] = []
  try {
    console.error(`starting the simulator with ${options.cards} cards ...`)
    const sim = await ServerProcess.start('simulator', './sim-server.js', [String(options.cards)])
    started.push(sim.server)
    const bare = await ServerProcess.start('bare', './bare-server.js')
    started.push(bare.server)
    const servers: Servers = {
      sim: { kind: 'simulator', ...sim },
      bare: { kind: 'bare', ...bare },
    }
    const all = await runWorkloads(servers, options)
    printResults(servers, options, all)
  } finally {
    await Promise.all(started.map((server) => server.stop()))
  }
}

main().catch((error: unknown) => {
  console.error('bench:sim FAILED:', error instanceof Error ? error.message : error)
  process.exitCode = 1
})
