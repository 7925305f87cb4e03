import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { rawRequest } from '../../../common/test-support/raw-request.js'
import type { Simulator } from '../create-simulator.js'
import { startTestSimulator } from '../test-support/soap.js'

// Behind a reverse proxy that terminates TLS, a WSDL that advertised the simulator's own
// http://127.0.0.1:port would send WSDL-driven clients around the proxy. With trustProxy the
// soap:address follows X-Forwarded-Proto and X-Forwarded-Host; without it they are ignored.
const PROXIED = {
  'X-Forwarded-Proto': 'https',
  'X-Forwarded-Host': 'conax.example.com',
}
const PATH = '/ca-server/webservices/caclient/pairing'

function addressOf(wsdl: string): string {
  return /<soap:address location="([^"]*)"\/>/.exec(wsdl)?.[1] ?? 'none'
}

describe('soap:address behind a proxy', () => {
  let trusting: Simulator
  let plain: Simulator
  beforeAll(async () => {
    trusting = await startTestSimulator({ trustProxy: true })
    plain = await startTestSimulator()
  })
  afterAll(async () => {
    await trusting.close()
    await plain.close()
  })

  it('takes the forwarded scheme and host when the simulator trusts its proxy', async () => {
    const answer = await rawRequest(trusting.wsdlUrl('pairing'), { headers: PROXIED })
    expect(answer.status).toBe(200)
    expect(addressOf(answer.body)).toBe(`https://conax.example.com${PATH}`)
  })

  it('takes the first of a list (the proxy nearest the client) and keeps the Host for a bad value', async () => {
    const listed = await rawRequest(trusting.wsdlUrl('pairing'), {
      headers: { 'X-Forwarded-Proto': 'https, http', 'X-Forwarded-Host': 'a.example:8443, b' },
    })
    expect(addressOf(listed.body)).toBe(`https://a.example:8443${PATH}`)
    const hostile = await rawRequest(trusting.wsdlUrl('pairing'), {
      headers: { 'X-Forwarded-Proto': 'gopher', 'X-Forwarded-Host': 'evil"/><x a="' },
    })
    expect(addressOf(hostile.body)).toBe(trusting.serviceUrl('pairing'))
  })

  it('ignores the forwarded headers by default (any client can send them)', async () => {
    const answer = await rawRequest(plain.wsdlUrl('pairing'), { headers: PROXIED })
    expect(addressOf(answer.body)).toBe(plain.serviceUrl('pairing'))
  })
})
