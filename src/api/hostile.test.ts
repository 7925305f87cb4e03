import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Simulator } from '../../simulator/src/index.js'
import type { Adapter } from '../create-adapter.js'
import {
  card,
  cardItem,
  startTestAdapter,
  startTestCa,
  stb,
  stbItem,
} from '../test-support/adapter-harness.js'

// Hostile input to the adapter's HTTP API: malformed JSON, wrong types, huge numbers, prototype
// keys and deep nesting for the CRM actions, the utilities, CRM.COM's provisioning_requests
// methods, the runs and the communication queue, explicit and generated (fast-check, fixed seed).
// Every answer must be a 4xx JSON `{ error: { code, message } }` (the inputs are invalid by
// construction), the adapter must keep answering, and nothing may be stored: requests,
// subscriptions, run definitions, executions and communications are compared before and after.
// Reproduce a run with HOSTILE_SEED=<n> HOSTILE_API_RUNS=<n>.

const SEED = Number(process.env.HOSTILE_SEED ?? 20_269)
const RUNS = Number(process.env.HOSTILE_API_RUNS ?? 1500)
const BASE = '/conax_web_services/provisioning_requests'

let sim: Simulator
let adapter: Adapter

interface Call {
  readonly method: 'GET' | 'POST'
  readonly path: string
  readonly body?: string
  readonly contentType?: string | null
  /** What the error message must say. */
  readonly message?: RegExp
}

/** Everything the API could store. */
async function stored(): Promise<unknown> {
  return {
    requests: (await adapter.store.listRequests({ limit: 10_000 })).items,
    subscriptions: (await adapter.store.listSubscriptions({ limit: 10_000 })).items,
    definitions: await adapter.runs.definitions(),
    executions: await adapter.runs.executions(),
    communications: await adapter.runs.communications({}),
  }
}

async function send(call: Call): Promise<{ status: number; type: string; body: string }> {
  const headers: Record<string, string> = {}
  // A later change adds a bearer token to the API; send it when the adapter has one.
  const token = (adapter as { apiToken?: unknown }).apiToken
  if (typeof token === 'string') {
    headers.Authorization = `Bearer ${token}`
  }
  if (call.contentType !== null) {
    headers['Content-Type'] = call.contentType ?? 'application/json'
  }
  const res = await fetch(`${adapter.url as string}${call.path}`, {
    method: call.method,
    headers,
    ...(call.body === undefined ? {} : { body: call.body }),
  })
  return { status: res.status, type: res.headers.get('content-type') ?? '', body: await res.text() }
}

/** Sends an invalid call: a 4xx JSON error, nothing stored, and the adapter still answers. */
async function expectRefused(call: Call): Promise<void> {
  const before = await stored()
  const answer = await send(call)
  const what = `${call.method} ${call.path} ${(call.body ?? '').slice(0, 200)} -> ${answer.status} ${answer.body.slice(0, 300)}`
  expect(answer.status, what).toBeGreaterThanOrEqual(400)
  expect(answer.status, what).toBeLessThan(500)
  expect(answer.type, what).toMatch(/^application\/json/)
  const error = (JSON.parse(answer.body) as { error?: { code?: unknown; message?: unknown } }).error
  expect(error?.code, what).toMatch(/^[A-Z][A-Z_]+$/)
  expect(typeof error?.message === 'string' && error.message.length > 0, what).toBe(true)
  if (call.message) {
    expect(error?.message, what).toMatch(call.message)
  }
  expect(await stored(), what).toEqual(before)
}

