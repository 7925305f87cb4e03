import { appendFileSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pino } from 'pino'
import { afterEach, beforeEach, describe, expect, it, onTestFinished } from 'vitest'
import type { Simulator } from '../simulator/src/index.js'
import type { Adapter } from './create-adapter.js'
import { startAdapter } from './create-adapter.js'
import type { ProvisioningRequest } from './domain/provisioning-request.js'
import {
  ManualClock,
  PROVIDER_FILE,
  apiAgent,
  card,
  cardItem,
  providerFor,
  startTestAdapter,
  startTestCa,
  stb,
  stbItem,
} from './test-support/adapter-harness.js'

const bundleA = (id = 'S1', n = 1) =>
  ({
    action: 'BECOME_SUBSCRIBER',
    subscriptionId: id,
    services: [
      { service: 'GEOLOGICAL', distributor: 'Main' },
      { service: 'ENTERTAIN', distributor: 'Main' },
    ],
    installedItems: [cardItem(n), stbItem(n)],
  }) as const

/** Requests as `TYPE params`, e.g. `ADD_SUBSCRIPTIONS 01450250001 GFA1`. */
function brief(requests: readonly ProvisioningRequest[]): string[] {
  return requests.map((r) => {
    const c = r.command
    if (c.type === 'ADD_SUBSCRIPTIONS' || c.type === 'CANCEL_SUBSCRIPTIONS') {
      return `${c.type} ${c.smartcardCaId} ${c.serviceCaId}`
    }
    if (c.type === 'CREATE_PAIRING') {
      return `${c.type} ${c.smartcardCaIds.join(',')} ${c.stbCaIds.join(',')}`
    }
    return c.type
  })
}

const productsOf = (sim: Simulator, n: number): string[] =>
  (sim.model.card(card(n))?.subscriptions ?? []).map((s) => s.productId).sort()

/** Resolves once each request is COMPLETED or REJECTED, whichever delivery pass sends it. */
async function delivered(adapter: Adapter, ids: readonly string[]): Promise<void> {
  await Promise.all(
    ids.map(async (id) => {
      // Asked for before the look at the store, so an outcome stored in between is not missed.
      const settled = adapter.dispatcher.settled(id)
      if ((await adapter.store.getRequest(id))?.lifeCycleState === 'PENDING') {
        await settled
      }
    }),
  )
}

