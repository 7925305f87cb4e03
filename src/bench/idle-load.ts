import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { request } from 'node:http'
import { connect, type Socket } from 'node:net'
import { createInterface, type Interface } from 'node:readline'
import { parseArgs } from 'node:util'
import { positiveInteger } from './bench-main.js'
import { readMemory } from './proc-status.js'

/**
 * `npm run load:idle`: idle connections must not deny service. A simulator and an adapter, each
 * in a child process with its default settings, get --connections idle TCP connections (opened,
 * never sending a byte) from this process; with them held, --requests fresh clients (one new
 * connection each, one after the other) must be served. Prints, per server, the connections
 * opened and closed by the server, its connection stats, the new clients' latency before and
 * with the idle connections, and its RSS; exits 1 when a new client was not served.
 *
 * The servers are children because this machine allows 20,000 open files per process: the
 * client side holds the idle sockets, one server at a time.
 *
 * Flags: --connections <n> (10000), --requests <n> (200), --batch <n> (500 connects at once),
 * --max-connections <n> (the servers' cap; their default, 1024, when absent).
 */

interface Options {
  readonly connections: number
  readonly requests: number
  readonly batch: number
  readonly maxConnections: number | null
}

interface ServerStats {
  readonly open: number
  readonly idle: number
  readonly evicted: number
  readonly refused: number
  readonly timedOut: number
}

interface Latencies {
  readonly served: number
  readonly failed: number
  readonly p50Ms: number
  readonly p99Ms: number
  readonly maxMs: number
  readonly firstFailure: string | null
}

interface Figures {
  readonly server: 'simulator' | 'adapter'
  readonly opened: number
  readonly connectErrors: number
  readonly closedByServer: number
  readonly stillOpen: number
  readonly stats: ServerStats
  readonly baseline: Latencies
  readonly withIdle: Latencies
  readonly rssMb: number
  readonly peakRssMb: number
  readonly openMs: number
}

const REQUEST_TIMEOUT_MS = 10_000
const SOAP_BODY = `<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:sub="http://www.conax.com/cas/xsd/subscription/v1"><soapenv:Body><sub:GetActiveSubscriptions><GetActiveSubscriptionsRequest><CaClientId>01450253313</CaClientId></GetActiveSubscriptionsRequest></sub:GetActiveSubscriptions></soapenv:Body></soapenv:Envelope>`

function readOptions(): Options {
  const { values } = parseArgs({
    options: {
      connections: { type: 'string' },
      requests: { type: 'string' },
      batch: { type: 'string' },
      'max-connections': { type: 'string' },
    },
    strict: true,
  })
  return {
    connections: positiveInteger('connections', values.connections, 10_000),
    requests: positiveInteger('requests', values.requests, 200),
    batch: positiveInteger('batch', values.batch, 500),
    maxConnections: positiveInteger('max-connections', values['max-connections'], null),
  }
}

/** A server child speaking idle-server.ts' line protocol. */
class ServerChild {
  readonly url: string
  readonly token: string
  readonly pid: number
  private readonly child: ChildProcess
  private readonly lines: Interface
  private readonly pending: ((line: Record<string, unknown>) => void)[] = []

  private constructor(child: ChildProcess, lines: Interface, ready: Record<string, unknown>) {
    this.child = child
    this.lines = lines
    this.url = String(ready.url)
    this.token = String(ready.token)
    this.pid = Number(ready.pid)
    lines.on('line', (line) => this.pending.shift()?.(JSON.parse(line) as Record<string, unknown>))
  }

