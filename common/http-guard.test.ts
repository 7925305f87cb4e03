import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import {
  RequestGuard,
  generateToken,
  guardOptionsProblem,
  isLoopbackAddress,
  tokenProblem,
  type RequestGuardOptions,
} from './http-guard.js'
import { rawRequest } from './test-support/raw-request.js'

const TOKEN = 'test-token-0123456789abcdef'

const options = (changes: Partial<RequestGuardOptions> = {}): RequestGuardOptions => ({
  token: TOKEN,
  scheme: 'http',
  realm: 'test API',
  tokenHint: 'the one the test set',
  jsonError: (code, message) => ({ error: { code, message } }),
  ...changes,
})

/** A server whose every path but /open needs the token; it answers 200 'through' when admitted. */
async function serve(
  guardOptions: RequestGuardOptions,
  host = '127.0.0.1',
): Promise<{ url: string; port: number; close: () => Promise<void> }> {
  const guard = new RequestGuard(guardOptions)
  const server: Server = createServer((req, res) => {
    if (!guard.admit(req, res, { token: req.url !== '/open', format: 'json' })) {
      return
    }
    res.end('through')
  })
  const address = await new Promise<AddressInfo>((resolve) =>
    server.listen(0, host, () => resolve(server.address() as AddressInfo)),
  )
  guard.listening(address.address, address.port)
  return {
    url: `http://127.0.0.1:${address.port}`,
    port: address.port,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
}

let closers: (() => Promise<void>)[] = []
afterEach(async () => {
  await Promise.all(closers.map((close) => close()))
  closers = []
})

async function started(
  guardOptions: RequestGuardOptions = options(),
  host?: string,
): Promise<{ url: string; port: number }> {
  const server = await serve(guardOptions, host)
  closers.push(server.close)
  return server
}

const bearer = { authorization: `Bearer ${TOKEN}` }

describe('tokens', () => {
  it('generates 32 random bytes, base64url, that pass its own syntax check', () => {
    const token = generateToken()
    expect(Buffer.from(token, 'base64url')).toHaveLength(32)
    expect(tokenProblem(token)).toBeNull()
    expect(generateToken()).not.toBe(token)
  })

  it('refuses short tokens and tokens that cannot go in a header', () => {
    expect(tokenProblem('short')).toMatch(/16 to 512/)
    expect(tokenProblem('has spaces in it, sixteen+')).toMatch(/16 to 512/)
    expect(guardOptionsProblem({ token: 'x' })).toMatch(/^The token must be/)
  })

  it('names an unusable allowed host or origin', () => {
    expect(guardOptionsProblem({ allowedHosts: ['sim.internal', 'proxy:8443', '[::1]'] })).toBe(
      null,
    )
    expect(guardOptionsProblem({ allowedHosts: ['http://sim'] })).toMatch(/'http:\/\/sim'/)
    expect(guardOptionsProblem({ allowedOrigins: ['https://crm.example'] })).toBeNull()
    expect(guardOptionsProblem({ allowedOrigins: ['https://crm.example/'] })).toMatch(
      /not an exact origin/,
    )
  })
})

describe('loopback addresses', () => {
  it('knows localhost, 127/8, ::1 and mapped IPv4 loopback, and nothing else', () => {
    for (const host of [
      'localhost',
      '127.0.0.1',
      '127.3.4.5',
      '::1',
      '[::1]',
      '::ffff:127.0.0.1',
    ]) {
      expect(isLoopbackAddress(host), host).toBe(true)
    }
    for (const host of [
      '0.0.0.0',
      '::',
      '192.168.1.5',
      'example.com',
      '128.0.0.1',
      '::ffff:10.0.0.1',
    ]) {
      expect(isLoopbackAddress(host), host).toBe(false)
    }
  })
})

describe('the bearer token', () => {
  it('answers 401 with WWW-Authenticate and the error shape without it, and lets the right one through', async () => {
    const { url } = await started()
    const none = await fetch(`${url}/admin`)
    expect(none.status).toBe(401)
    expect(none.headers.get('www-authenticate')).toBe('Bearer realm="test API"')
    expect(await none.json()).toEqual({
      error: {
        code: 'UNAUTHORIZED',
        message: expect.stringMatching(
          /^No token: .*Authorization: Bearer <token>.*the one the test set/,
        ),
      },
    })
    const wrong = await fetch(`${url}/admin`, { headers: { authorization: 'Bearer nope' } })
    expect(wrong.status).toBe(401)
    expect(((await wrong.json()) as { error: { message: string } }).error.message).toMatch(
      /^A wrong token/,
    )
    const basic = await fetch(`${url}/admin`, { headers: { authorization: 'Basic c21zOnNtcw==' } })
    expect(basic.status).toBe(401)
    const right = await fetch(`${url}/admin`, { headers: bearer })
    expect(right.status).toBe(200)
    expect(await right.text()).toBe('through')
    expect((await fetch(`${url}/open`)).status).toBe(200)
  })
})

describe('the Host header (DNS rebinding)', () => {
  it('accepts the loopback names with the bound port or none, and refuses any other name', async () => {
    const { url, port } = await started()
    const withHost = (host: string) => rawRequest(`${url}/open`, { headers: { host } })
    for (const host of [
      `127.0.0.1:${port}`,
      `localhost:${port}`,
      'localhost',
      `127.9.9.9:${port}`,
      `[::1]:${port}`,
      `LOCALHOST:${port}`,
    ]) {
      expect((await withHost(host)).status, host).toBe(200)
    }
    for (const host of [
      `evil.example:${port}`,
      'evil.example',
      `localhost:${port + 1}`,
      `localhost.evil.example:${port}`,
      'a b',
    ]) {
      const res = await withHost(host)
      expect(res.status, host).toBe(403)
      expect(JSON.parse(res.body)).toEqual({
        error: { code: 'HOST_NOT_ALLOWED', message: expect.stringContaining('DNS rebinding') },
      })
    }
  })

  it('adds the allowedHosts: a name for any port, a name:port for that port only', async () => {
    const { url, port } = await started(
      options({ allowedHosts: ['sim.internal', 'Proxy.Example:8443'] }),
    )
    const status = async (host: string): Promise<number> =>
      (await rawRequest(`${url}/open`, { headers: { host } })).status
    expect(await status('sim.internal:9999')).toBe(200)
    expect(await status('proxy.example:8443')).toBe(200)
    expect(await status('proxy.example:8444')).toBe(403)
    expect(await status(`localhost:${port}`)).toBe(200)
  })

  it('accepts any Host when bound to every interface without allowedHosts (the token protects it)', async () => {
    const { url } = await started(options(), '0.0.0.0')
    expect((await rawRequest(`${url}/open`, { headers: { host: 'sim.lan:1' } })).status).toBe(200)
  })
})

describe('cross-origin requests', () => {
  it('refuses a write from another origin before reading its body, and sends no CORS header', async () => {
    const { url } = await started()
    // The body is declared and never sent: an answer shows the guard did not wait for it.
    const res = await rawRequest(`${url}/admin`, {
      method: 'POST',
      headers: { ...bearer, origin: 'https://evil.example', 'content-type': 'text/plain' },
      withheldBody: 100_000,
    })
    expect(res.status).toBe(403)
    expect(res.headers.connection).toBe('close')
    expect(res.headers['access-control-allow-origin']).toBeUndefined()
    expect(JSON.parse(res.body)).toEqual({
      error: {
        code: 'CROSS_ORIGIN_REFUSED',
        message: expect.stringContaining('https://evil.example'),
      },
    })
  })

  it('refuses a write a browser marks cross-site or same-site, and lets same-origin and script writes through', async () => {
    const { url, port } = await started()
    const post = (headers: Record<string, string>): Promise<Response> =>
      fetch(`${url}/admin`, { method: 'POST', headers: { ...bearer, ...headers } })
    expect((await post({ 'sec-fetch-site': 'cross-site' })).status).toBe(403)
    expect((await post({ 'sec-fetch-site': 'same-site' })).status).toBe(403)
    expect((await post({ 'sec-fetch-site': 'same-origin' })).status).toBe(200)
    expect((await post({ origin: `http://127.0.0.1:${port}` })).status).toBe(200)
    expect((await post({ origin: 'null' })).status).toBe(403)
    expect((await post({})).status).toBe(200)
    // Reads from anywhere pass the origin check (no CORS header lets a page read the answer).
    const read = await fetch(`${url}/admin`, {
      headers: { ...bearer, origin: 'https://evil.example' },
    })
    expect(read.status).toBe(200)
    expect(read.headers.get('access-control-allow-origin')).toBeNull()
  })

  it('refuses a CORS preflight', async () => {
    const { url } = await started()
    const res = await fetch(`${url}/admin`, {
      method: 'OPTIONS',
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' },
    })
    expect(res.status).toBe(403)
    expect(res.headers.get('access-control-allow-origin')).toBeNull()
  })

  it('answers CORS for allowedOrigins only', async () => {
    const { url } = await started(options({ allowedOrigins: ['https://crm.example'] }))
    const preflight = await fetch(`${url}/admin`, {
      method: 'OPTIONS',
      headers: { origin: 'https://crm.example', 'access-control-request-method': 'POST' },
    })
    expect(preflight.status).toBe(204)
    expect(preflight.headers.get('access-control-allow-origin')).toBe('https://crm.example')
    expect(preflight.headers.get('access-control-allow-headers')).toMatch(/Authorization/)
    const write = await fetch(`${url}/admin`, {
      method: 'POST',
      headers: { ...bearer, origin: 'https://crm.example' },
    })
    expect(write.status).toBe(200)
    expect(write.headers.get('access-control-allow-origin')).toBe('https://crm.example')
    const other = await fetch(`${url}/admin`, {
      method: 'POST',
      headers: { ...bearer, origin: 'https://evil.example' },
    })
    expect(other.status).toBe(403)
    // An allowed origin still needs the token.
    const anonymous = await fetch(`${url}/admin`, {
      method: 'POST',
      headers: { origin: 'https://crm.example' },
    })
    expect(anonymous.status).toBe(401)
  })
})
