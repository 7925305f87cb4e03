import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { request as httpsRequest } from 'node:https'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pino } from 'pino'
import request from 'supertest'
import { afterEach, beforeEach, describe, expect, it, onTestFinished } from 'vitest'
import { startSimulator, type Simulator } from './create-simulator.js'
import { packageRoot } from './runtime/package-root.js'
import {
  CARD_A,
  CARD_B,
  STB_1,
  STB_2,
  TEST_INVENTORY,
  adminApi,
  callSoap,
  postSoap,
  requestEnvelope,
  startTestSimulator,
} from './test-support/soap.js'

const addGfa1 = (card = CARD_A, sequence?: number): Record<string, unknown> => ({
  Subscriptions: { Subscription: [{ CaClientId: card, ProductId: 'GFA1', Distributor: 'Main' }] },
  ...(sequence === undefined ? {} : { SequenceNumber: sequence }),
})

function tempFile(name: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'conax-sim-'))
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }))
  return join(dir, name)
}

describe('HTTP surface', () => {
  let sim: Simulator
  beforeEach(async () => {
    sim = await startTestSimulator()
  })
  afterEach(async () => {
    await sim.close()
  })

  it('activates a product over SOAP and shows it in the admin card view', async () => {
    const answer = await callSoap(sim, 'subscription', 'AddSubscriptions', addGfa1())
    expect(answer.status).toBe(200)
    expect(answer.statusCode).toBe('OK')
    const card = await adminApi(sim).get(`/admin/cards/${CARD_A}`).expect(200)
    expect(card.body).toMatchObject({
      caClientId: CARD_A,
      pin: '1234',
      subscriptions: [{ productId: 'GFA1', distributor: 'Main' }],
      pairing: null,
      inbox: [],
      screen: [],
      fingerprints: [],
    })
  })

  it('refuses missing and wrong credentials with 401 and WWW-Authenticate, changing nothing', async () => {
    for (const auth of [null, 'sms:wrong', 'nobody:sms', 'not-basic']) {
      const answer = await callSoap(sim, 'subscription', 'AddSubscriptions', addGfa1(), { auth })
      expect(answer.status).toBe(401)
    }
    const res = await request(sim.url)
      .post('/ca-server/webservices/caclient/subscription')
      .send('x')
    expect(res.headers['www-authenticate']).toMatch(/^Basic /)
    expect(sim.model.card(CARD_A)?.subscriptions).toEqual([])
    expect(sim.journal.list().map((e) => e.statusCode)).toContain('HTTP_401')
  })

  it('accepts several configured users', async () => {
    const answer = await callSoap(
      sim,
      'ca-pin',
      'UpdateCaPinToDefaultValue',
      { CaClientId: '09999999999' },
      {
        auth: 'other:other',
      },
    )
    expect(answer.statusCode).toBe('OK')
  })

  it('accepts a SOAPAction naming the operation and refuses one naming another', async () => {
    const ns = 'http://www.conax.com/cas/xsd/subscription/v1'
    const ok = await callSoap(sim, 'subscription', 'AddSubscriptions', addGfa1(), {
      soapAction: `"${ns}/AddSubscriptions"`,
    })
    expect(ok.statusCode).toBe('OK')
    const empty = await callSoap(sim, 'subscription', 'AddSubscriptions', addGfa1(), {
      soapAction: '""',
    })
    expect(empty.statusCode).toBe('OK')
    const wrong = await callSoap(sim, 'subscription', 'AddSubscriptions', addGfa1(CARD_B), {
      soapAction: 'CancelSubscriptions',
    })
    expect(wrong.status).toBe(500)
    expect(wrong.fault).toEqual({
      code: 'soap:Client',
      reason: expect.stringContaining('does not match') as string,
    })
    expect(sim.model.card(CARD_B)?.subscriptions).toEqual([])
  })

  it('serves each WSDL on GET ?wsdl and refuses other methods with 405', async () => {
    const wsdl = await request(sim.url)
      .get('/ca-server/webservices/caclient/ca-pin?wsdl')
      .expect(200)
    expect(wsdl.headers['content-type']).toMatch(/text\/xml/)
    expect(wsdl.text).toContain('UpdateCaPinToGivenValue')
    await request(sim.url).get('/ca-server/webservices/caclient/ca-pin').expect(405)
    await request(sim.url).put('/ca-server/webservices/caclient/ca-pin').expect(405)
  })

  it('answers unknown paths with a JSON error naming the route', async () => {
    const res = await adminApi(sim).get('/ca-server/webservices/caclient/nothing').expect(404)
    expect(res.body).toEqual({
      error: { code: 'NOT_FOUND', message: expect.stringContaining('/ca-server') as string },
    })
  })

  it('is healthy once started', async () => {
    const res = await request(sim.url).get('/healthz')
    expect({ status: res.status, body: res.body as unknown }).toEqual({
      status: 200,
      body: { status: 'ok' },
    })
  })
})