  static async start(args: readonly string[]): Promise<ServerChild> {
    const script = new URL('./idle-server.js', import.meta.url)
    const child = spawn(process.execPath, [script.pathname, ...args], {
      stdio: ['pipe', 'pipe', 'inherit'],
    })
    const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream })
    const exited = once(child, 'exit').then(([code]) => {
      throw new Error(
        `idle-server ${args.join(' ')} exited with ${String(code)} before it was ready`,
      )
    })
    const [first] = (await Promise.race([once(lines, 'line'), exited])) as [string]
    return new ServerChild(child, lines, JSON.parse(first) as Record<string, unknown>)
  }

  async stats(): Promise<ServerStats> {
    const answer = new Promise<Record<string, unknown>>((resolve) => this.pending.push(resolve))
    this.child.stdin?.write('stats\n')
    return (await answer) as unknown as ServerStats
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) {
      return
    }
    const exited = once(this.child, 'exit')
    this.child.stdin?.end('stop\n')
    await exited
    this.lines.close()
  }
}

/** One request on a fresh connection; resolves with its latency, rejects when it was not served. */
function freshRequest(server: ServerChild, kind: 'simulator' | 'adapter'): Promise<number> {
  const started = performance.now()
  const soap = kind === 'simulator'
  const target = new URL(
    soap
      ? '/ca-server/webservices/caclient/subscription'
      : '/conax_web_services/provisioning_requests/list?number_of_results=1',
    server.url,
  )
  return new Promise((resolve, reject) => {
    const req = request(target, {
      method: soap ? 'POST' : 'GET',
      agent: false,
      timeout: REQUEST_TIMEOUT_MS,
      headers: soap
        ? {
            Authorization: `Basic ${Buffer.from('sms:sms').toString('base64')}`,
            'Content-Type': 'text/xml; charset=utf-8',
          }
        : { Authorization: `Bearer ${server.token}` },
    })
    req.on('timeout', () => req.destroy(new Error(`no answer within ${REQUEST_TIMEOUT_MS} ms`)))
    req.on('error', reject)
    req.on('response', (res) => {
      res.resume()
      res.on('end', () =>
        res.statusCode === 200
          ? resolve(performance.now() - started)
          : reject(new Error(`HTTP ${String(res.statusCode)}`)),
      )
    })
    req.end(soap ? SOAP_BODY : undefined)
  })
}

async function measure(
  server: ServerChild,
  kind: 'simulator' | 'adapter',
  count: number,
): Promise<Latencies> {
  const times: number[] = []
  let failed = 0
  let firstFailure: string | null = null
  for (let i = 0; i < count; i++) {
    try {
      times.push(await freshRequest(server, kind))
    } catch (error) {
      failed += 1
      firstFailure ??= error instanceof Error ? error.message : String(error)
    }
  }
  times.sort((a, b) => a - b)
  const at = (q: number): number =>
    times[Math.min(times.length - 1, Math.floor(q * times.length))] ?? 0
  return {
    served: times.length,
    failed,
    p50Ms: at(0.5),
    p99Ms: at(0.99),
    maxMs: times.at(-1) ?? 0,
    firstFailure,
  }
}

/** Opens `count` connections that never send a byte, `batch` at a time. */
async function openIdle(
  url: string,
  count: number,
  batch: number,
): Promise<{ sockets: Socket[]; errors: number; closedByServer: () => number }> {
  const { hostname, port } = new URL(url)
  const sockets: Socket[] = []
  let errors = 0
  let closed = 0
  let releasing = false
  for (let start = 0; start < count; start += batch) {
    const size = Math.min(batch, count - start)
    await Promise.all(
      Array.from({ length: size }, async () => {
        const socket = connect(Number(port), hostname)
        socket.on('error', () => undefined)
        socket.once('close', () => {
          if (!releasing) {
            closed += 1
          }
        })
        const outcome = await Promise.race([
          once(socket, 'connect').then(() => 'connected'),
          once(socket, 'close').then(() => 'closed'),
        ]).catch(() => 'failed')
        if (outcome === 'connected') {
          sockets.push(socket)
        } else {
          errors += 1
        }
      }),
    )
  }
  return {
    sockets,
    errors,
    closedByServer: () => {
      releasing = true
      return closed
    },
  }
}

