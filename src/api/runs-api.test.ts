import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Simulator } from '../../simulator/src/index.js'
import type { CaReader, Communication } from '../application/runs/run-ports.js'
import type { RunStatus } from '../application/runs/run-service.js'
import type { Adapter } from '../create-adapter.js'
import type { RunDefinition } from '../domain/runs.js'
import { fastReader } from '../test-support/ports.js'
import {
  card,
  cardItem,
  providerFor,
  startTestAdapter,
  startTestCa,
  stbItem,
} from '../test-support/adapter-harness.js'

// The runs API over HTTP, against an adapter on an in-process simulator. Three subscriptions
// (S1..S3, one card and one STB each, GEOLOGICAL and ENTERTAIN on Main) are delivered, then the CA
// loses S2's GFA1: a reset finds exactly that. The tests share one adapter and run in order.

/** An answer of the API: `data` (and `total`) when it succeeded, `error` otherwise. */
interface Answer<T> {
  readonly status: number
  readonly body: {
    readonly data: T
    readonly total: number
    readonly error: {
      readonly code: string
      readonly message: string
      readonly details: { readonly field: string }
    }
  }
}

/** The parts of a provisioning request (requestJson) and of the OpenAPI document read here. */
interface RequestJson {
  readonly subscription: { readonly id: string } | null
}
interface OpenApiDocument {
  readonly paths: Record<
    string,
    Record<
      string,
      {
        readonly parameters?: readonly { readonly name: string }[]
        readonly requestBody?: {
          readonly content: Record<
            string,
            { readonly schema: { readonly oneOf: { properties: { kind: { const: string } } }[] } }
          >
        }
      }
    >
  >
}

/** A CA reader that passes reads through or, while held, keeps them waiting until released. */
function holdableReader(inner: CaReader) {
  let held: Promise<void> | null = null
  let letGo: () => void = () => undefined
  let waiting: () => void = () => undefined
  return {
    reader: {
      readCard: async (caId: string) => {
        if (held) {
          waiting()
          await held
        }
        return inner.readCard(caId)
      },
      close: () => inner.close(),
    } satisfies CaReader,
    /** Holds the reads from now on; resolves once one of them waits. */
    hold(): Promise<void> {
      held = new Promise((resolve) => (letGo = resolve))
      return new Promise((resolve) => (waiting = resolve))
    },
    release(): void {
      held = null
      letGo()
    },
  }
}

