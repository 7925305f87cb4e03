import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { renderFailedChecks } from '../report/console.js'
import { runScenario } from '../runner.js'
import { parseScenario } from '../scenario/load.js'
import { planOf } from './plan.js'
import { compareSoapCalls, observedCall } from './soap-calls.js'

// The v2 steps and expectations of issue 10, through small scenarios run by the real engine.

const PROVIDER = join(
  import.meta.dirname,
  '..',
  '..',
  '..',
  'fixtures',
  'scenarios',
  'providers',
  'conax-ws.yaml',
)

const GIVEN = `given:
  crm:
    subscriptions:
      - id: S1
        services: [{ service: GEOLOGICAL, distributor: Main }]
        installedItems:
          - { serialNumber: SC1, product: SC-CONAX, caId: '01450250001', distributor: Main }
          - { serialNumber: STB1, product: STB-HD, caId: '1000000001', distributor: Main }
`
const ADD_AF1 = `{ type: ADD_SUBSCRIPTIONS, smartcardCaId: '01450250001', serviceCaId: AF1, distributor: Main }`

async function run(body: string): Promise<Awaited<ReturnType<typeof runScenario>>> {
  const scenario = await parseScenario(
    `name: v2\nprovider: ${JSON.stringify(PROVIDER)}\n${GIVEN}${body}`,
    'v2.yaml',
  )
  return runScenario(scenario, { kind: 'in-process' })
}

function failuresOf(result: Awaited<ReturnType<typeof runScenario>>): string[] {
  return result.checks.flatMap((check) => check.failures.map((failure) => failure.message))
}

describe('v2 steps', () => {
  it('keeps a request PENDING while the CA is down, counting attempts, and completes it after up and advance', async () => {
    const result = await run(`when:
  - ca: down
  - crm: { action: ADD_SERVICE, subscriptionId: S1, service: AGRICULTURE, distributor: Main }
    expect:
      requests:
        - { type: ADD_SUBSCRIPTIONS, smartcardCaId: '01450250001', serviceCaId: AF1, distributor: Main, state: PENDING, attempts: 1, errorClass: RETRY, errorCode: CONNECTION_RESET }
  - advance: 1s
    expect:
      allRequests: [{ type: ADD_SUBSCRIPTIONS, smartcardCaId: '01450250001', serviceCaId: AF1, distributor: Main, state: PENDING, attempts: 2 }]
  - ca: up
  - advance: 2s
    expect:
      allRequests: [{ type: ADD_SUBSCRIPTIONS, smartcardCaId: '01450250001', serviceCaId: AF1, distributor: Main, attempts: 3 }]
      journal: [{ operation: AddSubscriptions, cards: ['01450250001'], products: [AF1] }]
then:
  ca: { cards: { '01450250001': { products: [GFA1, AF1] } } }
`)
    expect(result.verdict, renderFailedChecks(result, { color: false })).toBe('passed')
    expect(result.checks.filter((check) => check.step).map((check) => check.step?.label)).toEqual([
      'step 2 (ADD_SERVICE)',
      'step 3 (advance 1s)',
      'step 5 (advance 2s)',
    ])
  })

  it('fails a step expectation precisely: attempts, the journal and the CA state after the step', async () => {
    const result = await run(`when:
  - ca: { fault: { kind: SYSTEM_ERROR, operation: AddSubscriptions } }
  - crm: { action: ADD_SERVICE, subscriptionId: S1, service: AGRICULTURE, distributor: Main }
    expect:
      requests: [{ type: ADD_SUBSCRIPTIONS, smartcardCaId: '01450250001', serviceCaId: AF1, distributor: Main, state: PENDING, attempts: 2 }]
      journal: [{ operation: AddSubscriptions, status: OK }]
      ca: { cards: { '01450250001': { products: [GFA1, AF1] } } }
`)
    expect(result.verdict).toBe('failed')
    const step = result.checks.find((check) => check.step?.index === 1)
    expect(step?.failures.map((f) => [f.message, f.path])).toEqual([
      ['step 2 (ADD_SERVICE): request 1 attempts', 'when[1].expect.requests[0].attempts'],
      [
        'step 2 (ADD_SERVICE): the CA received other calls than expect.journal lists',
        'when[1].expect.journal',
      ],
      [
        'step 2 (ADD_SERVICE): card 01450250001: products',
        'when[1].expect.ca.cards.01450250001.products',
      ],
    ])
  })

  it('accepts a refusal that is one of several codes, and names them all when it is none', async () => {
    const passed = await run(`when:
  - crm: { action: ADD_SERVICE, subscriptionId: NOBODY, service: AGRICULTURE, distributor: Main }
    expect: { refusal: [SUBSCRIPTION_NOT_FOUND, ACTION_NOT_ALLOWED] }
`)
    const failed = await run(`when:
  - crm: { action: ADD_SERVICE, subscriptionId: NOBODY, service: AGRICULTURE, distributor: Main }
    expect: { refusal: [SERVICE_NOT_MAPPED, ACTION_NOT_ALLOWED] }
`)
    expect(passed.verdict, renderFailedChecks(passed, { color: false })).toBe('passed')
    expect(failuresOf(failed)).toContain(
      'step 1 (ADD_SERVICE): refused with SUBSCRIPTION_NOT_FOUND instead of SERVICE_NOT_MAPPED or ACTION_NOT_ALLOWED',
    )
  })

  it('says what is left when delivering until idle cannot finish (the CA stays down)', async () => {
    const result = await run(`when:
  - ca: down
  - crm: { action: ADD_SERVICE, subscriptionId: S1, service: AGRICULTURE, distributor: Main }
  - deliver: until-idle
`)
    expect(result.verdict).toBe('failed')
    expect(failuresOf(result).join('\n')).toMatch(
      /step 3 \(deliver until-idle\): 1 request\(s\) still PENDING after delivering until idle .* ADD_SUBSCRIPTIONS \(CONNECTION_RESET\)/,
    )
  })

  it('makes the CA drift, and says so when the drift cannot be made', async () => {
    const drifted = await run(`when:
  - ca: { removeProduct: { card: '01450250001', product: GFA1 } }
    expect: { ca: { cards: { '01450250001': { products: [] } } } }
`)
    const impossible = await run(`when:
  - ca: { removeProduct: { card: '01450250001', product: AF1 } }
    expect: { ca: { cards: { '01450250001': { products: [] } } } }
`)
    expect(drifted.verdict, renderFailedChecks(drifted, { color: false })).toBe('passed')
    expect(impossible).toMatchObject({ verdict: 'error', error: { code: 'CA_DRIFT_FAILED' } })
  })
})

