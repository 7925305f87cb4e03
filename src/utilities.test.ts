import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Simulator } from '../simulator/src/index.js'
import { AdapterError } from './application/adapter-error.js'
import type { Adapter } from './create-adapter.js'
import type { UtilityRequest } from './domain/utilities.js'
import {
  ManualClock,
  card,
  cardItem,
  startTestAdapter,
  startTestCa,
  stb,
  stbItem,
} from './test-support/adapter-harness.js'

// Every utility against the simulator, checked on the CA's own state. Each test uses its own
// subscription and devices, so the tests share one simulator and one adapter.

const NOW = '2026-11-26T10:00:00.000Z'

/** The parts of the API's JSON answers these tests read. */
interface ApiAnswer {
  readonly status: { readonly code: string }
  readonly data: { readonly result: unknown }
  readonly error: { readonly code: string; readonly details: { readonly field: string } }
}

interface OpenApiDocument {
  readonly paths: Record<
    string,
    {
      readonly post: {
        readonly requestBody: {
          readonly content: Record<
            string,
            {
              readonly schema: { readonly oneOf: { properties: { utility: { const: string } } }[] }
            }
          >
        }
      }
    }
  >
}

/** A subscription with its devices: card/STB numbers on Main, and optional ones on TWIN1. */
async function subscribe(
  adapter: Adapter,
  id: string,
  main: { cards: number[]; stbs: number[] },
  twin: { cards: number[]; stbs: number[] } = { cards: [], stbs: [] },
): Promise<void> {
  await adapter.service.applyAction({
    action: 'BECOME_SUBSCRIBER',
    subscriptionId: id,
    services: [
      { service: 'GEOLOGICAL', distributor: 'Main' },
      { service: 'ENTERTAIN', distributor: 'Main' },
    ],
    installedItems: [
      ...main.cards.map((n) => cardItem(n)),
      ...main.stbs.map((n) => stbItem(n)),
      ...twin.cards.map((n) => cardItem(n, 'TWIN1')),
      ...twin.stbs.map((n) => stbItem(n, 'TWIN1')),
    ],
  })
  await adapter.deliverDue()
}

/** The rejection a utility meets, as `CODE field`. */
async function refusal(adapter: Adapter, request: UtilityRequest): Promise<string> {
  try {
    await adapter.utilities.run(request)
  } catch (error) {
    if (error instanceof AdapterError) {
      return `${error.code} ${String(error.details.field)}`
    }
    throw error
  }
  return 'ran'
}

