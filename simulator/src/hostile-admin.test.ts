import fc from 'fast-check'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { startSimulator, type Simulator } from './create-simulator.js'
import type { ModelSnapshot } from './model/ca-state.js'
import { adminHeaders, adminOutcome, RawClient, RecordingStore } from './test-support/hostile.js'
import { CARD_A, CARD_B, STB_1, TEST_INVENTORY, callSoap } from './test-support/soap.js'

// Hostile input to the JSON admin API: generated malformed and mistyped bodies, path parameters
// and query strings for every route. Every answer must be JSON, 2xx or a 4xx
// `{ error: { code, message } }`, never a 5xx; a refused request, and any GET, must change
// nothing (model, journal, replay records, fault rules). Accepted writes are undone before the
// next case. Reproduce a run with HOSTILE_SEED=<n> HOSTILE_ADMIN_RUNS=<n>.

const SEED = Number(process.env.HOSTILE_SEED ?? 20_269)
const RUNS = Number(process.env.HOSTILE_ADMIN_RUNS ?? 3000)

let sim: Simulator
let store: RecordingStore
let client: RawClient

/** Everything an admin call could change. */
interface State {
  readonly model: ModelSnapshot
  readonly journal: unknown
  readonly replays: unknown
  readonly faults: unknown
}

async function state(): Promise<State> {
  await sim.flush()
  return {
    model: sim.model.toSnapshot(),
    journal: sim.journal.toSnapshot(),
    replays: structuredClone(store.last?.replays ?? null),
    faults: structuredClone(sim.faults.list()),
  }
}

/** Puts the simulator back as it was (after a write the admin API accepted). */
function restore(to: State): void {
  sim.model.loadSnapshot(to.model)
  sim.journal.loadSnapshot(to.journal as Parameters<Simulator['journal']['loadSnapshot']>[0])
  sim.faults.clear()
}

interface AdminCall {
  readonly method: 'GET' | 'POST' | 'PUT' | 'DELETE'
  readonly path: string
  readonly body?: string | Buffer
  readonly contentType?: string | null
  readonly contentEncoding?: string
  /** The call is invalid by construction: it must be refused. */
  readonly invalid?: boolean
  /** What the error message must say. */
  readonly message?: RegExp
}

function send(call: AdminCall) {
  const headers: Record<string, string> = { ...adminHeaders(sim) }
  if (call.contentType !== null) {
    headers['Content-Type'] = call.contentType ?? 'application/json'
  }
  if (call.contentEncoding) {
    headers['Content-Encoding'] = call.contentEncoding
  }
  return client.send(call.path, {
    method: call.method,
    headers,
    ...(call.body === undefined ? {} : { body: call.body }),
  })
}

/** Sends a call, checks its answer and that a refusal (or a GET) changed nothing; then undoes it. */
async function check(call: AdminCall): Promise<'ok' | 'refused'> {
  const what = `${call.method} ${call.path} ${String(call.body ?? '').slice(0, 200)}`
  const before = await state()
  try {
    const answer = await send(call)
    const outcome = adminOutcome(answer, what)
    if (call.invalid) {
      expect(outcome, what).toBe('refused')
    }
    if (call.message) {
      expect(answer.body, what).toMatch(call.message)
    }
    if (outcome === 'refused' || call.method === 'GET') {
      expect(await state(), what).toEqual(before)
    }
    return outcome
  } finally {
    // An accepted write, or a refusal that changed something after all, must not leak into the
    // next case.
    restore(before)
  }
}

beforeAll(async () => {
  store = new RecordingStore()
  sim = await startSimulator({
    inventory: TEST_INVENTORY,
    users: { sms: 'sms', other: 'other' },
    store,
    logger: 'silent',
  })
  client = new RawClient(sim.url)
  await callSoap(sim, 'pairing', 'CreatePairing', {
    CaClientIds: { CaClientId: CARD_A },
    PairingModuleIds: { PairingModuleId: STB_1 },
  })
  await callSoap(sim, 'subscription', 'AddSubscriptions', {
    Subscriptions: { Subscription: { CaClientId: CARD_A, ProductId: 'GFA1' } },
    SequenceNumber: 5,
  })
  expect(sim.model.card(CARD_A)?.subscriptions).toHaveLength(1)
})

afterAll(async () => {
  client.close()
  await sim.close()
})