describe('the runs API', () => {
  let sim: Simulator
  let adapter: Adapter
  let gate: ReturnType<typeof holdableReader>

  async function api<T = unknown>(
    method: 'GET' | 'POST',
    path: string,
    body?: unknown,
  ): Promise<Answer<T>> {
    const res = await fetch(`${adapter.url as string}${path}`, {
      method,
      headers: {
        ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
        Authorization: `Bearer ${adapter.apiToken}`,
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    })
    return { status: res.status, body: (await res.json()) as Answer<T>['body'] }
  }

  /** Waits for an execution to end, then shows it over the API. */
  async function settled(id: string): Promise<RunStatus> {
    await adapter.runs.settled(id)
    return (await api<RunStatus>('GET', `/runs/executions/${id}`)).body.data
  }

  /** Delivers what is due, then polls until the execution has its verdict (not DELIVERING). */
  async function finished(id: string): Promise<RunStatus> {
    await adapter.deliverDue()
    for (;;) {
      const done = await settled(id)
      if (done.state !== 'DELIVERING') {
        return done
      }
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
  }

  beforeAll(async () => {
    sim = await startTestCa(10)
    gate = holdableReader(fastReader(await providerFor(sim)))
    // One subscription per batch, so that a stop lands between batches.
    adapter = await startTestAdapter(sim, { port: 0, runPageSize: 1, reader: gate.reader })
    for (const n of [1, 2, 3]) {
      await adapter.service.applyAction({
        action: 'BECOME_SUBSCRIBER',
        subscriptionId: `S${n}`,
        type: n === 3 ? 'BUSINESS' : 'RESIDENTIAL',
        services: [
          { service: 'GEOLOGICAL', distributor: 'Main' },
          { service: 'ENTERTAIN', distributor: 'Main' },
        ],
        installedItems: [cardItem(n), stbItem(n)],
      })
    }
    await adapter.deliverDue()
    sim.model.forceRemoveProduct(card(2), 'GFA1')
  })
  afterAll(async () => {
    await adapter.close()
    await sim.close()
  })

  it('defines each kind of run, lists them and shows one by id or code', async () => {
    const reset = await api<RunDefinition>('POST', '/runs', {
      name: 'Nightly reset',
      alternativeCode: 'RESET-ALL',
      kind: 'RESET_SUBSCRIPTION',
      criteria: { types: ['RESIDENTIAL', 'BUSINESS'] },
    })
    expect(reset.status).toBe(201)
    expect(reset.body.data).toMatchObject({
      alternativeCode: 'RESET-ALL',
      kind: 'RESET_SUBSCRIPTION',
      criteria: { types: ['RESIDENTIAL', 'BUSINESS'] },
    })
    const message = await api('POST', '/runs', {
      name: 'SMS notices',
      alternativeCode: 'NOTICES',
      kind: 'MAIL_BARK_MESSAGE',
      messageType: 'BARK',
      externalSystem: 'SMS-GW',
      displayDurationInSeconds: 15,
    })
    const fingerprint = await api('POST', '/runs', {
      name: 'Fingerprint business',
      alternativeCode: 'FP-BUSINESS',
      kind: 'FINGERPRINTING',
      included: [{ name: 'business', types: ['BUSINESS'] }],
      slot: 'B',
    })
    expect([message.status, fingerprint.status]).toEqual([201, 201])
    expect(fingerprint.body.data).toMatchObject({ included: [{ name: 'business' }], excluded: [] })

    const list = await api<RunDefinition[]>('GET', '/runs')
    expect(list.body.data.map((d) => d.alternativeCode)).toEqual([
      'RESET-ALL',
      'NOTICES',
      'FP-BUSINESS',
    ])
    const byId = await api('GET', `/runs/${reset.body.data.id}`)
    const byCode = await api('GET', '/runs/RESET-ALL')
    expect(byId.body.data).toEqual(reset.body.data)
    expect(byCode.body.data).toEqual(reset.body.data)
  })

  it('refuses a bad definition with 400 naming the field, and a second code with 409', async () => {
    const refusal = async (body: unknown): Promise<[number, string, string]> => {
      const { status, body: answer } = await api('POST', '/runs', body)
      return [status, answer.error.code, answer.error.details.field]
    }
    const base = { name: 'x', alternativeCode: 'BAD' }
    expect(await refusal({ ...base, kind: 'FINGERPRINTING', height: 'tall' })).toEqual([
      400,
      'INVALID_REQUEST',
      'height',
    ])
    expect(await refusal({ ...base, kind: 'RESET_SUBSCRIPTION', colour: 'red' })).toEqual([
      400,
      'INVALID_REQUEST',
      'colour',
    ])
    expect(await refusal({ ...base, kind: 'NIGHTLY' })).toEqual([400, 'INVALID_REQUEST', 'kind'])
    expect(
      await refusal({
        ...base,
        kind: 'FINGERPRINTING',
        excluded: [{ name: 'old', createdTo: 'last year' }],
      }),
    ).toEqual([400, 'INVALID_FIELD', 'excluded[0].createdTo'])
    expect(
      await refusal({
        ...base,
        kind: 'MAIL_BARK_MESSAGE',
        messageType: 'REPEATING_BARK',
        externalSystem: 'SMS-GW',
        repetitionCount: 2,
        repetitionIntervalInSeconds: 15,
      }),
    ).toEqual([400, 'INVALID_FIELD', 'repetitionIntervalInSeconds'])
    // A field the message type does not have is refused, as the utility refuses it.
    expect(
      await refusal({
        ...base,
        kind: 'MAIL_BARK_MESSAGE',
        messageType: 'MAIL',
        externalSystem: 'SMS-GW',
        displayDurationInSeconds: 15,
      }),
    ).toEqual([400, 'INVALID_FIELD', 'displayDurationInSeconds'])
    expect(
      await refusal({ ...base, kind: 'RESET_SUBSCRIPTION', criteria: { createdTo: '2026-02-30' } }),
    ).toEqual([400, 'INVALID_FIELD', 'criteria.createdTo'])
    expect(
      await refusal({ ...base, alternativeCode: 'executions', kind: 'RESET_SUBSCRIPTION' }),
    ).toEqual([400, 'INVALID_REQUEST', 'alternativeCode'])
    expect(
      await refusal({ name: 'again', alternativeCode: 'RESET-ALL', kind: 'RESET_SUBSCRIPTION' }),
    ).toEqual([409, 'RUN_EXISTS', 'alternativeCode'])
  })

  it('previews a reset run, runs it and lists the requests it created', async () => {
    const preview = await api('POST', '/runs/RESET-ALL/preview?limit=5')
    expect(preview.status).toBe(200)
    expect(preview.body.data).toMatchObject({
      kind: 'RESET_SUBSCRIPTION',
      checked: 3,
      inSync: 2,
      outOfSync: 1,
      failed: 0,
      truncated: false,
      subscriptions: [
        {
          subscriptionId: 'S2',
          differences: [`card ${card(2)}: GFA1 missing`],
          commands: [{ type: 'ADD_SUBSCRIPTIONS', smartcardCaId: card(2), serviceCaId: 'GFA1' }],
        },
      ],
    })
    expect((await api('POST', '/runs/RESET-ALL/preview?limit=-1')).status).toBe(400)

    const started = await api<RunStatus>('POST', '/runs/RESET-ALL/executions')
    expect(started.status).toBe(202)
    expect(started.body.data).toMatchObject({
      kind: 'RESET_SUBSCRIPTION',
      processName: 'RESET_SUBSCRIPTION_RUN',
      total: 3,
    })
    const id = started.body.data.id
    const done = await settled(id)
    expect(done).toMatchObject({
      state: 'DELIVERING',
      counts: { processed: 3, checked: 3, inSync: 2, repaired: 0, failed: 0, requests: 1 },
      progress: { fraction: 1, etaSeconds: null, pendingRequests: 1 },
      cursor: { offset: 3 },
    })

    const requests = await api('GET', `/runs/executions/${id}/requests?limit=10`)
    expect(requests.status).toBe(200)
    expect(requests.body.total).toBe(1)
    expect(requests.body.data).toMatchObject([
      {
        type: 'ADD_SUBSCRIPTIONS',
        life_cycle_state: 'PENDING',
        process_name: 'RESET_SUBSCRIPTION_RUN',
        process_id: id,
        subscription: { id: 'S2' },
      },
    ])
    const ofRun = await api<RunStatus[]>('GET', '/runs/RESET-ALL/executions')
    const all = await api<RunStatus[]>('GET', '/runs/executions')
    expect(ofRun.body.data.map((e) => e.id)).toEqual([id])
    expect(all.body.data.map((e) => e.id)).toContain(id)
    expect(await finished(id)).toMatchObject({
      state: 'COMPLETED',
      counts: { repaired: 1, failed: 0, sent: 1 },
      progress: { pendingRequests: 0 },
      failures: [],
    })
    expect(sim.model.card(card(2))?.subscriptions.map((s) => s.productId)).toContain('GFA1')
  })

  it('stops an execution between batches and resumes it without sending anything twice', async () => {
    sim.model.forceRemoveProduct(card(1), 'EFA2')
    sim.model.forceRemoveProduct(card(3), 'EFA2')
    // The first batch waits on its CA read until the stop has been taken: the stop lands between
    // batches by construction, not because the CA happened to be slow enough.
    const reading = gate.hold()
    const started = await api<RunStatus>('POST', '/runs/RESET-ALL/executions')
    const id = started.body.data.id
    await reading
    const stopping = api<RunStatus>('POST', `/runs/executions/${id}/stop`)
    await expect
      .poll(async () => (await adapter.runs.get(id)).state, { interval: 5, timeout: 10_000 })
      .toBe('STOPPING')
    gate.release()
    const stopped = await stopping
    expect(stopped.status).toBe(200)
    expect(stopped.body.data.state).toBe('STOPPED')
    expect(stopped.body.data.counts.processed).toBe(1)
    expect((await api<RunStatus>('GET', `/runs/executions/${id}`)).body.data.state).toBe('STOPPED')

    const resumed = await api<RunStatus>('POST', `/runs/executions/${id}/resume`)
    expect(resumed.status).toBe(202)
    expect(resumed.body.data.state).toBe('RUNNING')
    expect(await settled(id)).toMatchObject({
      state: 'DELIVERING',
      counts: { processed: 3, requests: 2 },
    })
    const requests = await api<RequestJson[]>('GET', `/runs/executions/${id}/requests`)
    expect(requests.body.data.map((r) => r.subscription?.id)).toEqual(['S1', 'S3'])

    const again = await api('POST', `/runs/executions/${id}/resume`)
    expect([again.status, again.body.error.code]).toEqual([409, 'RUN_NOT_RESUMABLE'])
    expect(await finished(id)).toMatchObject({ state: 'COMPLETED', counts: { repaired: 2 } })
  })

  it('enqueues communications and sends them with a message run', async () => {
    const added = await api<Communication[]>('POST', '/communications', {
      communications: [
        { externalSystem: 'SMS-GW', message: 'Maintenance tonight', recipients: { segment: {} } },
        {
          externalSystem: 'SMS-GW',
          message: 'Your card needs a reboot',
          recipients: { subscriptionIds: ['S1'] },
        },
        { externalSystem: 'OTHER', message: 'Not ours', recipients: { subscriptionIds: ['S2'] } },
      ],
    })
    expect(added.status).toBe(201)
    expect(added.body.data.map((c) => c.state)).toEqual(['PENDING', 'PENDING', 'PENDING'])
    const both = await api('POST', '/communications', {
      communications: [
        {
          externalSystem: 'SMS-GW',
          message: 'x',
          recipients: { subscriptionIds: ['S1'], segment: {} },
        },
      ],
    })
    expect([both.status, both.body.error.details.field]).toEqual([
      400,
      'communications[0].recipients',
    ])
    const empty = await api('POST', '/communications', { communications: [] })
    expect([empty.status, empty.body.error.details.field]).toEqual([400, 'communications'])
    // A period the store cannot compare, or no recipient at all, would be PROCESSED reaching nobody.
    const refused = async (recipients: unknown): Promise<[number, string]> => {
      const { status, body } = await api('POST', '/communications', {
        communications: [{ externalSystem: 'SMS-GW', message: 'x', recipients }],
      })
      return [status, body.error.details.field]
    }
    expect(await refused({ segment: { createdFrom: 'last week' } })).toEqual([
      400,
      'communications[0].recipients.segment.createdFrom',
    ])
    expect(await refused({ subscriptionIds: [] })).toEqual([
      400,
      'communications[0].recipients.subscriptionIds',
    ])

    const preview = await api('POST', '/runs/NOTICES/preview')
    expect(preview.body.data).toMatchObject({
      kind: 'MAIL_BARK_MESSAGE',
      communications: 2,
      subscriptions: 4,
      cards: 4,
    })
    const started = await api<RunStatus>('POST', '/runs/NOTICES/executions')
    expect(await finished(started.body.data.id)).toMatchObject({
      state: 'COMPLETED',
      counts: { communications: 2, processed: 4, cards: 4, sent: 4, failed: 0 },
    })
    const pending = await api('GET', '/communications?externalSystem=SMS-GW&state=PENDING')
    const processed = await api<Communication[]>('GET', '/communications?state=PROCESSED')
    expect(pending.body.data).toEqual([])
    expect(processed.body.data.map((c) => [c.message, c.processedBy])).toEqual([
      ['Maintenance tonight', started.body.data.id],
      ['Your card needs a reboot', started.body.data.id],
    ])
    expect((await api('GET', '/communications?state=SENT')).status).toBe(400)
  })

  it('runs a fingerprinting run over its segment only', async () => {
    const started = await api<RunStatus>('POST', '/runs/FP-BUSINESS/executions')
    const done = await finished(started.body.data.id)
    expect(done).toMatchObject({
      state: 'COMPLETED',
      counts: { processed: 3, cards: 1, sent: 1, failed: 0 },
    })
    const requests = await api('GET', `/runs/executions/${done.id}/requests`)
    expect(requests.body.data).toMatchObject([
      {
        type: 'DISPLAY_FINGERPRINT',
        process_name: 'FINGERPRINTING_RUN',
        parameters_set: { smartcard_ca_id: [card(3)] },
      },
    ])
  })

  it('resets a single subscription: a preview sends nothing, a reset creates the repair', async () => {
    sim.model.forceRemoveProduct(card(3), 'GFA1')
    const preview = await api('POST', '/crm/subscriptions/S3/reset?preview=true')
    expect(preview.status).toBe(200)
    expect(preview.body.data).toEqual({
      inSync: false,
      differences: [`card ${card(3)}: GFA1 missing`],
      commands: [
        {
          type: 'ADD_SUBSCRIPTIONS',
          smartcardCaId: card(3),
          serviceCaId: 'GFA1',
          distributor: 'Main',
        },
      ],
      requests: [],
      failures: [],
    })
    const reset = await api<{ requests: RequestJson[] }>('POST', '/crm/subscriptions/S3/reset')
    expect(reset.body.data.requests).toMatchObject([
      {
        type: 'ADD_SUBSCRIPTIONS',
        process_name: 'RESET_SINGLE_SUBSCRIPTION',
        subscription: { id: 'S3' },
      },
    ])
    await adapter.deliverDue()
    const after = await api('POST', '/crm/subscriptions/S3/reset?preview=false')
    expect(after.body.data).toMatchObject({ inSync: true, requests: [] })
    expect((await api('POST', '/crm/subscriptions/S3/reset?preview=maybe')).status).toBe(400)
  })

  it('answers 404 with a code for unknown runs, executions and subscriptions', async () => {
    const codes = await Promise.all(
      [
        api('GET', '/runs/NOPE'),
        api('POST', '/runs/NOPE/preview'),
        api('POST', '/runs/NOPE/executions'),
        api('GET', '/runs/NOPE/executions'),
        api('GET', '/runs/executions/nope'),
        api('POST', '/runs/executions/nope/stop'),
        api('POST', '/runs/executions/nope/resume'),
        api('GET', '/runs/executions/nope/requests'),
        api('GET', '/runs/executions?run=NOPE'),
        api('POST', '/crm/subscriptions/NOPE/reset'),
      ].map(async (answer) => {
        const { status, body } = await answer
        return `${status} ${body.error.code}`
      }),
    )
    expect(codes).toEqual([
      ...Array<string>(4).fill('404 RUN_NOT_FOUND'),
      ...Array<string>(4).fill('404 EXECUTION_NOT_FOUND'),
      '404 RUN_NOT_FOUND',
      '404 SUBSCRIPTION_NOT_FOUND',
    ])
  })

  it('describes every runs endpoint in the OpenAPI document', async () => {
    const doc = (await (
      await fetch(`${adapter.url as string}/openapi.json`)
    ).json()) as OpenApiDocument
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        '/runs',
        '/runs/{idOrCode}',
        '/runs/{idOrCode}/preview',
        '/runs/{idOrCode}/executions',
        '/runs/executions',
        '/runs/executions/{id}',
        '/runs/executions/{id}/stop',
        '/runs/executions/{id}/resume',
        '/runs/executions/{id}/requests',
        '/communications',
        '/crm/subscriptions/{id}/reset',
      ]),
    )
    const body = doc.paths['/runs']?.post?.requestBody?.content['application/json']?.schema
    expect(body?.oneOf.map((variant) => variant.properties.kind.const)).toEqual([
      'RESET_SUBSCRIPTION',
      'MAIL_BARK_MESSAGE',
      'FINGERPRINTING',
    ])
    const requests = doc.paths['/runs/executions/{id}/requests']?.get?.parameters
    expect(requests?.map((p) => p.name)).toEqual(['id', 'offset', 'limit'])
  })
})