/** Valid bodies of each route; the suite breaks them. */
const VALID: Readonly<Record<string, Record<string, unknown>>> = {
  '/crm/actions': {
    action: 'BECOME_SUBSCRIBER',
    subscriptionId: 'S9',
    type: 'RESIDENTIAL',
    services: [{ service: 'GEOLOGICAL', distributor: 'Main' }],
    installedItems: [cardItem(9), stbItem(9)],
    priority: 'EXPRESS',
  },
  '/crm/utilities': {
    utility: 'SEND_MESSAGE',
    subscriptionId: 'S1',
    messageType: 'REPEATING_BARK',
    message: 'Match tonight',
    repetitionCount: 2,
    repetitionIntervalInSeconds: 20,
  },
  [`${BASE}/add_subscriptions`]: {
    subscription_identifier: { id: 'S1' },
    service_identifier: { code: 'ENTERTAIN' },
    smartcard_identifier: { serial_number: 'SC1' },
    process_immediately: false,
  },
  [`${BASE}/cancel_subscriptions`]: {
    subscription_identifier: { id: 'S1' },
    service_identifier: { code: 'GEOLOGICAL' },
    smartcard_identifier: { ca_id: card(1) },
  },
  [`${BASE}/create_pairing`]: {
    smartcard_set: [{ smartcard_ca_id: card(2) }],
    stb_set: [{ stb_ca_id: stb(2) }],
    distributor: 'Main',
  },
  '/runs': {
    name: 'Nightly',
    alternativeCode: 'NIGHTLY-2',
    kind: 'FINGERPRINTING',
    included: [{ name: 'residential', types: ['RESIDENTIAL'] }],
    height: 12,
    slot: 'A',
  },
  '/communications': {
    communications: [
      { externalSystem: 'SMS', message: 'Hello', recipients: { subscriptionIds: ['S1'] } },
    ],
  },
}
const BODY_PATHS = Object.keys(VALID)

beforeAll(async () => {
  sim = await startTestCa(10)
  adapter = await startTestAdapter(sim, { port: 0 })
  await adapter.service.applyAction({
    action: 'BECOME_SUBSCRIBER',
    subscriptionId: 'S1',
    type: 'RESIDENTIAL',
    services: [{ service: 'GEOLOGICAL', distributor: 'Main' }],
    installedItems: [cardItem(1), stbItem(1)],
  })
  await adapter.deliverDue()
  await adapter.runs.define({
    name: 'Reset',
    alternativeCode: 'R',
    kind: 'RESET_SUBSCRIPTION',
    criteria: {},
  })
})

afterAll(async () => {
  await adapter.close()
  await sim.close()
})