describe('hostile input', () => {
  let sim: Simulator
  beforeEach(async () => {
    sim = await startTestSimulator({
      bodyLimitBytes: 64 * 1024,
      xmlLimits: { maxDepth: 20, maxElements: 2000 },
    })
  })
  afterEach(async () => {
    await sim.close()
  })

  const assertNothingChanged = async (): Promise<void> => {
    expect(sim.model.card(CARD_A)?.subscriptions).toEqual([])
    const next = await callSoap(sim, 'ca-pin', 'UpdateCaPinToDefaultValue', { CaClientId: CARD_A })
    expect(next.statusCode).toBe('OK')
  }

  it("answers malformed XML with the Couldn't parse stream fault", async () => {
    for (const body of ['<s:Envelope', 'not xml at all', '<a><b></a>', '', '<a>&bogus;</a>']) {
      const answer = await postSoap(sim, 'subscription', body)
      expect(answer.status).toBe(500)
      expect(answer.fault).toEqual({ code: 'soap:Server', reason: "Couldn't parse stream." })
    }
    await assertNothingChanged()
  })

  it('refuses a body that is not valid text in its character set', async () => {
    const bytes = Buffer.concat([
      Buffer.from('<a>'),
      Buffer.from([0xff, 0xfe, 0xfd]),
      Buffer.from('</a>'),
    ])
    const answer = await postSoap(sim, 'subscription', bytes)
    expect(answer.fault?.reason).toBe("Couldn't parse stream.")
  })

  it('refuses DOCTYPE and entity declarations without expanding or fetching anything', async () => {
    const inner = requestEnvelope('subscription', 'AddSubscriptions', addGfa1()).replace(
      /^<\?xml[^>]*>/,
      '',
    )
    const attacks = [
      `<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>${inner.replace('GFA1', '&lol2;')}`,
      `<!DOCTYPE foo [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>${inner.replace('Main', '&xxe;')}`,
      `<!DOCTYPE foo SYSTEM "http://127.0.0.1:9/evil.dtd">${inner}`,
    ]
    for (const body of attacks) {
      const answer = await postSoap(sim, 'subscription', body)
      expect(answer.status).toBe(500)
      expect(answer.fault?.code).toBe('soap:Client')
      expect(answer.fault?.reason).toMatch(/DOCTYPE/)
      expect(answer.body).not.toContain('root:')
    }
    await assertNothingChanged()
  })

  it('answers a body over the size limit with 413 before parsing', async () => {
    const huge = requestEnvelope('subscription', 'AddSubscriptions', addGfa1()).replace(
      'Main',
      'x'.repeat(70 * 1024),
    )
    const answer = await postSoap(sim, 'subscription', huge)
    expect(answer.status).toBe(413)
    const chunked = await fetch(sim.serviceUrl('subscription'), {
      method: 'POST',
      headers: {
        Authorization: `Basic ${Buffer.from('sms:sms').toString('base64')}`,
        'Content-Type': 'text/xml',
      },
      body: new Blob([huge]).stream(),
      duplex: 'half',
    })
    expect(chunked.status).toBe(413)
    await assertNothingChanged()
  })

  it('refuses deep nesting and huge element counts with a Client fault', async () => {
    const deep = `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>${'<a>'.repeat(5000)}${'</a>'.repeat(5000)}</s:Body></s:Envelope>`
    const wide = `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><x>${'<a/>'.repeat(5000)}</x></s:Body></s:Envelope>`
    for (const body of [deep, wide]) {
      const answer = await postSoap(sim, 'subscription', body)
      expect(answer.status).toBe(500)
      expect(answer.fault?.code).toBe('soap:Client')
      expect(answer.fault?.reason).toMatch(/nested deeper|more than 2000 elements/)
    }
    await assertNothingChanged()
  })

  it('answers a well-formed non-SOAP document and an unknown operation with Client faults', async () => {
    const notSoap = await postSoap(sim, 'subscription', '<hello/>')
    expect(notSoap.fault?.code).toBe('soap:Client')
    const unknown = await callSoap(sim, 'subscription', 'DeleteEverything', { CaClientId: CARD_A })
    expect(unknown.fault).toEqual({
      code: 'soap:Client',
      reason: 'DeleteEverything is not an operation of the subscription service.',
    })
    await assertNothingChanged()
  })

  it('keeps serving after a burst of garbage on concurrent connections', async () => {
    const garbage = Array.from({ length: 50 }, (_, i) =>
      postSoap(sim, 'pairing', Buffer.from(`<${'x'.repeat(i)}`)),
    )
    const answers = await Promise.all(garbage)
    expect(new Set(answers.map((a) => a.status))).toEqual(new Set([500]))
    await assertNothingChanged()
  })
})