describe('the runs API when the CA cannot be asked', () => {
  it('answers a reset preview with 503 CA_UNAVAILABLE naming the card, not a 500', async () => {
    const timingOut: CaReader = {
      readCard: (caId) =>
        Promise.reject(
          Object.assign(new Error(`Failed to read card ${caId}: no answer within 2000 ms.`), {
            code: 'CA_TIMEOUT',
            detail: 'TIMEOUT',
          }),
        ),
      close: () => Promise.resolve(),
    }
    const adapter = await startTestAdapter('http://127.0.0.1:9', { port: 0, reader: timingOut })
    try {
      await adapter.service.applyAction({
        action: 'BECOME_SUBSCRIBER',
        subscriptionId: 'S1',
        services: [{ service: 'GEOLOGICAL', distributor: 'Main' }],
        installedItems: [cardItem(1), stbItem(1)],
      })
      await adapter.runs.define({
        name: 'Reset',
        alternativeCode: 'R',
        kind: 'RESET_SUBSCRIPTION',
        criteria: {},
      })
      const expected = {
        code: 'CA_UNAVAILABLE',
        message: `Failed to read card ${card(1)}: no answer within 2000 ms.`,
        details: { card: card(1), status: 'TIMEOUT' },
      }
      for (const path of ['/runs/R/preview', '/crm/subscriptions/S1/reset?preview=true']) {
        const res = await fetch(`${adapter.url as string}${path}`, {
          method: 'POST',
          headers: { Authorization: `Bearer ${adapter.apiToken}` },
        })
        expect({ path, status: res.status, body: await res.json() }).toEqual({
          path,
          status: 503,
          body: { error: expected },
        })
      }
    } finally {
      await adapter.close()
    }
  })
})