describe('the adapter API refuses hostile input and stores nothing', () => {
  const action = VALID['/crm/actions'] as Record<string, unknown>
  it.each<[string, Call]>([
    ['malformed JSON', { method: 'POST', path: '/crm/actions', body: '{"action":' }],
    [
      'JSON that is not an object',
      { method: 'POST', path: '/crm/actions', body: '"BECOME_SUBSCRIBER"' },
    ],
    [
      'a body sent as a form',
      {
        method: 'POST',
        path: '/crm/actions',
        body: JSON.stringify(action),
        contentType: 'application/x-www-form-urlencoded',
        message: /not JSON.*Content-Type: application\/json/,
      },
    ],
    [
      'a number for a text field',
      {
        method: 'POST',
        path: '/crm/actions',
        body: JSON.stringify({ ...action, subscriptionId: 9 }),
      },
    ],
    [
      'an overflowing number (1e999) for a text field',
      {
        method: 'POST',
        path: '/crm/actions',
        body: JSON.stringify(action).replace('"S9"', '1e999'),
      },
    ],
    [
      'a __proto__ key',
      {
        method: 'POST',
        path: '/crm/actions',
        body: JSON.stringify(action).replace('{', '{"__proto__":{"admin":true},'),
      },
    ],
    [
      'a __proto__ key in an item',
      {
        method: 'POST',
        path: '/crm/actions',
        body: JSON.stringify(action).replace(
          '{"serialNumber"',
          '{"__proto__":{"x":1},"serialNumber"',
        ),
      },
    ],
    [
      'a constructor key',
      {
        method: 'POST',
        path: '/crm/actions',
        body: JSON.stringify({ ...action, constructor: { prototype: { polluted: true } } }),
      },
    ],
    [
      'an action nested 10,000 deep',
      {
        method: 'POST',
        path: '/crm/actions',
        body: JSON.stringify(action).replace(
          '"Main"',
          `${'['.repeat(10_000)}${']'.repeat(10_000)}`,
        ),
      },
    ],
    [
      'JSON nested 100,000 deep',
      {
        method: 'POST',
        path: '/crm/actions',
        body: `${'['.repeat(100_000)}${']'.repeat(100_000)}`,
      },
    ],
    [
      'a huge repetition count',
      {
        method: 'POST',
        path: '/crm/utilities',
        body: JSON.stringify({ ...VALID['/crm/utilities'], repetitionCount: 1e308 }),
      },
    ],
    [
      'a fractional repetition interval',
      {
        method: 'POST',
        path: '/crm/utilities',
        body: JSON.stringify({ ...VALID['/crm/utilities'], repetitionIntervalInSeconds: 20.5 }),
      },
    ],
    [
      'a negative height',
      { method: 'POST', path: '/runs', body: JSON.stringify({ ...VALID['/runs'], height: -1 }) },
    ],
    [
      'a run height of 2^53',
      {
        method: 'POST',
        path: '/runs',
        body: JSON.stringify({ ...VALID['/runs'], height: 2 ** 53 }),
      },
    ],
    [
      'process_immediately 2',
      {
        method: 'POST',
        path: `${BASE}/add_subscriptions`,
        body: JSON.stringify({ ...VALID[`${BASE}/add_subscriptions`], process_immediately: 2 }),
      },
    ],
    [
      'a smartcard id of Arabic-Indic digits',
      {
        method: 'POST',
        path: `${BASE}/create_pairing`,
        body: JSON.stringify({
          ...VALID[`${BASE}/create_pairing`],
          smartcard_set: [{ smartcard_ca_id: '٠١٤٥٠٢٥٠٠٠٢' }],
        }),
      },
    ],
    [
      '501 smartcards in a pairing',
      {
        method: 'POST',
        path: `${BASE}/create_pairing`,
        body: JSON.stringify({
          ...VALID[`${BASE}/create_pairing`],
          smartcard_set: Array.from({ length: 501 }, (_, i) => ({ smartcard_ca_id: card(i + 1) })),
        }),
      },
    ],
    ['a list page of 1e999', { method: 'GET', path: `${BASE}/list?number_of_results=1e999` }],
    ['a list offset of -1', { method: 'GET', path: `${BASE}/list?offset=-1` }],
    [
      'a repeated list parameter',
      { method: 'GET', path: `${BASE}/list?type=ADD_SUBSCRIPTIONS&type=CREATE_PAIRING` },
    ],
    ['show with a __proto__ parameter', { method: 'GET', path: `${BASE}/show?__proto__=1` }],
    ['a preview limit of NaN', { method: 'POST', path: '/runs/R/preview?limit=NaN' }],
    [
      'an execution page of 10,001',
      { method: 'GET', path: '/runs/executions/nope/requests?limit=10001' },
    ],
    [
      'a reset preview of "yes"',
      { method: 'POST', path: '/crm/subscriptions/S1/reset?preview=yes' },
    ],
    [
      'a broken percent-encoding in the path',
      {
        method: 'POST',
        path: '/runs/executions/%E0%A4%A/stop',
        message: /^(?!The request body).*%E0%A4%A/,
      },
    ],
    ['a run code of __proto__', { method: 'POST', path: '/runs/__proto__/executions' }],
    [
      'a communication with a constructor key',
      {
        method: 'POST',
        path: '/communications',
        body: '{"communications":[{"externalSystem":"SMS","message":"x","recipients":{"constructor":{}}}]}',
      },
    ],
  ])('refuses %s', async (_name, call) => {
    await expectRefused(call)
  })
})

const MALFORMED = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc
    .json()
    .chain((json) =>
      fc.nat({ max: Math.max(0, json.length - 1) }).map((cut) => json.slice(0, cut)),
    ),
  fc.constantFrom('', '{', '[', 'null', 'true', '1e999', '"x"', '{"a":1,', '\u0000', '{}', '[]'),
)

/** Paths to every leaf and object of a JSON value. */
function paths(value: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  if (typeof value !== 'object' || value === null) {
    return [prefix]
  }
  const entries = Array.isArray(value)
    ? value.map((item, index) => [index, item] as const)
    : Object.entries(value)
  return [prefix, ...entries.flatMap(([key, child]) => paths(child, [...prefix, key]))]
}

/** A copy of `value` with the node at `path` replaced. */
function replaced(value: unknown, path: readonly (string | number)[], by: unknown): unknown {
  if (path.length === 0) {
    return by
  }
  const [head, ...rest] = path as [string | number, ...(string | number)[]]
  const copy = (Array.isArray(value) ? [...value] : { ...(value as object) }) as Record<
    string | number,
    unknown
  >
  copy[head] = replaced(copy[head], rest, by)
  return copy
}

/** A value no field of these schemas takes where a text, an array or an object is expected. */
const WRONG = fc.oneof(
  fc.constantFrom(1e308, -1e308, 2 ** 53 + 1, -1, 0.5, true, [], [[[[]]]], { '': 1 }),
  fc.double({ noDefaultInfinity: true, noNaN: true }).filter((n) => !Number.isInteger(n)),
)

