import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'

/**
 * The guard both HTTP servers (the simulator and the adapter) put in front of every request:
 * the Host header must name this server (against DNS rebinding), writes from another origin are
 * refused (against cross-site requests from a browser), and protected paths need the bearer
 * token. It answers a refusal itself, before any body is read.
 */

/** Stable codes of the guard's refusals. */
export type GuardCode = 'HOST_NOT_ALLOWED' | 'CROSS_ORIGIN_REFUSED' | 'UNAUTHORIZED'

/** A refused request: what the client is told. */
export interface Refusal {
  readonly status: 401 | 403
  readonly code: GuardCode
  readonly message: string
}

/** How the guard knows its server. */
export interface RequestGuardOptions {
  /** The bearer token protected paths need. */
  readonly token: string
  /** The scheme clients use (an Origin is compared with `scheme://Host`). */
  readonly scheme: 'http' | 'https'
  /** Host names (or `name:port`) accepted on top of the loopback names, e.g. behind a proxy. */
  readonly allowedHosts?: readonly string[]
  /** Exact origins (`https://crm.example`) allowed to write cross-origin, with CORS answers. */
  readonly allowedOrigins?: readonly string[]
  /** Names the protected surface in the `WWW-Authenticate` realm and in messages. */
  readonly realm: string
  /** Where the token comes from, for the message of a 401, e.g. `the CONTEGO_SIM_ADMIN_TOKEN variable`. */
  readonly tokenHint: string
  /** The JSON body of a refusal in the server's error shape. */
  readonly jsonError: (code: GuardCode, message: string) => unknown
}

/** How one request is admitted. */
export interface AdmitOptions {
  /** The path needs the bearer token. */
  readonly token: boolean
  /** Plain text refusals (SOAP paths) or JSON ones. */
  readonly format: 'json' | 'text'
}

/** Bytes of a generated token (256 bits). */
const TOKEN_BYTES = 32
/** RFC 6750's b64token, at least 16 characters: a configured token that is long enough to guess-proof. */
const TOKEN_SYNTAX = /^[A-Za-z0-9\-._~+/]{16,512}=*$/
const LOOPBACK_V4 = /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/
const HOST_NAME =
  /^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/
const HOST_HEADER = /^([a-z0-9.-]{1,253}|\[[0-9a-f:.]{2,45}\])(?::(\d{1,5}))?$/
const BEARER = /^bearer[ \t]+(\S+)[ \t]*$/i
const PREFLIGHT_MAX_AGE_S = '600'

/** A fresh random token: 32 bytes from the system's CSPRNG, base64url. */
export function generateToken(): string {
  return randomBytes(TOKEN_BYTES).toString('base64url')
}

/** Why a configured token cannot be used, or null when it can. */
export function tokenProblem(token: string): string | null {
  return TOKEN_SYNTAX.test(token)
    ? null
    : 'must be 16 to 512 characters of A-Z a-z 0-9 - . _ ~ + / (a bearer token), e.g. from `openssl rand -base64 32`'
}

/**
 * Whether a listen address (or the name given to listen on) is a loopback one: `localhost`,
 * `127.x.x.x`, `::1` or an IPv4-mapped `::ffff:127.x.x.x`. Anything else, `0.0.0.0` and `::`
 * included, reaches other machines.
 */
export function isLoopbackAddress(host: string): boolean {
  const bare = host.toLowerCase().replace(/^\[(.*)\]$/, '$1')
  return (
    bare === 'localhost' ||
    bare === '::1' ||
    LOOPBACK_V4.test(bare) ||
    (bare.startsWith('::ffff:') && LOOPBACK_V4.test(bare.slice(7)))
  )
}

/** Why an `allowedHosts` entry is unusable, or null. */
function allowedHostProblem(entry: string): string | null {
  const match = HOST_HEADER.exec(entry.toLowerCase())
  if (!match || (!match[1]?.startsWith('[') && !HOST_NAME.test(match[1] ?? ''))) {
    return `'${entry}' is not a host name or address with an optional port (e.g. sim.internal or sim.internal:8280)`
  }
  return null
}

