import { execFile } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { describe, expect, it, onTestFinished } from 'vitest'
import { parse as parseYaml } from 'yaml'
import { capturedIo } from '../../../common/test-support/captured-io.js'
import { packageRoot } from '../cli/package-root.js'
import { runConformanceCli } from '../cli/main.js'
import { examplesFolder, startDemo, type Demo } from './demo.js'

// The demo and the files of fixtures/examples/ that the README's walk-through uses: each example
// is sent to a demo's adapter as the README says, and what the README promises is checked.

const ADMIN_TOKEN = 'demo-test-admin-token-0123456789'
const API_TOKEN = 'demo-test-api-token-0123456789ab'

async function demo(): Promise<Demo> {
  const started = await startDemo({
    simPort: 0,
    adapterPort: 0,
    adminToken: ADMIN_TOKEN,
    apiToken: API_TOKEN,
  })
  onTestFinished(() => started.close())
  return started
}

async function api<T>(demo: Demo, method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(`${demo.adapter.url ?? ''}${path}`, {
    method,
    headers: {
      Authorization: `Bearer ${API_TOKEN}`,
      ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  })
  const json = (await res.json()) as { data: T; error?: unknown }
  expect(res.ok, `${method} ${path}: ${JSON.stringify(json.error)}`).toBe(true)
  return json.data
}

async function example(path: string): Promise<unknown> {
  return parseYaml(await readFile(join(examplesFolder(), path), 'utf8')) as unknown
}

interface ExecutionStatus {
  id: string
  state: string
  counts: Record<string, number>
}

/** Polls an execution's status until it has ended: runs report their end only there. */
async function finished(demo: Demo, id: string): Promise<ExecutionStatus> {
  for (;;) {
    const status = await api<ExecutionStatus>(demo, 'GET', `/runs/executions/${id}`)
    if (!['RUNNING', 'DELIVERING', 'STOPPING'].includes(status.state)) {
      return status
    }
    await new Promise((resolve) => setImmediate(resolve))
  }
}

describe('npm run demo', () => {
  it('replays the CRM history onto the examples devices and drifts one card', async () => {
    const running = await demo()
    expect(running.history.actions).toBe(10)
    // Every action's requests reached the CA: none pending, none refused.
    expect(Object.keys(running.history.requests)).toEqual(['COMPLETED'])
    expect(running.history.requests.COMPLETED).toBeGreaterThanOrEqual(20)
    const card = (id: string) => running.simulator.model.card(id)
    expect(
      card('01450250001')
        ?.subscriptions.map((s) => s.productId)
        .sort(),
    ).toEqual(['EFA2', 'GFA1'])
    // Example 2 of Scenario 2: the bundle swapped for the flat product.
    expect(card('01450250003')?.subscriptions.map((s) => s.productId)).toEqual(['AF1'])
    // The second viewing point of ZX-1001, on TWIN1.
    expect(card('01450250006')?.subscriptions.map((s) => s.productId)).toEqual(['GFA1'])
    // The swapped card took ZX-1002's products; the old one lost them.
    expect(
      card('01450250007')
        ?.subscriptions.map((s) => s.productId)
        .sort(),
    ).toEqual(['BFB2', 'RFB1'])
    expect(card('01450250002')?.subscriptions).toEqual([])
    // The drift: AF1 removed from ZX-1004's card behind the CRM's back.
    expect(card('01450250004')?.subscriptions).toEqual([])
  })

  it("runs the README's walk-through: reset run, notices from the communication queue, fingerprints, reset single subscription", async () => {
    const running = await demo()

    const nightly = await api<{ alternativeCode: string }>(
      running,
      'POST',
      '/runs',
      await example('runs/nightly-reset.yaml'),
    )
    expect(nightly.alternativeCode).toBe('NIGHTLY')
    const preview = await api<{ checked: number; inSync: number; outOfSync: number }>(
      running,
      'POST',
      '/runs/NIGHTLY/preview',
    )
    expect(preview).toMatchObject({ checked: 5, inSync: 4, outOfSync: 1 })
    const single = await api<{ inSync: boolean; commands: { type: string }[] }>(
      running,
      'POST',
      '/crm/subscriptions/ZX-1004/reset?preview=true',
    )
    expect(single.inSync).toBe(false)
    expect(single.commands.map((c) => c.type)).toEqual(['ADD_SUBSCRIPTIONS'])

    const reset = await api<ExecutionStatus>(running, 'POST', '/runs/NIGHTLY/executions')
    expect(await finished(running, reset.id)).toMatchObject({
      state: 'COMPLETED',
      counts: { inSync: 4, repaired: 1, failed: 0 },
    })
    expect(
      running.simulator.model.card('01450250004')?.subscriptions.map((s) => s.productId),
    ).toEqual(['AF1'])

    await api(running, 'POST', '/runs', await example('runs/notices.yaml'))
    const queued = await api<unknown[]>(
      running,
      'POST',
      '/communications',
      await example('communications.yaml'),
    )
    expect(queued).toHaveLength(2)
    const notices = await api<ExecutionStatus>(running, 'POST', '/runs/NOTICES/executions')
    expect(await finished(running, notices.id)).toMatchObject({
      state: 'COMPLETED',
      counts: { failed: 0 },
    })
    // The maintenance bark went to every card of every subscription (seven cards).
    expect(running.simulator.model.card('01450250005')?.screen.map((m) => m.message)).toContain(
      'Maintenance tonight 02:00-03:00',
    )

    await api(running, 'POST', '/runs', await example('runs/fingerprint.yaml'))
    const fingerprints = await api<ExecutionStatus>(running, 'POST', '/runs/FP-ALL/executions')
    expect(await finished(running, fingerprints.id)).toMatchObject({
      state: 'COMPLETED',
      counts: { failed: 0 },
    })
  })

  it('runs as `conax-conformance demo` until stopped, printing what the second terminal needs', async () => {
    const io = capturedIo({
      CONTEGO_SIM_ADMIN_TOKEN: ADMIN_TOKEN,
      CONAX_ADAPTER_API_TOKEN: API_TOKEN,
    })
    let stop = (): void => {}
    const stopped = new Promise<void>((resolve) => {
      stop = resolve
    })
    const exit = runConformanceCli(
      ['node', 'conax-conformance', 'demo', '--sim-port', '0', '--adapter-port', '0'],
      io,
      () => {
        stop()
        return stopped
      },
    )
    // The command prints its banner, then waits for the stop this test gives at once.
    expect(await exit).toBe(0)
    expect(io.out()).toContain('Replayed 10 CRM actions')
    expect(io.out()).toContain(`export CONTEGO_SIM_ADMIN_TOKEN=${ADMIN_TOKEN}`)
    expect(io.out()).toContain(
      'npx conax-adapter runs define fixtures/examples/runs/nightly-reset.yaml',
    )
    expect(io.out()).toMatch(/Stopped\.\n$/)
  })

  it('names the README walk-through files the package ships', async () => {
    const readme = await readFile(join(packageRoot(), 'README.md'), 'utf8')
    const named = [...readme.matchAll(/fixtures\/examples\/[\w./-]+\.(?:ya?ml|json)/g)].map(
      (m) => m[0],
    )
    expect(named.length).toBeGreaterThan(0)
    for (const file of new Set(named)) {
      await expect(readFile(join(packageRoot(), file), 'utf8'), file).resolves.toBeTruthy()
    }
  })

  it('lets the real adapter CLI define the example run against the demo, as the README shows', async () => {
    const running = await demo()
    const run = promisify(execFile)
    const bin = join(packageRoot(), 'bin', 'conax-adapter.js')
    const env = { ...process.env, CONAX_ADAPTER_API_TOKEN: API_TOKEN }
    const url = running.adapter.url ?? ''
    const defined = await run(
      process.execPath,
      [bin, 'runs', 'define', 'fixtures/examples/runs/nightly-reset.yaml', '--url', url],
      { cwd: packageRoot(), env },
    )
    expect(defined.stdout).toContain("Defined RESET_SUBSCRIPTION run 'NIGHTLY'")
    const previewed = await run(
      process.execPath,
      [bin, 'runs', 'preview', 'NIGHTLY', '--url', url],
      {
        cwd: packageRoot(),
        env,
      },
    ).catch((error: { code: number; stdout: string }) => error)
    expect(previewed.stdout).toContain('4 in sync, 1 out of sync')
    expect(previewed.stdout).toContain('ZX-1004')
  })
})