describe('replays', () => {
  it('answers a repeated write with the first TransactionId and applies it once', async () => {
    const sim = await startTestSimulator()
    onTestFinished(() => sim.close())
    const first = await callSoap(sim, 'user-text-messaging', 'SendMailMessageToClients', {
      CaClientIds: { CaClientId: [CARD_A] },
      Message: 'hello',
      SequenceNumber: 11,
    })
    const again = await callSoap(sim, 'user-text-messaging', 'SendMailMessageToClients', {
      CaClientIds: { CaClientId: [CARD_A] },
      Message: 'hello',
      SequenceNumber: 11,
    })
    expect(again.transactionId).toBe(first.transactionId)
    expect(sim.model.card(CARD_A)?.inbox).toHaveLength(1)
    expect(sim.journal.list().map((e) => e.replay)).toEqual([false, true])
  })
})

describe('persistence', () => {
  it('keeps state, journal and replay records across a restart on the same file', async () => {
    const file = tempFile('store.json')
    const first = await startSimulator({ dataFile: file, inventory: TEST_INVENTORY })
    const added = await callSoap(first, 'subscription', 'AddSubscriptions', addGfa1(CARD_A, 42))
    await callSoap(first, 'pairing', 'CreatePairing', {
      CaClientIds: { CaClientId: [CARD_A] },
      PairingModuleIds: { PairingModuleId: [STB_1] },
    })
    await first.close()

    const second = await startSimulator({ dataFile: file })
    onTestFinished(() => second.close())
    expect(second.model.card(CARD_A)).toMatchObject({
      subscriptions: [{ productId: 'GFA1' }],
      pairing: { caClientIds: [CARD_A], pairingModuleIds: [STB_1] },
    })
    expect(second.journal.list().map((e) => e.operation)).toEqual([
      'AddSubscriptions',
      'CreatePairing',
    ])
    const replay = await callSoap(second, 'subscription', 'AddSubscriptions', addGfa1(CARD_A, 42))
    expect(replay.transactionId).toBe(added.transactionId)
    expect(second.journal.list().at(-1)).toMatchObject({ replay: true, seq: 3 })
  })

  it('has the change on disk by the time the answer arrives', async () => {
    const file = tempFile('durable.json')
    const sim = await startSimulator({ dataFile: file, inventory: TEST_INVENTORY })
    onTestFinished(() => sim.close())
    await callSoap(sim, 'ca-pin', 'UpdateCaPinToGivenValue', { CaClientId: CARD_B, Pin: '9876' })
    // The log's first segment: the inventory was group 1, the PIN change group 2.
    const log = readFileSync(`${file}.000000000001.log`, 'utf8').split('\n')
    expect(log[1]).toContain(`["card","${CARD_B}",{"pin":"9876"}]`)
  })

  it('refuses to start on a file that is not a simulator store, and leaves it untouched', async () => {
    const file = tempFile('foreign.json')
    const { writeFileSync } = await import('node:fs')
    writeFileSync(file, '{"hello":1}')
    await expect(startSimulator({ dataFile: file })).rejects.toMatchObject({
      code: 'STORE_UNREADABLE',
    })
    writeFileSync(file, '{"broken"')
    await expect(startSimulator({ dataFile: file })).rejects.toMatchObject({
      code: 'STORE_UNREADABLE',
    })
    expect(readFileSync(file, 'utf8')).toBe('{"broken"')
  })
})