/** Why an `allowedOrigins` entry is unusable, or null: it must be an exact origin. */
function allowedOriginProblem(entry: string): string | null {
  let origin: string | null = null
  try {
    const url = new URL(entry)
    origin = url.protocol === 'http:' || url.protocol === 'https:' ? url.origin : null
  } catch {
    origin = null
  }
  return origin === entry
    ? null
    : `'${entry}' is not an exact origin (scheme://host[:port], no path or trailing slash, e.g. https://crm.example)`
}

/** The first problem of the guard's options (token, allowed hosts and origins), or null. */
export function guardOptionsProblem(options: {
  readonly token?: string | undefined
  readonly allowedHosts?: readonly string[] | undefined
  readonly allowedOrigins?: readonly string[] | undefined
}): string | null {
  if (options.token !== undefined) {
    const problem = tokenProblem(options.token)
    if (problem) {
      return `The token ${problem}.`
    }
  }
  for (const host of options.allowedHosts ?? []) {
    const problem = allowedHostProblem(host)
    if (problem) {
      return `allowedHosts: ${problem}.`
    }
  }
  for (const origin of options.allowedOrigins ?? []) {
    const problem = allowedOriginProblem(origin)
    if (problem) {
      return `allowedOrigins: ${problem}.`
    }
  }
  return null
}

/** Constant-time comparison of two secrets of any length (their SHA-256 digests are compared). */
function sameSecret(given: string, expected: string): boolean {
  const digest = (value: string): Buffer => createHash('sha256').update(value, 'utf8').digest()
  return timingSafeEqual(digest(given), digest(expected))
}

/** The request guard of one server; call {@link RequestGuard.listening} once the port is known. */
export class RequestGuard {
  private readonly options: RequestGuardOptions
  private readonly origins: ReadonlySet<string>
  /** Names accepted with any port (allowedHosts entries without a port). */
  private readonly namesAnyPort: ReadonlySet<string>
  /** Exact `Host` values accepted (loopback names with the bound port, entries with a port...). */
  private exact = new Set<string>()
  private port = ''
  private anyHost = false
  private boundAddress = ''

  constructor(options: RequestGuardOptions) {
    const problem = guardOptionsProblem(options)
    if (problem) {
      throw new TypeError(problem)
    }
    this.options = options
    this.origins = new Set(options.allowedOrigins ?? [])
    const hosts = (options.allowedHosts ?? []).map((host) => host.toLowerCase())
    this.namesAnyPort = new Set(hosts.filter((host) => HOST_HEADER.exec(host)?.[2] === undefined))
  }

  /** Learns the bound address and port: the Host values to accept follow from them. */
  listening(address: string, port: number): void {
    const loopback = isLoopbackAddress(address)
    const extra = (this.options.allowedHosts ?? []).map((host) => host.toLowerCase())
    this.port = String(port)
    this.boundAddress = address.includes(':') ? `[${address.toLowerCase()}]` : address
    // Bound to every interface or a LAN address with no list: any name may reach it, and the
    // token (mandatory there) is the protection.
    this.anyHost = !loopback && extra.length === 0
    const exact = new Set<string>(extra)
    for (const name of ['localhost', '127.0.0.1', '[::1]', this.boundAddress]) {
      exact.add(name)
      exact.add(`${name}:${this.port}`)
    }
    this.exact = exact
  }

  /** Whether a Host header names this server. No Host at all (HTTP/1.0) is no browser's request. */
  hostAllowed(host: string | undefined): boolean {
    if (host === undefined || this.anyHost) {
      return true
    }
    const lower = host.toLowerCase()
    if (this.exact.has(lower)) {
      return true
    }
    const match = HOST_HEADER.exec(lower)
    if (!match) {
      return false
    }
    const name = match[1] as string
    const port = match[2]
    if (this.namesAnyPort.has(name)) {
      return true
    }
    return (port === undefined || port === this.port) && isLoopbackAddress(name)
  }

