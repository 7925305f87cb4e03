import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Simulator } from '../create-simulator.js'
import { CARD_A, adminAuth, callSoap, startTestSimulator } from '../test-support/soap.js'

/** The value of one sample line of a Prometheus text answer, or null when it is absent. */
function sample(text: string, line: string): number | null {
  const found = text.split('\n').find((row) => row.startsWith(`${line} `))
  return found === undefined ? null : Number(found.slice(line.length + 1))
}

describe('GET /metrics on the simulator', () => {
  let sim: Simulator
  beforeAll(async () => {
    sim = await startTestSimulator()
  })
  afterAll(() => sim.close())

  it('needs the admin token, as the admin API does', async () => {
    const res = await fetch(`${sim.url}/metrics`)
    expect(res.status).toBe(401)
  })

  it('counts SOAP calls by service, operation and status, with their latency and the state size', async () => {
    const subscribe = { Subscriptions: { Subscription: { CaClientId: CARD_A, ProductId: 'GFA1' } } }
    expect((await callSoap(sim, 'subscription', 'AddSubscriptions', subscribe)).statusCode).toBe(
      'OK',
    )
    const unknownCard = { CaClientId: '01234567890', Pin: '1111' }
    expect((await callSoap(sim, 'ca-pin', 'UpdateCaPinToGivenValue', unknownCard)).statusCode).toBe(
      'CLIENT_NOT_FOUND',
    )
    const res = await fetch(`${sim.url}/metrics`, { headers: adminAuth(sim) })
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toContain('text/plain')
    const text = await res.text()
    expect(
      sample(
        text,
        'conax_sim_soap_requests_total{service="subscription",operation="AddSubscriptions",status="OK"}',
      ),
    ).toBe(1)
    expect(
      sample(
        text,
        'conax_sim_soap_requests_total{service="ca-pin",operation="UpdateCaPinToGivenValue",status="CLIENT_NOT_FOUND"}',
      ),
    ).toBe(1)
    expect(
      sample(text, 'conax_sim_soap_request_duration_seconds_count{operation="AddSubscriptions"}'),
    ).toBe(1)
    expect(sample(text, 'conax_sim_smartcards')).toBe(sim.model.stats().smartcards)
    expect(sample(text, 'conax_sim_journal_entries')).toBe(2)
  })
})
