import { describe, expect, it, onTestFinished } from 'vitest'
import { SERVICE_BASE_PATH } from './contract/namespaces.js'
import type { Simulator } from './create-simulator.js'
import { TenantRegistry, tenantOf, type TenantInstance } from './runtime/tenants.js'
import { adminAuth, callSoap, CARD_A, startTestSimulator } from './test-support/soap.js'

// Tenants: `/t/<name>/...` is a simulator of its own on the same server (state, journal, faults,
// clock), created on first use, closed when idle, behind the same HTTP guard.

async function started(options: Parameters<typeof startTestSimulator>[0] = {}): Promise<Simulator> {
  const sim = await startTestSimulator(options)
  onTestFinished(() => sim.close())
  return sim
}

/** The simulator as a SOAP client sees it through a tenant's prefix. */
function through(sim: Simulator, tenant: string): Simulator {
  return {
    ...sim,
    serviceUrl: (service) => `${sim.url}/t/${tenant}${SERVICE_BASE_PATH}${service}`,
  }
}

const activate = (sim: Simulator, productId: string, sequenceNumber = 1) =>
  callSoap(sim, 'subscription', 'AddSubscriptions', {
    SequenceNumber: sequenceNumber,
    Subscriptions: {
      Subscription: { CaClientId: CARD_A, ProductId: productId, Distributor: 'Main' },
    },
  })

async function admin(sim: Simulator, path: string, init: RequestInit = {}): Promise<Response> {
  return fetch(`${sim.url}${path}`, { ...init, headers: { ...adminAuth(sim), ...init.headers } })
}

describe('tenants', () => {
  it('keeps state, journal, faults and clock apart per tenant, and apart from the root', async () => {
    const sim = await started()

    expect((await activate(through(sim, 'ci-a'), 'GFA1')).statusCode).toBe('OK')
    expect((await activate(through(sim, 'ci-b'), 'EFA2')).statusCode).toBe('OK')
    // The same SequenceNumber in another tenant is a new write, not a replay of tenant a's.
    const cardIn = async (tenant: string) =>
      (await (await admin(sim, `/t/${tenant}/admin/cards/${CARD_A}`)).json()) as {
        subscriptions: { productId: string }[]
      }
    expect((await cardIn('ci-a')).subscriptions.map((s) => s.productId)).toEqual(['GFA1'])
    expect((await cardIn('ci-b')).subscriptions.map((s) => s.productId)).toEqual(['EFA2'])
    expect(sim.model.card(CARD_A)?.subscriptions).toEqual([])

    const journalOf = async (prefix: string) =>
      ((await (await admin(sim, `${prefix}/admin/journal`)).json()) as { operation: string }[]).map(
        (e) => e.operation,
      )
    expect(await journalOf('/t/ci-a')).toEqual(['AddSubscriptions'])
    expect(await journalOf('/t/ci-b')).toEqual(['AddSubscriptions'])
    expect(await journalOf('')).toEqual([])

    // A fault in one tenant touches no other.
    const fault = await admin(sim, '/t/ci-a/admin/faults', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ kind: 'HTTP_STATUS', times: null }),
    })
    expect(fault.status).toBe(201)
    expect((await activate(through(sim, 'ci-a'), 'RFB1', 2)).status).toBe(503)
    expect((await activate(through(sim, 'ci-b'), 'RFB1', 2)).statusCode).toBe('OK')

    // So does the clock.
    const moved = await admin(sim, '/t/ci-b/admin/clock', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ advanceMs: 86_400_000 }),
    })
    expect(moved.status).toBe(200)
    const clockOf = async (prefix: string) =>
      Date.parse(
        ((await (await admin(sim, `${prefix}/admin/clock`)).json()) as { now: string }).now,
      )
    expect((await clockOf('/t/ci-b')) - (await clockOf(''))).toBeGreaterThan(86_000_000)

    const listed = (await (await admin(sim, '/admin/tenants')).json()) as {
      tenants: { name: string; journalEntries: number }[]
    }
    expect(listed.tenants.map((t) => [t.name, t.journalEntries])).toEqual([
      ['ci-a', 2],
      ['ci-b', 2],
    ])
    expect((await admin(sim, '/admin/tenants/ci-a', { method: 'DELETE' })).status).toBe(204)
    // Deleted: the next call starts the tenant afresh.
    expect(await journalOf('/t/ci-a')).toEqual([])
    expect((await admin(sim, '/admin/tenants/nope', { method: 'DELETE' })).status).toBe(404)
  })

  it("advertises the tenant's own address in its WSDLs", async () => {
    const sim = await started()
    const res = await fetch(`${sim.url}/t/ci-a${SERVICE_BASE_PATH}subscription?wsdl`, {
      headers: { Authorization: `Basic ${Buffer.from('sms:sms').toString('base64')}` },
    })
    expect(res.status).toBe(200)
    expect(await res.text()).toContain(
      `location="${sim.url}/t/ci-a${SERVICE_BASE_PATH}subscription"`,
    )
  })

  it('keeps the guard: SOAP users, the admin token and names are checked before a tenant starts', async () => {
    const sim = await started()
    const anonymous = await fetch(`${sim.url}/t/ci-a/admin/cards`)
    expect(anonymous.status).toBe(401)
    const wrongUser = await callSoap(
      through(sim, 'ci-a'),
      'subscription',
      'AddSubscriptions',
      {},
      {
        auth: 'sms:wrong',
      },
    )
    expect(wrongUser.status).toBe(401)
    const crossSite = await fetch(`${sim.url}/t/ci-a/admin/reset`, {
      method: 'POST',
      headers: { ...adminAuth(sim), Origin: 'https://evil.example' },
    })
    expect(crossSite.status).toBe(403)
    // None of these created a tenant.
    expect(await sim.tenants()).toEqual([])

    const badName = await admin(sim, `/t/${'x'.repeat(65)}/admin/cards`)
    expect(badName.status).toBe(400)
    expect(((await badName.json()) as { error: { code: string } }).error.code).toBe(
      'INVALID_TENANT',
    )
  })

  it('refuses a tenant beyond the limit with TENANT_LIMIT, and /t/ is plain admin space with tenants off', async () => {
    const sim = await started({ tenants: { max: 1 } })
    expect((await admin(sim, '/t/one/admin/stats')).status).toBe(200)
    const second = await admin(sim, '/t/two/admin/stats')
    expect(second.status).toBe(429)
    expect(((await second.json()) as { error: { code: string } }).error.code).toBe('TENANT_LIMIT')

    const off = await started({ tenants: { max: 0 } })
    expect((await admin(off, '/t/one/admin/stats')).status).toBe(404)
    expect((await admin(off, '/admin/tenants')).status).toBe(404)
  })
})