describe('planOf and v2 scenarios', () => {
  it('replays the last allRequests, with drift in its place', async () => {
    const scenario = await parseScenario(
      `name: plan
provider: ${JSON.stringify(PROVIDER)}
${GIVEN}when:
  - ca: { unpair: '01450250001' }
  - crm: { action: ADD_SERVICE, subscriptionId: S1, service: AGRICULTURE, distributor: Main }
    expect: { requests: [{ type: ADD_SUBSCRIPTIONS, smartcardCaId: '01450250001', serviceCaId: AF1, distributor: Main, state: PENDING }] }
  - deliver: until-idle
    expect: { allRequests: [${ADD_AF1}] }
`,
      'plan.yaml',
    )
    const plan = planOf(scenario.data)
    expect(plan.replay.map((item) => item.origin)).toEqual(['expect.allRequests[0]'])
    expect(plan.drifts).toEqual([
      { before: 0, drift: { unpair: '01450250001' }, origin: 'when[0]' },
    ])
  })
})

describe('compareSoapCalls', () => {
  const entry = (operation: string, request: unknown, statusCode = 'OK', replay = false) =>
    observedCall({ seq: 1, service: 'subscription', operation, request, statusCode, replay })
  const add = (card: string, product: string) =>
    entry('AddSubscriptions', {
      Subscriptions: {
        Subscription: [{ CaClientId: card, ProductId: product, Distributor: 'Main' }],
      },
    })

  it('checks only the parameters given, in order, and shows the actual line with those fields', () => {
    const actual = [add('01450250002', 'GFA1'), add('01450250001', 'GFA1')]

    expect(
      compareSoapCalls(
        [
          { operation: 'AddSubscriptions', status: 'OK', products: ['GFA1'] },
          { operation: 'AddSubscriptions', status: 'OK' },
        ],
        actual,
        true,
      ),
    ).toBeNull()
    const diff = compareSoapCalls(
      [
        { operation: 'AddSubscriptions', status: 'OK', cards: ['01450250001'] },
        { operation: 'AddSubscriptions', status: 'OK', cards: ['01450250002'] },
      ],
      actual,
      true,
    )
    expect(diff).toMatchObject({
      firstDivergence: 0,
      expected: [
        'AddSubscriptions cards=01450250001 → OK',
        'AddSubscriptions cards=01450250002 → OK',
      ],
      actual: [
        'AddSubscriptions cards=01450250002 → OK',
        'AddSubscriptions cards=01450250001 → OK',
      ],
    })
    expect(
      compareSoapCalls(
        [
          { operation: 'AddSubscriptions', status: 'OK', cards: ['01450250001'] },
          { operation: 'AddSubscriptions', status: 'OK', cards: ['01450250002'] },
        ],
        actual,
        false,
      ),
    ).toBeNull()
  })

  it('reads cards, STBs, distributor and replay from a journal entry', () => {
    const pairing = entry(
      'CreatePairing',
      {
        CaClientIds: { CaClientId: ['01450250001'] },
        PairingModuleIds: { PairingModuleId: ['1000000001'] },
        Distributor: 'TWIN1',
      },
      'OK',
      true,
    )
    expect(pairing).toEqual({
      operation: 'CreatePairing',
      status: 'OK',
      cards: ['01450250001'],
      products: [],
      stbs: ['1000000001'],
      distributor: 'TWIN1',
      replay: true,
    })
    expect(entry('UpdateCaPinToDefaultValue', { CaClientId: '01450250009' }).cards).toEqual([
      '01450250009',
    ])
  })
})