describe('the admin API refuses what it cannot take, changing nothing', () => {
  beforeEach(async () => {
    expect((await client.send('/healthz', { method: 'GET' })).status).toBe(200)
  })

  it.each<[string, AdminCall]>([
    [
      'a reset whose keepInventory is not a boolean',
      { method: 'POST', path: '/admin/reset', body: '{"keepInventory":"yes"}', invalid: true },
    ],
    [
      'a reset with a misspelt field',
      { method: 'POST', path: '/admin/reset', body: '{"keepinventory":true}', invalid: true },
    ],
    [
      'a reset whose body is an array',
      { method: 'POST', path: '/admin/reset', body: '[true]', invalid: true },
    ],
    [
      'a reset whose JSON is sent as a form (curl -d without a Content-Type)',
      {
        method: 'POST',
        path: '/admin/reset',
        body: '{"keepInventory":true}',
        contentType: 'application/x-www-form-urlencoded',
        invalid: true,
      },
    ],
    [
      'a direct activation whose JSON is sent as text',
      {
        method: 'PUT',
        path: `/admin/cards/${CARD_B}/subscriptions/EFA2`,
        body: '{"distributor":"Main"}',
        contentType: 'text/plain',
        invalid: true,
      },
    ],
    [
      'a direct activation whose body is an array',
      {
        method: 'PUT',
        path: `/admin/cards/${CARD_B}/subscriptions/EFA2`,
        body: '[]',
        invalid: true,
      },
    ],
    [
      'a direct activation with an unknown field',
      {
        method: 'PUT',
        path: `/admin/cards/${CARD_B}/subscriptions/EFA2`,
        body: '{"distributer":"Main"}',
        invalid: true,
      },
    ],
    [
      'a direct activation with a prototype key',
      {
        method: 'PUT',
        path: `/admin/cards/${CARD_B}/subscriptions/EFA2`,
        body: '{"__proto__":{"distributor":"Main"}}',
        invalid: true,
      },
    ],
    [
      'an inventory with a prototype key',
      {
        method: 'POST',
        path: '/admin/inventory',
        body: '{"__proto__":{"smartcards":[]}}',
        invalid: true,
      },
    ],
    [
      'an inventory card id of Arabic-Indic digits',
      {
        method: 'POST',
        path: '/admin/inventory',
        body: '{"smartcards":[{"caClientId":"٠١٢٣٤٥٦٧٨٩٠"}]}',
        invalid: true,
      },
    ],
    [
      'a fault rule with a constructor key',
      {
        method: 'POST',
        path: '/admin/faults',
        body: '{"kind":"RESET","constructor":{"prototype":{}}}',
        invalid: true,
      },
    ],
    [
      'JSON nested 100,000 deep',
      {
        method: 'POST',
        path: '/admin/inventory',
        body: `${'['.repeat(100_000)}${']'.repeat(100_000)}`,
        invalid: true,
      },
    ],
    [
      'a body in a charset JSON does not use',
      {
        method: 'POST',
        path: '/admin/reset',
        body: '{}',
        contentType: 'application/json; charset=latin1',
        invalid: true,
      },
    ],
    [
      'a body in an unknown content encoding',
      {
        method: 'POST',
        path: '/admin/reset',
        body: '{}',
        contentEncoding: 'x-evil',
        invalid: true,
      },
    ],
    [
      'a gzip body that is not gzip',
      { method: 'POST', path: '/admin/reset', body: '{}', contentEncoding: 'gzip', invalid: true },
    ],
    [
      'a broken percent-encoding in the path',
      {
        method: 'DELETE',
        path: '/admin/cards/%E0%A4%A/pairing',
        invalid: true,
        message: /^(?!.*request body).*%E0%A4%A/,
      },
    ],
    [
      'a journal limit of 1e999',
      { method: 'GET', path: '/admin/journal?limit=1e999', invalid: true },
    ],
    [
      'a repeated journal limit',
      { method: 'GET', path: '/admin/journal?limit=1&limit=2', invalid: true },
    ],
    ['a negative card offset', { method: 'GET', path: '/admin/cards?offset=-1', invalid: true }],
  ])('refuses %s', async (_name, call) => {
    expect(await check(call)).toBe('refused')
  })
})

const JSON_TYPES = fc.constantFrom(
  'application/json',
  'application/json; charset=utf-8',
  'application/json; charset=utf-16',
  'application/json; charset=latin1',
  'text/plain',
  'application/x-www-form-urlencoded',
  'application/json; boundary=x',
  null,
)

