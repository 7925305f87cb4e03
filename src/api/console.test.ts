import request from 'supertest'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { Simulator } from '../../simulator/src/index.js'
import type { Adapter } from '../create-adapter.js'
import {
  apiAgent,
  card,
  cardItem,
  startTestAdapter,
  startTestCa,
  stb,
  stbItem,
} from '../test-support/adapter-harness.js'

// The adapter console's files (public, with a CSP) and the request list filters it uses.

const LIST = '/conax_web_services/provisioning_requests/list'
let sim: Simulator
let adapter: Adapter

beforeEach(async () => {
  sim = await startTestCa(4)
  adapter = await startTestAdapter(sim, { port: 0 })
})
afterEach(async () => {
  await adapter.close()
  await sim.close()
})

describe('adapter console', () => {
  it('serves its page and scripts without a token, with a CSP that allows no inline script', async () => {
    const page = await request(adapter.url as string).get('/console/')
    expect(page.status).toBe(200)
    expect(page.text).toContain('conax-adapter console')
    expect(page.headers['content-security-policy']).toContain("script-src 'self'")
    expect(page.headers['content-security-policy']).not.toContain('unsafe-inline')
    const script = await request(adapter.url as string).get('/console/app.js')
    expect([script.status, script.headers['content-type']]).toEqual([
      200,
      'text/javascript; charset=utf-8',
    ])
    expect((await request(adapter.url as string).get('/console/nope.js')).status).toBe(404)
    expect((await request(adapter.url as string).get(LIST)).status).toBe(401)
  })

  it('lists requests by the CA ID they name and by process name', async () => {
    await apiAgent(adapter)
      .post('/crm/actions')
      .send({
        action: 'BECOME_SUBSCRIBER',
        subscriptionId: 'S1',
        type: 'RESIDENTIAL',
        services: [{ service: 'GEOLOGICAL', distributor: 'Main' }],
        installedItems: [cardItem(1), stbItem(1)],
      })
      .expect(201)
    const all = await apiAgent(adapter).get(LIST).expect(200)
    expect(all.body.total).toBeGreaterThan(1)
    const byCard = await apiAgent(adapter)
      .get(`${LIST}?ca_id=${card(1)}`)
      .expect(200)
    expect(byCard.body.total).toBe(all.body.total)
    const bySTB = await apiAgent(adapter).get(`${LIST}?ca_id=${stb(1)}&type=CREATE_PAIRING`)
    expect(bySTB.body.data).toMatchObject([{ type: 'CREATE_PAIRING' }])
    const byOther = await apiAgent(adapter)
      .get(`${LIST}?ca_id=${card(2)}`)
      .expect(200)
    expect(byOther.body.total).toBe(0)
    const byProcess = await apiAgent(adapter).get(`${LIST}?process_name=RESET_PIN`).expect(200)
    expect(byProcess.body.total).toBe(0)
    const processes = new Set(
      (all.body.data as { process_name: string }[]).map((r) => r.process_name),
    )
    const [name] = [...processes]
    const byName = await apiAgent(adapter).get(`${LIST}?process_name=${name}`).expect(200)
    expect(byName.body.total).toBe(all.body.total)
    const refused = await apiAgent(adapter).get(`${LIST}?process_name=NOPE`)
    expect([refused.status, refused.body.error.code]).toEqual([400, 'INVALID_REQUEST'])
  })
})
