import { once } from 'node:events'
import { connect, createServer, type Socket } from 'node:net'
import { afterEach, beforeAll, afterAll, describe, expect, it, onTestFinished } from 'vitest'
import { rawRequest } from '../../common/test-support/raw-request.js'
import type { Simulator } from '../../simulator/src/index.js'
import { startAdapter, type Adapter, type AdapterOptions } from '../create-adapter.js'
import {
  card,
  cardItem,
  providerFor,
  startTestCa,
  stbItem,
} from '../test-support/adapter-harness.js'

// Issue 9, items 6 and 7: the API needs its token, the Host header must name the adapter,
// cross-origin writes are refused, and what one call may hold is bounded.

let sim: Simulator
beforeAll(async () => {
  sim = await startTestCa(3)
})
afterAll(async () => {
  await sim.close()
})

async function adapterWith(options: Partial<AdapterOptions> = {}): Promise<Adapter> {
  const adapter = await startAdapter({
    provider: await providerFor(sim),
    port: 0,
    autoDeliver: false,
    ...options,
  })
  onTestFinished(() => adapter.close())
  return adapter
}

interface Answer {
  readonly status: number
  readonly body: { error?: { code: string; message: string; details: Record<string, unknown> } }
}

async function call(
  adapter: Adapter,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = { Authorization: `Bearer ${adapter.apiToken}` },
): Promise<Answer & { headers: Headers }> {
  const res = await fetch(`${adapter.url as string}${path}`, {
    method,
    headers: { ...(body === undefined ? {} : { 'Content-Type': 'application/json' }), ...headers },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  })
  return { status: res.status, headers: res.headers, body: (await res.json()) as Answer['body'] }
}

const become = (id: string, installedItems: unknown[]) => ({
  action: 'BECOME_SUBSCRIBER',
  subscriptionId: id,
  services: [{ service: 'GEOLOGICAL', distributor: 'Main' }],
  installedItems,
})

/** `count` smartcard items, the way a CRM would send a (very) large subscription. */
const manyCards = (count: number): unknown[] =>
  Array.from({ length: count }, (_, i) => ({
    serialNumber: `SC${i}`,
    product: 'SC-CONAX',
    caId: `0${String(i).padStart(10, '0')}`,
    distributor: 'Main',
  }))

async function nothingStored(adapter: Adapter, subscriptionId: string): Promise<void> {
  expect(await adapter.store.getSubscription(subscriptionId)).toBeNull()
  expect((await adapter.store.listRequests({ limit: 0 })).total).toBe(0)
}

describe('the API token', () => {
  it('is generated when none is configured, and every route but /healthz and /openapi.json needs it', async () => {
    const adapter = await adapterWith()
    expect(adapter.apiToken).toMatch(/^[A-Za-z0-9_-]{43}$/)
    expect(adapter.apiTokenGenerated).toBe(true)
    for (const [method, path] of [
      ['POST', '/crm/actions'],
      ['POST', '/crm/utilities'],
      ['GET', '/conax_web_services/provisioning_requests/list'],
      ['GET', '/runs'],
      ['POST', '/communications'],
      ['GET', '/CRM/SUBSCRIPTIONS/S1'],
      ['GET', '/no/such/route'],
    ] as const) {
      const res = await call(adapter, method, path, undefined, {})
      expect(res.status, `${method} ${path}`).toBe(401)
      expect(res.headers.get('www-authenticate')).toBe('Bearer realm="conax-adapter API"')
      expect(res.body).toEqual({
        error: {
          code: 'UNAUTHORIZED',
          message: expect.stringContaining('CONAX_ADAPTER_API_TOKEN'),
          details: {},
        },
      })
    }
    expect((await fetch(`${adapter.url as string}/healthz`)).status).toBe(200)
    expect((await fetch(`${adapter.url as string}/openapi.json`)).status).toBe(200)
    const answered = await call(adapter, 'POST', '/crm/actions', become('S1', [cardItem(1)]))
    expect(answered.status).toBe(201)
  })

  it('uses the configured token', async () => {
    const adapter = await adapterWith({ apiToken: 'configured-api-token-0123' })
    expect([adapter.apiToken, adapter.apiTokenGenerated]).toEqual([
      'configured-api-token-0123',
      false,
    ])
    expect((await call(adapter, 'GET', '/runs')).status).toBe(200)
  })

  it('describes the bearer scheme in the OpenAPI document', async () => {
    const adapter = await adapterWith()
    const doc = (await (await fetch(`${adapter.url as string}/openapi.json`)).json()) as {
      security: unknown
      components: { securitySchemes: Record<string, unknown> }
      paths: Record<string, Record<string, { security?: unknown; responses: object }>>
    }
    expect(doc.security).toEqual([{ bearerAuth: [] }])
    expect(doc.components.securitySchemes.bearerAuth).toMatchObject({
      type: 'http',
      scheme: 'bearer',
    })
    expect(doc.paths['/healthz']?.get?.security).toEqual([])
    expect(Object.keys(doc.paths['/crm/actions']?.post?.responses ?? {})).toEqual(
      expect.arrayContaining(['401', '403', '413', '422']),
    )
  })
})

