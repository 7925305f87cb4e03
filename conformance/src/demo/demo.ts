import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { parse as parseYaml } from 'yaml'
import { loadProvider, startAdapter, type Adapter } from '../../../src/index.js'
import {
  SERVICE_BASE_PATH,
  startSimulator,
  type InventoryInput,
  type Simulator,
} from '../../../simulator/src/index.js'
import { CodedError } from '../../../common/coded-error.js'
import { packageRoot } from '../cli/package-root.js'

/**
 * `npm run demo`: a simulator and an adapter wired together, with a short CRM history replayed
 * through the adapter's API, so that the journal, the consoles and the adapter's requests have
 * something to show, and the README's examples (files under fixtures/examples/) work against it.
 */

/** Where a demo listens and what it starts with. */
export interface DemoOptions {
  /** Simulator port (default 8280, the provider's and the README's address; 0 picks a free one). */
  readonly simPort?: number
  /** Adapter port (default 8380, the adapter CLI's default; 0 picks a free one). */
  readonly adapterPort?: number
  readonly host?: string
  /** The simulator's admin token and the adapter's API token (random ones when absent). */
  readonly adminToken?: string
  readonly apiToken?: string
}

/** A running demo: both servers, what the history did, and `close`. */
export interface Demo {
  readonly simulator: Simulator
  readonly adapter: Adapter
  /** CRM actions replayed, and the requests they created by final state. */
  readonly history: { readonly actions: number; readonly requests: Record<string, number> }
  /** The change made behind the CRM's back, which `runs preview NIGHTLY` then reports. */
  readonly drift: string
  close(): Promise<void>
}

/** The demo's data, shipped with the package: `fixtures/examples/`. */
export function examplesFolder(): string {
  return join(packageRoot(), 'fixtures', 'examples')
}

const DRIFT_CARD = '01450250004'
const DRIFT_PRODUCT = 'AF1'

/** Starts the simulator and the adapter, replays the CRM history and makes one drift. */
export async function startDemo(options: DemoOptions = {}): Promise<Demo> {
  const host = options.host ?? '127.0.0.1'
  const folder = examplesFolder()
  const inventory = JSON.parse(
    await readFile(join(folder, 'inventory.json'), 'utf8'),
  ) as InventoryInput
  const simulator = await startSimulator({
    port: options.simPort ?? 8280,
    host,
    // The seed catalogue and 200 generated cards, as `npm start`, plus the examples' own devices.
    fixtures: { size: 200 },
    inventory,
    logger: 'silent',
    ...(options.adminToken === undefined ? {} : { adminToken: options.adminToken }),
  })
  let adapter: Adapter | null = null
  try {
    const provider = await loadProvider(
      join(packageRoot(), 'fixtures', 'scenarios', 'providers', 'conax-ws.yaml'),
    )
    adapter = await startAdapter({
      provider: {
        ...provider,
        connection: { ...provider.connection, endpoint: `${simulator.url}${SERVICE_BASE_PATH}` },
      },
      port: options.adapterPort ?? 8380,
      host,
      logger: 'silent',
      ...(options.apiToken === undefined ? {} : { apiToken: options.apiToken }),
    })
    const history = await replayHistory(adapter, join(folder, 'crm-history.yaml'))
    await driftCa(simulator)
    const running = adapter
    return {
      simulator,
      adapter: running,
      history,
      drift: `product ${DRIFT_PRODUCT} removed from card ${DRIFT_CARD} (subscription ZX-1004) at the CA`,
      close: async () => {
        await running.close()
        await simulator.close()
      },
    }
  } catch (error) {
    await adapter?.close()
    await simulator.close()
    throw error
  }
}

/** Sends each CRM action of the history file to the adapter's API, as a CRM would, and waits for its requests. */
async function replayHistory(
  adapter: Adapter,
  file: string,
): Promise<{ actions: number; requests: Record<string, number> }> {
  const actions = parseYaml(await readFile(file, 'utf8')) as unknown
  if (!Array.isArray(actions)) {
    throw new CodedError('DEMO_HISTORY_INVALID', 500, `${file} is not a list of CRM actions.`)
  }
  const requests: Record<string, number> = {}
  for (const [index, action] of actions.entries()) {
    const res = await fetch(`${adapter.url ?? ''}/crm/actions`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${adapter.apiToken}` },
      body: JSON.stringify({ ...(action as object), processImmediately: true }),
    })
    const body = (await res.json()) as {
      data?: { provisioning_requests?: { life_cycle_state: string }[] }
      error?: { code: string; message: string }
    }
    if (!res.ok) {
      throw new CodedError(
        'DEMO_HISTORY_REFUSED',
        500,
        `The adapter refused action ${index + 1} of ${file} (HTTP ${res.status}): ${body.error?.code ?? ''} ${body.error?.message ?? ''}`,
        { hint: 'The examples and the provider file must agree; check both were not edited.' },
      )
    }
    for (const request of body.data?.provisioning_requests ?? []) {
      requests[request.life_cycle_state] = (requests[request.life_cycle_state] ?? 0) + 1
    }
  }
  return { actions: actions.length, requests }
}

/** Removes one product behind the CRM's back, through the simulator's admin API. */
async function driftCa(simulator: Simulator): Promise<void> {
  const res = await fetch(
    `${simulator.url}/admin/cards/${DRIFT_CARD}/subscriptions/${DRIFT_PRODUCT}`,
    { method: 'DELETE', headers: { Authorization: `Bearer ${simulator.adminToken}` } },
  )
  if (!res.ok) {
    throw new CodedError(
      'DEMO_DRIFT_FAILED',
      500,
      `The simulator refused to remove ${DRIFT_PRODUCT} from card ${DRIFT_CARD} (HTTP ${res.status}): ${await res.text()}`,
    )
  }
}
