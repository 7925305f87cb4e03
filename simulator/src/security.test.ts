import { once } from 'node:events'
import { connect, type Socket } from 'node:net'
import { afterEach, beforeEach, describe, expect, it, onTestFinished } from 'vitest'
import { rawRequest } from '../../common/test-support/raw-request.js'
import { startSimulator, type Simulator } from './create-simulator.js'
import {
  CARD_A,
  adminAuth,
  callSoap,
  requestEnvelope,
  startTestSimulator,
} from './test-support/soap.js'

// Issue 9, items 6 and 7: the admin API needs its token, the Host header must name the
// simulator, cross-origin writes are refused, and connections and bodies are bounded.

const SOAP_AUTH = `Basic ${Buffer.from('sms:sms').toString('base64')}`
const addGfa1 = requestEnvelope('subscription', 'AddSubscriptions', {
  Subscriptions: { Subscription: [{ CaClientId: CARD_A, ProductId: 'GFA1', Distributor: 'Main' }] },
})

describe('the admin token', () => {
  let sim: Simulator
  beforeEach(async () => {
    sim = await startTestSimulator()
  })
  afterEach(async () => {
    await sim.close()
  })

  it('generates a random token when none is configured and exposes it', async () => {
    const other = await startTestSimulator()
    onTestFinished(() => other.close())
    expect(sim.adminToken).toMatch(/^[A-Za-z0-9_-]{43}$/)
    expect(sim.adminTokenGenerated).toBe(true)
    expect(other.adminToken).not.toBe(sim.adminToken)
  })

  it('answers every admin route 401 with WWW-Authenticate without it, 200 with it', async () => {
    for (const [method, path] of [
      ['GET', `/admin/cards/${CARD_A}`],
      ['GET', '/admin/journal'],
      ['POST', '/admin/reset'],
      ['POST', '/admin/inventory'],
      ['GET', '/admin/faults'],
      // express matches paths case-insensitively: the token is not tied to the /admin spelling.
      ['POST', '/ADMIN/reset'],
      ['GET', '/no/such/route'],
    ] as const) {
      const res = await fetch(`${sim.url}${path}`, { method })
      expect(res.status, `${method} ${path}`).toBe(401)
      expect(res.headers.get('www-authenticate')).toBe('Bearer realm="conax-sim admin API"')
      expect(await res.json()).toEqual({
        error: {
          code: 'UNAUTHORIZED',
          message: expect.stringContaining("'Authorization: Bearer <token>'"),
        },
      })
    }
    expect(sim.model.card(CARD_A)).not.toBeNull()
    const wrong = await fetch(`${sim.url}/admin/cards/${CARD_A}`, {
      headers: { Authorization: `Bearer ${sim.adminToken}x` },
    })
    expect(wrong.status).toBe(401)
    const right = await fetch(`${sim.url}/admin/cards/${CARD_A}`, { headers: adminAuth(sim) })
    expect(right.status).toBe(200)
  })

  it('leaves /healthz, the WSDLs and SOAP (HTTP Basic) without the bearer token', async () => {
    expect((await fetch(`${sim.url}/healthz`)).status).toBe(200)
    expect((await fetch(sim.wsdlUrl('pairing'))).status).toBe(200)
    const answer = await callSoap(sim, 'ca-pin', 'UpdateCaPinToDefaultValue', {
      CaClientId: CARD_A,
    })
    expect(answer.statusCode).toBe('OK')
  })

  it('uses the configured token', async () => {
    const configured = await startTestSimulator({ adminToken: 'configured-token-0123456789' })
    onTestFinished(() => configured.close())
    expect(configured.adminToken).toBe('configured-token-0123456789')
    expect(configured.adminTokenGenerated).toBe(false)
    const res = await fetch(`${configured.url}/admin/stats`, {
      headers: { Authorization: 'Bearer configured-token-0123456789' },
    })
    expect(res.status).toBe(200)
  })
})