describe('the Host header and cross-origin requests', () => {
  it('refuses a foreign Host on every path (DNS rebinding)', async () => {
    const adapter = await adapterWith()
    for (const path of ['/healthz', '/crm/actions']) {
      const res = await rawRequest(`${adapter.url as string}${path}`, {
        method: path === '/healthz' ? 'GET' : 'POST',
        headers: { Host: 'evil.example', Authorization: `Bearer ${adapter.apiToken}` },
      })
      expect(res.status, path).toBe(403)
      expect(JSON.parse(res.body)).toMatchObject({ error: { code: 'HOST_NOT_ALLOWED' } })
    }
  })

  it('refuses a cross-site write, token or not, and stores nothing', async () => {
    const adapter = await adapterWith()
    const action = become('S1', [cardItem(1), stbItem(1)])
    for (const headers of [
      { Origin: 'https://evil.example', Authorization: `Bearer ${adapter.apiToken}` },
      { 'Sec-Fetch-Site': 'cross-site', Authorization: `Bearer ${adapter.apiToken}` },
    ]) {
      const res = await call(adapter, 'POST', '/crm/actions', action, headers)
      expect(res.status).toBe(403)
      expect(res.body.error?.code).toBe('CROSS_ORIGIN_REFUSED')
      expect(res.headers.get('access-control-allow-origin')).toBeNull()
    }
    await nothingStored(adapter, 'S1')
  })

  it('refuses a CORS preflight and sends no CORS header', async () => {
    const adapter = await adapterWith()
    const res = await fetch(`${adapter.url as string}/crm/actions`, {
      method: 'OPTIONS',
      headers: { Origin: 'https://evil.example', 'Access-Control-Request-Method': 'POST' },
    })
    expect(res.status).toBe(403)
    expect(res.headers.get('access-control-allow-origin')).toBeNull()
  })
})

describe('listening', () => {
  it('refuses a non-loopback host without a configured token, before opening anything', async () => {
    await expect(
      startAdapter({ provider: await providerFor(sim), port: 0, host: '0.0.0.0' }),
    ).rejects.toMatchObject({
      name: 'AdapterError',
      code: 'INSECURE_BIND',
      message: expect.stringMatching(
        /^Refusing to listen on 0\.0\.0\.0 without a configured API token: .*CONAX_ADAPTER_API_TOKEN/,
      ),
    })
    // Without an HTTP server there is nothing to protect.
    const quiet = await startAdapter({
      provider: await providerFor(sim),
      port: null,
      host: '0.0.0.0',
    })
    await quiet.close()
    const guarded = await adapterWith({ host: '0.0.0.0', apiToken: 'lan-api-token-0123456789' })
    expect(guarded.url).toMatch(/^http:\/\/0\.0\.0\.0:\d+$/)
  })

  it('reports a port in use as PORT_IN_USE, naming host and port', async () => {
    const taken = createServer()
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve))
    onTestFinished(() => {
      taken.close()
    })
    const port = (taken.address() as { port: number }).port
    await expect(
      startAdapter({ provider: await providerFor(sim), port, autoDeliver: false }),
    ).rejects.toMatchObject({
      name: 'AdapterError',
      code: 'PORT_IN_USE',
      message: `Failed to listen on 127.0.0.1:${port}: port ${port} is already in use (another instance or another program holds it). Choose another --port, or --port 0 to pick a free one.`,
    })
  })

  it('refuses unusable options with INVALID_OPTION', async () => {
    for (const options of [
      { apiToken: 'short' },
      { limits: { pageSize: 0 } },
      { limits: { bogus: 1 } as never },
      { http: { maxConnections: -1 } },
      { bodyLimitBytes: 1.5 },
    ]) {
      await expect(
        startAdapter({ provider: await providerFor(sim), port: 0, ...options }),
      ).rejects.toMatchObject({ code: 'INVALID_OPTION' })
    }
  })
})

