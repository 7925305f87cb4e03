import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { renderFailedChecks } from '../report/console.js'
import { runScenario } from '../runner.js'
import { parseScenario } from '../scenario/load.js'

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

// A process-immediately call makes the adapter wait up to 30 s of real time for the outcome.
// The scenario's clock moves only when a step says so, so with the CA down the request cannot
// become final in that wait: before the fix, each of these steps hung for 30 s and the test
// ran out of the conformance project's 20 s. Now the step comes back at once, its request
// PENDING, and the scenario goes on.
describe('process-immediately steps while the CA is down', () => {
  it('a utility comes back with its request PENDING, and completes once the CA is up', async () => {
    const scenario = await parseScenario(
      `name: utility while down
provider: ${JSON.stringify(PROVIDER)}
${GIVEN}when:
  - ca: down
  - utility: { utility: RESET_PIN, smartcard: '01450250001', subscriptionId: S1, pin: '4321' }
    expect:
      requests:
        - { type: UPDATE_CA_PIN_TO_GIVEN_VALUE, smartcardCaId: '01450250001', pin: '4321', distributor: Main, state: PENDING, attempts: 1, errorCode: CONNECTION_RESET }
  - ca: up
  - deliver: until-idle
    expect:
      allRequests:
        - { type: UPDATE_CA_PIN_TO_GIVEN_VALUE, smartcardCaId: '01450250001', pin: '4321', distributor: Main, attempts: 2 }
then:
  ca: { cards: { '01450250001': { pin: '4321' } } }
`,
      'utility-down.yaml',
    )
    const result = await runScenario(scenario, { kind: 'in-process' })
    expect(result.verdict, renderFailedChecks(result, { color: false })).toBe('passed')
  })

  it('a crm action with processImmediately comes back with its request PENDING', async () => {
    const scenario = await parseScenario(
      `name: action while down
provider: ${JSON.stringify(PROVIDER)}
${GIVEN}when:
  - ca: down
  - crm: { action: ADD_SERVICE, subscriptionId: S1, service: AGRICULTURE, distributor: Main, processImmediately: true }
    expect:
      requests:
        - { type: ADD_SUBSCRIPTIONS, smartcardCaId: '01450250001', serviceCaId: AF1, distributor: Main, state: PENDING, attempts: 1, errorClass: RETRY }
then:
  ca: { cards: { '01450250001': { products: [GFA1] } } }
`,
      'action-down.yaml',
    )
    const result = await runScenario(scenario, { kind: 'in-process' })
    expect(result.verdict, renderFailedChecks(result, { color: false })).toBe('passed')
  })
})
