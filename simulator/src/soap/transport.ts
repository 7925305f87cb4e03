import type { IncomingMessage, ServerResponse } from 'node:http'
import { SERVICE_BASE_PATH, SERVICE_NAMES, type ServiceName } from '../contract/namespaces.js'
import { generateWsdl } from '../operations/served-wsdl.js'

/**
 * The HTTP around a SOAP call: which service a path names, who is calling (HTTP Basic), the body
 * read within its size limit, and the WSDL a `GET ?wsdl` answers.
 */

const SERVICE_BY_PATH = new Map(SERVICE_NAMES.map((s) => [`${SERVICE_BASE_PATH}${s}`, s]))
const HOST = /^(?:[A-Za-z0-9.-]{1,253}|\[[0-9A-Fa-f:.]{2,45}\])(?::\d{1,5})?$/
const WSDL_CACHE_HOSTS = 64

/** The SOAP service a request path names, or null. A trailing slash is tolerated. */
export function serviceForPath(pathname: string): ServiceName | null {
  const trimmed = pathname.length > 1 && pathname.endsWith('/') ? pathname.slice(0, -1) : pathname
  return SERVICE_BY_PATH.get(trimmed) ?? null
}

/** The SMS user whose HTTP Basic credentials the request carries, or null. */
export function authenticate(
  req: IncomingMessage,
  users: ReadonlyMap<string, string>,
): string | null {
  const match = /^basic\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '')
  if (!match?.[1]) {
    return null
  }
  const decoded = Buffer.from(match[1], 'base64').toString('utf8')
  const colon = decoded.indexOf(':')
  if (colon < 0) {
    return null
  }
  const user = decoded.slice(0, colon)
  return users.get(user) === decoded.slice(colon + 1) ? user : null
}

/**
 * Reads a request body of at most `limit` bytes: `onBody` gets it whole, or `onTooLarge` is
 * called once (a declared length over the limit is refused before a byte is read) and the rest
 * is drained unread.
 */
export function readBody(
  req: IncomingMessage,
  limit: number,
  onTooLarge: () => void,
  onBody: (body: Buffer) => void,
): void {
  const declared = Number(req.headers['content-length'] ?? Number.NaN)
  if (declared > limit) {
    onTooLarge()
    req.resume()
    return
  }
  const chunks: Buffer[] = []
  let size = 0
  let aborted = false
  req.on('data', (chunk: Buffer) => {
    if (aborted) {
      return
    }
    size += chunk.length
    if (size > limit) {
      aborted = true
      chunks.length = 0
      onTooLarge()
      return
    }
    chunks.push(chunk)
  })
  req.on('end', () => {
    if (!aborted) {
      onBody(chunks.length === 1 && chunks[0] ? chunks[0] : Buffer.concat(chunks))
    }
  })
  req.on('error', () => {
    aborted = true
  })
}

/** The first value of a header that a proxy may have sent several times or as a list. */
function firstValue(header: string | string[] | undefined): string {
  const value = Array.isArray(header) ? header[0] : header
  return (value ?? '').split(',')[0]?.trim() ?? ''
}

/**
 * The scheme and host a client used to reach the server. Behind a reverse proxy that terminates
 * TLS or changes the host (`trustProxy`), they are the proxy's `X-Forwarded-Proto` and
 * `X-Forwarded-Host` (the first of each, as the proxy nearest the client set it); otherwise, or
 * when a forwarded value is not a plain scheme or host[:port], the connection's scheme and the
 * Host header. Without `trustProxy` the forwarded headers are ignored: any client could send them.
 */
export function clientAddress(
  req: IncomingMessage,
  scheme: 'http' | 'https',
  ownHost: () => string,
  trustProxy: boolean,
): { scheme: 'http' | 'https'; host: string } {
  const given = req.headers.host ?? ''
  const host = HOST.test(given) ? given : ownHost()
  if (!trustProxy) {
    return { scheme, host }
  }
  const proto = firstValue(req.headers['x-forwarded-proto']).toLowerCase()
  const forwardedHost = firstValue(req.headers['x-forwarded-host'])
  return {
    scheme: proto === 'http' || proto === 'https' ? proto : scheme,
    host: HOST.test(forwardedHost) ? forwardedHost : host,
  }
}

/**
 * Answers `GET <service>?wsdl` with the service's WSDL, advertising the address the client used
 * (see {@link clientAddress}).
 */
export function createWsdlRoute(
  scheme: 'http' | 'https',
  ownHost: () => string,
  pathPrefix = '',
  trustProxy = false,
): (req: IncomingMessage, res: ServerResponse, service: ServiceName) => void {
  const cache = new Map<string, string>()
  return (req, res, service) => {
    // Anything that is not host[:port] is ignored, and at most a few addresses are cached, so a
    // hostile header costs nothing.
    const address = clientAddress(req, scheme, ownHost, trustProxy)
    const host = `${address.scheme}://${address.host}`
    const key = `${service}@${host}`
    let wsdl = cache.get(key)
    if (wsdl === undefined) {
      wsdl = generateWsdl(service, `${host}${pathPrefix}${SERVICE_BASE_PATH}${service}`)
      if (cache.size >= WSDL_CACHE_HOSTS) {
        cache.clear()
      }
      cache.set(key, wsdl)
    }
    res.writeHead(200, {
      'Content-Type': 'text/xml; charset=utf-8',
      'Content-Length': Buffer.byteLength(wsdl),
    })
    res.end(wsdl)
  }
}