/** A JSON text of a valid body, broken by construction. */
const BROKEN = fc.constantFrom(...BODY_PATHS).chain((path) => {
  const valid = VALID[path] as Record<string, unknown>
  const nodes = paths(valid).filter((p) => p.length > 0)
  return fc.oneof(
    // A text or enum field given a number, a boolean or a structure.
    fc
      .tuple(
        fc.constantFrom(
          ...nodes.filter(
            (p) => typeof p.reduce<unknown>((v, k) => (v as never)[k], valid) === 'string',
          ),
        ),
        WRONG,
      )
      .map(([at, by]) => ({ path, body: JSON.stringify(replaced(valid, at, by)) })),
    // An unknown key, prototype keys included, in any object.
    fc
      .tuple(
        fc.constantFrom(
          [] as (string | number)[],
          ...nodes.filter((p) => {
            const node = p.reduce<unknown>((v, k) => (v as never)[k], valid)
            return typeof node === 'object' && node !== null && !Array.isArray(node)
          }),
        ),
        fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'Action', 'extra'),
        fc.jsonValue({ maxDepth: 2 }),
      )
      .map(([at, key, by]) => {
        const target = at.reduce<unknown>((v, k) => (v as never)[k], valid) as object
        // JSON.stringify drops a __proto__ set by assignment; defineProperty makes it a key.
        const broken = { ...target }
        Object.defineProperty(broken, key, { value: by, enumerable: true })
        return { path, body: JSON.stringify(replaced(valid, at, broken)) }
      }),
    // A mandatory key missing (every top-level key but the send options is mandatory).
    fc
      .constantFrom(
        ...Object.keys(valid).filter(
          (key) =>
            ![
              'type',
              'priority',
              'process_immediately',
              'distributor',
              'height',
              'slot',
              'included',
            ].includes(key),
        ),
      )
      .map((key) => {
        const { [key]: _gone, ...rest } = valid
        return { path, body: JSON.stringify(rest) }
      }),
    // The whole body buried in arrays.
    fc.integer({ min: 1, max: 5000 }).map((depth) => ({
      path,
      body: `${'['.repeat(depth)}${JSON.stringify(valid)}${']'.repeat(depth)}`,
    })),
  )
})

const QUERY_VALUE = fc.oneof(
  fc.constantFrom('-1', '1.5', '1e999', 'NaN', 'Infinity', '', '%zz', '9'.repeat(30), 'maybe'),
  fc.string({ maxLength: 10 }).map((s) => `${encodeURIComponent(s)}x`),
)

/** Query strings that break their route's schema by construction. */
const BROKEN_QUERY = fc.oneof(
  fc
    .tuple(fc.constantFrom('number_of_results', 'offset', 'type', 'life_cycle_state'), QUERY_VALUE)
    .map(([key, value]) => `${BASE}/list?${key}=${value}`),
  fc
    .tuple(fc.constantFrom('id', 'number'), fc.constantFrom('', '%20'))
    .map(([key, value]) => `${BASE}/show?${key}=${value}`),
  fc
    .string({ minLength: 1, maxLength: 8 })
    .map((key) => `${BASE}/list?${encodeURIComponent(key)}_=1`),
  QUERY_VALUE.map((value) => `/runs/executions/none/requests?limit=${value}`),
  QUERY_VALUE.map((value) => `/communications?state=${value}`),
)

describe(`generated hostile API calls (seed ${SEED}, ${RUNS} runs)`, () => {
  it('answers each with a 4xx JSON error and stores nothing', async () => {
    const call: fc.Arbitrary<Call> = fc.oneof(
      BROKEN.map(({ path, body }) => ({ method: 'POST' as const, path, body })),
      fc
        .tuple(fc.constantFrom(...BODY_PATHS), MALFORMED)
        .map(([path, body]) => ({ method: 'POST' as const, path, body })),
      BROKEN_QUERY.map((path) => ({ method: 'GET' as const, path })),
      fc.string({ maxLength: 12 }).map((q) => ({
        method: 'POST' as const,
        path: `/runs/R/preview?limit=${encodeURIComponent(q)}x`,
      })),
    )
    await fc.assert(
      fc.asyncProperty(call, async (c) => {
        await expectRefused(c)
      }),
      { seed: SEED, numRuns: RUNS, endOnFailure: true },
    )
    const health = await fetch(`${adapter.url as string}/healthz`)
    expect(health.status).toBe(200)
  }, 60_000)
})
