import autocannon, { type Result } from 'autocannon'
import type { ChildReport } from './child-protocol.js'
import type { ReadyLine, ServerProcess } from './server-process.js'
import { BENCH_HEADERS, cannonRequests, type Workload } from './workloads.js'

/** How the load is applied. */
export interface LoadOptions {
  readonly connections: number
  /** Measured seconds per server and workload, split evenly over the rounds. */
  readonly duration: number
  readonly warmup: number
  /** The measurement alternates between the servers this many times (noise hits both alike). */
  readonly rounds: number
}

/** A server under test: its process, its ready line and its own request counter. */
export interface Target {
  /** What the tables call it: `simulator`, `bare`, `memory`, `durable`... */
  readonly kind: string
  /** The number the workload's request counter starts at (default 0). */
  readonly startAt?: number
  readonly server: ServerProcess
  readonly ready: ReadyLine
}

/** The figures of one server under one workload, over all of its rounds. */
export interface RunFigures {
  readonly server: string
  readonly requestsPerSec: number
  readonly p50Ms: number
  readonly p99Ms: number
  readonly maxMs: number
  /** The slowest first answer on a fresh connection (left out of the percentiles above). */
  readonly firstAnswerMaxMs: number
  readonly peakRssMb: number
  /** Server CPU time over measured wall time (can pass 100: GC helper threads). */
  readonly serverCpuPercent: number
  /** The load generator's (this process's) CPU share while this server was measured. */
  readonly loaderCpuPercent: number
  readonly requests: number
  readonly non2xx: number
  readonly errors: number
  readonly timeouts: number
  /** req/s of each round, to show the spread. */
  readonly roundRequestsPerSec: readonly number[]
  /** Size of the verified sample answer, in bytes. */
  readonly sampleBytes: number
  readonly report: ChildReport
}

interface Tally {
  requests: number
  seconds: number
  non2xx: number
  errors: number
  timeouts: number
  serverCpuUs: number
  loaderCpuUs: number
  readonly latencies: number[]
  firstAnswerMaxMs: number
  readonly rounds: number[]
}

/** Latencies (ms) of 2xx answers; each connection's first answer is kept apart. */
interface LatencySink {
  readonly latencies: number[]
  firstAnswerMaxMs: number
}

/** Posts one request of the workload and fails loudly unless it is HTTP 200 with StatusCode OK. */
export async function verifySample(
  target: Target,
  workload: Workload,
  counter: { next: number },
): Promise<number> {
  const res = await fetch(`${target.ready.url}${workload.path}`, {
    method: 'POST',
    headers: BENCH_HEADERS,
    body: workload.body(counter.next++),
  })
  const text = await res.text()
  const status = /<StatusCode>([^<]*)<\/StatusCode>/.exec(text)?.[1]
  if (res.status !== 200 || status !== 'OK') {
    throw new Error(
      `Sample ${workload.operation} to the ${target.kind} server failed: HTTP ${res.status}, ` +
        `StatusCode ${status ?? '(none)'}. Body: ${text.slice(0, 500)}`,
    )
  }
  return Buffer.byteLength(text)
}

/**
 * One autocannon run. With a sink, the latency of every 2xx answer is recorded, except that each
 * connection's first answer only counts towards `firstAnswerMaxMs`: every run opens fresh
 * connections, and under saturation a new connection can wait seconds for its first turn, which
 * is connection ramp-up, not keep-alive latency.
 */
function runCannon(
  target: Target,
  workload: Workload,
  counter: { next: number },
  load: { connections: number; seconds: number; sink?: LatencySink },
): Promise<Result> {
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url: target.ready.url,
        connections: load.connections,
        pipelining: 1,
        duration: load.seconds,
        requests: cannonRequests(workload, counter),
      },
      (error: unknown, result) => {
        if (error) {
          reject(
            error instanceof Error
              ? error
              : new Error(`autocannon failed: ${JSON.stringify(error)}`),
          )
        } else {
          resolve(result)
        }
      },
    )
    const sink = load.sink
    if (sink) {
      const answered = new WeakSet<object>()
      instance.on('response', (client, statusCode, _bytes, ms) => {
        if (statusCode < 200 || statusCode >= 300) {
          return
        }
        if (answered.has(client)) {
          sink.latencies.push(ms)
        } else {
          answered.add(client)
          sink.firstAnswerMaxMs = Math.max(sink.firstAnswerMaxMs, ms)
        }
      })
    }
  })
}