describe('admin API', () => {
  let sim: Simulator
  beforeEach(async () => {
    sim = await startTestSimulator()
  })
  afterEach(async () => {
    await sim.close()
  })

  it('registers inventory and rejects bad inventory with a located error, registering nothing', async () => {
    await adminApi(sim)
      .post('/admin/inventory')
      .send({
        smartcards: [{ caClientId: '01111111111' }],
        products: [{ productId: 'NEW1', name: 'New' }],
      })
      .expect(200)
    expect(sim.model.card('01111111111')?.pin).toBe('1234')
    const bad = await adminApi(sim)
      .post('/admin/inventory')
      .send({ smartcards: [{ caClientId: '02222222222' }, { caClientId: '123' }] })
      .expect(400)
    expect(bad.body).toEqual({
      error: {
        code: 'INVALID_INVENTORY',
        message: expect.stringContaining('smartcards[1].caClientId') as string,
      },
    })
    expect(sim.model.card('02222222222')).toBeNull()
    const shape = await adminApi(sim).post('/admin/inventory').send({ cards: [] }).expect(400)
    expect(shape.body.error.code).toBe('INVALID_INVENTORY')
    const json = await adminApi(sim)
      .post('/admin/inventory')
      .set('Content-Type', 'application/json')
      .send('{bad')
      .expect(400)
    expect(json.body.error.code).toBe('INVALID_REQUEST')
  })

  it('registers STBs with an owner and shows the owner of each STB', async () => {
    await adminApi(sim)
      .post('/admin/inventory')
      .send({
        pairingModules: [
          {
            pairingModuleId: '2000000001',
            serialNumber: 'SN1',
            productCode: 'KSTB5043',
            productDescription: 'Kaon',
            sms: 'other',
          },
        ],
      })
      .expect(200)
    await callSoap(sim, 'pairing', 'CreatePairing', {
      CaClientIds: { CaClientId: [CARD_A] },
      PairingModuleIds: { PairingModuleId: [STB_1] },
    })

    const owned = await adminApi(sim).get('/admin/pairing-modules/2000000001').expect(200)
    const paired = await adminApi(sim).get(`/admin/pairing-modules/${STB_1}`).expect(200)
    const unowned = await adminApi(sim).get(`/admin/pairing-modules/${STB_2}`).expect(200)

    expect(owned.body).toMatchObject({ sms: 'other', pairingId: null })
    expect(paired.body).toMatchObject({ sms: 'sms', pairingId: 'P1' })
    expect(unowned.body).toMatchObject({ sms: null })
    const bad = await adminApi(sim)
      .post('/admin/inventory')
      .send({ pairingModules: [{ ...owned.body, pairingModuleId: '2000000002', sms: 7 }] })
      .expect(400)
    expect(bad.body.error.message).toContain('pairingModules[0].sms')
  })

  it('filters the journal by sequence and operation', async () => {
    await callSoap(sim, 'subscription', 'AddSubscriptions', addGfa1())
    await callSoap(sim, 'subscription', 'GetActiveSubscriptions', { CaClientId: CARD_A })
    const all = await adminApi(sim).get('/admin/journal').expect(200)
    expect(all.body).toHaveLength(2)
    expect(all.body[0]).toMatchObject({
      seq: 1,
      user: 'sms',
      service: 'subscription',
      operation: 'AddSubscriptions',
      request: {
        Subscriptions: {
          Subscription: [{ CaClientId: CARD_A, ProductId: 'GFA1', Distributor: 'Main' }],
        },
      },
      statusCode: 'OK',
    })
    const since = await adminApi(sim).get('/admin/journal?since=1').expect(200)
    expect(since.body.map((e: { operation: string }) => e.operation)).toEqual([
      'GetActiveSubscriptions',
    ])
    const byOp = await adminApi(sim).get('/admin/journal?operation=AddSubscriptions').expect(200)
    expect(byOp.body).toHaveLength(1)
    await adminApi(sim).get('/admin/journal?since=abc').expect(400)
  })

  it('changes CA state directly, outside the SOAP flow', async () => {
    await adminApi(sim)
      .put(`/admin/cards/${CARD_A}/subscriptions/AF1`)
      .send({ distributor: 'TWIN1' })
      .expect(200)
    expect(sim.model.card(CARD_A)?.subscriptions).toMatchObject([
      { productId: 'AF1', distributor: 'TWIN1' },
    ])
    await adminApi(sim).delete(`/admin/cards/${CARD_A}/subscriptions/AF1`).expect(200)
    await adminApi(sim).delete(`/admin/cards/${CARD_A}/subscriptions/AF1`).expect(404)
    await adminApi(sim).put(`/admin/cards/${CARD_A}/subscriptions/NOPE`).send({}).expect(404)
    expect(sim.journal.list()).toEqual([])
  })

  it('resets state and journal, keeping the inventory on request', async () => {
    await callSoap(sim, 'subscription', 'AddSubscriptions', addGfa1())
    await adminApi(sim).post('/admin/reset').send({ keepInventory: true }).expect(200)
    expect(sim.model.card(CARD_A)?.subscriptions).toEqual([])
    expect(sim.journal.list()).toEqual([])
    await adminApi(sim).post('/admin/reset').send({}).expect(200)
    expect(sim.model.card(CARD_A)).toBeNull()
  })

  it('injects faults that fire the given number of times', async () => {
    await adminApi(sim)
      .post('/admin/faults')
      .send({ kind: 'HTTP_STATUS', httpStatus: 503, times: 2 })
      .expect(201)
    const statuses = []
    for (let i = 0; i < 3; i++) {
      statuses.push((await callSoap(sim, 'subscription', 'AddSubscriptions', addGfa1())).status)
    }
    expect(statuses).toEqual([503, 503, 200])
    await adminApi(sim)
      .post('/admin/faults')
      .send({ kind: 'RESET', operation: 'CreatePairing' })
      .expect(201)
    await expect(
      callSoap(sim, 'pairing', 'CreatePairing', {
        CaClientIds: { CaClientId: [CARD_A] },
        PairingModuleIds: { PairingModuleId: [STB_1] },
      }),
    ).rejects.toThrow()
    expect(sim.model.card(CARD_A)?.pairing).toBeNull()
    const bad = await adminApi(sim).post('/admin/faults').send({ kind: 'EXPLODE' }).expect(400)
    expect(bad.body.error.message).toMatch(/kind must be one of/)
  })
})