describe('CRM actions delivered to the simulator', () => {
  let sim: Simulator
  let adapter: Adapter
  beforeEach(async () => {
    sim = await startTestCa()
    adapter = await startTestAdapter(sim)
  })
  afterEach(async () => {
    await adapter.close()
    await sim.close()
  })

  it('provisions Flexible Bundle A: pairing, then one add per channel, all COMPLETED with Conax references', async () => {
    const outcome = await adapter.service.applyAction(bundleA())
    expect(brief(outcome.requests)).toEqual([
      `CREATE_PAIRING ${card(1)} ${stb(1)}`,
      `ADD_SUBSCRIPTIONS ${card(1)} GFA1`,
      `ADD_SUBSCRIPTIONS ${card(1)} EFA2`,
    ])
    expect(outcome.requests.map((r) => r.lifeCycleState)).toEqual(['PENDING', 'PENDING', 'PENDING'])
    const report = await adapter.deliverDue()
    expect(report).toMatchObject({ sent: 3, completed: 3, rejected: 0 })
    const stored = await adapter.store.listRequests({ subscriptionId: 'S1' })
    expect(stored.items.map((r) => r.lifeCycleState)).toEqual([
      'COMPLETED',
      'COMPLETED',
      'COMPLETED',
    ])
    expect(stored.items.map((r) => r.referenceNumber)).toEqual(
      sim.journal.list().map((e) => e.transactionId),
    )
    expect(sim.journal.list().map((e) => e.operation)).toEqual([
      'CreatePairing',
      'AddSubscriptions',
      'AddSubscriptions',
    ])
    expect(sim.journal.list().map((e) => e.request?.SequenceNumber)).toEqual(
      stored.items.map((r) => r.sequenceNumber),
    )
    expect(productsOf(sim, 1)).toEqual(['EFA2', 'GFA1'])
    expect(sim.model.card(card(1))?.pairing).toMatchObject({
      caClientIds: [card(1)],
      pairingModuleIds: [stb(1)],
    })
  })

  it('swaps Bundle A to Agriculture: add AF1 first, then cancel GFA1 and EFA2', async () => {
    await adapter.service.applyAction(bundleA())
    await adapter.deliverDue()
    const swap = await adapter.service.applyAction({
      action: 'SWAP_SERVICE',
      subscriptionId: 'S1',
      from: ['GEOLOGICAL', 'ENTERTAIN'],
      to: ['AGRICULTURE'],
    })
    expect(brief(swap.requests)).toEqual([
      `ADD_SUBSCRIPTIONS ${card(1)} AF1`,
      `CANCEL_SUBSCRIPTIONS ${card(1)} GFA1`,
      `CANCEL_SUBSCRIPTIONS ${card(1)} EFA2`,
    ])
    await adapter.deliverDue()
    expect(productsOf(sim, 1)).toEqual(['AF1'])
    expect(
      sim.journal
        .list()
        .slice(3)
        .map((e) => e.operation),
    ).toEqual(['AddSubscriptions', 'CancelSubscriptions', 'CancelSubscriptions'])
  })

  it('deactivates and reactivates: the CA follows the subscription', async () => {
    await adapter.service.applyAction(bundleA())
    await adapter.deliverDue()
    await adapter.service.applyAction({ action: 'DEACTIVATE', subscriptionId: 'S1' })
    await adapter.deliverDue()
    expect(productsOf(sim, 1)).toEqual([])
    await adapter.service.applyAction({ action: 'ACTIVATE', subscriptionId: 'S1' })
    await adapter.deliverDue()
    expect(productsOf(sim, 1)).toEqual(['EFA2', 'GFA1'])
  })

  it('refuses a service the distributor does not allow, creating no request', async () => {
    await adapter.service.applyAction(bundleA())
    await expect(
      adapter.service.applyAction({
        action: 'ADD_SERVICE',
        subscriptionId: 'S1',
        service: 'RELIGION',
        distributor: 'TWIN2',
      }),
    ).rejects.toMatchObject({ code: 'SERVICE_NOT_ALLOWED' })
    expect((await adapter.store.listRequests({})).total).toBe(3)
    expect((await adapter.store.getSubscription('S1'))?.services).toHaveLength(2)
  })

  it('refuses to install a card that another subscription holds', async () => {
    await adapter.service.applyAction(bundleA('S1', 1))
    await expect(
      adapter.service.applyAction({
        ...bundleA('S2', 2),
        installedItems: [cardItem(1), stbItem(2)],
      }),
    ).rejects.toMatchObject({
      code: 'ITEM_EXISTS',
      message: expect.stringContaining("subscription 'S1'") as string,
    })
    expect(await adapter.store.getSubscription('S2')).toBeNull()
    await adapter.service.applyAction({
      action: 'REMOVE_INSTALLED_ITEM',
      subscriptionId: 'S1',
      serialNumber: 'SC1',
    })
    await adapter.service.applyAction({
      ...bundleA('S2', 2),
      installedItems: [cardItem(1), stbItem(2)],
    })
    expect(await adapter.store.subscriptionHolding(card(1))).toBe('S2')
  })

  it("rejects a request Conax refuses, with Conax's code and message", async () => {
    await adapter.service.applyAction({
      ...bundleA('S9'),
      installedItems: [{ ...cardItem(1), caId: '09999999999' }, stbItem(1)],
    })
    const report = await adapter.deliverDue()
    expect(report.rejected).toBe(3)
    const rejected = await adapter.store.listRequests({ lifeCycleState: 'REJECTED' })
    expect(rejected.items.map((r) => r.errorCode)).toEqual([
      'CLIENT_NOT_FOUND',
      'CLIENT_NOT_FOUND',
      'CLIENT_NOT_FOUND',
    ])
    expect(rejected.items[0]?.errorDescription).toContain('09999999999')
  })

  it('retries transient failures with the same SequenceNumber until Conax takes the request', async () => {
    // The retry delays pass on a clock the test moves, not on the machine's.
    const clock = new ManualClock()
    const patient = await startTestAdapter(sim, { clock })
    onTestFinished(() => patient.close())
    sim.faults.add({ kind: 'SYSTEM_ERROR', operation: 'AddSubscriptions', times: 1 })
    sim.faults.add({
      kind: 'HTTP_STATUS',
      httpStatus: 503,
      operation: 'AddSubscriptions',
      times: 1,
    })
    await patient.service.applyAction(bundleA())
    for (let round = 0; round < 5 && (await patient.store.pendingRequests()).length > 0; round++) {
      await patient.deliverDue()
      clock.advance(60_000)
    }
    const requests = (await patient.store.listRequests({})).items
    expect(requests.map((r) => r.lifeCycleState)).toEqual(['COMPLETED', 'COMPLETED', 'COMPLETED'])
    expect(requests[1]?.attempts).toBe(3)
    const adds = sim.journal.list({ operation: 'AddSubscriptions' })
    expect(adds.map((e) => e.statusCode)).toEqual(['SYSTEM_ERROR', 'HTTP_503', 'OK', 'OK'])
    expect(productsOf(sim, 1)).toEqual(['EFA2', 'GFA1'])
  })
})

