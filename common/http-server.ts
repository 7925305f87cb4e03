import type { IncomingMessage, Server, ServerOptions, ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { Server as TlsServer, type TLSSocket } from 'node:tls'
import { CodedError } from './coded-error.js'

/**
 * Connection bounds and timeouts both HTTP servers share: a cap on open connections where a new
 * connection evicts the one idle the longest (so idle sockets cannot deny service), the header,
 * request and keep-alive timeouts, an idle timeout for a connection that sends no request, and
 * a listen that says "port in use" as such.
 */

/** How many connections a server holds and how long it waits for them. */
export interface HttpServerSettings {
  /** Open connections at most; one more evicts the connection idle the longest (or is refused when none is idle). */
  readonly maxConnections: number
  /** Time for a client to send the complete request headers (slow headers get 408 and are closed). */
  readonly headersTimeoutMs: number
  /** Time for a client to send a whole request, headers and body. */
  readonly requestTimeoutMs: number
  /** Time an idle keep-alive connection stays open after an answer. */
  readonly keepAliveTimeoutMs: number
  /** Time a new connection may stay open without sending a (complete) request. */
  readonly idleTimeoutMs: number
}

/** Defaults: the adapter's; the simulator keeps keep-alive connections longer (see its README). */
export const HTTP_DEFAULTS: HttpServerSettings = {
  maxConnections: 1024,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 60_000,
  keepAliveTimeoutMs: 5_000,
  idleTimeoutMs: 10_000,
}

/** What a server's connection guard has seen. */
export interface ConnectionStats {
  /** Connections open now. */
  readonly open: number
  /** Of those, the ones with no request in progress. */
  readonly idle: number
  /** Idle connections closed to make room for a new one. */
  readonly evicted: number
  /** New connections refused because every open one had a request in progress. */
  readonly refused: number
  /** Connections closed because they sent no request within idleTimeoutMs. */
  readonly timedOut: number
}

/** Why given settings are unusable, or null; every field is a positive integer, headers within request. */
export function httpSettingsProblem(
  given: Partial<HttpServerSettings> | undefined,
  defaults: HttpServerSettings,
): string | null {
  for (const [name, value] of Object.entries(given ?? {})) {
    if (!Object.hasOwn(defaults, name)) {
      return `http.${name} is not a setting; expected ${Object.keys(defaults).join(', ')}.`
    }
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
      return `http.${name} must be a positive integer, not ${String(value)}.`
    }
  }
  const settings = { ...defaults, ...given }
  if (settings.headersTimeoutMs > settings.requestTimeoutMs) {
    return `http.headersTimeoutMs (${settings.headersTimeoutMs}) must not exceed http.requestTimeoutMs (${settings.requestTimeoutMs}): the headers are part of the request.`
  }
  return null
}

/** `node:http` server options for the settings; the timeout checks run often enough to honour small values. */
export function httpServerOptions(settings: HttpServerSettings): ServerOptions {
  const shortest = Math.min(settings.headersTimeoutMs, settings.requestTimeoutMs)
  return {
    headersTimeout: settings.headersTimeoutMs,
    requestTimeout: settings.requestTimeoutMs,
    keepAliveTimeout: settings.keepAliveTimeoutMs,
    // node checks header and request timeouts on this interval (default 30 s, which would let a
    // slow-headers client hold a socket for 40 s).
    connectionsCheckingInterval: Math.max(25, Math.min(1_000, Math.floor(shortest / 4))),
  }
}

interface Connection {
  readonly socket: Socket
  /** Requests in progress (several when pipelined). */
  busy: number
  timer: NodeJS.Timeout | null
  gone: boolean
}

/**
 * Holds a server to `maxConnections` and closes connections that send no request. Attach it
 * before the server's `request` handler so it sees a request before the handler answers.
 */
export class ConnectionGuard {
  private readonly settings: HttpServerSettings
  private readonly connections = new Map<Socket, Connection>()
  /** Connections with no request in progress, longest idle first (a Map keeps insertion order). */
  private readonly idle = new Map<Connection, true>()
  /** The socket requests arrive on (the TLS socket over a raw one) to its connection. */
  private readonly bySocket = new WeakMap<Socket, Connection>()
  /** TLS only: raw connections still in their handshake, by their address quadruple. */
  private readonly handshaking = new Map<string, Connection>()
  private evicted = 0
  private refused = 0
  private timedOut = 0

