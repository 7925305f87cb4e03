import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Simulator } from '../../../simulator/src/index.js'
import type { Adapter } from '../../create-adapter.js'
import {
  apiAgent,
  card,
  cardItem,
  startTestAdapter,
  startTestCa,
  stbItem,
} from '../../test-support/adapter-harness.js'

/** The value of one sample line of a Prometheus text answer, or null when it is absent. */
function sample(text: string, line: string): number | null {
  const found = text.split('\n').find((row) => row.startsWith(`${line} `))
  return found === undefined ? null : Number(found.slice(line.length + 1))
}

describe('GET /metrics on the adapter', () => {
  let sim: Simulator
  let adapter: Adapter
  beforeAll(async () => {
    sim = await startTestCa(5)
    adapter = await startTestAdapter(sim, { port: 0 })
    for (const n of [1, 2]) {
      await adapter.service.applyAction({
        action: 'BECOME_SUBSCRIBER',
        subscriptionId: `S${n}`,
        type: 'RESIDENTIAL',
        services: [{ service: 'GEOLOGICAL', distributor: 'Main' }],
        installedItems: [cardItem(n), stbItem(n)],
      })
    }
    await adapter.deliverDue()
  })
  afterAll(async () => {
    await adapter.close()
    await sim.close()
  })

  it('needs the API token, as the rest of the API does', async () => {
    expect((await fetch(`${adapter.url as string}/metrics`)).status).toBe(401)
  })

  it('counts SOAP calls by type and outcome, times them, and shows the PENDING requests and a run in progress', async () => {
    // A reset run whose repair stays PENDING (no background delivery): the execution is DELIVERING.
    sim.model.forceRemoveProduct(card(2), 'GFA1')
    await apiAgent(adapter)
      .post('/runs')
      .send({ name: 'Reset', alternativeCode: 'RESET', kind: 'RESET_SUBSCRIPTION' })
      .expect(201)
    const started = await apiAgent(adapter).post('/runs/RESET/executions').expect(202)
    const execution = await adapter.runs.settled(started.body.data.id as string)
    expect(execution.state).toBe('DELIVERING')

    const res = await apiAgent(adapter).get('/metrics').expect(200)
    expect(res.headers['content-type']).toContain('text/plain')
    const text = res.text
    const delivered = (await adapter.store.listRequests({ lifeCycleState: 'COMPLETED' })).items
    const pairings = delivered.filter((request) => request.type === 'CREATE_PAIRING').length
    expect(pairings).toBe(2)
    expect(
      sample(
        text,
        'conax_adapter_soap_calls_total{type="CREATE_PAIRING",outcome="COMPLETED",code="OK"}',
      ),
    ).toBe(pairings)
    expect(
      sample(text, 'conax_adapter_soap_call_duration_seconds_count{type="CREATE_PAIRING"}'),
    ).toBe(pairings)
    expect(sample(text, 'conax_adapter_pending_requests')).toBe(1)
    const of = `run="${execution.runId}",execution="${execution.id}",kind="RESET_SUBSCRIPTION",state="DELIVERING"`
    expect(sample(text, `conax_adapter_run_pending_requests{${of}}`)).toBe(1)
    expect(sample(text, `conax_adapter_run_processed_items{${of}}`)).toBe(2)
    expect(sample(text, `conax_adapter_run_progress_ratio{${of}}`)).toBe(1)
  })
})
