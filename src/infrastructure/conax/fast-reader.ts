/**
 * A lean reader of the two queries a reset run makes per smartcard (GetActiveSubscriptions,
 * GetPairingStatusForCard). node-soap spends most of a call building and walking its object
 * model; here a request is a template with the CA ID spliced in, and an answer is read with a
 * small purpose-built XML reader (about 5 µs an answer, against 44 µs for fast-xml-parser).
 * Failures are classified with the same table as the Conax client ({@link Failure}), then told
 * as a {@link CaReadError}, so that this reader and the gateway reader (gateway-reader.ts) fail
 * alike.
 * @module
 */
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http'
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https'
import type { CaReader } from '../../application/runs/run-ports.js'
import type { ObservedCard } from '../../domain/runs.js'
import {
  CHARACTER_SET_LABELS,
  DEFAULT_CHARACTER_SET,
  characterSetOf,
  toWireBytes,
  toWireText,
  type CharacterSet,
} from './character-set.js'
import type { ConaxClientOptions } from './conax-client.js'
import {
  CLASSIFICATION_TABLE,
  classifyFaultCode,
  classifyHttpStatus,
  classifyStatusCode,
  malformedAnswer,
  type Failure,
} from './fault-classification.js'

/** The two operations a reader calls. */
export type ReadOperation = 'GetActiveSubscriptions' | 'GetPairingStatusForCard'

/**
 * What kind of failure stopped a read:
 * - `INVALID_CA_ID`: not 11 digits, refused before sending;
 * - `CA_UNREACHABLE`: no answer (connection refused or reset, unknown host, TLS);
 * - `CA_TIMEOUT`: no answer within `timeoutMs`;
 * - `CA_REFUSED`: the CA refused the call (HTTP 401/403/404/4xx, `soap:Client`, a business code);
 * - `CA_FAILED`: the CA failed on its side (SYSTEM_ERROR, `soap:Server`, HTTP 5xx);
 * - `MALFORMED_ANSWER`: an answer that is not the operation's SOAP answer;
 * - `READER_CLOSED`: `readCard` after `close`.
 */
export const CA_READ_ERROR_CODES = [
  'INVALID_CA_ID',
  'CA_UNREACHABLE',
  'CA_TIMEOUT',
  'CA_REFUSED',
  'CA_FAILED',
  'MALFORMED_ANSWER',
  'READER_CLOSED',
] as const
/** One of {@link CA_READ_ERROR_CODES}. */
export type CaReadErrorCode = (typeof CA_READ_ERROR_CODES)[number]

/** Why a card could not be read: `code` for programs, the message for people. */
export class CaReadError extends Error {
  override readonly name = 'CaReadError'
  readonly code: CaReadErrorCode
  readonly caId: string
  /** The call that failed; null when nothing was sent. */
  readonly operation: ReadOperation | null
  /** The classified cause: a StatusCode, UNAUTHORIZED, SOAP_CLIENT_FAULT, TIMEOUT, HTTP_503... */
  readonly detail: string | null

  constructor(fields: {
    readonly code: CaReadErrorCode
    readonly caId: string
    readonly operation: ReadOperation | null
    readonly detail: string | null
    readonly message: string
  }) {
    super(fields.message)
    this.code = fields.code
    this.caId = fields.caId
    this.operation = fields.operation
    this.detail = fields.detail
  }
}

const CARD_CA_ID = /^\d{11}$/

/** The error for a CA ID that is not a smartcard's (11 digits), or null when it is one. */
export function checkCardCaId(caId: string): CaReadError | null {
  if (typeof caId === 'string' && CARD_CA_ID.test(caId)) {
    return null
  }
  const shown = JSON.stringify(String(caId)).slice(0, 60)
  return new CaReadError({
    code: 'INVALID_CA_ID',
    caId: String(caId),
    operation: null,
    detail: null,
    message: `Failed to read card ${shown}: a smartcard CA ID is exactly 11 digits; nothing was sent. Correct the smartcard's CA ID in the subscription.`,
  })
}

/** The reader's error for a closed reader. */
export function readerClosed(caId: string): CaReadError {
  return new CaReadError({
    code: 'READER_CLOSED',
    caId,
    operation: null,
    detail: null,
    message: `Failed to read card ${caId}: the CA reader is closed. Create a new one.`,
  })
}