describe('delivery order', () => {
  it('sends EXPRESS first but never overtakes an earlier request of the same card, and respects scheduled dates', async () => {
    const sim = await startTestCa()
    const clock = new ManualClock()
    const adapter = await startTestAdapter(sim, { clock })
    onTestFinished(async () => {
      await adapter.close()
      await sim.close()
    })
    await adapter.service.applyAction(bundleA('S1', 1))
    await adapter.service.applyAction(bundleA('S2', 2), { priority: 'EXPRESS' })
    await adapter.service.applyAction(bundleA('S3', 3), {
      scheduledDate: '2026-11-26T12:00:00.000Z',
    })
    const pairingOfS1 = (await adapter.store.listRequests({ subscriptionId: 'S1' })).items[0]
    expect(pairingOfS1?.priority).toBe('REGULAR')
    const due = await adapter.dispatcher.dueRequests()
    expect(due.map((r) => r.subscriptionId)).toEqual(['S2', 'S1'])
    await adapter.deliverDue()
    expect(productsOf(sim, 1)).toEqual(['EFA2', 'GFA1'])
    expect(productsOf(sim, 2)).toEqual(['EFA2', 'GFA1'])
    expect(productsOf(sim, 3)).toEqual([])
    clock.advance(3 * 3600_000)
    await adapter.deliverDue()
    expect(productsOf(sim, 3)).toEqual(['EFA2', 'GFA1'])
    const perCard = sim.journal.list().filter((e) => JSON.stringify(e.request).includes(card(1)))
    expect(perCard.map((e) => e.operation)).toEqual([
      'CreatePairing',
      'AddSubscriptions',
      'AddSubscriptions',
    ])
  })
})

describe('a Not Effective provider', () => {
  it('changes the CRM state but sends nothing, and refuses direct requests', async () => {
    const sim = await startTestCa()
    const adapter = await startTestAdapter(sim, {
      providerChanges: { lifeCycleState: 'NOT_EFFECTIVE' },
    })
    onTestFinished(async () => {
      await adapter.close()
      await sim.close()
    })
    const outcome = await adapter.service.applyAction(bundleA())
    expect(outcome).toMatchObject({ provisioned: false, requests: [] })
    expect((await adapter.store.getSubscription('S1'))?.state).toBe('EFFECTIVE')
    await expect(
      adapter.service.createRequests(
        [{ type: 'UPDATE_CA_PIN_TO_DEFAULT_VALUE', smartcardCaId: card(1), distributor: null }],
        { processName: 'RESET_PIN' },
      ),
    ).rejects.toMatchObject({ code: 'PROVIDER_NOT_EFFECTIVE' })
    await adapter.deliverDue()
    expect(sim.journal.list()).toEqual([])
  })
})

