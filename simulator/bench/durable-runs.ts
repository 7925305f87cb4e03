import { mkdtempSync, rmSync } from 'node:fs'
import { availableParallelism, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import type { LoadOptions, RunFigures, Target } from './measure.js'
import { measureWorkload } from './measure.js'
import { ServerProcess } from './server-process.js'
import {
  NO_COMPACTION,
  copyStore,
  growLog,
  logBytes,
  prepareBase,
  syncStore,
} from './durable-stores.js'
import { addSubscriptionsWorkload } from './workloads.js'

/**
 * `npm run bench:sim -- --durable`: the log store against the in-memory simulator, each in its own
 * child process, loaded by autocannon from this process in alternating rounds (docs/benchmarks.md):
 *
 * 1. durable (`--fsync group`, default compaction threshold) against in memory, same workload,
 *    same cards: the ratio durable/in-memory (target >= 0.7);
 * 2. flatness: a store whose log is empty against one whose log was grown to `--grow-mb` MB
 *    (neither compacts during the run): the ratio grown/empty (target within ±15 %);
 * 3. start time of the grown store: its snapshot of `--cards` cards plus the log replayed
 *    (target < 2 s).
 */

const TARGET_DURABLE_RATIO = 0.7
const TARGET_FLATNESS = 0.15
const TARGET_START_MS = 2000
const MB = 1024 * 1024

/** The durable benchmark's options. */
export interface DurableOptions extends LoadOptions {
  readonly cards: number
  readonly growMb: number
}

const fix = (value: number, digits = 1): string => value.toFixed(digits)
const pass = (ok: boolean): string => (ok ? 'PASS' : 'FAIL')

/** Starts a simulator child: in memory, or on a store file with the given fsync and threshold. */
async function child(
  kind: string,
  cards: number,
  store?: { file: string; fsync: 'group' | 'never'; compactAt?: string },
): Promise<Target & { readonly spawnToReadyMs: number }> {
  const args = [String(cards)]
  if (store) {
    args.push('--data', store.file, '--fsync', store.fsync)
    if (store.compactAt !== undefined) {
      args.push('--compact-at', store.compactAt)
    }
  }
  const started = performance.now()
  const { server, ready } = await ServerProcess.start(kind, './sim-server.js', args, 300_000)
  return { kind, server, ready, spawnToReadyMs: performance.now() - started }
}

function printRuns(title: string, runs: readonly RunFigures[]): void {
  console.log(title)
  console.log(
    'server        req/s   p50 ms   p99 ms  max ms  srv CPU%  ldr CPU%  requests  non2xx  errors  req/s per round',
  )
  for (const r of runs) {
    console.log(
      `${r.server.padEnd(12)} ${fix(r.requestsPerSec, 0).padStart(6)} ${fix(r.p50Ms, 2).padStart(8)} ` +
        `${fix(r.p99Ms, 1).padStart(8)} ${fix(r.maxMs, 0).padStart(7)} ${fix(r.serverCpuPercent, 0).padStart(9)} ` +
        `${fix(r.loaderCpuPercent, 0).padStart(9)} ${String(r.requests).padStart(9)} ${String(r.non2xx).padStart(7)} ` +
        `${String(r.errors + r.timeouts).padStart(7)}  ${r.roundRequestsPerSec.map((v) => fix(v, 0)).join(' ')}`,
    )
  }
}

const strip = ({ report, ...rest }: RunFigures) => ({ ...rest, store: report.extra.store })

/** Runs the three durable measurements; resolves with the JSON summary it printed last. */
export async function runDurable(options: DurableOptions): Promise<Record<string, unknown>> {
  const work = mkdtempSync(join(tmpdir(), 'conax-bench-durable-'))
  const started: ServerProcess[] = []
  const loadAtStart = loadavg()
  try {
    console.error(`preparing a store of ${options.cards} cards ...`)
    const base = join(work, 'base', 'sim.json')
    const prepareMs = await prepareBase(base, options.cards)
    console.error('durable (fsync group) against in memory ...')
    const memory = await child('in memory', options.cards)
    started.push(memory.server)
    const durable = await child('durable', options.cards, {
      file: copyStore(base, join(work, 'durable')),
      fsync: 'group',
    })
    started.push(durable.server)
    const cardIds = memory.ready.cardIds ?? []
    const workload = addSubscriptionsWorkload(cardIds)
    const [memoryRun, durableRun] = await measureWorkload([memory, durable], workload, options)
    await Promise.all(started.splice(0).map((server) => server.stop(120_000)))

    // Grown after the first comparison, and flushed to disk before the next: the writeback of a
    // 100 MB log written without fsync would otherwise slow the fsyncs measured after it.
    console.error(`growing a copy of its log to ${options.growMb} MB ...`)
    const grownFile = copyStore(base, join(work, 'grown'))
    const growth = await growLog(grownFile, options.growMb * MB)
    syncStore(grownFile)

    console.error('flatness: empty log against a grown one ...')
    const grown = await child('grown log', options.cards, {
      file: grownFile,
      fsync: 'group',
      compactAt: NO_COMPACTION,
    })
    started.push(grown.server)
    const empty = await child('empty log', options.cards, {
      file: copyStore(base, join(work, 'empty')),
      fsync: 'group',
      compactAt: NO_COMPACTION,
    })
    started.push(empty.server)
    // The grown store goes on with the workload where the growing stopped: new subscriptions.
    const [emptyRun, grownRun] = await measureWorkload(
      [empty, { ...grown, startAt: growth.requests }],
      workload,
      options,
    )

    const durableRatio = durableRun!.requestsPerSec / memoryRun!.requestsPerSec
    const flatness = grownRun!.requestsPerSec / emptyRun!.requestsPerSec
    const startMs = grown.ready.loadMs ?? Number.NaN
    console.log('')
    console.log(
      `Conax Contego simulator, durable store: ${options.cards} cards, ${options.connections} keep-alive ` +
        `connections, AddSubscriptions x1 card, ${options.duration} s per server in ${options.rounds} ` +
        `alternating rounds after a ${options.warmup} s warm-up; node ${process.version}, ` +
        `${availableParallelism()} CPUs shared by the load generator and the servers, load average ` +
        `${loadAtStart.map((v) => fix(v, 2)).join(' ')} at the start, ${loadavg()
          .map((v) => fix(v, 2))
          .join(' ')} at the end; stores in ${tmpdir()}`,
    )
    console.log(
      `Base store prepared in ${fix(prepareMs / 1000)} s; log grown to ${fix(growth.bytes / MB)} MB ` +
        `by ${growth.requests} requests in ${fix(growth.seconds)} s (--fsync never)`,
    )
    console.log('')
    printRuns('1. durable (--fsync group) against in memory', [memoryRun!, durableRun!])
    console.log(
      `ratio durable/in-memory req/s: ${fix(durableRatio, 3)}   target >= ${TARGET_DURABLE_RATIO}: ` +
        pass(durableRatio >= TARGET_DURABLE_RATIO),
    )
    console.log(`durable store after the run: ${JSON.stringify(durableRun!.report.extra.store)}`)
    console.log('')
    printRuns(
      `2. flatness: empty log against a ${fix(growth.bytes / MB)} MB log (--fsync group, no compaction)`,
      [emptyRun!, grownRun!],
    )
    console.log(
      `ratio grown/empty req/s: ${fix(flatness, 3)}   target within ±${TARGET_FLATNESS * 100} %: ` +
        pass(Math.abs(flatness - 1) <= TARGET_FLATNESS),
    )
    console.log('')
    console.log(
      `3. start with ${options.cards} cards and a ${fix(logBytes(grownFile) / MB)} MB log: startSimulator ` +
        `${fix(startMs, 0)} ms, CPU ${fix(grown.ready.loadCpuMs ?? Number.NaN, 0)} ms ` +
        `(${grown.ready.store ? JSON.stringify(grown.ready.store) : ''}); spawn to ready ` +
        `${fix(grown.spawnToReadyMs, 0)} ms   target < ${TARGET_START_MS} ms: ${pass(startMs < TARGET_START_MS)}`,
    )
    const summary = {
      bench: 'sim-durable',
      node: process.version,
      cpus: availableParallelism(),
      loadavg: { start: loadAtStart, end: loadavg() },
      options,
      growth,
      runs: [memoryRun, durableRun, emptyRun, grownRun].map((r) => strip(r!)),
      targets: {
        durableRatio: {
          min: TARGET_DURABLE_RATIO,
          value: durableRatio,
          pass: durableRatio >= TARGET_DURABLE_RATIO,
        },
        flatness: {
          within: TARGET_FLATNESS,
          value: flatness,
          pass: Math.abs(flatness - 1) <= TARGET_FLATNESS,
        },
        startMs: {
          max: TARGET_START_MS,
          value: startMs,
          cpuMs: grown.ready.loadCpuMs,
          spawnToReadyMs: grown.spawnToReadyMs,
          pass: startMs < TARGET_START_MS,
        },
      },
    }
    console.log(JSON.stringify(summary))
    return summary
  } finally {
    await Promise.all(started.map((server) => server.stop(120_000)))
    rmSync(work, { recursive: true, force: true })
  }
}