describe('options', () => {
  it('refuses invalid options with a stable code', async () => {
    await expect(startSimulator({ bodyLimitBytes: 0 })).rejects.toMatchObject({
      code: 'INVALID_OPTION',
    })
    await expect(startSimulator({ users: {} })).rejects.toMatchObject({ code: 'INVALID_OPTION' })
    await expect(
      startSimulator({ disabledOperations: ['Nope' as 'AddSubscriptions'] }),
    ).rejects.toMatchObject({
      code: 'INVALID_OPTION',
    })
  })

  it('reports a port in use as PORT_IN_USE, naming host and port', async () => {
    const sim = await startTestSimulator()
    onTestFinished(() => sim.close())
    await expect(startSimulator({ port: sim.port })).rejects.toMatchObject({
      name: 'SimulatorError',
      code: 'PORT_IN_USE',
      message: `Failed to listen on 127.0.0.1:${sim.port}: port ${sim.port} is already in use (another instance or another program holds it). Choose another --port, or --port 0 to pick a free one.`,
    })
  })
})

describe('TLS', () => {
  const pem = (name: string): Buffer => readFileSync(join(packageRoot(), 'fixtures', 'tls', name))

  function httpsPost(
    url: string,
    body: string,
    client: { cert?: Buffer; key?: Buffer },
  ): Promise<{ status: number; text: string }> {
    return new Promise((resolve, reject) => {
      const req = httpsRequest(
        url,
        {
          method: 'POST',
          ca: pem('ca.crt'),
          ...client,
          headers: {
            Authorization: `Basic ${Buffer.from('sms:sms').toString('base64')}`,
            'Content-Type': 'text/xml',
          },
        },
        (res) => {
          let text = ''
          res.on('data', (chunk: Buffer) => (text += chunk.toString()))
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text }))
        },
      )
      req.on('error', reject)
      req.end(body)
    })
  }

  it('serves SOAP over HTTPS with mutual TLS and refuses clients without a certificate', async () => {
    const sim = await startTestSimulator({
      tls: { cert: pem('server.crt'), key: pem('server.key'), clientCa: pem('ca.crt') },
    })
    onTestFinished(() => sim.close())
    expect(sim.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/)
    const envelope = requestEnvelope('ca-pin', 'UpdateCaPinToGivenValue', {
      CaClientId: CARD_B,
      Pin: '5555',
    })
    const answer = await httpsPost(sim.serviceUrl('ca-pin'), envelope, {
      cert: pem('client.crt'),
      key: pem('client.key'),
    })
    expect(answer.status).toBe(200)
    expect(answer.text).toContain('<StatusCode>OK</StatusCode>')
    expect(sim.model.card(CARD_B)?.pin).toBe('5555')
    await expect(httpsPost(sim.serviceUrl('ca-pin'), envelope, {})).rejects.toThrow()
  })

  it('advertises the https address in its WSDLs', async () => {
    const sim = await startTestSimulator({
      tls: { cert: pem('server.crt'), key: pem('server.key') },
    })
    onTestFinished(() => sim.close())
    const wsdl = await new Promise<string>((resolve, reject) => {
      httpsRequest(sim.wsdlUrl('pairing'), { ca: pem('ca.crt') }, (res) => {
        let text = ''
        res.on('data', (chunk: Buffer) => (text += chunk.toString()))
        res.on('end', () => resolve(text))
      })
        .on('error', reject)
        .end()
    })
    expect(wsdl).toContain(`location="${sim.serviceUrl('pairing')}"`)
  })
})