describe('bounds', () => {
  it('refuses an action with 40,000 smartcards with 422 naming the limit, storing nothing', async () => {
    // A body limit large enough for the action, so that the item limit is what refuses it.
    const adapter = await adapterWith({ bodyLimitBytes: 8 * 1024 * 1024 })
    const res = await call(adapter, 'POST', '/crm/actions', become('BIG', manyCards(40_000)))
    expect(res.status).toBe(422)
    expect(res.body.error).toEqual({
      code: 'LIMIT_EXCEEDED',
      message:
        'installedItems holds 40000 entries, above the limit of 500 (limits.installedItemsPerAction); nothing was stored. Send the rest in further actions (ADD_INSTALLED_ITEM, ADD_SERVICE).',
      details: {
        field: 'installedItems',
        count: 40_000,
        limit: 500,
        limitName: 'installedItemsPerAction',
      },
    })
    await nothingStored(adapter, 'BIG')
  })

  it('refuses a body over the limit with 413 naming it', async () => {
    const adapter = await adapterWith()
    const res = await call(adapter, 'POST', '/crm/actions', become('BIG', manyCards(40_000)))
    expect(res.status).toBe(413)
    expect(res.body.error).toMatchObject({
      code: 'PAYLOAD_TOO_LARGE',
      message: expect.stringContaining('limit of 1048576 bytes (bodyLimitBytes)'),
    })
    await nothingStored(adapter, 'BIG')
  })

  it('bounds the devices of a utility and of create_pairing', async () => {
    const adapter = await adapterWith()
    const ids = Array.from({ length: 40_000 }, (_, i) => `0${String(i).padStart(10, '0')}`)
    const utility = await call(adapter, 'POST', '/crm/utilities', {
      utility: 'PAIR_DEVICES',
      mode: 'NEW',
      smartcards: ids,
      stbs: ['1'],
    })
    expect(utility.status).toBe(422)
    expect(utility.body.error?.details).toMatchObject({ field: 'smartcards', limit: 500 })
    const pairing = await call(
      adapter,
      'POST',
      '/conax_web_services/provisioning_requests/create_pairing',
      {
        smartcard_set: [{ smartcard_ca_id: card(1) }],
        stb_set: Array.from({ length: 501 }, (_, i) => ({ stb_ca_id: String(i + 1) })),
      },
    )
    expect(pairing.status).toBe(422)
    expect(pairing.body.error?.details).toMatchObject({ field: 'stb_set', count: 501 })
    expect((await adapter.store.listRequests({ limit: 0 })).total).toBe(0)
  })

  it('refuses a page above the maximum instead of cutting it', async () => {
    const adapter = await adapterWith()
    for (const path of [
      '/conax_web_services/provisioning_requests/list?number_of_results=10001',
      '/runs/executions/any/requests?limit=10001',
    ]) {
      const res = await call(adapter, 'GET', path)
      expect(res.status, path).toBe(422)
      expect(res.body.error?.message).toMatch(
        /asks for 10001 entries, above the limit of 10000 \(limits.pageSize\)/,
      )
    }
    await call(adapter, 'POST', '/runs', {
      name: 'Reset',
      alternativeCode: 'R',
      kind: 'RESET_SUBSCRIPTION',
    })
    const preview = await call(adapter, 'POST', '/runs/R/preview?limit=10001')
    expect(preview.status).toBe(422)
    expect(
      (
        await call(
          adapter,
          'GET',
          '/conax_web_services/provisioning_requests/list?number_of_results=10000',
        )
      ).status,
    ).toBe(200)
  })

  it('bounds communications per call and recipients per communication', async () => {
    const adapter = await adapterWith()
    const one = (subscriptionIds: string[]) => ({
      externalSystem: 'CRM',
      message: 'hello',
      recipients: { subscriptionIds },
    })
    const many = await call(adapter, 'POST', '/communications', {
      communications: Array.from({ length: 1001 }, () => one(['S1'])),
    })
    expect(many.status).toBe(422)
    expect(many.body.error?.details).toMatchObject({ field: 'communications', limit: 1000 })
    const crowded = await call(adapter, 'POST', '/communications', {
      communications: [one(['S1']), one(Array.from({ length: 10_001 }, (_, i) => `S${i}`))],
    })
    expect(crowded.status).toBe(422)
    expect(crowded.body.error?.details).toMatchObject({
      field: 'communications[1].recipients.subscriptionIds',
      count: 10_001,
      limit: 10_000,
    })
    expect(await adapter.runs.communications({})).toEqual([])
  })

  it('takes its limits from the options, the planned requests included', async () => {
    const adapter = await adapterWith({
      limits: { installedItemsPerAction: 2, requestsPerAction: 2 },
    })
    const items = await call(
      adapter,
      'POST',
      '/crm/actions',
      become('S1', [cardItem(1), stbItem(1), cardItem(2)]),
    )
    expect(items.status).toBe(422)
    expect(items.body.error?.message).toContain(
      'above the limit of 2 (limits.installedItemsPerAction)',
    )
    // A pairing and one add per service: 3 requests, above 2.
    const planned = await call(adapter, 'POST', '/crm/actions', {
      ...become('S1', [cardItem(1), stbItem(1)]),
      services: [
        { service: 'GEOLOGICAL', distributor: 'Main' },
        { service: 'ENTERTAIN', distributor: 'Main' },
      ],
    })
    expect(planned.status).toBe(422)
    expect(planned.body.error).toMatchObject({
      code: 'LIMIT_EXCEEDED',
      message: expect.stringContaining(
        'plans 3 provisioning requests, above the limit of 2 (limits.requestsPerAction)',
      ),
    })
    await nothingStored(adapter, 'S1')
  })
})