async function measuredRound(
  target: Target,
  workload: Workload,
  counter: { next: number },
  load: { connections: number; seconds: number; tally: Tally },
): Promise<void> {
  const { tally } = load
  const serverCpu = await target.server.cpuMicros()
  const loaderCpu = process.cpuUsage()
  const result = await runCannon(target, workload, counter, {
    connections: load.connections,
    seconds: load.seconds,
    sink: tally,
  })
  const loader = process.cpuUsage(loaderCpu)
  tally.serverCpuUs += (await target.server.cpuMicros()) - serverCpu
  tally.loaderCpuUs += loader.user + loader.system
  tally.requests += result.requests.total
  tally.seconds += result.duration
  tally.non2xx += result.non2xx
  tally.errors += result.errors
  tally.timeouts += result.timeouts
  tally.rounds.push(result.duration > 0 ? result.requests.total / result.duration : 0)
}

function percentile(sorted: Float64Array, fraction: number): number {
  if (sorted.length === 0) {
    return Number.NaN
  }
  return sorted[Math.min(sorted.length - 1, Math.ceil(fraction * sorted.length) - 1)]!
}

function figures(
  target: Target,
  tally: Tally,
  report: ChildReport,
  sampleBytes: number,
): RunFigures {
  const sorted = Float64Array.from(tally.latencies).sort()
  const wallUs = tally.seconds * 1e6
  return {
    server: target.kind,
    requestsPerSec: tally.seconds > 0 ? tally.requests / tally.seconds : 0,
    p50Ms: percentile(sorted, 0.5),
    p99Ms: percentile(sorted, 0.99),
    maxMs: sorted.length > 0 ? sorted[sorted.length - 1]! : Number.NaN,
    firstAnswerMaxMs: tally.firstAnswerMaxMs,
    peakRssMb: report.peakResetWorks ? report.hwmMb : Math.max(report.sampledPeakMb, report.rssMb),
    serverCpuPercent: wallUs > 0 ? (tally.serverCpuUs / wallUs) * 100 : 0,
    loaderCpuPercent: wallUs > 0 ? (tally.loaderCpuUs / wallUs) * 100 : 0,
    requests: tally.requests,
    non2xx: tally.non2xx,
    errors: tally.errors,
    timeouts: tally.timeouts,
    roundRequestsPerSec: tally.rounds,
    sampleBytes,
    report,
  }
}

const newTally = (): Tally => ({
  requests: 0,
  seconds: 0,
  non2xx: 0,
  errors: 0,
  timeouts: 0,
  serverCpuUs: 0,
  loaderCpuUs: 0,
  latencies: [],
  firstAnswerMaxMs: 0,
  rounds: [],
})

/**
 * Measures one workload on every target: a verified sample each, a warm-up each, then `rounds`
 * rounds in which every target gets `duration / rounds` seconds of load in turn (the order
 * alternates from round to round). Peak RSS is counted from the end of the warm-up.
 */
export async function measureWorkload(
  targets: readonly Target[],
  workload: Workload,
  options: LoadOptions,
): Promise<RunFigures[]> {
  const counters = targets.map((target) => ({ next: target.startAt ?? 0 }))
  const samples: number[] = []
  for (const [i, target] of targets.entries()) {
    samples.push(await verifySample(target, workload, counters[i]!))
  }
  for (const [i, target] of targets.entries()) {
    await runCannon(target, workload, counters[i]!, {
      connections: options.connections,
      seconds: options.warmup,
    })
    await target.server.resetPeak()
  }
  const tallies = targets.map(newTally)
  const seconds = options.duration / options.rounds
  for (let round = 0; round < options.rounds; round++) {
    const order = targets.map((_, i) => i)
    if (round % 2 === 1) {
      order.reverse()
    }
    for (const i of order) {
      await measuredRound(targets[i]!, workload, counters[i]!, {
        connections: options.connections,
        seconds,
        tally: tallies[i]!,
      })
    }
  }
  const result: RunFigures[] = []
  for (const [i, target] of targets.entries()) {
    result.push(figures(target, tallies[i]!, await target.server.report(), samples[i]!))
  }
  return result
}