describe('robustness', () => {
  it('ignores a Host header that is not host[:port] when writing the WSDL address', async () => {
    // Bound to every interface, any Host passes the guard (the token protects the admin API), so
    // the WSDL writer meets the hostile header itself.
    const sim = await startTestSimulator({
      host: '0.0.0.0',
      adminToken: 'wsdl-test-token-0123456789',
    })
    onTestFinished(() => sim.close())
    const res = await request(`http://127.0.0.1:${sim.port}`)
      .get('/ca-server/webservices/caclient/pairing?wsdl')
      .set('Host', 'a<b&c')
      .expect(200)
    expect(res.text).toContain(
      `location="http://0.0.0.0:${sim.port}/ca-server/webservices/caclient/pairing"`,
    )
    expect(res.text).not.toContain('a<b')
  })

  it('refuses an Envelope with two Bodies, a stray element, or text in the Body', async () => {
    const sim = await startTestSimulator()
    onTestFinished(() => sim.close())
    const ok = requestEnvelope('ca-pin', 'UpdateCaPinToDefaultValue', { CaClientId: CARD_A })
    const variants = [
      ok.replace('</s:Body>', '</s:Body><s:Body/>'),
      ok.replace('<s:Body>', '<foo/><s:Body>'),
      ok.replace('<s:Body>', '<s:Body>stray text'),
    ]
    for (const body of variants) {
      const answer = await postSoap(sim, 'ca-pin', body)
      expect(answer.fault?.code).toBe('soap:Client')
    }
    expect(sim.journal.list().every((e) => e.statusCode === 'FAULT:Client')).toBe(true)
  })

  it('accepts the Basic scheme in any case', async () => {
    const sim = await startTestSimulator()
    onTestFinished(() => sim.close())
    const res = await fetch(sim.serviceUrl('ca-pin'), {
      method: 'POST',
      headers: {
        Authorization: `basic ${Buffer.from('sms:sms').toString('base64')}`,
        'Content-Type': 'text/xml',
      },
      body: requestEnvelope('ca-pin', 'UpdateCaPinToDefaultValue', { CaClientId: CARD_A }),
    })
    expect(res.status).toBe(200)
  })

  it("answers an odd-length UTF-16 body with Couldn't parse stream", async () => {
    const sim = await startTestSimulator()
    onTestFinished(() => sim.close())
    const answer = await postSoap(sim, 'ca-pin', Buffer.from('abc'), {
      contentType: 'text/xml; charset=utf-16be',
    })
    expect(answer.fault?.reason).toBe("Couldn't parse stream.")
  })

  it('refuses items of one request whose dates conflict', async () => {
    const sim = await startTestSimulator()
    onTestFinished(() => sim.close())
    const answer = await callSoap(sim, 'subscription', 'AddSubscriptions', {
      Subscriptions: {
        Subscription: [
          { CaClientId: CARD_A, ProductId: 'GFA1', StartDate: '2030-01-01T00:00:00Z' },
          { CaClientId: CARD_A, ProductId: 'GFA1', EndDate: '2029-01-01T00:00:00Z' },
        ],
      },
    })
    expect(answer.statusCode).toBe('INPUT_VALIDATION_ERROR')
    expect(answer.message).toContain('Subscription 2')
    expect(sim.model.card(CARD_A)?.subscriptions).toEqual([])
  })

  it('keeps a long rejected text out of the journal', async () => {
    const sim = await startTestSimulator()
    onTestFinished(() => sim.close())
    await callSoap(sim, 'user-text-messaging', 'SendMailMessageToClients', {
      CaClientIds: { CaClientId: [CARD_A] },
      Message: 'x'.repeat(50_000),
    })
    const entry = sim.journal.list()[0]
    expect(entry?.statusCode).toBe('INPUT_VALIDATION_ERROR')
    expect((entry?.request?.Message as string).length).toBeLessThan(1100)
  })

  it('answers SYSTEM_ERROR when the store cannot write a change, and says so in the journal', async () => {
    let failing = false
    const sim = await startSimulator({
      inventory: TEST_INVENTORY,
      store: {
        description: 'failing store',
        load: () => Promise.resolve(null),
        save: () => (failing ? Promise.reject(new Error('disk full')) : Promise.resolve()),
      },
    })
    onTestFinished(() => sim.close().catch(() => undefined))
    failing = true
    const answer = await callSoap(sim, 'ca-pin', 'UpdateCaPinToGivenValue', {
      CaClientId: CARD_A,
      Pin: '4444',
    })
    expect(answer.statusCode).toBe('SYSTEM_ERROR')
    expect(answer.message).toContain('disk full')
    expect(sim.journal.list().at(-1)?.statusCode).toBe('SYSTEM_ERROR')
    failing = false
  })

  it('waits on close for calls in flight, ending an injected delay early and changing nothing', async () => {
    const sim = await startTestSimulator()
    await sim.loadInventory({})
    // Ten minutes: close() can only resolve within the test's timeout by ending the delay early.
    sim.faults.add({ kind: 'DELAY', delayMs: 600_000 })
    const pending = callSoap(sim, 'ca-pin', 'UpdateCaPinToGivenValue', {
      CaClientId: CARD_A,
      Pin: '7777',
    })
    // The call is in flight, inside the delay, once it has taken the one-shot rule.
    await expect.poll(() => sim.faults.list().length, { interval: 5, timeout: 10_000 }).toBe(0)
    await sim.close()
    const answer = await pending
    expect(answer.statusCode).toBe('SYSTEM_ERROR')
    expect(answer.message).toContain('shutting down')
    expect(sim.model.card(CARD_A)?.pin).toBe('1234')
    await sim.close()
  })

  it('writes one log line per HTTP request, admin calls included', async () => {
    const lines: Record<string, unknown>[] = []
    // The line of a request is written when its answer has gone out, possibly after the client
    // read it: wait for the third line rather than for a while.
    let threeLogged: () => void = () => undefined
    const logged = new Promise<void>((resolve) => (threeLogged = resolve))
    const logger = pino(
      { level: 'info' },
      {
        write: (line: string) => {
          if (lines.push(JSON.parse(line) as Record<string, unknown>) === 3) {
            threeLogged()
          }
        },
      },
    )
    const sim = await startTestSimulator({ logger })
    onTestFinished(() => sim.close())
    await callSoap(sim, 'ca-pin', 'UpdateCaPinToDefaultValue', { CaClientId: CARD_A })
    await adminApi(sim).get(`/admin/cards/${CARD_A}`).expect(200)
    await request(sim.url).get('/ca-server/webservices/caclient/ca-pin?wsdl').expect(200)
    await logged
    expect(lines.map((l) => l.msg)).toEqual(['soap call', 'http request', 'http request'])
    expect(lines[0]).toMatchObject({
      operation: 'UpdateCaPinToDefaultValue',
      cards: 1,
      status: 'OK',
    })
    expect(lines[1]).toMatchObject({
      method: 'GET',
      path: `/admin/cards/${CARD_A}`,
      httpStatus: 200,
    })
  })

  it('refuses a store file that is not a complete snapshot', async () => {
    const file = tempFile('partial.json')
    const { writeFileSync } = await import('node:fs')
    writeFileSync(file, '{"format":"conax-sim/1"}')
    await expect(startSimulator({ dataFile: file })).rejects.toMatchObject({
      code: 'STORE_UNREADABLE',
    })
  })

  it('refuses unknown and out-of-range rules', async () => {
    await expect(startSimulator({ rules: { bogus: 1 } as never })).rejects.toMatchObject({
      code: 'INVALID_OPTION',
    })
    await expect(
      startSimulator({ rules: { pairingReplace: 'sometimes' as never } }),
    ).rejects.toThrow(/pairingReplace/)
    await expect(
      startSimulator({ rules: { reusedSequenceNumber: 'OK' as never } }),
    ).rejects.toThrow(/reusedSequenceNumber must be one of "INPUT_VALIDATION_ERROR"/)
    await expect(startSimulator({ rules: { stbOwnership: 'maybe' as never } })).rejects.toThrow(
      /stbOwnership/,
    )
    await expect(startSimulator({ xmlLimits: { maxDepth: 0 } })).rejects.toMatchObject({
      code: 'INVALID_OPTION',
    })
  })

  it('refuses fault rules with unknown fields or a non-text message', async () => {
    const sim = await startTestSimulator()
    onTestFinished(() => sim.close())
    await adminApi(sim)
      .post('/admin/faults')
      .send({ kind: 'SYSTEM_ERROR', often: true })
      .expect(400)
    await adminApi(sim)
      .post('/admin/faults')
      .send({ kind: 'SYSTEM_ERROR', message: { a: 1 } })
      .expect(400)
    expect(sim.faults.list()).toEqual([])
  })
})
