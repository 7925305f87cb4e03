// The scratch project of `npm run test:pack`: it imports the packed package by its names, under
// strict NodeNext type checking, and uses each entry point once. Its last line is a JSON report.
import { join } from 'node:path'
import {
  SOAP11_ENV,
  serviceNamespace,
  startSimulator,
  type Simulator,
} from 'conax-contego-sim/simulator'
import { runScenarios, shippedScenarioFolder, type RunResult } from 'conax-contego-sim/conformance'
import { planAction, type CrmAction } from 'conax-contego-sim/adapter'

const CARD = '01450253313'

const sim: Simulator = await startSimulator({
  port: 0,
  inventory: { smartcards: [{ caClientId: CARD }], products: [{ productId: 'GFA1' }] },
})
const envelope = `<?xml version="1.0" encoding="UTF-8"?><s:Envelope xmlns:s="${SOAP11_ENV}"><s:Body><c:AddSubscriptions xmlns:c="${serviceNamespace('subscription')}"><AddSubscriptionsRequest><Subscriptions><Subscription><CaClientId>${CARD}</CaClientId><ProductId>GFA1</ProductId></Subscription></Subscriptions></AddSubscriptionsRequest></c:AddSubscriptions></s:Body></s:Envelope>`
const answer = await fetch(sim.serviceUrl('subscription'), {
  method: 'POST',
  headers: {
    'Content-Type': 'text/xml; charset=utf-8',
    Authorization: `Basic ${Buffer.from('sms:sms').toString('base64')}`,
  },
  body: envelope,
})
const soapBody = await answer.text()
const products = sim.model.card(CARD)?.subscriptions.map((product) => product.productId) ?? []
await sim.close()

const scenario = join(
  shippedScenarioFolder(),
  'business',
  'scenario-2-example-1-flexible-bundle.yaml',
)
const run: RunResult = await runScenarios([scenario], { kind: 'in-process' })

const action: CrmAction['action'] = 'BECOME_SUBSCRIBER'

console.log(
  JSON.stringify({
    soapStatus: answer.status,
    soapOk: soapBody.includes('OK'),
    products,
    verdicts: run.scenarios.map((result) => result.verdict),
    action,
    planAction: typeof planAction,
  }),
)