const UNREACHABLE = new Set([
  'CONNECTION_REFUSED',
  'CONNECTION_RESET',
  'HOST_NOT_FOUND',
  'NETWORK_UNREACHABLE',
  'NETWORK_ERROR',
  'TLS_ERROR',
])
const CA_OWN_FAILURES = new Set(['SYSTEM_ERROR', 'SOAP_SERVER_FAULT'])
const CONFIGURATION = new Set(['UNAUTHORIZED', 'FORBIDDEN'])

function readCodeOf(errorCode: string): CaReadErrorCode {
  if (errorCode === 'TIMEOUT') {
    return 'CA_TIMEOUT'
  }
  if (errorCode === 'MALFORMED_ANSWER') {
    return 'MALFORMED_ANSWER'
  }
  if (UNREACHABLE.has(errorCode)) {
    return 'CA_UNREACHABLE'
  }
  return CA_OWN_FAILURES.has(errorCode) || /^HTTP_5\d\d$/.test(errorCode)
    ? 'CA_FAILED'
    : 'CA_REFUSED'
}

function adviceFor(code: CaReadErrorCode, errorCode: string): string {
  switch (code) {
    case 'CA_UNREACHABLE':
      return "Check that the CA is up and the provider's connection endpoint is right, then resume the run."
    case 'CA_TIMEOUT':
      return "The CA is slow or down: resume the run later, or raise the provider's connection timeoutMs."
    case 'CA_FAILED':
      return 'The CA failed on its side: resume the run later.'
    case 'MALFORMED_ANSWER':
      return "Check that the provider's connection endpoint is a Conax Contego CA, then resume the run."
    default:
      break
  }
  if (CONFIGURATION.has(errorCode)) {
    return "Check the provider's connection username and password, then resume the run."
  }
  if (/^HTTP_[34]\d\d$/.test(errorCode)) {
    return "Check the provider's connection endpoint (…/ca-server/webservices/caclient), then resume the run."
  }
  if (errorCode === 'SOAP_CLIENT_FAULT') {
    return 'The CA does not accept the query: check that it serves the Conax Contego contract.'
  }
  return 'Check the card at the CA, then resume the run.'
}

/** A classified failure of one query, told as the reader's error (shared by both readers). */
export function caReadErrorOf(
  operation: ReadOperation,
  caId: string,
  failure: Pick<Failure, 'errorCode' | 'errorDescription'>,
): CaReadError {
  const code = readCodeOf(failure.errorCode)
  const what =
    failure.errorDescription && failure.errorDescription !== failure.errorCode
      ? `${failure.errorCode}: ${failure.errorDescription}`
      : failure.errorCode
  return new CaReadError({
    code,
    caId,
    operation,
    detail: failure.errorCode,
    message: `Failed to read card ${caId}: ${operation} failed with ${what}. ${adviceFor(code, failure.errorCode)}`,
  })
}

type Products = ObservedCard['products']

/**
 * The card from its two answers, each null when the CA said CLIENT_NOT_FOUND. A card the CA
 * learns of between the two calls has neither products nor a pairing yet, so one
 * CLIENT_NOT_FOUND is enough to call it unknown.
 */
export function observedCardOf(
  products: Products | null,
  pairedStbs: readonly string[] | null,
): ObservedCard {
  return products === null || pairedStbs === null
    ? { known: false, products: [], pairedStbs: [] }
    : { known: true, products, pairedStbs }
}

// ---------------------------------------------------------------------------------------------
// A purpose-built XML reader: elements by local name (any prefix, or none), text with the
// predefined and numeric entities decoded, CDATA kept. Anything it does not understand (a DOCTYPE,
// mismatched tags, a stray '<', an unknown entity) makes the answer malformed: these answers are
// small and machine-written, so nothing legitimate is lost.

/** An element as {@link readXml} reads it: its local name, qualified name, text and children. */
export interface XmlNode {
  readonly local: string
  readonly qname: string
  readonly nil: boolean
  text: string
  readonly children: XmlNode[]
}

