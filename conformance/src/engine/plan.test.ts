import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { renderFailedChecks } from '../report/console.js'
import { runScenario } from '../runner.js'
import { parseScenario } from '../scenario/load.js'
import { planOf } from './plan.js'

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
`
const ADD_AF1 = `{ type: ADD_SUBSCRIPTIONS, smartcardCaId: '01450250001', serviceCaId: AF1, distributor: Main }`
const ADD_EFA2 = `{ type: ADD_SUBSCRIPTIONS, smartcardCaId: '01450250001', serviceCaId: EFA2, distributor: Main }`

describe('planOf: the sequence a CA must receive', () => {
  it('takes then.requests when only some steps say what they create', async () => {
    // Step 1 names its request, step 2 does not; then.requests lists both. Following the steps
    // would expect step 1's request alone and fail on step 2's, which the scenario does expect.
    const scenario = await parseScenario(
      `name: partly per step
provider: ${JSON.stringify(PROVIDER)}
${GIVEN}when:
  - crm: { action: ADD_SERVICE, subscriptionId: S1, service: AGRICULTURE, distributor: Main }
    expect: { requests: [${ADD_AF1}] }
  - crm: { action: ADD_SERVICE, subscriptionId: S1, service: ENTERTAIN, distributor: Main }
then:
  requests: [${ADD_AF1}, ${ADD_EFA2}]
`,
      'partly.yaml',
    )
    const plan = planOf(scenario.data)
    expect(plan.replay.map((item) => item.origin)).toEqual(['then.requests[0]', 'then.requests[1]'])

    const result = await runScenario(scenario, { kind: 'in-process' })
    expect(result.verdict, renderFailedChecks(result, { color: false })).toBe('passed')
  })

  it('follows the steps when each says what it creates or that it is refused', async () => {
    const scenario = await parseScenario(
      `name: per step
provider: ${JSON.stringify(PROVIDER)}
${GIVEN}when:
  - crm: { action: ADD_SERVICE, subscriptionId: S1, service: AGRICULTURE, distributor: Main }
    expect: { requests: [${ADD_AF1}] }
  - crm: { action: ADD_SERVICE, subscriptionId: NOBODY, service: ENTERTAIN, distributor: Main }
    expect: { refusal: SUBSCRIPTION_NOT_FOUND }
  - ca: ${ADD_EFA2}
then:
  requests: [${ADD_AF1}]
`,
      'steps.yaml',
    )
    expect(planOf(scenario.data).replay.map((item) => item.origin)).toEqual([
      'when[0].expect.requests[0]',
      'when[2]',
    ])
  })
})

describe('planOf: where advance steps fall in the replay', () => {
  it('places each before the next command it precedes, with the step it comes from', async () => {
    const scenario = await parseScenario(
      `name: advances
provider: ${JSON.stringify(PROVIDER)}
${GIVEN}when:
  - advance: 90s
  - crm: { action: ADD_SERVICE, subscriptionId: S1, service: AGRICULTURE, distributor: Main }
    expect: { requests: [${ADD_AF1}] }
  - advance: 2m
  - ca: ${ADD_EFA2}
  - advance: 1500ms
`,
      'advances.yaml',
    )
    expect(planOf(scenario.data).advances).toEqual([
      { before: 0, ms: 90_000, origin: 'when[0]' },
      { before: 1, ms: 120_000, origin: 'when[2]' },
      { before: 2, ms: 1_500, origin: 'when[4]' },
    ])
  })
})