describe('connections', () => {
  const opened: Socket[] = []
  afterEach(() => {
    opened.splice(0).forEach((socket) => socket.destroy())
  })

  async function openIdle(adapter: Adapter): Promise<Socket> {
    const socket = connect(Number(new URL(adapter.url as string).port), '127.0.0.1')
    opened.push(socket)
    await once(socket, 'connect')
    return socket
  }

  it('serves a new client past the cap by closing the connection idle the longest', async () => {
    const adapter = await adapterWith({ http: { maxConnections: 8 } })
    const idle: Socket[] = []
    for (let i = 0; i < 8; i++) {
      idle.push(await openIdle(adapter))
    }
    const oldestClosed = once(idle[0]!, 'close')
    expect((await fetch(`${adapter.url as string}/healthz`)).status).toBe(200)
    await oldestClosed
    expect(idle.slice(1).every((socket) => !socket.destroyed)).toBe(true)
    expect(adapter.connectionStats()).toMatchObject({ evicted: 1, refused: 0 })
  })

  it('closes a client whose headers come too slowly', async () => {
    const adapter = await adapterWith({ http: { headersTimeoutMs: 100, requestTimeoutMs: 1000 } })
    const slow = await openIdle(adapter)
    slow.write('POST /crm/actions HTTP/1.1\r\nHost: 127.0')
    const answer: Buffer[] = []
    slow.on('data', (chunk: Buffer) => answer.push(chunk))
    await once(slow, 'close')
    expect(Buffer.concat(answer).toString('latin1')).toMatch(/^HTTP\/1.1 408/)
  })
})