async function run(
  kind: 'simulator' | 'adapter',
  args: readonly string[],
  options: Options,
): Promise<Figures> {
  const server = await ServerChild.start(args)
  try {
    console.error(
      `${kind}: ${server.url}; ${options.requests} fresh clients without idle connections ...`,
    )
    const baseline = await measure(server, kind, options.requests)
    console.error(`${kind}: opening ${options.connections} idle connections ...`)
    const openStarted = performance.now()
    const idle = await openIdle(server.url, options.connections, options.batch)
    const openMs = performance.now() - openStarted
    console.error(`${kind}: ${options.requests} fresh clients with the idle connections held ...`)
    const withIdle = await measure(server, kind, options.requests)
    const stats = await server.stats()
    const memory = readMemory(server.pid)
    const stillOpen = idle.sockets.filter((socket) => !socket.destroyed).length
    const closedByServer = idle.closedByServer()
    idle.sockets.forEach((socket) => socket.destroy())
    return {
      server: kind,
      opened: idle.sockets.length,
      connectErrors: idle.errors,
      closedByServer,
      stillOpen,
      stats,
      baseline,
      withIdle,
      rssMb: memory.rssMb,
      peakRssMb: memory.peakRssMb,
      openMs,
    }
  } finally {
    await server.stop()
  }
}

const fix = (value: number, digits = 1): string => value.toFixed(digits)

function report(all: readonly Figures[], options: Options): void {
  const cap =
    options.maxConnections === null ? 'default cap (1024)' : `cap ${options.maxConnections}`
  console.log(
    `Idle connections against new clients: ${options.connections} idle TCP connections per server (opened ${options.batch} at a time, never sending a byte), ${cap}, ${options.requests} fresh clients one after the other (a new connection each); node ${process.version}`,
  )
  const header = [
    'server',
    'idle opened',
    'connect errors',
    'closed by server',
    'still open',
    'srv open',
    'srv evicted',
    'srv refused',
    'srv timed out',
    'open s',
    'before p50/p99 ms',
    'with idle p50/p99/max ms',
    'served',
    'RSS MB (peak)',
  ]
  const rows = all.map((f) => [
    f.server,
    String(f.opened),
    String(f.connectErrors),
    String(f.closedByServer),
    String(f.stillOpen),
    String(f.stats.open),
    String(f.stats.evicted),
    String(f.stats.refused),
    String(f.stats.timedOut),
    fix(f.openMs / 1000),
    `${fix(f.baseline.p50Ms, 2)}/${fix(f.baseline.p99Ms, 2)}`,
    `${fix(f.withIdle.p50Ms, 2)}/${fix(f.withIdle.p99Ms, 2)}/${fix(f.withIdle.maxMs, 2)}`,
    `${f.withIdle.served}/${f.withIdle.served + f.withIdle.failed}`,
    `${fix(f.rssMb)} (${fix(f.peakRssMb)})`,
  ])
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)))
  for (const row of [header, header.map((h) => '-'.repeat(h.length)), ...rows]) {
    console.log(row.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join('  '))
  }
  for (const f of all) {
    if (f.withIdle.failed > 0 || f.baseline.failed > 0) {
      console.log(
        `${f.server}: ${f.withIdle.failed} new clients NOT served with the idle connections held (first: ${f.withIdle.firstFailure ?? '-'}); ${f.baseline.failed} before`,
      )
    }
  }
  console.log(JSON.stringify({ bench: 'load:idle', node: process.version, options, servers: all }))
}

async function main(): Promise<void> {
  const options = readOptions()
  const cap =
    options.maxConnections === null ? [] : ['--max-connections', String(options.maxConnections)]
  const sim = await run('simulator', ['simulator', ...cap], options)
  // The adapter's provider points at a simulator that is not running: nothing is delivered.
  const adapter = await run('adapter', ['adapter', 'http://127.0.0.1:9', ...cap], options)
  report([sim, adapter], options)
  const unserved = [sim, adapter].some((f) => f.withIdle.failed > 0 || f.withIdle.served === 0)
  process.exitCode = unserved ? 1 : 0
}

main().catch((error: unknown) => {
  console.error('load:idle FAILED:', error instanceof Error ? error.message : error)
  process.exitCode = 1
})