describe('the utilities, delivered to the simulator', () => {
  let sim: Simulator
  let adapter: Adapter
  beforeAll(async () => {
    sim = await startTestCa(40)
    adapter = await startTestAdapter(sim, { clock: new ManualClock(NOW), port: 0 })
  })
  afterAll(async () => {
    await adapter.close()
    await sim.close()
  })

  it('sends a mail to every smartcard of the subscription, one EXPRESS request per distributor', async () => {
    await subscribe(adapter, 'S1', { cards: [1, 2], stbs: [1] }, { cards: [3], stbs: [] })
    const outcome = await adapter.utilities.run({
      utility: 'SEND_MESSAGE',
      subscriptionId: 'S1',
      messageType: 'MAIL',
      message: 'Your bill is ready',
      startIndicationDateTime: '2026-12-01T09:00:00+01:00',
    })
    expect(outcome).toMatchObject({
      utility: 'SEND_MESSAGE',
      processName: 'MAIL_BARK_MESSAGE_UTILITY',
      result: null,
    })
    expect(
      outcome.requests.map((r) => [r.type, r.lifeCycleState, r.priority, r.processImmediately]),
    ).toEqual([
      ['SEND_MAIL_MESSAGE_TO_CLIENT', 'COMPLETED', 'EXPRESS', true],
      ['SEND_MAIL_MESSAGE_TO_CLIENT', 'COMPLETED', 'EXPRESS', true],
    ])
    expect(outcome.requests.map((r) => [r.processName, r.subscriptionId])).toEqual([
      ['MAIL_BARK_MESSAGE_UTILITY', 'S1'],
      ['MAIL_BARK_MESSAGE_UTILITY', 'S1'],
    ])
    for (const n of [1, 2, 3]) {
      expect(sim.model.card(card(n))?.inbox.at(-1)).toMatchObject({
        message: 'Your bill is ready',
        startIndicationTime: '2026-12-01T08:00:00.000Z',
      })
    }
  })

  it('shows a bark of 129 characters (emoji count once) and a repeating bark', async () => {
    await subscribe(adapter, 'S4', { cards: [4], stbs: [4] })
    const text = '\u{1F4FA}'.repeat(129)
    const shown = await adapter.utilities.run({
      utility: 'SEND_MESSAGE',
      subscriptionId: 'S4',
      messageType: 'BARK',
      message: text,
    })
    expect(shown.requests.map((r) => r.lifeCycleState)).toEqual(['COMPLETED'])
    expect(sim.model.card(card(4))?.screen.at(-1)).toMatchObject({
      kind: 'BARK',
      message: text,
      displayDurationInSeconds: 20,
    })
    await adapter.utilities.run({
      utility: 'SEND_MESSAGE',
      subscriptionId: 'S4',
      messageType: 'REPEATING_BARK',
      message: 'Match tonight at 20:00',
      smartcards: [card(4)],
      displayDurationInSeconds: 15,
      repetitionCount: 3,
      repetitionIntervalInSeconds: 2550,
    })
    expect(sim.model.card(card(4))?.screen.at(-1)).toMatchObject({
      kind: 'REPEATING_BARK',
      displayDurationInSeconds: 15,
      repetitionCount: 3,
      repetitionIntervalInSeconds: 2550,
    })
  })

  it('refuses a message one character too long before anything is sent', async () => {
    await subscribe(adapter, 'S5', { cards: [5], stbs: [5] })
    const before = (await adapter.store.listRequests({ subscriptionId: 'S5' })).total
    const request: UtilityRequest = {
      utility: 'SEND_MESSAGE',
      subscriptionId: 'S5',
      messageType: 'MAIL',
      message: 'x'.repeat(142),
    }
    await expect(adapter.utilities.run(request)).rejects.toMatchObject({
      code: 'MESSAGE_TOO_LONG',
      details: { field: 'message' },
      message: expect.stringContaining('at most 141 characters; this one has 142') as unknown,
    })
    expect((await adapter.store.listRequests({ subscriptionId: 'S5' })).total).toBe(before)
    expect(sim.model.card(card(5))?.inbox).toEqual([])
  })

  it('displays a fingerprint with the defaults, and with every field given', async () => {
    await subscribe(adapter, 'S6', { cards: [6, 7], stbs: [6] })
    const outcome = await adapter.utilities.run({
      utility: 'DISPLAY_FINGERPRINT',
      subscriptionId: 'S6',
    })
    expect(outcome.processName).toBe('FIINGERPRINTING_UTILITY')
    expect(outcome.requests.map((r) => [r.type, r.lifeCycleState])).toEqual([
      ['DISPLAY_FINGERPRINT', 'COMPLETED'],
    ])
    for (const n of [6, 7]) {
      expect(sim.model.card(card(n))?.fingerprints).toMatchObject([
        {
          displayTime: NOW,
          durationInSeconds: 10,
          positionX: null,
          positionY: null,
          height: 12,
          slot: 'A',
        },
      ])
    }
    await adapter.utilities.run({
      utility: 'DISPLAY_FINGERPRINT',
      subscriptionId: 'S6',
      smartcards: [card(7)],
      displayDateTime: '2026-12-24T20:00:00Z',
      displayDurationInSeconds: 30,
      positionX: 0,
      positionY: 40,
      height: 255,
      slot: 'B',
    })
    expect(sim.model.card(card(7))?.fingerprints.at(-1)).toMatchObject({
      displayTime: '2026-12-24T20:00:00.000Z',
      durationInSeconds: 30,
      positionX: 0,
      positionY: 40,
      height: 255,
      slot: 'B',
    })
    expect(sim.model.card(card(6))?.fingerprints).toHaveLength(1)
  })

  it('pairs devices (NEW) and adds an STB to the pair (UPDATE)', async () => {
    const created = await adapter.utilities.run({
      utility: 'PAIR_DEVICES',
      mode: 'NEW',
      smartcards: [card(10)],
      stbs: [stb(10)],
    })
    expect(created.processName).toBe('PAIRING_UTILITY')
    expect(created.requests.map((r) => [r.type, r.lifeCycleState, r.subscriptionId])).toEqual([
      ['CREATE_PAIRING', 'COMPLETED', null],
    ])
    expect(sim.model.card(card(10))?.pairing?.pairingModuleIds).toEqual([stb(10)])
    await adapter.utilities.run({
      utility: 'PAIR_DEVICES',
      mode: 'UPDATE',
      pairedSmartcard: card(10),
      smartcards: [],
      stbs: [stb(11)],
    })
    expect(sim.model.card(card(10))?.pairing?.pairingModuleIds).toEqual([stb(10), stb(11)])
  })

  it('pairs the devices of a subscription on their distributor', async () => {
    await subscribe(adapter, 'S12', { cards: [12], stbs: [] }, { cards: [], stbs: [] })
    await adapter.service.applyAction({
      action: 'ADD_INSTALLED_ITEM',
      subscriptionId: 'S12',
      item: stbItem(13, 'TWIN1'),
    })
    await adapter.deliverDue()
    expect(
      await refusal(adapter, {
        utility: 'PAIR_DEVICES',
        mode: 'NEW',
        subscriptionId: 'S12',
        smartcards: [card(12)],
        stbs: [stb(13)],
      }),
    ).toBe('INVALID_FIELD stbs[0]')
    await adapter.service.applyAction({
      action: 'ADD_INSTALLED_ITEM',
      subscriptionId: 'S12',
      item: stbItem(12),
    })
    await adapter.deliverDue()
    const outcome = await adapter.utilities.run({
      utility: 'PAIR_DEVICES',
      mode: 'NEW',
      subscriptionId: 'S12',
      smartcards: [card(12)],
      stbs: [stb(12)],
    })
    expect(outcome.requests[0]?.command).toMatchObject({
      type: 'CREATE_PAIRING',
      distributor: 'Main',
    })
    expect(sim.model.card(card(12))?.pairing).toMatchObject({
      pairingModuleIds: [stb(12)],
      distributor: 'Main',
    })
  })

  it('resets the PIN to a given value and back to the default', async () => {
    await subscribe(adapter, 'S14', { cards: [14], stbs: [14] })
    const given = await adapter.utilities.run({
      utility: 'RESET_PIN',
      subscriptionId: 'S14',
      smartcard: card(14),
      pin: '4321',
    })
    expect(given.processName).toBe('RESET_PIN')
    expect(given.requests.map((r) => [r.type, r.lifeCycleState])).toEqual([
      ['UPDATE_CA_PIN_TO_GIVEN_VALUE', 'COMPLETED'],
    ])
    expect(sim.model.card(card(14))?.pin).toBe('4321')
    const reset = await adapter.utilities.run({ utility: 'RESET_PIN', smartcard: card(14) })
    expect(reset.requests.map((r) => r.type)).toEqual(['UPDATE_CA_PIN_TO_DEFAULT_VALUE'])
    expect(sim.model.card(card(14))?.pin).toBe('1234')
  })

  it('answers with what Conax holds: active subscriptions and both pairing statuses', async () => {
    await subscribe(adapter, 'S15', { cards: [15], stbs: [15] })
    const active = await adapter.utilities.run({
      utility: 'GET_CONAX_INFORMATION',
      query: 'ACTIVE_SUBSCRIPTIONS',
      subscriptionId: 'S15',
      smartcard: card(15),
    })
    expect(active.processName).toBe('CONAX_INFORMATION_UTILITY')
    expect(active.requests.map((r) => [r.type, r.lifeCycleState])).toEqual([
      ['GET_ACTIVE_SUBSCRIPTIONS', 'COMPLETED'],
    ])
    const products = (active.result as { subscriptions: { serviceCaId: string }[] }).subscriptions
    expect(products.map((s) => s.serviceCaId).sort()).toEqual(['EFA2', 'GFA1'])
    // With the CRM service each product maps to: service CA ID, code, description.
    expect(products.find((s) => s.serviceCaId === 'GFA1')).toMatchObject({
      code: 'GEOLOGICAL',
      description: 'Geological',
    })
    const byCard = await adapter.utilities.run({
      utility: 'GET_CONAX_INFORMATION',
      query: 'SMARTCARD_PAIRING',
      smartcard: card(15),
    })
    expect(byCard.result).toMatchObject({
      paired: true,
      smartcardCaIds: [card(15)],
      stbs: [{ stbCaId: stb(15) }],
    })
    const byStb = await adapter.utilities.run({
      utility: 'GET_CONAX_INFORMATION',
      query: 'STB_PAIRING',
      stb: stb(16),
    })
    expect(byStb.result).toMatchObject({ paired: false, smartcardCaIds: [] })
  })

  it('answers a request the CA refuses with its final REJECTED state', async () => {
    const outcome = await adapter.utilities.run({ utility: 'RESET_PIN', smartcard: card(99) })
    expect(outcome.requests.map((r) => [r.lifeCycleState, r.errorCode])).toEqual([
      ['REJECTED', 'CLIENT_NOT_FOUND'],
    ])
    expect(outcome.result).toBeNull()
  })

  it('refuses an unknown subscription, a subscription without a card and a card not on it', async () => {
    await adapter.service.applyAction({
      action: 'BECOME_SUBSCRIBER',
      subscriptionId: 'S17',
      services: [],
      installedItems: [stbItem(17)],
    })
    expect(await refusal(adapter, { utility: 'DISPLAY_FINGERPRINT', subscriptionId: 'NOPE' })).toBe(
      'SUBSCRIPTION_NOT_FOUND subscriptionId',
    )
    expect(await refusal(adapter, { utility: 'DISPLAY_FINGERPRINT', subscriptionId: 'S17' })).toBe(
      'NO_SMARTCARD subscriptionId',
    )
    expect(
      await refusal(adapter, {
        utility: 'RESET_PIN',
        subscriptionId: 'S17',
        smartcard: card(1),
      }),
    ).toBe('ITEM_NOT_FOUND smartcard')
  })

  it('serves POST /crm/utilities over HTTP', async () => {
    await subscribe(adapter, 'S18', { cards: [18], stbs: [18] })
    const post = async (body: unknown): Promise<{ status: number; body: ApiAnswer }> => {
      const response = await fetch(`${adapter.url as string}/crm/utilities`, {
        method: 'POST',
        headers: {
          'Content-Type': 'application/json',
          Authorization: `Bearer ${adapter.apiToken}`,
        },
        body: JSON.stringify(body),
      })
      return { status: response.status, body: (await response.json()) as ApiAnswer }
    }
    const sent = await post({
      utility: 'SEND_MESSAGE',
      subscriptionId: 'S18',
      messageType: 'BARK',
      message: 'Service visit tomorrow',
    })
    expect(sent.status).toBe(200)
    expect(sent.body.status.code).toBe('OK')
    expect(sent.body.data).toMatchObject({
      utility: 'SEND_MESSAGE',
      processName: 'MAIL_BARK_MESSAGE_UTILITY',
      result: null,
      requests: [
        {
          type: 'SEND_BARK_MESSAGE_TO_CLIENT',
          life_cycle_state: 'COMPLETED',
          priority: 'EXPRESS',
          process_name: 'MAIL_BARK_MESSAGE_UTILITY',
          subscription: { id: 'S18' },
          parameters_set: { smartcard_ca_id: [card(18)], display_duration_in_seconds: 20 },
        },
      ],
    })
    expect(sim.model.card(card(18))?.screen.at(-1)?.message).toBe('Service visit tomorrow')

    const shape = await post({ utility: 'RESET_PIN', smartcard: card(18), colour: 'red' })
    expect([shape.status, shape.body.error.code]).toEqual([400, 'INVALID_REQUEST'])
    const long = await post({
      utility: 'SEND_MESSAGE',
      subscriptionId: 'S18',
      messageType: 'BARK',
      message: 'x'.repeat(130),
    })
    expect([long.status, long.body.error.code, long.body.error.details.field]).toEqual([
      400,
      'MESSAGE_TOO_LONG',
      'message',
    ])
    const interval = await post({
      utility: 'SEND_MESSAGE',
      subscriptionId: 'S18',
      messageType: 'REPEATING_BARK',
      message: 'x',
      repetitionCount: 2,
      repetitionIntervalInSeconds: 15,
    })
    expect([interval.status, interval.body.error.details.field]).toEqual([
      400,
      'repetitionIntervalInSeconds',
    ])
    const missing = await post({ utility: 'DISPLAY_FINGERPRINT', subscriptionId: 'NOPE' })
    expect([missing.status, missing.body.error.code]).toEqual([404, 'SUBSCRIPTION_NOT_FOUND'])
    const noCard = await post({ utility: 'DISPLAY_FINGERPRINT', subscriptionId: 'S17' })
    expect([noCard.status, noCard.body.error.code]).toEqual([409, 'NO_SMARTCARD'])

    const info = await post({
      utility: 'GET_CONAX_INFORMATION',
      query: 'SMARTCARD_PAIRING',
      smartcard: card(18),
    })
    expect(info.body.data.result).toMatchObject({ paired: true, smartcardCaIds: [card(18)] })

    const doc = (await (
      await fetch(`${adapter.url as string}/openapi.json`)
    ).json()) as OpenApiDocument
    const schema = doc.paths['/crm/utilities']?.post.requestBody.content['application/json']?.schema
    expect(schema?.oneOf.map((variant) => variant.properties.utility.const)).toEqual([
      'SEND_MESSAGE',
      'DISPLAY_FINGERPRINT',
      'PAIR_DEVICES',
      'RESET_PIN',
      'GET_CONAX_INFORMATION',
    ])
  })
})