  /**
   * The refusal of a write from another origin, or null: reads pass (no CORS header lets a page
   * read the answer), so do writes without an Origin (scripts, SOAP clients) or from this origin.
   */
  private crossOrigin(req: IncomingMessage): Refusal | null {
    if (req.method === 'GET' || req.method === 'HEAD') {
      return null
    }
    const origin = req.headers.origin
    if (origin !== undefined) {
      if (this.origins.has(origin)) {
        return null
      }
      if (req.method === 'OPTIONS') {
        return this.refusal(
          `Refused the CORS preflight from origin ${origin}: this ${this.options.realm} answers no cross-origin requests unless the origin is in allowedOrigins.`,
        )
      }
      return origin === `${this.options.scheme}://${req.headers.host ?? ''}`
        ? null
        : this.refusal(
            `Refused ${req.method ?? ''} from origin ${origin}: this ${this.options.realm} takes no writes from web pages of other origins. Call it from a script or server (no Origin header), or add the origin to allowedOrigins.`,
          )
    }
    const site = req.headers['sec-fetch-site']
    return site === 'cross-site' || site === 'same-site'
      ? this.refusal(
          `Refused a ${site} ${req.method ?? ''} from a browser: this ${this.options.realm} takes no writes from web pages of other origins. Call it from a script or server.`,
        )
      : null
  }

  private refusal(message: string): Refusal {
    return { status: 403, code: 'CROSS_ORIGIN_REFUSED', message }
  }

  /** The refusal of a request without the right bearer token, or null. */
  authorize(req: IncomingMessage): Refusal | null {
    const header = req.headers.authorization
    const given = header === undefined ? undefined : BEARER.exec(header)?.[1]
    if (given !== undefined && sameSecret(given, this.options.token)) {
      return null
    }
    const what = header === undefined ? 'No' : given === undefined ? 'No bearer' : 'A wrong'
    return {
      status: 401,
      code: 'UNAUTHORIZED',
      message: `${what} token: the ${this.options.realm} needs the header 'Authorization: Bearer <token>'. The token is ${this.options.tokenHint}.`,
    }
  }

  /** The first refusal of a request (Host, then origin, then token), or null when it may go on. */
  check(req: IncomingMessage, needsToken: boolean): Refusal | null {
    if (!this.hostAllowed(req.headers.host)) {
      return {
        status: 403,
        code: 'HOST_NOT_ALLOWED',
        message: `Host '${req.headers.host ?? ''}' does not name this ${this.options.realm} (a DNS rebinding guard). Use the address it listens on (e.g. http://127.0.0.1:${this.port}), or start it with --allowed-hosts naming the host you use.`,
      }
    }
    return this.crossOrigin(req) ?? (needsToken ? this.authorize(req) : null)
  }

  /**
   * Admits a request or answers it: a refusal (with `Connection: close`, its body unread), or the
   * CORS preflight of an allowed origin. True when the request may go on to its handler.
   */
  admit(req: IncomingMessage, res: ServerResponse, options: AdmitOptions): boolean {
    const origin = this.origins.size === 0 ? undefined : req.headers.origin
    const corsAllowed = origin !== undefined && this.origins.has(origin)
    if (corsAllowed && req.method === 'OPTIONS' && this.hostAllowed(req.headers.host)) {
      res.writeHead(204, {
        'Access-Control-Allow-Origin': origin,
        'Access-Control-Allow-Methods': 'GET, HEAD, POST, PUT, DELETE',
        'Access-Control-Allow-Headers': 'Authorization, Content-Type, SOAPAction',
        'Access-Control-Max-Age': PREFLIGHT_MAX_AGE_S,
        Vary: 'Origin',
      })
      res.end()
      return false
    }
    const refusal = this.check(req, options.token)
    if (refusal) {
      this.refuse(res, refusal, options.format)
      return false
    }
    if (corsAllowed) {
      res.setHeader('Access-Control-Allow-Origin', origin)
      res.setHeader('Vary', 'Origin')
    }
    return true
  }

  /** Answers a refusal in the server's shape and closes the connection (an unread body is not drained). */
  refuse(res: ServerResponse, refusal: Refusal, format: 'json' | 'text'): void {
    const body =
      format === 'json'
        ? JSON.stringify(this.options.jsonError(refusal.code, refusal.message))
        : `${refusal.code}: ${refusal.message}\n`
    res.writeHead(refusal.status, {
      'Content-Type':
        format === 'json' ? 'application/json; charset=utf-8' : 'text/plain; charset=utf-8',
      'Content-Length': Buffer.byteLength(body),
      'Cache-Control': 'no-store',
      Connection: 'close',
      ...(refusal.code === 'UNAUTHORIZED'
        ? { 'WWW-Authenticate': `Bearer realm="${this.options.realm}"` }
        : {}),
    })
    res.end(body)
  }
}
