import { once } from 'node:events'
import { readFileSync } from 'node:fs'
import { createServer, type Server, type ServerResponse } from 'node:http'
import { createServer as createHttpsServer, get as httpsGet } from 'node:https'
import { join } from 'node:path'
import { connect, createServer as createTcpServer, type Socket } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import {
  ConnectionGuard,
  HTTP_DEFAULTS,
  ListenError,
  httpServerOptions,
  httpSettingsProblem,
  listen,
  type HttpServerSettings,
} from './http-server.js'

let cleanups: (() => void)[] = []
afterEach(() => {
  cleanups.forEach((cleanup) => cleanup())
  cleanups = []
})

/**
 * A server with a connection guard; `/hold` keeps its answer open until `release()`, anything
 * else answers at once.
 */
async function serve(changes: Partial<HttpServerSettings>): Promise<{
  port: number
  guard: ConnectionGuard
  held: ServerResponse[]
}> {
  const settings = { ...HTTP_DEFAULTS, ...changes }
  const server: Server = createServer(httpServerOptions(settings))
  const guard = new ConnectionGuard(server, settings)
  const held: ServerResponse[] = []
  server.on('request', (req, res: ServerResponse) => {
    if (req.url === '/hold') {
      held.push(res)
      return
    }
    res.end('ok')
  })
  const address = await listen(server, 0, '127.0.0.1')
  cleanups.push(() => {
    server.closeAllConnections()
    server.close()
  })
  return { port: address.port, guard, held }
}

/** A TCP connection the server has accepted (it answered nothing yet: we wait for 'connect'). */
async function openSocket(port: number): Promise<Socket> {
  const socket = connect(port, '127.0.0.1')
  cleanups.push(() => socket.destroy())
  await once(socket, 'connect')
  return socket
}

/** Sends a GET on a socket and resolves with the start of the answer. */
async function get(socket: Socket, path = '/'): Promise<string> {
  socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`)
  const [chunk] = (await once(socket, 'data')) as [Buffer]
  return chunk.toString('latin1')
}

describe('the connection cap', () => {
  it('evicts the connection idle the longest to serve a new client', async () => {
    const { port, guard } = await serve({ maxConnections: 8 })
    const sockets: Socket[] = []
    for (let i = 0; i < 8; i++) {
      sockets.push(await openSocket(port))
    }
    // The second socket served a request: it is now idle for a shorter time than the others.
    expect(await get(sockets[1]!)).toMatch(/^HTTP\/1.1 200/)
    const firstClosed = once(sockets[0]!, 'close')
    const fresh = await openSocket(port)
    expect(await get(fresh)).toMatch(/^HTTP\/1.1 200/)
    await firstClosed
    const secondClosed = once(sockets[2]!, 'close')
    expect(await get(await openSocket(port))).toMatch(/^HTTP\/1.1 200/)
    await secondClosed
    expect(sockets[1]!.destroyed).toBe(false)
    expect(guard.stats()).toMatchObject({ open: 8, evicted: 2, refused: 0 })
  })

  it('refuses a new connection when every open one has a request in progress', async () => {
    const { port, guard, held } = await serve({ maxConnections: 2 })
    const busy = [await openSocket(port), await openSocket(port)]
    for (const socket of busy) {
      socket.write('GET /hold HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n')
    }
    while (held.length < 2) {
      await new Promise((resolve) => setImmediate(resolve))
    }
    const refused = connect(port, '127.0.0.1')
    cleanups.push(() => refused.destroy())
    refused.on('error', () => undefined)
    await once(refused, 'close')
    expect(guard.stats()).toMatchObject({ open: 2, evicted: 0, refused: 1 })
    held.forEach((res) => res.end('done'))
  })

  it('tracks the requests of TLS connections too (the TLS socket is not the one accepted)', async () => {
    const settings = { ...HTTP_DEFAULTS, idleTimeoutMs: 60_000 }
    const tls = (name: string): Buffer =>
      readFileSync(join(import.meta.dirname, '..', 'fixtures', 'tls', name))
    const server = createHttpsServer({
      ...httpServerOptions(settings),
      cert: tls('server.crt'),
      key: tls('server.key'),
    })
    const guard = new ConnectionGuard(server, settings)
    let during: unknown = null
    server.on('request', (_req, res: ServerResponse) => {
      during = guard.stats()
      res.end('ok')
    })
    const { port } = await listen(server, 0, '127.0.0.1')
    cleanups.push(() => {
      server.closeAllConnections()
      server.close()
    })
    await new Promise<void>((resolve, reject) => {
      httpsGet(
        { host: '127.0.0.1', port, ca: tls('ca.crt'), servername: 'localhost', agent: false },
        (res) => {
          res.resume()
          res.on('end', resolve)
        },
      ).on('error', reject)
    })
    // While the request ran, its connection was busy: no idle timeout or eviction could take it.
    expect(during).toEqual({ open: 1, idle: 0, evicted: 0, refused: 0, timedOut: 0 })
  })
})

describe('timeouts', () => {
  it('closes a connection that sends no request within idleTimeoutMs', async () => {
    const { port, guard } = await serve({ idleTimeoutMs: 50 })
    const silent = await openSocket(port)
    await once(silent, 'close')
    expect(guard.stats()).toMatchObject({ open: 0, timedOut: 1 })
  })

  it('closes a connection whose headers come too slowly (headersTimeoutMs)', async () => {
    const { port } = await serve({ headersTimeoutMs: 100, idleTimeoutMs: 60_000 })
    const slow = await openSocket(port)
    slow.write('GET / HTTP/1.1\r\nHost: 127.')
    const answer: Buffer[] = []
    slow.on('data', (chunk: Buffer) => answer.push(chunk))
    await once(slow, 'close')
    expect(Buffer.concat(answer).toString('latin1')).toMatch(/^HTTP\/1.1 408/)
  })

  it('checks the settings', () => {
    expect(httpSettingsProblem({ maxConnections: 8 }, HTTP_DEFAULTS)).toBeNull()
    expect(httpSettingsProblem({ maxConnections: 0 }, HTTP_DEFAULTS)).toMatch(
      /http.maxConnections must be a positive integer, not 0/,
    )
    expect(
      httpSettingsProblem({ maxConections: 8 } as Partial<HttpServerSettings>, HTTP_DEFAULTS),
    ).toMatch(/http.maxConections is not a setting/)
    expect(httpSettingsProblem({ headersTimeoutMs: 70_000 }, HTTP_DEFAULTS)).toMatch(
      /must not exceed http.requestTimeoutMs/,
    )
  })
})

describe('listen', () => {
  it('says PORT_IN_USE, naming host and port, when the port is taken', async () => {
    const taken = createTcpServer()
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve))
    cleanups.push(() => taken.close())
    const port = (taken.address() as { port: number }).port
    const error = await listen(createServer(), port, '127.0.0.1').catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ListenError)
    expect(error).toMatchObject({
      code: 'PORT_IN_USE',
      message: `Failed to listen on 127.0.0.1:${port}: port ${port} is already in use (another instance or another program holds it). Choose another --port, or --port 0 to pick a free one.`,
    })
  })

  it('says LISTEN_FAILED for an address that is not this machine', async () => {
    const error = await listen(createServer(), 0, '192.0.2.1').catch((e: unknown) => e)
    expect(error).toMatchObject({
      code: 'LISTEN_FAILED',
      message: expect.stringMatching(/^Failed to listen on 192.0.2.1:0: .*Check --host/),
    })
  })
})