describe('HTTP API', () => {
  let sim: Simulator
  let adapter: Adapter
  beforeEach(async () => {
    sim = await startTestCa()
    adapter = await startAdapter({ provider: await providerFor(sim), port: 0, autoDeliver: true })
  })
  afterEach(async () => {
    await adapter.close()
    await sim.close()
  })

  it('applies a CRM action and lists, shows and filters its requests', async () => {
    const created = await apiAgent(adapter).post('/crm/actions').send(bundleA()).expect(201)
    expect(created.body.data.provisioning_requests.map((r: { type: string }) => r.type)).toEqual([
      'CREATE_PAIRING',
      'ADD_SUBSCRIPTIONS',
      'ADD_SUBSCRIPTIONS',
    ])
    await delivered(
      adapter,
      created.body.data.provisioning_requests.map((r: { id: string }) => r.id),
    )
    const list = await apiAgent(adapter)
      .get(
        '/conax_web_services/provisioning_requests/list?type=ADD_SUBSCRIPTIONS&life_cycle_state=COMPLETED',
      )
      .expect(200)
    expect(list.body.total).toBe(2)
    expect(list.body.data[0]).toMatchObject({
      type: 'ADD_SUBSCRIPTIONS',
      life_cycle_state: 'COMPLETED',
      process_name: 'PROVISIONING_REQUEST_PROCESSING',
      subscription: { id: 'S1' },
      parameters_set: {
        smartcard_ca_id: card(1),
        service_ca_id: 'GFA1',
        sub_provisioning_distribution_id: 'Main',
      },
    })
    const shown = await apiAgent(adapter)
      .get('/conax_web_services/provisioning_requests/show?number=1')
      .expect(200)
    expect(shown.body.data).toMatchObject({
      number: '1',
      type: 'CREATE_PAIRING',
      life_cycle_state: 'COMPLETED',
    })
    expect(shown.body.data.reference_number).toMatch(/^[0-9a-f-]{36}$/)
  })

  it('creates requests the CRM.COM way, processed immediately', async () => {
    await apiAgent(adapter).post('/crm/actions').send(bundleA()).expect(201)
    const pairing = await apiAgent(adapter)
      .post('/conax_web_services/provisioning_requests/create_pairing')
      .send({
        smartcard_set: [{ smartcard_ca_id: card(5) }],
        stb_set: [{ stb_ca_id: stb(5) }],
        process_immediately: true,
        priority: 'EXPRESS',
      })
      .expect(201)
    expect(pairing.body.data[0]).toMatchObject({
      type: 'CREATE_PAIRING',
      life_cycle_state: 'COMPLETED',
      priority: 'EXPRESS',
      process_name: 'MANUAL',
    })
    const cancel = await apiAgent(adapter)
      .post('/conax_web_services/provisioning_requests/cancel_subscriptions')
      .send({
        subscription_identifier: { id: 'S1' },
        service_identifier: { code: 'GEOLOGICAL' },
        smartcard_identifier: { serial_number: 'SC1' },
        process_immediately: true,
      })
      .expect(201)
    expect(cancel.body.data[0]).toMatchObject({
      type: 'CANCEL_SUBSCRIPTIONS',
      life_cycle_state: 'COMPLETED',
    })
    expect(productsOf(sim, 1)).toEqual(['EFA2'])
  })

  it('describes itself in an OpenAPI document generated from its validation schemas', async () => {
    const doc = await apiAgent(adapter).get('/openapi.json').expect(200)
    expect(doc.body.openapi).toBe('3.1.0')
    expect(Object.keys(doc.body.paths)).toEqual(
      expect.arrayContaining([
        '/crm/actions',
        '/conax_web_services/provisioning_requests/create_pairing',
      ]),
    )
    const actions =
      doc.body.paths['/crm/actions'].post.requestBody.content['application/json'].schema
    expect(
      actions.oneOf.map(
        (variant: { properties: { action: { const?: string; enum?: string[] } } }) =>
          variant.properties.action.const ?? variant.properties.action.enum?.[0],
      ),
    ).toContain('SWAP_SERVICE')
  })

  it('answers bad input with a stable code and the field at fault', async () => {
    const bad = await apiAgent(adapter)
      .post('/crm/actions')
      .send({ action: 'ADD_SERVICE', subscriptionId: 'S1' })
      .expect(400)
    expect(bad.body.error.code).toBe('INVALID_REQUEST')
    expect(bad.body.error.message).toContain('service')
    const unknown = await apiAgent(adapter)
      .post('/crm/actions')
      .send({ action: 'ACTIVATE', subscriptionId: 'NOPE' })
      .expect(404)
    expect(unknown.body.error.code).toBe('SUBSCRIPTION_NOT_FOUND')
    const identifier = await apiAgent(adapter)
      .post('/conax_web_services/provisioning_requests/add_subscriptions')
      .send({
        subscription_identifier: { id: 'S1' },
        service_identifier: { code: 'X', ca_id: 'Y' },
        smartcard_identifier: { serial_number: 'SC1' },
      })
      .expect(400)
    expect(identifier.body.error.message).toContain('exactly one of code, ca_id')
    const json = await apiAgent(adapter)
      .post('/crm/actions')
      .set('Content-Type', 'application/json')
      .send('{oops')
      .expect(400)
    expect(json.body.error.code).toBe('INVALID_REQUEST')
    await apiAgent(adapter)
      .get('/conax_web_services/provisioning_requests/show?number=999')
      .expect(404)
    await apiAgent(adapter).get('/conax_web_services/provisioning_requests/show?id=1').expect(404)
    const both = await apiAgent(adapter)
      .post('/crm/actions')
      .send({
        ...bundleA('S7', 7),
        processImmediately: true,
        scheduledDate: '2099-01-01T00:00:00Z',
      })
      .expect(400)
    expect(both.body.error.message).toContain('not both')
  })

  it('stores a scheduled date with a zone offset as a UTC instant and keeps the request until then', async () => {
    const created = await apiAgent(adapter)
      .post('/conax_web_services/provisioning_requests/create_pairing')
      .send({
        smartcard_set: [{ smartcard_ca_id: card(6) }],
        stb_set: [{ stb_ca_id: stb(6) }],
        scheduled_date: '2099-01-01T00:00:00+05:00',
      })
      .expect(201)
    expect(created.body.data[0]).toMatchObject({
      scheduled_date: '2098-12-31T19:00:00.000Z',
      life_cycle_state: 'PENDING',
    })
    await adapter.deliverDue()
    expect(sim.journal.list({ operation: 'CreatePairing' })).toEqual([])
  })
})

describe('the file store', () => {
  it('logs, at start, the torn bytes it cut off the end of the log', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'conax-adapter-store-'))
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }))
    const dataFile = join(dir, 'adapter.json')
    const first = await startAdapter({
      provider: PROVIDER_FILE,
      port: null,
      dataFile,
      fsync: 'never',
    })
    await first.service.applyAction(bundleA('S1', 1))
    await first.close()
    // A write the process did not finish: half a line at the end of the log.
    appendFileSync(join(`${dataFile}.d`, 'log-000001.jsonl'), '0badc0de {"r":[')
    const lines: string[] = []
    const logger = pino({ level: 'warn' }, { write: (line: string) => lines.push(line) })

    const second = await startAdapter({ provider: PROVIDER_FILE, port: null, dataFile, logger })
    onTestFinished(() => second.close())

    expect((await second.store.listRequests({})).total).toBe(3)
    expect(lines.map((line) => JSON.parse(line) as { level: number; msg: string })).toEqual([
      expect.objectContaining({
        level: 40,
        msg: expect.stringMatching(/^Cut off the last 15 byte\(s\) of .*log-000001\.jsonl/),
      }),
    ])
  })
})
