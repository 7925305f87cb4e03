import { mkdtempSync, rmSync } from 'node:fs'
import { createServer, request as httpRequest } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it, onTestFinished } from 'vitest'
import { card, cardItem, startTestCa, stbItem } from './test-support/adapter-harness.js'
import { postAction, spawnAdapter, writeProviderFile } from './test-support/fleet.js'
import { freshTestDatabase } from './test-support/postgres.js'

// Issue 13: the instance running a reset run is killed (SIGKILL) in the middle; another instance
// resumes the execution once the dead one's lease has run out, and every subscription is
// repaired exactly once. Real processes on one PostgreSQL database.

const TOKEN = 'takeover-test-api-token-0123456789abcdef'
const LEASE_MS = 1000
const SUBSCRIPTIONS = 6

/** Resolves once `check` holds, looking again after each `pollMs` (a condition, not a fixed wait). */
async function until(check: () => Promise<boolean>, pollMs = 50): Promise<void> {
  while (!(await check())) {
    await new Promise((resolve) => setTimeout(resolve, pollMs))
  }
}

/**
 * A proxy to the CA that passes the first `open` calls and holds every later one unanswered: the
 * instance behind it is stuck in the middle of its second batch, where it is killed.
 */
async function startGate(
  target: string,
  open: number,
): Promise<{ url: string; held: () => number; close: () => Promise<void> }> {
  const base = new URL(target)
  let seen = 0
  let held = 0
  const server = createServer((req, res) => {
    seen += 1
    if (seen > open) {
      held += 1
      req.resume()
      return
    }
    const forward = httpRequest(
      {
        host: base.hostname,
        port: base.port,
        path: req.url,
        method: req.method,
        headers: { ...req.headers, host: base.host },
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers)
        answer.pipe(res)
      },
    )
    forward.on('error', () => res.destroy())
    req.pipe(forward)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    held: () => held,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

async function call(
  base: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; json: { data?: Record<string, unknown>; error?: { code: string } } }> {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  })
  return { status: response.status, json: (await response.json()) as never }
}

describe('a run whose instance is killed mid-run', () => {
  it('is resumed on the other instance after the lease, every subscription repaired once', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'conax-takeover-'))
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }))
    const databaseUrl = await freshTestDatabase()
    const sim = await startTestCa(SUBSCRIPTIONS)
    onTestFinished(() => sim.close())
    // A reads 2 subscriptions (2 calls a card) in its first batch, then hangs in its second.
    const gate = await startGate(sim.url, 4)
    onTestFinished(() => gate.close())
    const common = { databaseUrl, apiToken: TOKEN, leaseMs: LEASE_MS, runPageSize: 2 }
    const b = await spawnAdapter({
      ...common,
      name: 'B',
      providerFile: writeProviderFile(dir, sim.url),
    })
    onTestFinished(() => void b.child.kill('SIGKILL'))
    for (let n = 1; n <= SUBSCRIPTIONS; n++) {
      const answer = await postAction(b, TOKEN, {
        action: 'BECOME_SUBSCRIBER',
        subscriptionId: `S${n}`,
        type: 'RESIDENTIAL',
        services: [{ service: 'GEOLOGICAL', distributor: 'Main' }],
        installedItems: [cardItem(n), stbItem(n)],
      })
      expect(answer.status).toBeLessThan(300)
    }
    const products = (n: number): string[] =>
      sim.model.card(card(n))?.subscriptions.map((s) => s.productId) ?? []
    const everyCard = (check: (n: number) => boolean): boolean =>
      Array.from({ length: SUBSCRIPTIONS }, (_, i) => i + 1).every(check)
    await until(() => Promise.resolve(everyCard((n) => products(n).includes('GFA1'))))
    // Out of sync: the CA lost every card's product; the reset run repairs each subscription.
    for (let n = 1; n <= SUBSCRIPTIONS; n++) {
      const removed = await fetch(`${sim.url}/admin/cards/${card(n)}/subscriptions/GFA1`, {
        method: 'DELETE',
        headers: { Authorization: `Bearer ${sim.adminToken}` },
      })
      expect(removed.status).toBeLessThan(300)
    }
    await call(b.url, 'POST', '/runs', {
      name: 'Reset',
      alternativeCode: 'R',
      kind: 'RESET_SUBSCRIPTION',
      criteria: {},
    })

    const aDir = mkdtempSync(join(tmpdir(), 'conax-takeover-a-'))
    onTestFinished(() => rmSync(aDir, { recursive: true, force: true }))
    const a = await spawnAdapter({
      ...common,
      name: 'A',
      providerFile: writeProviderFile(aDir, gate.url),
    })
    onTestFinished(() => void a.child.kill('SIGKILL'))
    const started = await call(a.url, 'POST', '/runs/R/executions')
    expect(started.status).toBe(202)
    const id = started.json.data?.id as string
    await until(async () => {
      const status = await call(b.url, 'GET', `/runs/executions/${id}`)
      return (status.json.data?.counts as { processed: number }).processed === 2 && gate.held() > 0
    })
    a.child.kill('SIGKILL')
    await a.exited

    const refused = await call(b.url, 'POST', `/runs/executions/${id}/resume`)
    expect(refused.json.error?.code).toBe('RUN_OWNED')
    // The event waited for is the end of the dead instance's lease.
    await until(
      async () => (await call(b.url, 'POST', `/runs/executions/${id}/resume`)).status < 300,
    )
    await until(async () => {
      const status = await call(b.url, 'GET', `/runs/executions/${id}`)
      return status.json.data?.state === 'COMPLETED'
    })
    const done = await call(b.url, 'GET', `/runs/executions/${id}`)
    expect(done.json.data).toMatchObject({ owner: 'B', counts: { processed: SUBSCRIPTIONS } })
    const created = await call(b.url, 'GET', `/runs/executions/${id}/requests?limit=100`)
    const items = (created.json.data ?? []) as unknown as { subscription: { id: string } }[]
    expect(items.map((r) => r.subscription.id).sort()).toEqual(
      Array.from({ length: SUBSCRIPTIONS }, (_, i) => `S${i + 1}`).sort(),
    )
    await until(() => Promise.resolve(everyCard((n) => products(n).includes('GFA1'))))
    for (let n = 1; n <= SUBSCRIPTIONS; n++) {
      expect(products(n)).toEqual(['GFA1'])
    }
  }, 60_000)
})
