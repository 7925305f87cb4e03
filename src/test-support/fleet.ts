import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import {
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type ServerResponse,
} from 'node:http'
import type { AddressInfo } from 'node:net'
import { dirname, join } from 'node:path'
import { createInterface } from 'node:readline'
import { parse } from 'yaml'

/**
 * Several adapter instances as real processes (`bin/conax-adapter.js`, so they can be killed with
 * SIGKILL) on one PostgreSQL database, and a proxy that makes the CA fail some calls: the pieces
 * of the multi-instance test and of `npm run bench:pg`.
 * @module
 */

/** A running `conax-adapter` process. */
export interface AdapterProcess {
  readonly name: string
  readonly url: string
  readonly child: ChildProcess
  /** Resolves once the process has ended. */
  readonly exited: Promise<void>
}

/** The package root (from src/ or from dist/src/): the first folder up that holds fixtures/. */
function packageRoot(): string {
  let dir = import.meta.dirname
  while (!existsSync(join(dir, 'fixtures', 'scenarios'))) {
    const parent = dirname(dir)
    if (parent === dir) {
      throw new Error(`No fixtures/scenarios above ${import.meta.dirname}.`)
    }
    dir = parent
  }
  return dir
}

/** The example provider as a JSON file pointed at `caUrl` (the simulator or a proxy before it). */
export function writeProviderFile(
  dir: string,
  caUrl: string,
  changes: {
    readonly timeoutMs?: number
    /** Retry delays (default: the example's); tests make them short. */
    readonly retry?: { readonly initialMs: number; readonly maxMs: number }
  } = {},
): string {
  const file = join(packageRoot(), 'fixtures', 'scenarios', 'providers', 'conax-ws.yaml')
  const base = parse(readFileSync(file, 'utf8')) as {
    connection: Record<string, unknown>
    delivery?: Record<string, unknown>
  }
  const provider = {
    ...base,
    connection: {
      ...base.connection,
      endpoint: `${caUrl}/ca-server/webservices/caclient`,
      ...(changes.timeoutMs === undefined ? {} : { timeoutMs: changes.timeoutMs }),
    },
    delivery: {
      ...base.delivery,
      ...(changes.retry === undefined
        ? {}
        : { retryInitialDelayMs: changes.retry.initialMs, retryMaxDelayMs: changes.retry.maxMs }),
    },
  }
  const written = join(dir, 'provider.json')
  writeFileSync(written, JSON.stringify(provider))
  return written
}

/**
 * Starts `conax-adapter` in a child process on the database (or data file) and resolves once it listens. The
 * caller kills it (`child.kill('SIGKILL')` to simulate a crash).
 */
export function spawnAdapter(options: {
  readonly name: string
  readonly providerFile: string
  /** The shared database; or, for one instance on the embedded store, `dataFile`. */
  readonly databaseUrl?: string
  readonly dataFile?: string
  readonly apiToken: string
  readonly leaseMs?: number
  readonly concurrency?: number
  readonly runPageSize?: number
}): Promise<AdapterProcess> {
  const child = spawn(
    process.execPath,
    [
      join(packageRoot(), 'bin', 'conax-adapter.js'),
      '--provider',
      options.providerFile,
      '--port',
      '0',
      ...(options.databaseUrl === undefined
        ? ['--data', options.dataFile ?? 'adapter.json', '--create-data-dir']
        : ['--database-url', options.databaseUrl]),
      '--instance-id',
      options.name,
      '--log-level',
      'error',
      '--concurrency',
      String(options.concurrency ?? 8),
      ...(options.leaseMs === undefined ? [] : ['--lease-ms', String(options.leaseMs)]),
      ...(options.runPageSize === undefined
        ? []
        : ['--run-page-size', String(options.runPageSize)]),
    ],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
      // DATABASE_URL of the caller's environment must not turn a file-store instance into another.
      env: {
        ...Object.fromEntries(
          Object.entries(process.env).filter(([key]) => key !== 'DATABASE_URL'),
        ),
        CONAX_ADAPTER_API_TOKEN: options.apiToken,
      },
    },
  )
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  return new Promise((resolve, reject) => {
    let stderr = ''
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
    void exited.then(() =>
      reject(new Error(`conax-adapter ${options.name} exited at start: ${stderr}`)),
    )
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      const url = /listening on (http:\/\/\S+)/.exec(line)?.[1]
      if (url !== undefined) {
        resolve({ name: options.name, url, child, exited })
      }
    })
  })
}

/** What the flaky proxy did to the calls it took. */
export interface ProxyStats {
  calls: number
  /** Answered 503 without forwarding: the CA did nothing. */
  refused: number
  /** Forwarded and applied, then the connection was cut before the answer: the caller cannot know. */
  cut: number
}

/** A deterministic random sequence (mulberry32) for the proxy's choices. */
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
 * An HTTP proxy before the CA that fails `failRate` of the calls (chosen by a seeded sequence):
 * half of those are refused with 503 and not forwarded, half are applied by the CA and then cut
 * without an answer (the case where only the SequenceNumber replay keeps a retry from applying twice).
 */
export async function startFlakyProxy(
  target: string,
  options: { readonly failRate: number; readonly seed: number },
): Promise<{ url: string; stats: ProxyStats; close(): Promise<void> }> {
  const random = seeded(options.seed)
  const stats: ProxyStats = { calls: 0, refused: 0, cut: 0 }
  const base = new URL(target)
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    stats.calls++
    const draw = random()
    if (draw < options.failRate / 2) {
      stats.refused++
      req.resume()
      res.writeHead(503, { 'Content-Type': 'text/plain' }).end('injected: CA unavailable')
      return
    }
    const cut = draw < options.failRate
    const upstream = httpRequest(
      {
        host: base.hostname,
        port: base.port,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, host: base.host },
      },
      (answer) => {
        if (cut) {
          stats.cut++
          answer.resume()
          answer.once('end', () => res.socket?.destroy())
          return
        }
        res.writeHead(answer.statusCode ?? 502, answer.headers)
        answer.pipe(res)
      },
    )
    upstream.once('error', () => res.socket?.destroy())
    req.pipe(upstream)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    stats,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

/** POSTs a CRM action to an adapter; resolves to the HTTP status (throws when the process is gone). */
export async function postAction(
  adapter: { readonly url: string },
  apiToken: string,
  action: Record<string, unknown>,
): Promise<{ status: number; body: string }> {
  const response = await fetch(`${adapter.url}/crm/actions`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${apiToken}`, 'Content-Type': 'application/json' },
    body: JSON.stringify(action),
  })
  return { status: response.status, body: await response.text() }
}