const TOKEN =
  /<(\/?)((?:[A-Za-z_][\w.-]*:)?([A-Za-z_][\w.-]*))((?:\s+[^\s=/>]+\s*=\s*(?:"[^"]*"|'[^']*'))*)\s*(\/?)>|<!\[CDATA\[([\s\S]*?)\]\]>|<!--[\s\S]*?-->|<\?[\s\S]*?\?>/g
const ENTITY = /&(?:(lt|gt|amp|quot|apos)|#(\d{1,7})|#x([0-9A-Fa-f]{1,6}));/g
const NAMED: Readonly<Record<string, string>> = {
  lt: '<',
  gt: '>',
  amp: '&',
  quot: '"',
  apos: "'",
}
const BARE_AMPERSAND = /&(?!(?:lt|gt|amp|quot|apos|#\d{1,7}|#x[0-9A-Fa-f]{1,6});)/
const NIL = /[\s:]nil\s*=\s*["'](?:true|1)["']/

function decodeText(raw: string): string | null {
  if (raw.includes('<')) {
    return null
  }
  if (!raw.includes('&')) {
    return raw
  }
  if (BARE_AMPERSAND.test(raw)) {
    return null
  }
  return raw.replace(ENTITY, (_all, name?: string, dec?: string, hex?: string) =>
    name !== undefined
      ? (NAMED[name] ?? '')
      : String.fromCodePoint(Math.min(Number.parseInt(dec ?? hex ?? '', dec ? 10 : 16), 0x10ffff)),
  )
}

/** The document's root element, or null when the text is not XML this reader understands. */
export function readXml(xml: string): XmlNode | null {
  const top: XmlNode = { local: '', qname: '', nil: false, text: '', children: [] }
  const stack: XmlNode[] = [top]
  let current = top
  let last = 0
  TOKEN.lastIndex = 0
  for (let match = TOKEN.exec(xml); match !== null; match = TOKEN.exec(xml)) {
    const text = match.index > last ? decodeText(xml.slice(last, match.index)) : ''
    if (text === null) {
      return null
    }
    current.text += text
    last = TOKEN.lastIndex
    const [, closing, qname, local, attributes, selfClosing, cdata] = match
    if (qname === undefined || local === undefined) {
      current.text += cdata ?? ''
    } else if (closing) {
      if (current.qname !== qname || stack.length < 2) {
        return null
      }
      stack.pop()
      current = stack[stack.length - 1] ?? top
    } else {
      const node: XmlNode = {
        local,
        qname,
        nil: NIL.test(attributes ?? ''),
        text: '',
        children: [],
      }
      current.children.push(node)
      if (!selfClosing) {
        stack.push(node)
        current = node
      }
    }
  }
  const rest = decodeText(xml.slice(last))
  const root = top.children[0]
  return stack.length === 1 && top.children.length === 1 && rest !== null && root ? root : null
}

function childOf(node: XmlNode | undefined, local: string): XmlNode | undefined {
  return node?.children.find((child) => child.local === local)
}

function childrenOf(node: XmlNode | undefined, local: string): XmlNode[] {
  return node ? node.children.filter((child) => child.local === local) : []
}

/** A leaf's trimmed text; '' for an absent, empty or nil element. */
function textOf(node: XmlNode | undefined): string {
  return node && !node.nil ? node.text.trim() : ''
}

// ---------------------------------------------------------------------------------------------
// The two operations: their service, their request template and how their payload is read.

const SOAP11_ENV = 'http://schemas.xmlsoap.org/soap/envelope/'
const serviceNamespace = (service: string): string => `http://www.conax.com/cas/xsd/${service}/v1`

interface QuerySpec<T extends readonly unknown[]> {
  readonly operation: ReadOperation
  readonly service: 'subscription' | 'pairing'
  /** The payload of an OK answer, or what is wrong with it (a string). */
  readonly read: (response: XmlNode) => T | string
}

/** What an answer came to: the payload (null for CLIENT_NOT_FOUND), or the failure. */
type Interpreted<T> = { readonly value: T | null } | { readonly failure: Failure }

const ACTIVE_SUBSCRIPTIONS: QuerySpec<Products> = {
  operation: 'GetActiveSubscriptions',
  service: 'subscription',
  read: (response) => {
    const products: { productId: string; distributor: string | null }[] = []
    for (const item of childrenOf(childOf(response, 'Subscriptions'), 'Subscription')) {
      const productId = textOf(childOf(item, 'ProductId'))
      if (productId === '') {
        return 'a Subscription without ProductId'
      }
      products.push({ productId, distributor: textOf(childOf(item, 'Distributor')) || null })
    }
    return products
  },
}

const PAIRING_STATUS: QuerySpec<readonly string[]> = {
  operation: 'GetPairingStatusForCard',
  service: 'pairing',
  read: (response) => {
    const paired = textOf(childOf(response, 'Paired'))
    if (paired === 'false' || paired === '0') {
      return []
    }
    if (paired !== 'true' && paired !== '1') {
      return `Paired is '${paired}', not true or false`
    }
    const stbs: string[] = []
    for (const module of childrenOf(childOf(response, 'PairingModules'), 'PairingModule')) {
      const id = textOf(childOf(module, 'PairingModuleId'))
      if (id === '') {
        return 'a PairingModule without PairingModuleId'
      }
      stbs.push(id)
    }
    return stbs
  },
}

const ESCAPES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&apos;',
}

function escapeXml(text: string): string {
  return CARD_CA_ID.test(text) ? text : text.replace(/[&<>"']/g, (char) => ESCAPES[char] ?? char)
}

/** A request body as it goes on the wire: text in an 8-bit encoding, or UTF-16 bytes. */
interface WireBody {
  readonly data: string | Buffer
  readonly encoding: 'utf8' | 'latin1'
  readonly length: number
}

const CA_ID_SLOT = '{CA_ID}'

/**
 * The request body builder of a query in the provider's character set. The envelope is converted
 * once, around a slot for the CA ID; a validated CA ID is ASCII digits, which every set carries.
 * 8-bit bodies stay strings so that Node writes the headers and body in one segment (it merges
 * them only for a string body; a Buffer costs a second chunk and a writev).
 */
function requestBodies(
  spec: QuerySpec<readonly unknown[]>,
  charset: CharacterSet,
): (caId: string) => WireBody {
  const op = spec.operation
  const xml =
    `<?xml version="1.0" encoding="${charset.name}"?>` +
    `<soapenv:Envelope xmlns:soapenv="${SOAP11_ENV}" xmlns:c="${serviceNamespace(spec.service)}">` +
    `<soapenv:Body><c:${op}><${op}Request><CaClientId>${CA_ID_SLOT}</CaClientId></${op}Request></c:${op}>` +
    '</soapenv:Body></soapenv:Envelope>'
  const [head = '', tail = ''] = toWireText(xml, charset).split(CA_ID_SLOT)
  if (charset.encoding === 'utf16le') {
    return (caId) => {
      const data = toWireBytes(head + escapeXml(caId) + tail, charset)
      return { data, encoding: 'latin1', length: data.length }
    }
  }
  const encoding = charset.encoding === 'utf8' ? 'utf8' : 'latin1'
  return (caId) => {
    const data = head + escapeXml(caId) + tail
    return { data, encoding, length: Buffer.byteLength(data, encoding) }
  }
}

// ---------------------------------------------------------------------------------------------
// The wire.

interface HttpAnswer {
  readonly status: number
  readonly contentType: string
  readonly body: Buffer
}

class DeadlineExceeded extends Error {
  override readonly name = 'DeadlineExceeded'
}

class AnswerTooLarge extends Error {
  override readonly name = 'AnswerTooLarge'
}

// Far above any answer of the two queries; a body this size is not a Conax answer, so it is
// dropped instead of being buffered and parsed.
const MAX_ANSWER_BYTES = 4 * 1024 * 1024

const IDLE_SOCKET_TIMEOUT_MS = 4000
const RESET_CODES = new Set(['ECONNRESET', 'EPIPE'])

function errorCodeOf(error: unknown): string {
  const code =
    typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : null
  return typeof code === 'string' ? code : 'ERR_UNKNOWN'
}

function decodeBody(answer: HttpAnswer): string {
  const label = /charset\s*=\s*"?([^";\s]+)/i.exec(answer.contentType)?.[1]
  const encoding = (label && characterSetOf(label)?.encoding) || 'utf8'
  const text = answer.body.toString(encoding)
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text
}

function checkOptions(options: ConaxClientOptions & { readonly maxSockets?: number }): {
  url: URL
  charset: CharacterSet
} {
  const url = URL.canParse(options.endpoint) ? new URL(options.endpoint) : null
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    throw new TypeError(
      `Failed to create the CA reader: endpoint '${options.endpoint}' is not an http(s) URL.`,
    )
  }
  for (const [name, value] of [
    ['timeoutMs', options.timeoutMs],
    ['maxSockets', options.maxSockets ?? 1],
  ] as const) {
    if (!Number.isInteger(value) || value < 1) {
      throw new RangeError(
        `Failed to create the CA reader: ${name} must be a positive integer, not ${value}.`,
      )
    }
  }
  const charset = characterSetOf(options.characterSet ?? DEFAULT_CHARACTER_SET.name)
  if (!charset) {
    throw new RangeError(
      `Failed to create the CA reader: character set '${options.characterSet ?? ''}' is not supported. Use one of ${CHARACTER_SET_LABELS.join(', ')}.`,
    )
  }
  return { url, charset }
}

/**
 * Creates a reader that asks the CA directly over a keep-alive agent (`maxSockets` connections,
 * default 64), with Basic auth, the provider's character set and a `timeoutMs` deadline per call.
 *
 * @example
 * const reader = createFastCaReader({ endpoint, username: 'sms', password: 'sms', timeoutMs: 10_000 })
 * const card = await reader.readCard('01450253313') // { known: true, products: [...], pairedStbs: [...] }
 * await reader.close()
 */
export function createFastCaReader(
  options: ConaxClientOptions & { readonly maxSockets?: number },
): CaReader {
  const { url, charset } = checkOptions(options)
  const secure = url.protocol === 'https:'
  const agentOptions = {
    keepAlive: true,
    noDelay: true,
    maxSockets: options.maxSockets ?? 64,
    // Dropped before common server keep-alive timeouts (5 s), as the Conax client does.
    timeout: IDLE_SOCKET_TIMEOUT_MS,
  }
  const agent = secure ? new HttpsAgent(agentOptions) : new HttpAgent(agentOptions)
  const send = secure ? httpsRequest : httpRequest
  const base = url.pathname.replace(/\/+$/, '')
  // URL keeps an IPv6 literal's brackets; the socket wants the bare address.
  const hostname = url.hostname.replace(/^\[(.*)\]$/, '$1')
  const authorization = `Basic ${Buffer.from(`${options.username}:${options.password}`).toString('base64')}`
  const contentType = `text/xml; charset=${charset.name}`
  let closed = false

  const exchange = (path: string, body: WireBody, deadline: number, retry: boolean) =>
    new Promise<HttpAnswer>((resolve, reject) => {
      let timedOut = false
      const request = send(
        {
          agent,
          protocol: url.protocol,
          hostname,
          port: url.port,
          path,
          method: 'POST',
          headers: {
            Authorization: authorization,
            'Content-Type': contentType,
            'Content-Length': body.length,
          },
        },
        (response: IncomingMessage) => {
          const chunks: Buffer[] = []
          let size = 0
          response.on('data', (chunk: Buffer) => {
            size += chunk.length
            chunks.push(chunk)
            if (size > MAX_ANSWER_BYTES) {
              response.destroy(new AnswerTooLarge())
            }
          })
          response.on('error', fail)
          response.on('end', () => {
            clearTimeout(timer)
            resolve({
              status: response.statusCode ?? 0,
              contentType: response.headers['content-type'] ?? '',
              // A small answer comes in one chunk: no copy.
              body: chunks.length === 1 && chunks[0] ? chunks[0] : Buffer.concat(chunks),
            })
          })
        },
      )
      const timer = setTimeout(
        () => {
          timedOut = true
          request.destroy(new DeadlineExceeded())
        },
        Math.max(1, deadline - Date.now()),
      )
      function fail(error: Error): void {
        clearTimeout(timer)
        // A kept-alive socket the CA closed while idle fails on reuse; a query is safe to repeat.
        // Not after close(): the agent would open a new connection for it.
        const reused = request.reusedSocket && RESET_CODES.has(errorCodeOf(error))
        if (retry && reused && !timedOut && !closed) {
          resolve(exchange(path, body, deadline, false))
        } else {
          reject(timedOut ? new DeadlineExceeded() : error)
        }
      }
      request.on('error', fail)
      request.end(body.data, body.encoding)
    })

  const networkFailure = (error: unknown): Failure => {
    if (error instanceof AnswerTooLarge) {
      return malformedAnswer(`The answer is larger than ${MAX_ANSWER_BYTES} bytes.`)
    }
    if (error instanceof DeadlineExceeded) {
      return {
        kind: 'TRANSIENT',
        errorCode: 'TIMEOUT',
        errorDescription: `no answer from ${url.origin} within ${options.timeoutMs} ms`,
      }
    }
    const code = errorCodeOf(error)
    const rule = CLASSIFICATION_TABLE.networkCodes[code] ?? CLASSIFICATION_TABLE.otherNetworkCode
    const message = error instanceof Error ? error.message : String(error)
    return { ...rule, errorDescription: `no answer from ${url.origin}: ${message} (${code})` }
  }

  const bodies: Readonly<Record<ReadOperation, (caId: string) => WireBody>> = {
    GetActiveSubscriptions: requestBodies(ACTIVE_SUBSCRIPTIONS, charset),
    GetPairingStatusForCard: requestBodies(PAIRING_STATUS, charset),
  }

  const query = async <T extends readonly unknown[]>(
    spec: QuerySpec<T>,
    caId: string,
  ): Promise<T | null> => {
    let answer: HttpAnswer
    try {
      const body = bodies[spec.operation](caId)
      answer = await exchange(`${base}/${spec.service}`, body, Date.now() + options.timeoutMs, true)
    } catch (error) {
      throw caReadErrorOf(spec.operation, caId, networkFailure(error))
    }
    const outcome = interpret(spec, answer)
    if ('failure' in outcome) {
      throw caReadErrorOf(spec.operation, caId, outcome.failure)
    }
    return outcome.value
  }

  return {
    readCard: async (caId) => {
      const invalid = checkCardCaId(caId)
      if (invalid) {
        throw invalid
      }
      if (closed) {
        throw readerClosed(caId)
      }
      const [products, pairedStbs] = await Promise.all([
        query(ACTIVE_SUBSCRIPTIONS, caId),
        query(PAIRING_STATUS, caId),
      ])
      return observedCardOf(products, pairedStbs)
    },
    close: () => {
      closed = true
      agent.destroy()
      return Promise.resolve()
    },
  }
}

/** What an answer means: the payload, null for CLIENT_NOT_FOUND, or the failure. */
function interpret<T extends readonly unknown[]>(
  spec: QuerySpec<T>,
  answer: HttpAnswer,
): Interpreted<T> {
  const text = decodeBody(answer)
  const body = childOf(readXml(text) ?? undefined, 'Body')
  const fault = childOf(body, 'Fault')
  if (fault) {
    const code =
      textOf(childOf(fault, 'faultcode')) || textOf(childOf(childOf(fault, 'Code'), 'Value'))
    const reason =
      textOf(childOf(fault, 'faultstring')) || textOf(childOf(childOf(fault, 'Reason'), 'Text'))
    return { failure: classifyFaultCode(code, reason) }
  }
  if (answer.status !== 200) {
    return { failure: classifyHttpStatus(answer.status, text) }
  }
  const response = childOf(body, `${spec.operation}Response`)
  const status = childOf(response, 'TransactionStatus')
  const statusCode = textOf(childOf(status, 'StatusCode'))
  if (!response || statusCode === '') {
    const excerpt = text.trim().slice(0, 120) || 'an empty body'
    return {
      failure: malformedAnswer(
        `The answer is not a ${spec.operation}Response with a StatusCode (${excerpt}).`,
      ),
    }
  }
  if (statusCode === 'CLIENT_NOT_FOUND') {
    return { value: null }
  }
  if (classifyStatusCode(statusCode) !== 'COMPLETED') {
    const message = textOf(childOf(status, 'Message'))
    const kind = classifyStatusCode(statusCode) === 'TRANSIENT' ? 'TRANSIENT' : 'REJECTED'
    return { failure: { kind, errorCode: statusCode, errorDescription: message || statusCode } }
  }
  const payload = spec.read(response)
  return typeof payload === 'string'
    ? { failure: malformedAnswer(`The ${spec.operation} answer is OK but holds ${payload}.`) }
    : { value: payload }
}

/** An answer as it came off the wire: HTTP status, Content-Type and the body's chunks in order. */
export interface WireAnswer {
  readonly status: number
  readonly contentType: string
  readonly chunks: readonly Buffer[]
}

/** What an answer says: the payload (null for CLIENT_NOT_FOUND), or the failure. */
export type AnswerReading =
  { readonly value: Products | readonly string[] | null } | { readonly failure: Failure }

/** Reads one answer to `operation` as `readCard` does (the reader benchmark times this alone). */
export function readAnswer(operation: ReadOperation, answer: WireAnswer): AnswerReading {
  const spec: QuerySpec<Products | readonly string[]> =
    operation === 'GetActiveSubscriptions' ? ACTIVE_SUBSCRIPTIONS : PAIRING_STATUS
  const [only] = answer.chunks
  const body = answer.chunks.length === 1 && only ? only : Buffer.concat(answer.chunks)
  return interpret(spec, { status: answer.status, contentType: answer.contentType, body })
}