/** Bodies that are not JSON, or JSON no route takes. */
const MALFORMED = fc.oneof(
  fc.string({ maxLength: 60 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc
    .json()
    .chain((json) =>
      fc.nat({ max: Math.max(0, json.length - 1) }).map((cut) => json.slice(0, cut)),
    ),
  fc.constantFrom(
    '',
    '{',
    '{"a":',
    '[1,2',
    'null',
    'true',
    '"text"',
    '1e999999',
    '{"a":1,"a":2}',
    '{"__proto__":{"polluted":true}}',
    '{"constructor":{"prototype":{"polluted":true}}}',
    '\u0000',
    '\ufeff{}',
    `${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}`,
  ),
)

const ID = fc.oneof(
  fc.constantFrom(
    CARD_A,
    CARD_B,
    '09999999999',
    '00000000000',
    STB_1,
    'GFA1',
    '__proto__',
    'constructor',
    'hasOwnProperty',
    '%00',
    '%2e%2e%2f%2e%2e',
    '%E0%A4%A',
    '%',
    encodeURIComponent('٠١٤٥٠٢٥٣٣١٣'),
    'x'.repeat(300),
  ),
  fc.string({ minLength: 1, maxLength: 30 }).map(encodeURIComponent),
)

const QUERY_VALUE = fc.oneof(
  fc.constantFrom(
    '0',
    '1',
    '-1',
    '1.5',
    '1e3',
    '1e999',
    'NaN',
    'Infinity',
    '',
    '%',
    '%zz',
    '9'.repeat(40),
  ),
  fc.string({ maxLength: 12 }).map(encodeURIComponent),
)
const QUERY = fc
  .array(
    fc.tuple(
      fc.oneof(
        fc.constantFrom(
          'limit',
          'offset',
          'since',
          'operation',
          'service',
          'limit[]',
          'limit[a]',
          '__proto__',
          'constructor',
        ),
        fc.string({ maxLength: 8 }).map(encodeURIComponent),
      ),
      QUERY_VALUE,
    ),
    { maxLength: 4 },
  )
  .map((pairs) => (pairs.length === 0 ? '' : `?${pairs.map(([k, v]) => `${k}=${v}`).join('&')}`))

/** JSON bodies of the right syntax and the wrong shape, per route: each one must be refused. */
const WRONG_RESET = fc.oneof(
  fc.record({ keepInventory: fc.jsonValue().filter((v) => typeof v !== 'boolean') }),
  fc
    .dictionary(fc.string({ maxLength: 12 }), fc.jsonValue({ maxDepth: 2 }), {
      minKeys: 1,
      maxKeys: 3,
    })
    .filter((o) => Object.keys(o).some((k) => k !== 'keepInventory')),
)
const WRONG_ACTIVATION = fc.oneof(
  fc.record({ distributor: fc.jsonValue().filter((v) => typeof v !== 'string' && v !== null) }),
  fc.record({
    startDate: fc.oneof(
      fc.string({ maxLength: 20 }),
      fc.integer(),
      fc.constant('2026-13-01T00:00:00Z'),
    ),
  }),
  fc.record({
    endDate: fc.constant('2000-01-01T00:00:00Z'),
    startDate: fc.constant('2030-01-01T00:00:00Z'),
  }),
  fc
    .dictionary(fc.string({ maxLength: 12 }), fc.jsonValue({ maxDepth: 2 }), {
      minKeys: 1,
      maxKeys: 3,
    })
    .filter((o) =>
      Object.keys(o).some((k) => !['distributor', 'startDate', 'endDate'].includes(k)),
    ),
  fc.array(fc.jsonValue({ maxDepth: 1 }), { maxLength: 3 }),
)
const WRONG_INVENTORY = fc.oneof(
  fc.record({ smartcards: fc.jsonValue().filter((v) => !Array.isArray(v)) }),
  fc.record({
    smartcards: fc.array(
      fc.record({
        caClientId: fc.oneof(fc.integer(), fc.string({ maxLength: 10 }), fc.constant(null)),
      }),
      { minLength: 1, maxLength: 3 },
    ),
  }),
  fc.record({
    pairingModules: fc.array(
      fc.record({
        pairingModuleId: fc.constantFrom('x1', '', '1'.repeat(21)),
        serialNumber: fc.string(),
        productCode: fc.string(),
        productDescription: fc.string(),
      }),
      { minLength: 1, maxLength: 2 },
    ),
  }),
  fc.record({
    products: fc.array(
      fc.record({ productId: fc.constantFrom('', 'a b', 'x'.repeat(33), 'GF<A1') }),
      { minLength: 1, maxLength: 2 },
    ),
  }),
  fc.record({ cards: fc.constant([]) }),
  fc.array(fc.jsonValue({ maxDepth: 1 }), { maxLength: 3 }),
)
const WRONG_FAULT = fc.oneof(
  fc.record({ kind: fc.string({ maxLength: 12 }) }),
  fc.record({
    kind: fc.constant('DELAY'),
    delayMs: fc.oneof(fc.integer({ min: 600_001 }), fc.integer({ max: 0 }), fc.double()),
  }),
  fc.record({
    kind: fc.constant('HTTP_STATUS'),
    httpStatus: fc.oneof(fc.integer({ max: 399 }), fc.integer({ min: 600 })),
  }),
  fc.record({ kind: fc.constant('SYSTEM_ERROR'), extra: fc.jsonValue() }),
  fc.record({ kind: fc.constant('RESET'), operation: fc.string({ maxLength: 10 }) }),
)

const json = (value: unknown): string => JSON.stringify(value)

/** Any admin call, with generated ids, queries and bodies. */
const CALL: fc.Arbitrary<AdminCall> = fc.oneof(
  QUERY.map((q) => ({ method: 'GET' as const, path: `/admin/cards${q}` })),
  QUERY.map((q) => ({ method: 'GET' as const, path: `/admin/journal${q}` })),
  fc
    .tuple(fc.constantFrom('/admin/faults', '/admin/stats', '/admin/products', '/healthz'), QUERY)
    .map(([path, q]) => ({ method: 'GET' as const, path: `${path}${q}` })),
  ID.map((id) => ({ method: 'GET' as const, path: `/admin/cards/${id}` })),
  ID.map((id) => ({ method: 'GET' as const, path: `/admin/pairing-modules/${id}` })),
  fc.tuple(ID, ID).map(([card, product]) => ({
    method: 'DELETE' as const,
    path: `/admin/cards/${card}/subscriptions/${product}`,
  })),
  ID.map((id) => ({ method: 'DELETE' as const, path: `/admin/cards/${id}/pairing` })),
  ID.map((id) => ({ method: 'DELETE' as const, path: `/admin/faults/${id}` })),
  fc.tuple(ID, ID, MALFORMED, JSON_TYPES).map(([card, product, body, contentType]) => ({
    method: 'PUT' as const,
    path: `/admin/cards/${card}/subscriptions/${product}`,
    body,
    contentType,
  })),
  fc
    .tuple(fc.constantFrom(CARD_A, CARD_B), fc.constantFrom('GFA1', 'EFA2'), WRONG_ACTIVATION)
    .map(([card, product, body]) => ({
      method: 'PUT' as const,
      path: `/admin/cards/${card}/subscriptions/${product}`,
      body: json(body),
      invalid: true,
    })),
  fc.tuple(MALFORMED, JSON_TYPES).map(([body, contentType]) => ({
    method: 'POST' as const,
    path: '/admin/inventory',
    body,
    contentType,
  })),
  WRONG_INVENTORY.map((body) => ({
    method: 'POST' as const,
    path: '/admin/inventory',
    body: json(body),
    invalid: true,
  })),
  fc.tuple(MALFORMED, JSON_TYPES).map(([body, contentType]) => ({
    method: 'POST' as const,
    path: '/admin/reset',
    body,
    contentType,
  })),
  WRONG_RESET.map((body) => ({
    method: 'POST' as const,
    path: '/admin/reset',
    body: json(body),
    invalid: true,
  })),
  fc.tuple(MALFORMED, JSON_TYPES).map(([body, contentType]) => ({
    method: 'POST' as const,
    path: '/admin/faults',
    body,
    contentType,
  })),
  WRONG_FAULT.map((body) => ({
    method: 'POST' as const,
    path: '/admin/faults',
    body: json(body),
    invalid: true,
  })),
  fc
    .tuple(
      fc.constantFrom<AdminCall['method']>('POST', 'PUT', 'DELETE'),
      fc.constantFrom('/admin/journal', '/admin/stats', '/admin/cards', '/admin/nope', '/admin'),
    )
    .map(([method, path]) => ({ method, path, body: '{}' })),
)

describe(`generated hostile admin calls (seed ${SEED}, ${RUNS} runs)`, () => {
  it('answers each with JSON, 2xx or a 4xx error, never a 5xx, and a refusal changes nothing', async () => {
    const tally = { ok: 0, refused: 0 }
    await fc.assert(
      fc.asyncProperty(CALL, async (call) => {
        tally[await check(call)]++
      }),
      { seed: SEED, numRuns: RUNS, endOnFailure: true },
    )
    expect((await client.send('/healthz', { method: 'GET' })).status).toBe(200)
    expect(tally.ok + tally.refused).toBe(RUNS)
    expect(tally.refused).toBeGreaterThan(RUNS / 2)
    expect(tally.ok).toBeGreaterThan(RUNS / 20)
    expect(sim.model.card(CARD_A)?.subscriptions.map((s) => s.productId)).toEqual(['GFA1'])
  }, 60_000)
})