describe('the Host header (DNS rebinding)', () => {
  let sim: Simulator
  beforeEach(async () => {
    sim = await startTestSimulator()
  })
  afterEach(async () => {
    await sim.close()
  })

  it('refuses a foreign Host on every path, the token notwithstanding', async () => {
    const evil = { Host: `evil.example:${sim.port}` }
    const admin = await rawRequest(`${sim.url}/admin/cards/${CARD_A}`, {
      headers: { ...evil, ...adminAuth(sim) },
    })
    expect(admin.status).toBe(403)
    expect(JSON.parse(admin.body)).toEqual({
      error: { code: 'HOST_NOT_ALLOWED', message: expect.stringContaining("'evil.example:") },
    })
    const health = await rawRequest(`${sim.url}/healthz`, { headers: evil })
    expect(health.status).toBe(403)
    const wsdl = await rawRequest(sim.wsdlUrl('pairing'), { headers: evil })
    expect(wsdl.status).toBe(403)
    expect(wsdl.headers['content-type']).toMatch(/^text\/plain/)
    expect(wsdl.body).toMatch(/^HOST_NOT_ALLOWED: /)
    const soap = await rawRequest(sim.serviceUrl('subscription'), {
      method: 'POST',
      headers: { ...evil, Authorization: SOAP_AUTH, 'Content-Type': 'text/xml; charset=utf-8' },
      body: addGfa1,
    })
    expect(soap.status).toBe(403)
    expect(soap.body).toMatch(/^HOST_NOT_ALLOWED: /)
    expect(sim.model.card(CARD_A)?.subscriptions).toEqual([])
    expect(sim.journal.list()).toEqual([])
  })

  it('accepts the names of allowedHosts', async () => {
    const proxied = await startTestSimulator({ allowedHosts: ['sim.internal'] })
    onTestFinished(() => proxied.close())
    const res = await rawRequest(`${proxied.url}/healthz`, { headers: { Host: 'sim.internal' } })
    expect(res.status).toBe(200)
  })
})

describe('cross-origin requests', () => {
  let sim: Simulator
  beforeEach(async () => {
    sim = await startTestSimulator()
    await callSoap(sim, 'subscription', 'AddSubscriptions', {
      Subscriptions: { Subscription: [{ CaClientId: CARD_A, ProductId: 'GFA1' }] },
    })
  })
  afterEach(async () => {
    await sim.close()
  })

  it('refuses a cross-site POST /admin/reset, token or not, and changes nothing', async () => {
    const before = sim.model.toSnapshot()
    const journalled = sim.journal.size()
    for (const headers of [
      { Origin: 'https://evil.example', 'Content-Type': 'text/plain' },
      { Origin: 'https://evil.example', ...adminAuth(sim) },
      { 'Sec-Fetch-Site': 'cross-site', ...adminAuth(sim) },
    ]) {
      const res = await fetch(`${sim.url}/admin/reset`, { method: 'POST', headers, body: '{}' })
      expect(res.status).toBe(403)
      expect(res.headers.get('access-control-allow-origin')).toBeNull()
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe(
        'CROSS_ORIGIN_REFUSED',
      )
    }
    expect(sim.model.toSnapshot()).toEqual(before)
    expect(sim.journal.size()).toBe(journalled)
    expect(sim.model.card(CARD_A)?.subscriptions.map((s) => s.productId)).toEqual(['GFA1'])
  })

  it('refuses a CORS preflight and sends no CORS header', async () => {
    const res = await fetch(`${sim.url}/admin/reset`, {
      method: 'OPTIONS',
      headers: { Origin: 'https://evil.example', 'Access-Control-Request-Method': 'POST' },
    })
    expect(res.status).toBe(403)
    expect([...res.headers.keys()].filter((name) => name.startsWith('access-control-'))).toEqual([])
  })

  it('refuses a SOAP write from a web page (text answer), and applies nothing', async () => {
    const res = await fetch(sim.serviceUrl('ca-pin'), {
      method: 'POST',
      headers: {
        Origin: 'https://evil.example',
        Authorization: SOAP_AUTH,
        'Content-Type': 'text/plain',
      },
      body: requestEnvelope('ca-pin', 'UpdateCaPinToGivenValue', {
        CaClientId: CARD_A,
        Pin: '6666',
      }),
    })
    expect(res.status).toBe(403)
    expect(await res.text()).toMatch(/^CROSS_ORIGIN_REFUSED: /)
    expect(sim.model.card(CARD_A)?.pin).toBe('1234')
  })

  it('answers CORS for an allowed origin only', async () => {
    const open = await startTestSimulator({ allowedOrigins: ['https://tool.example'] })
    onTestFinished(() => open.close())
    const res = await fetch(`${open.url}/admin/stats`, {
      headers: { Origin: 'https://tool.example', ...adminAuth(open) },
    })
    expect(res.status).toBe(200)
    expect(res.headers.get('access-control-allow-origin')).toBe('https://tool.example')
  })
})

