import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { createInterface } from 'node:readline'
import { startSimulator } from '../../simulator/src/index.js'
import { loadProvider } from '../config/load-provider.js'
import { startAdapter } from '../create-adapter.js'

/**
 * Child of `npm run load:idle`: a simulator or an adapter with its default connection settings
 * (one can be changed with --max-connections <n>). Prints one JSON `ready` line with its URL,
 * token and pid, then answers each `stats` line on stdin with a JSON line of its connection
 * stats, and stops on `stop` or when stdin ends.
 *
 * Usage: node dist/src/bench/idle-server.js simulator [--max-connections n]
 *        node dist/src/bench/idle-server.js adapter <simulator url> [--max-connections n]
 */

interface Server {
  readonly url: string
  readonly token: string
  stats(): unknown
  close(): Promise<void>
}

/** The example provider, found upward from this file (src/bench or dist/src/bench). */
function providerFile(): string {
  let dir = import.meta.dirname
  const relative = join('fixtures', 'scenarios', 'providers', 'conax-ws.yaml')
  while (!existsSync(join(dir, relative))) {
    if (dirname(dir) === dir) {
      throw new Error(`No ${relative} above ${import.meta.dirname}.`)
    }
    dir = dirname(dir)
  }
  return join(dir, relative)
}

function maxConnections(): { maxConnections: number } | Record<string, never> {
  const at = process.argv.indexOf('--max-connections')
  const value = at === -1 ? undefined : Number(process.argv[at + 1])
  return value === undefined ? {} : { maxConnections: value }
}

async function start(kind: string): Promise<Server> {
  const http = maxConnections()
  if (kind === 'simulator') {
    const sim = await startSimulator({ fixtures: { size: 100 }, http })
    return {
      url: sim.url,
      token: sim.adminToken,
      stats: () => sim.connectionStats(),
      close: () => sim.close(),
    }
  }
  const simUrl = process.argv[3]
  if (kind !== 'adapter' || simUrl === undefined) {
    throw new Error('Usage: idle-server.js simulator | adapter <simulator url>')
  }
  const base = await loadProvider(providerFile())
  const adapter = await startAdapter({
    provider: {
      ...base,
      connection: { ...base.connection, endpoint: `${simUrl}/ca-server/webservices/caclient` },
    },
    port: 0,
    autoDeliver: false,
    http,
  })
  return {
    url: adapter.url as string,
    token: adapter.apiToken,
    stats: () => adapter.connectionStats(),
    close: () => adapter.close(),
  }
}

async function main(): Promise<void> {
  const server = await start(process.argv[2] ?? '')
  const say = (line: Record<string, unknown>): void => {
    process.stdout.write(`${JSON.stringify(line)}\n`)
  }
  say({ type: 'ready', url: server.url, token: server.token, pid: process.pid })
  const lines = createInterface({ input: process.stdin })
  const stop = async (): Promise<void> => {
    lines.close()
    await server.close()
    process.exit(0)
  }
  lines.on('line', (line) => {
    if (line === 'stats') {
      say({ type: 'stats', ...(server.stats() as Record<string, unknown>) })
    } else if (line === 'stop') {
      void stop()
    }
  })
  lines.on('close', () => void stop())
}

main().catch((error: unknown) => {
  console.error('idle-server failed:', error)
  process.exit(1)
})
