import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { capturedIo } from '../common/test-support/captured-io.js'
import { buildAdapterCommand } from './cli/adapter-main.js'
import { loadProvider } from './config/load-provider.js'

// compose.yaml is not run by the tests (they start PostgreSQL themselves, and CI has no container
// engine), so this checks what can be checked without one: every adapter service's command line
// parses with the adapter's own options, and the names and credentials tie up between services.
// simulator/src/cli/compose.test.ts checks the simulator's service the same way.

const ROOT = join(import.meta.dirname, '..')

interface Service {
  readonly command?: readonly string[]
  readonly environment?: Record<string, string>
  readonly ports?: readonly string[]
  readonly depends_on?: Record<string, { readonly condition: string }>
}

const compose = parse(readFileSync(join(ROOT, 'compose.yaml'), 'utf8'), { merge: true }) as {
  services: Record<string, Service>
}
const ADAPTERS = ['adapter-a', 'adapter-b'] as const

function service(name: string): Service {
  const found = compose.services[name]
  if (found === undefined) {
    throw new Error(`compose.yaml has no service ${name}`)
  }
  return found
}

/** The options an adapter service's command starts the adapter with, parsed as the CLI parses them. */
function adapterOptions(name: string): Record<string, unknown> {
  const [node, bin, ...args] = service(name).command ?? []
  expect([node, bin]).toEqual(['node', 'bin/conax-adapter.js'])
  const command = buildAdapterCommand(capturedIo({})).exitOverride()
  command.parse(['node', 'conax-adapter', ...args])
  return command.opts()
}

describe('compose.yaml', () => {
  it('starts two adapters whose command lines parse, on their own instance ids and host ports', () => {
    const options = ADAPTERS.map(adapterOptions)
    expect(options.map((o) => o['instanceId'])).toEqual([...ADAPTERS])
    for (const o of options) {
      expect(o['host']).toBe('0.0.0.0')
      // A Host header names the service the other containers call it by.
      expect(o['allowedHosts']).toEqual(expect.arrayContaining([...ADAPTERS]))
      expect(existsSync(join(ROOT, String(o['provider'])))).toBe(true)
    }
    const hostPorts = ADAPTERS.map((name) => (service(name).ports ?? [])[0]?.split(':')[0])
    expect(new Set(hostPorts).size).toBe(ADAPTERS.length)
  })

  it("points the adapters' provider at the sim service and their DATABASE_URL at the postgres service", async () => {
    const postgres = service('postgres').environment ?? {}
    const simPort = String(service('sim').ports?.[0]?.split(':')[1])
    for (const name of ADAPTERS) {
      const provider = await loadProvider(join(ROOT, String(adapterOptions(name)['provider'])))
      const endpoint = new URL(provider.connection.endpoint)
      expect([endpoint.hostname, endpoint.port]).toEqual(['sim', simPort])

      const database = new URL(service(name).environment?.['DATABASE_URL'] ?? '')
      expect(database.hostname).toBe('postgres')
      expect([database.username, database.password, database.pathname]).toEqual([
        postgres['POSTGRES_USER'],
        postgres['POSTGRES_PASSWORD'],
        `/${postgres['POSTGRES_DB']}`,
      ])
      expect(service(name).environment?.['CONAX_ADAPTER_API_TOKEN']?.length).toBeGreaterThanOrEqual(
        16,
      )
      expect(service(name).depends_on?.['postgres']?.condition).toBe('service_healthy')
    }
  })
})