describe('listening beyond loopback', () => {
  it('refuses a non-loopback host without a configured token', async () => {
    for (const host of ['0.0.0.0', '::']) {
      await expect(startSimulator({ host })).rejects.toMatchObject({
        name: 'SimulatorError',
        code: 'INSECURE_BIND',
        message: expect.stringMatching(
          new RegExp(
            `^Refusing to listen on ${host} without a configured admin token: .*CONTEGO_SIM_ADMIN_TOKEN`,
          ),
        ),
      })
    }
  })

  it('starts with a configured token, and then any Host may reach it', async () => {
    const sim = await startSimulator({ host: '0.0.0.0', adminToken: 'lan-test-token-0123456789' })
    onTestFinished(() => sim.close())
    const res = await rawRequest(`http://127.0.0.1:${sim.port}/healthz`, {
      headers: { Host: 'sim.lan' },
    })
    expect(res.status).toBe(200)
  })

  it('refuses a short token and a malformed allowed host', async () => {
    await expect(startSimulator({ adminToken: 'short' })).rejects.toMatchObject({
      code: 'INVALID_OPTION',
      message: expect.stringMatching(/^adminToken must be 16 to 512 characters/),
    })
    await expect(startSimulator({ allowedHosts: ['http://x'] })).rejects.toMatchObject({
      code: 'INVALID_OPTION',
    })
  })
})

describe('admin bounds', () => {
  it('refuses a JSON body over adminBodyLimitBytes with 413 naming the limit', async () => {
    const sim = await startTestSimulator({ adminBodyLimitBytes: 2048 })
    onTestFinished(() => sim.close())
    const cards = Array.from({ length: 200 }, (_, i) => ({
      caClientId: `055${String(i).padStart(8, '0')}`,
    }))
    const res = await fetch(`${sim.url}/admin/inventory`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', ...adminAuth(sim) },
      body: JSON.stringify({ smartcards: cards }),
    })
    expect(res.status).toBe(413)
    expect(await res.json()).toEqual({
      error: {
        code: 'PAYLOAD_TOO_LARGE',
        message: expect.stringContaining('limit of 2048 bytes (adminBodyLimitBytes)'),
      },
    })
    expect(sim.model.card('05500000000')).toBeNull()
  })

  it('refuses a page above the maximum with 422 naming the limit, instead of cutting it', async () => {
    const sim = await startTestSimulator()
    onTestFinished(() => sim.close())
    for (const path of ['/admin/cards?limit=10001', '/admin/journal?limit=10001']) {
      const res = await fetch(`${sim.url}${path}`, { headers: adminAuth(sim) })
      expect(res.status, path).toBe(422)
      expect(await res.json()).toEqual({
        error: {
          code: 'LIMIT_EXCEEDED',
          message: expect.stringContaining('limit is 10001, above the maximum of 10000 per page'),
        },
      })
    }
    const page = await fetch(`${sim.url}/admin/cards?limit=10000`, { headers: adminAuth(sim) })
    expect(page.status).toBe(200)
    const small = await startTestSimulator({ adminPageLimit: 2 })
    onTestFinished(() => small.close())
    const res = await fetch(`${small.url}/admin/cards?limit=3`, { headers: adminAuth(small) })
    expect(res.status).toBe(422)
  })
})

describe('connections', () => {
  const opened: Socket[] = []
  afterEach(() => {
    opened.splice(0).forEach((socket) => socket.destroy())
  })

  async function openIdle(port: number): Promise<Socket> {
    const socket = connect(port, '127.0.0.1')
    opened.push(socket)
    await once(socket, 'connect')
    return socket
  }

  it('serves a new client past the cap by closing the connection idle the longest', async () => {
    const sim = await startTestSimulator({ http: { maxConnections: 8 } })
    onTestFinished(() => sim.close())
    const idle: Socket[] = []
    for (let i = 0; i < 8; i++) {
      idle.push(await openIdle(sim.port))
    }
    const oldestClosed = once(idle[0]!, 'close')
    const answer = await callSoap(sim, 'ca-pin', 'UpdateCaPinToDefaultValue', {
      CaClientId: CARD_A,
    })
    expect(answer.statusCode).toBe('OK')
    await oldestClosed
    expect(idle.slice(1).every((socket) => !socket.destroyed)).toBe(true)
    expect(sim.connectionStats()).toMatchObject({ evicted: 1, refused: 0 })
  })

  it('closes a client whose headers come too slowly', async () => {
    const sim = await startTestSimulator({
      http: { headersTimeoutMs: 100, requestTimeoutMs: 1000 },
    })
    onTestFinished(() => sim.close())
    const slow = await openIdle(sim.port)
    slow.write('POST /ca-server/webservices/caclient/subscription HTTP/1.1\r\nHost: 127.0')
    const answer: Buffer[] = []
    slow.on('data', (chunk: Buffer) => answer.push(chunk))
    await once(slow, 'close')
    expect(Buffer.concat(answer).toString('latin1')).toMatch(/^HTTP\/1.1 408/)
  })

  it('closes a connection that sends nothing within idleTimeoutMs', async () => {
    const sim = await startTestSimulator({ http: { idleTimeoutMs: 50 } })
    onTestFinished(() => sim.close())
    await once(await openIdle(sim.port), 'close')
    expect(sim.connectionStats()).toMatchObject({ open: 0, timedOut: 1 })
  })
})