describe('utilities with other provider settings', () => {
  it('sends at most maxCardsPerRequest cards per message request', async () => {
    const sim = await startTestCa(5)
    const adapter = await startTestAdapter(sim, {
      providerChanges: {
        delivery: {
          maxCardsPerRequest: 2,
          retryInitialDelayMs: 20,
          retryMaxDelayMs: 200,
          splitRefusedBatches: 'named-or-bisect',
        },
      },
    })
    try {
      await subscribe(adapter, 'S1', { cards: [1, 2, 3], stbs: [1] })
      const outcome = await adapter.utilities.run({
        utility: 'SEND_MESSAGE',
        subscriptionId: 'S1',
        messageType: 'MAIL',
        message: 'Hello',
      })
      expect(
        outcome.requests.map((r) => [
          r.lifeCycleState,
          'smartcardCaIds' in r.command ? r.command.smartcardCaIds : [],
        ]),
      ).toEqual([
        ['COMPLETED', [card(1), card(2)]],
        ['COMPLETED', [card(3)]],
      ])
      for (const n of [1, 2, 3]) {
        expect(sim.model.card(card(n))?.inbox.map((m) => m.message)).toEqual(['Hello'])
      }
    } finally {
      await adapter.close()
      await sim.close()
    }
  })

  it('refuses every utility while the provider is Not Effective', async () => {
    const sim = await startTestCa(1)
    const adapter = await startTestAdapter(sim, {
      providerChanges: { lifeCycleState: 'NOT_EFFECTIVE' },
    })
    try {
      await expect(
        adapter.utilities.run({ utility: 'RESET_PIN', smartcard: card(1) }),
      ).rejects.toMatchObject({ code: 'PROVIDER_NOT_EFFECTIVE' })
      expect(sim.model.card(card(1))?.pin).toBe('1234')
    } finally {
      await adapter.close()
      await sim.close()
    }
  })
})