  constructor(server: Server, settings: HttpServerSettings) {
    this.settings = settings
    server.on('connection', (socket: Socket) => this.connected(socket, server instanceof TlsServer))
    server.on('secureConnection', (tlsSocket: TLSSocket) => {
      const key = quadruple(tlsSocket)
      const connection = this.handshaking.get(key)
      if (connection) {
        this.handshaking.delete(key)
        this.bySocket.set(tlsSocket, connection)
      }
    })
    server.on('request', (req: IncomingMessage, res: ServerResponse) => this.started(req, res))
    server.on('close', () => {
      for (const connection of this.connections.values()) {
        this.stopTimer(connection)
      }
    })
  }

  /** Counts of what the guard has seen. */
  stats(): ConnectionStats {
    return {
      open: this.connections.size,
      idle: this.idle.size,
      evicted: this.evicted,
      refused: this.refused,
      timedOut: this.timedOut,
    }
  }

  private connected(socket: Socket, tls: boolean): void {
    if (this.connections.size >= this.settings.maxConnections) {
      const oldest = this.idle.keys().next().value
      if (oldest === undefined) {
        this.refused += 1
        socket.destroy()
        return
      }
      this.evicted += 1
      this.forget(oldest)
      oldest.socket.destroy()
    }
    const connection: Connection = { socket, busy: 0, timer: null, gone: false }
    connection.timer = setTimeout(() => {
      this.timedOut += 1
      this.forget(connection)
      socket.destroy()
    }, this.settings.idleTimeoutMs)
    connection.timer.unref()
    this.connections.set(socket, connection)
    this.idle.set(connection, true)
    if (tls) {
      const key = quadruple(socket)
      this.handshaking.set(key, connection)
      socket.once('close', () => this.handshaking.delete(key))
    } else {
      this.bySocket.set(socket, connection)
    }
    socket.once('close', () => this.forget(connection))
  }

  private started(req: IncomingMessage, res: ServerResponse): void {
    const connection = this.bySocket.get(req.socket)
    if (connection === undefined || connection.gone) {
      return
    }
    this.stopTimer(connection)
    connection.busy += 1
    this.idle.delete(connection)
    res.once('close', () => {
      connection.busy -= 1
      if (connection.busy === 0 && !connection.gone) {
        // Re-inserted at the end: the connection idle the longest stays first.
        this.idle.set(connection, true)
      }
    })
  }

  private forget(connection: Connection): void {
    if (connection.gone) {
      return
    }
    connection.gone = true
    this.stopTimer(connection)
    this.connections.delete(connection.socket)
    this.idle.delete(connection)
  }

  private stopTimer(connection: Connection): void {
    if (connection.timer !== null) {
      clearTimeout(connection.timer)
      connection.timer = null
    }
  }
}

/** A TCP connection's addresses: the same on a raw socket and the TLS socket over it. */
function quadruple(socket: Socket): string {
  return `${socket.remoteAddress ?? ''}|${socket.remotePort ?? ''}|${socket.localAddress ?? ''}|${socket.localPort ?? ''}`
}

/** Why a server could not listen: the port is taken, or something else (a bad address, no permission). */
export class ListenError extends CodedError<'PORT_IN_USE' | 'LISTEN_FAILED'> {
  override readonly name = 'ListenError'

  constructor(code: 'PORT_IN_USE' | 'LISTEN_FAILED', message: string, cause: unknown) {
    // 503: nothing is serving; only a start-up path sees this, never an HTTP client.
    super(code, 503, message, { cause })
  }
}

/** Listens on host:port; rejects with a {@link ListenError} whose message names both and says what to do. */
export function listen(server: Server, port: number, host: string): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException): void => {
      const where = `${host.includes(':') ? `[${host}]` : host}:${port}`
      reject(
        error.code === 'EADDRINUSE'
          ? new ListenError(
              'PORT_IN_USE',
              `Failed to listen on ${where}: port ${port} is already in use (another instance or another program holds it). Choose another --port, or --port 0 to pick a free one.`,
              error,
            )
          : new ListenError(
              'LISTEN_FAILED',
              `Failed to listen on ${where}: ${error.message}. Check --host (an address of this machine) and --port.`,
              error,
            ),
      )
    }
    server.once('error', onError)
    server.listen(port, host, () => {
      server.off('error', onError)
      resolve(server.address() as AddressInfo)
    })
  })
}