describe('TenantRegistry', () => {
  function registry(max: number, idleMs: number) {
    let now = 0
    const created: string[] = []
    const closed: string[] = []
    const tenants = new TenantRegistry(
      { max, idleMs },
      (name): Promise<TenantInstance> => {
        created.push(name)
        return Promise.resolve({
          handle: () => undefined,
          close: () => {
            closed.push(name)
            return Promise.resolve()
          },
          stats: () => ({ cards: 0, journalEntries: 0 }),
        })
      },
      () => now,
    )
    onTestFinished(() => tenants.close())
    return { tenants, created, closed, advance: (ms: number) => (now += ms) }
  }

  it('creates a tenant once, even when two calls ask for it at the same time', async () => {
    const { tenants, created } = registry(5, 1000)
    const [a, b] = await Promise.all([tenants.get('x'), tenants.get('x')])
    expect(a).toBe(b)
    expect(created).toEqual(['x'])
  })

  it('closes the tenants idle for longer than idleMs, and only those', async () => {
    const { tenants, closed, advance } = registry(5, 1000)
    await tenants.get('old')
    advance(600)
    await tenants.get('young')
    advance(500)
    expect(await tenants.sweep()).toEqual(['old'])
    expect(closed).toEqual(['old'])
    expect((await tenants.list()).map((t) => t.name)).toEqual(['young'])
  })

  it('splits the tenant prefix off a path', () => {
    expect(tenantOf('/t/ci-1/ca-server/webservices/caclient/subscription')).toEqual({
      name: 'ci-1',
      rest: '/ca-server/webservices/caclient/subscription',
    })
    expect(tenantOf('/t/ci-1')).toEqual({ name: 'ci-1', rest: '/' })
    expect(tenantOf('/admin/cards')).toBeNull()
  })
})
