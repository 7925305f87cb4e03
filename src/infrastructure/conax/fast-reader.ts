/**
 * A lean reader of the two queries a reset run makes per smartcard (GetActiveSubscriptions,
 * GetPairingStatusForCard). node-soap spends most of a call building and walking its object
 * model; here a request is a template with the CA ID spliced in, and an answer is read as its
 * bytes arrive by saxes (strict, namespace-aware) driving a small table of the elements the
 * contract defines, recognised by namespace URI and local name; nothing is built for the rest
 * (docs/decisions/0012-adapter-reads-answers-with-saxes.md). Failures are classified with the
 * same table as the Conax client ({@link Failure}), then told as a {@link CaReadError}, so that
 * this reader and the gateway reader (gateway-reader.ts) fail alike.
 * @module
 */
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http'
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https'
import { StringDecoder } from 'node:string_decoder'
import { SaxesParser } from 'saxes'
import type { CaReader } from '../../application/runs/run-ports.js'
import type { ObservedCard } from '../../domain/runs.js'
import { characterSetOf, toWireBytes, toWireText, type CharacterSet } from './character-set.js'
import {
  AnswerTooLarge,
  DeadlineExceeded,
  IDLE_SOCKET_TIMEOUT_MS,
  MAX_ANSWER_BYTES,
  checkConnection,
  contentTypeOf,
} from './ca-connection.js'
import type { ConaxClientOptions } from './connection-options.js'
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
    // The CA answered: the advice depends on its own code, below.
    case 'CA_REFUSED':
    case 'INVALID_CA_ID':
    case 'READER_CLOSED':
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
// XML: saxes, strict and namespace-aware. What it does not accept (mismatched tags, a stray '<',
// an undefined entity, an unbound prefix) is not well-formed; a DOCTYPE, a processing instruction
// (SOAP 1.1 §3 forbids them in a message) and nesting deeper than MAX_DEPTH are refused. These
// answers are small and machine-written, so nothing legitimate is lost.

const SOAP11_ENV = 'http://schemas.xmlsoap.org/soap/envelope/'
const SOAP12_ENV = 'http://www.w3.org/2003/05/soap-envelope'
const COMMON_TYPES_NS = 'http://www.conax.com/cas/xsd/common-types/v1'
const XSI_NS = 'http://www.w3.org/2001/XMLSchema-instance'
const serviceNamespace = (service: string): string => `http://www.conax.com/cas/xsd/${service}/v1`

/** The answers nest 7 levels deep; a document nested deeper is not one, and is dropped early. */
const MAX_DEPTH = 64

/** What a screened parser hands on: each element opened and closed, and text (CDATA included). */
interface XmlHandlers {
  /** An element opens, in namespace `uri` ('' for none); the parser's `nil` tells its xsi:nil. */
  open(uri: string, local: string, qname: string): void
  close(): void
  text(text: string): void
}

const XML_NS = 'http://www.w3.org/XML/1998/namespace'
const XMLNS_NS = 'http://www.w3.org/2000/xmlns/'

/** A namespace declaration in force: a prefix ('' for the default namespace) and its URI. */
interface Binding {
  readonly prefix: string
  readonly uri: string
  readonly outer: Binding | null
}

/** Always in force (Namespaces in XML 1.0, §3). */
const XML_BINDING: Binding = { prefix: 'xml', uri: XML_NS, outer: null }

/**
 * saxes, strict, with namespaces resolved: it throws (out of `write`/`end`) on anything that is
 * not well-formed or not namespace-well-formed (an unbound prefix, a malformed qualified name, a
 * reserved prefix or URI misused, two attributes with one expanded name), on a DOCTYPE (before
 * any entity in it is used), on a processing instruction and on nesting deeper than
 * {@link MAX_DEPTH}. A parser that threw is spent; one that ended cleanly has reset itself and is
 * kept for the next document, since building one costs about as much as reading an answer.
 *
 * Namespaces are resolved here, over saxes' plain events, rather than by its `xmlns` option: that
 * option builds a prefix map for every element and looks each unprefixed name up through every
 * open element (7.5 µs of saxes on an answer, against 5.1 without); a chain of the few
 * declarations in force does the same for what a SOAP answer declares. A differential test
 * (fast-reader.test.ts) checks that both resolve alike.
 */
class ScreenedParser {
  private readonly parser = new SaxesParser({ position: false })
  private handlers: XmlHandlers | null = null
  private bindings: Binding = XML_BINDING
  /** The bindings in force around each open element, outermost first. */
  private readonly scopes: Binding[] = []
  /** The bindings around the tag being read, once one of its attributes declared a namespace. */
  private declaredOver: Binding | null = null
  /** The tag being read's prefixed attributes other than declarations: name, value, name... */
  private readonly prefixed: string[] = []
  /** Whether the element being opened has xsi:nil="true" (or "1"). */
  nil = false

  private constructor() {
    const parser = this.parser
    parser.on('attribute', (attribute) => this.attribute(attribute.name, attribute.value))
    parser.on('opentag', (tag) => this.open(tag.name))
    parser.on('closetag', () => {
      this.bindings = this.scopes.pop() ?? XML_BINDING
      this.handlers?.close()
    })
    parser.on('text', (text) => this.handlers?.text(text))
    parser.on('cdata', (text) => this.handlers?.text(text))
    parser.on('doctype', () => {
      throw new Error('a DOCTYPE (or entity declaration) is not allowed in a SOAP answer')
    })
    parser.on('processinginstruction', (pi) => {
      throw new Error(
        `a processing instruction (<?${pi.target.slice(0, 40)} ...?>) is not allowed in a SOAP answer`,
      )
    })
  }

  /** A parser for one document, reporting to `handlers`. */
  static for(handlers: XmlHandlers): ScreenedParser {
    const parser = IDLE_PARSERS.pop() ?? new ScreenedParser()
    parser.handlers = handlers
    return parser
  }

  /** Parses the next piece of the document. */
  write(text: string): void {
    this.parser.write(text)
  }

  /** Ends the document (throwing when it is incomplete) and frees the parser for another. */
  end(): void {
    this.parser.close()
    // A well-formed document leaves these as they were; reset them all the same.
    this.handlers = null
    this.bindings = XML_BINDING
    this.scopes.length = 0
    this.declaredOver = null
    this.prefixed.length = 0
    if (IDLE_PARSERS.length < MAX_IDLE_PARSERS) {
      IDLE_PARSERS.push(this)
    }
  }

  private attribute(name: string, value: string): void {
    if (name === 'xmlns') {
      this.declare('', value.trim())
    } else if (name.startsWith('xmlns:')) {
      const prefix = name.slice(6)
      if (prefix === '' || prefix.includes(':')) {
        throw new Error(`malformed namespace declaration ${JSON.stringify(name.slice(0, 80))}`)
      }
      this.declare(prefix, value.trim())
    } else if (name.includes(':')) {
      this.prefixed.push(name, value)
    }
  }

  private declare(prefix: string, uri: string): void {
    if (prefix === 'xmlns' || uri === XMLNS_NS) {
      throw new Error(`the xmlns prefix and ${XMLNS_NS} may not be declared`)
    }
    if ((prefix === 'xml') !== (uri === XML_NS)) {
      throw new Error(`the xml prefix is bound to ${XML_NS}, and nothing else is`)
    }
    if (prefix !== '' && uri === '') {
      throw new Error(`xmlns:${prefix}="": a prefix cannot be undeclared in XML 1.0`)
    }
    this.declaredOver ??= this.bindings
    this.bindings = { prefix, uri, outer: this.bindings }
  }

  private open(qname: string): void {
    this.scopes.push(this.declaredOver ?? this.bindings)
    this.declaredOver = null
    if (this.scopes.length > MAX_DEPTH) {
      throw new Error(`elements are nested deeper than ${MAX_DEPTH} levels`)
    }
    const colon = qname.indexOf(':')
    const local = colon < 0 ? qname : qname.slice(colon + 1)
    const uri = this.uriOf(colon < 0 ? '' : prefixOf(qname, colon))
    this.nil = false
    if (this.prefixed.length > 0) {
      this.readPrefixed()
    }
    this.handlers?.open(uri, local, qname)
  }

  /** Checks the tag's prefixed attributes, and reads xsi:nil among them. */
  private readPrefixed(): void {
    const prefixed = this.prefixed
    const expanded: string[] = []
    for (let i = 0; i < prefixed.length; i += 2) {
      const name = prefixed[i] ?? ''
      const colon = name.indexOf(':')
      const uri = this.uriOf(prefixOf(name, colon))
      const local = name.slice(colon + 1)
      const value = (prefixed[i + 1] ?? '').trim()
      const key = `{${uri}}${local}`
      if (expanded.includes(key)) {
        throw new Error(`duplicate attribute ${key}`)
      }
      expanded.push(key)
      if (local === 'nil' && uri === XSI_NS) {
        this.nil = value === 'true' || value === '1'
      }
    }
    prefixed.length = 0
  }

  /** The URI a prefix ('' for the default namespace) is bound to; throws when it is not bound. */
  private uriOf(prefix: string): string {
    for (let binding: Binding | null = this.bindings; binding; binding = binding.outer) {
      if (binding.prefix === prefix) {
        return binding.uri
      }
    }
    if (prefix !== '') {
      throw new Error(`unbound namespace prefix ${JSON.stringify(prefix)}`)
    }
    return ''
  }
}

/** The prefix of a qualified name whose first colon is at `colon`; throws when it is malformed. */
function prefixOf(qname: string, colon: number): string {
  if (colon === 0 || colon === qname.length - 1 || qname.includes(':', colon + 1)) {
    throw new Error(`malformed name ${JSON.stringify(qname.slice(0, 80))}`)
  }
  const prefix = qname.slice(0, colon)
  if (prefix === 'xmlns') {
    throw new Error(`the xmlns prefix is for declarations only (${qname.slice(0, 80)})`)
  }
  return prefix
}

/** Parsers that ended a document cleanly; as many as answers are read at once, at most. */
const IDLE_PARSERS: ScreenedParser[] = []
const MAX_IDLE_PARSERS = 64

/** An element as {@link readXml} reads it: its namespace, local and qualified name, text and children. */
export interface XmlNode {
  /** The namespace URI; null when the element is in no namespace. */
  readonly ns: string | null
  readonly local: string
  readonly qname: string
  readonly nil: boolean
  text: string
  readonly children: XmlNode[]
}

/**
 * A whole document as a tree, read with the same parser and refusals as the answers (which are
 * read without building one); null when it is not well-formed or refused.
 */
export function readXml(xml: string): XmlNode | null {
  const top: XmlNode = { ns: null, local: '', qname: '', nil: false, text: '', children: [] }
  const stack: XmlNode[] = [top]
  const parser = ScreenedParser.for({
    open: (uri, local, qname) => {
      const node: XmlNode = {
        ns: uri === '' ? null : uri,
        local,
        qname,
        nil: parser.nil,
        text: '',
        children: [],
      }
      stack[stack.length - 1]?.children.push(node)
      stack.push(node)
    },
    close: () => {
      stack.pop()
    },
    text: (text) => {
      const current = stack[stack.length - 1]
      if (current && current !== top) {
        current.text += text
      }
    },
  })
  try {
    parser.write(xml)
    parser.end()
  } catch {
    return null
  }
  return top.children[0] ?? null
}

// ---------------------------------------------------------------------------------------------
// The answers: where each element the reader needs sits, by namespace URI and local name. An
// element that is not in this table is skipped with everything in it, so an element of another
// namespace is never taken for a contract element, whatever its prefix or local name.

/** Where a leaf's text goes. */
type Field =
  'statusCode' | 'message' | 'faultCode' | 'faultString' | 'paired' | 'itemId' | 'itemDistributor'

/** An element of the contract, as the reader treats it. */
interface Place {
  readonly local: string
  /** The namespace URIs it may be in; '' is no namespace. */
  readonly namespaces: readonly string[]
  /** A handful at most: a scan is quicker than hashing each element's name. */
  readonly children: readonly Place[]
  /**
   * `once`: only its first occurrence is read (a second Body, TransactionStatus... is skipped);
   * `item`: one entry of a list, read every time; `fault` and `response`: `once`, and telling.
   */
  readonly kind: 'once' | 'item' | 'fault' | 'response' | 'leaf'
  /** A leaf's field; its first occurrence (per item, inside an item) is read. */
  readonly field: Field | null
  /** Bit of a `once` place in the reader's mask of places entered. */
  readonly bit: number
}

interface PlaceSpec {
  readonly local: string
  /** Default: the namespaces of the response's descendants. */
  readonly namespaces?: readonly string[]
  readonly kind?: Place['kind']
  readonly field?: Field
  readonly children?: readonly PlaceSpec[]
}

/**
 * The places of an answer to `operation`: a SOAP 1.1 or 1.2 envelope whose Body holds a Fault or
 * the `<OpResponse>` in the service namespace. As in requests (docs/contract.md §2), the
 * response's descendants may be unqualified or qualified in the service or common-types namespace.
 */
function answerPlaces(
  operation: ReadOperation,
  service: string,
  payload: readonly PlaceSpec[],
): Place {
  const serviceNs = serviceNamespace(service)
  const descendants = ['', serviceNs, COMMON_TYPES_NS]
  let nextBit = 1
  const build = (spec: PlaceSpec): Place => {
    const kind = spec.kind ?? (spec.field ? 'leaf' : 'once')
    const bit = kind === 'item' || kind === 'leaf' ? 0 : nextBit
    nextBit *= bit === 0 ? 1 : 2
    return {
      local: spec.local,
      namespaces: spec.namespaces ?? descendants,
      children: (spec.children ?? []).map(build),
      kind,
      field: spec.field ?? null,
      bit,
    }
  }
  const response: PlaceSpec = {
    local: `${operation}Response`,
    namespaces: [serviceNs],
    kind: 'response',
    children: [
      {
        local: 'TransactionStatus',
        children: [
          { local: 'StatusCode', field: 'statusCode' },
          { local: 'Message', field: 'message' },
        ],
      },
      ...payload,
    ],
  }
  const envelope = (soapNs: string, fault: readonly PlaceSpec[]): PlaceSpec => ({
    local: 'Envelope',
    namespaces: [soapNs],
    children: [
      {
        local: 'Body',
        namespaces: [soapNs],
        children: [
          { local: 'Fault', namespaces: [soapNs], kind: 'fault', children: fault },
          response,
        ],
      },
    ],
  })
  const soap12 = (local: string, children: readonly PlaceSpec[], field?: Field): PlaceSpec => ({
    local,
    namespaces: [SOAP12_ENV],
    ...(field ? { field } : {}),
    children,
  })
  const document = [
    envelope(SOAP11_ENV, [
      { local: 'faultcode', namespaces: [''], field: 'faultCode' },
      { local: 'faultstring', namespaces: [''], field: 'faultString' },
    ]),
    envelope(SOAP12_ENV, [
      soap12('Code', [soap12('Value', [], 'faultCode')]),
      soap12('Reason', [soap12('Text', [], 'faultString')]),
    ]),
  ].map(build)
  // Both envelopes' places share one mask, so 31 bits bound the `once` places of an answer.
  if (nextBit > 2 ** 31) {
    throw new Error(`The answer to ${operation} has more places than the reader's mask holds.`)
  }
  return { local: '', namespaces: [], children: document, kind: 'once', field: null, bit: 0 }
}

/** One entry of a list in an answer: a Subscription's ProductId and Distributor, a PairingModuleId. */
interface Item {
  readonly id: string
  readonly distributor: string
}

interface QuerySpec<T extends readonly unknown[]> {
  readonly operation: ReadOperation
  readonly service: 'subscription' | 'pairing'
  readonly places: Place
  /** The payload of an OK answer from what was read, or what is wrong with it (a string). */
  readonly read: (paired: string, items: readonly Item[]) => T | string
}

/** What an answer came to: the payload (null for CLIENT_NOT_FOUND), or the failure. */
type Interpreted<T> = { readonly value: T | null } | { readonly failure: Failure }

const ACTIVE_SUBSCRIPTIONS: QuerySpec<Products> = {
  operation: 'GetActiveSubscriptions',
  service: 'subscription',
  places: answerPlaces('GetActiveSubscriptions', 'subscription', [
    {
      local: 'Subscriptions',
      children: [
        {
          local: 'Subscription',
          kind: 'item',
          children: [
            { local: 'ProductId', field: 'itemId' },
            { local: 'Distributor', field: 'itemDistributor' },
          ],
        },
      ],
    },
  ]),
  read: (_paired, items) => {
    const products: { productId: string; distributor: string | null }[] = []
    for (const item of items) {
      if (item.id === '') {
        return 'a Subscription without ProductId'
      }
      products.push({ productId: item.id, distributor: item.distributor || null })
    }
    return products
  },
}

const PAIRING_STATUS: QuerySpec<readonly string[]> = {
  operation: 'GetPairingStatusForCard',
  service: 'pairing',
  places: answerPlaces('GetPairingStatusForCard', 'pairing', [
    { local: 'Paired', field: 'paired' },
    {
      local: 'PairingModules',
      children: [
        {
          local: 'PairingModule',
          kind: 'item',
          children: [{ local: 'PairingModuleId', field: 'itemId' }],
        },
      ],
    },
  ]),
  read: (paired, items) => {
    if (paired === 'false' || paired === '0') {
      return []
    }
    if (paired !== 'true' && paired !== '1') {
      return `Paired is '${paired}', not true or false`
    }
    const stbs: string[] = []
    for (const item of items) {
      if (item.id === '') {
        return 'a PairingModule without PairingModuleId'
      }
      stbs.push(item.id)
    }
    return stbs
  },
}

// ---------------------------------------------------------------------------------------------
// Reading one answer as it arrives.

/** Characters of an answer kept for messages: enough for the excerpts they quote. */
const EXCERPT_CHARS = 256

/** The last Content-Type met and its encoding: a CA answers every call in the same one. */
let lastContentType = ''
let lastEncoding: CharacterSet['encoding'] = 'utf8'

/** The encoding a Content-Type's charset names; UTF-8 when it names none the reader knows. */
export function encodingOf(contentType: string): CharacterSet['encoding'] {
  if (contentType !== lastContentType) {
    const label = /charset\s*=\s*"?([^";\s]+)/i.exec(contentType)?.[1]
    lastEncoding = (label && characterSetOf(label)?.encoding) || 'utf8'
    lastContentType = contentType
  }
  return lastEncoding
}

/** Decodes a body as Buffer#toString does in the answer's character set, chunk by chunk. */
class BodyDecoder {
  private readonly encoding: CharacterSet['encoding']
  /** Made when a chunk ends inside a character; from then on it decodes every chunk. */
  private decoder: StringDecoder | null = null

  constructor(contentType: string) {
    this.encoding = encodingOf(contentType)
  }

  write(chunk: Buffer): string {
    const last = chunk[chunk.length - 1] ?? 0
    if (
      this.decoder === null &&
      (this.encoding === 'latin1' ||
        this.encoding === 'ascii' ||
        (this.encoding === 'utf8' && last < 0x80))
    ) {
      // One byte a character, or UTF-8 ending in ASCII: no character is split at the end.
      return chunk.toString(this.encoding)
    }
    this.decoder ??= new StringDecoder(this.encoding)
    return this.decoder.write(chunk)
  }

  end(): string {
    return this.decoder?.end() ?? ''
  }
}

/**
 * Reads one answer to a query as its chunks arrive: decodes them, feeds saxes, and keeps only the
 * fields of the places the answer is made of. `finish` tells what the answer means.
 */
class AnswerReader<T extends readonly unknown[]> implements XmlHandlers {
  private readonly spec: QuerySpec<T>
  private readonly status: number
  private readonly decoder: BodyDecoder
  private readonly parser: ScreenedParser
  /** Why the answer is not well-formed XML, or was refused; null while it is. */
  private broken: string | null = null
  /** The start of the text, for messages; `headDone` once it holds enough. */
  private head = ''
  private headDone = false
  private place: Place
  private readonly outer: Place[] = []
  /** Depth inside an element that is skipped (0: not skipping). */
  private skipping = 0
  /** The `once` places entered so far, by bit. */
  private entered = 0
  private leafText = ''
  private leafNil = false
  private fault = false
  private response = false
  private statusCode: string | null = null
  private message: string | null = null
  private faultCode: string | null = null
  private faultString: string | null = null
  private paired: string | null = null
  private itemId: string | null = null
  private itemDistributor: string | null = null
  private readonly items: Item[] = []

  constructor(spec: QuerySpec<T>, status: number, contentType: string) {
    this.spec = spec
    this.status = status
    this.decoder = new BodyDecoder(contentType)
    this.place = spec.places
    this.parser = ScreenedParser.for(this)
  }

  /** Reads the next chunk of the body. */
  write(chunk: Buffer): void {
    this.feed(this.decoder.write(chunk))
  }

  /** What the whole answer means: the payload, null for CLIENT_NOT_FOUND, or the failure. */
  finish(): Interpreted<T> {
    this.feed(this.decoder.end())
    if (this.broken === null) {
      try {
        this.parser.end()
      } catch (error) {
        this.broken = reasonOf(error)
      }
    }
    return this.interpret()
  }

  private feed(text: string): void {
    if (text === '') {
      return
    }
    if (!this.headDone) {
      this.head += text
      this.headDone = this.head.trimStart().length >= EXCERPT_CHARS
    }
    if (this.broken !== null) {
      return
    }
    try {
      this.parser.write(text)
    } catch (error) {
      this.broken = reasonOf(error)
    }
  }

  /** An element opens: a place of the contract is entered, anything else skipped. */
  open(uri: string, local: string): void {
    if (this.skipping > 0) {
      this.skipping++
      return
    }
    const place = placeFor(this.place, uri, local)
    if (place === null || (place.bit & this.entered) !== 0) {
      this.skipping = 1
      return
    }
    this.entered |= place.bit
    this.outer.push(this.place)
    this.place = place
    switch (place.kind) {
      case 'leaf':
        this.leafText = ''
        this.leafNil = this.parser.nil
        break
      case 'item':
        this.itemId = null
        this.itemDistributor = null
        break
      case 'fault':
        this.fault = true
        break
      case 'response':
        this.response = true
        break
      case 'once':
        break
    }
  }

  /** The element closes: a leaf's text is kept, a list item added. */
  close(): void {
    if (this.skipping > 0) {
      this.skipping--
      return
    }
    const place = this.place
    if (place.field !== null) {
      this.store(place.field, this.leafNil ? '' : this.leafText.trim())
    } else if (place.kind === 'item') {
      this.items.push({ id: this.itemId ?? '', distributor: this.itemDistributor ?? '' })
    }
    this.place = this.outer.pop() ?? this.spec.places
  }

  /** Text (or CDATA) counts in a leaf only, and only outside the elements skipped in it. */
  text(text: string): void {
    if (this.skipping === 0 && this.place.field !== null) {
      this.leafText += text
    }
  }

  /** Keeps a leaf's text: the first occurrence counts (inside a list item, the item's first). */
  private store(field: Field, text: string): void {
    switch (field) {
      case 'statusCode':
        this.statusCode ??= text
        break
      case 'message':
        this.message ??= text
        break
      case 'faultCode':
        this.faultCode ??= text
        break
      case 'faultString':
        this.faultString ??= text
        break
      case 'paired':
        this.paired ??= text
        break
      case 'itemId':
        this.itemId ??= text
        break
      case 'itemDistributor':
        this.itemDistributor ??= text
        break
    }
  }

  private interpret(): Interpreted<T> {
    const operation = this.spec.operation
    if (this.broken === null && this.fault) {
      return { failure: classifyFaultCode(this.faultCode ?? '', this.faultString ?? '') }
    }
    if (this.status !== 200) {
      return { failure: classifyHttpStatus(this.status, this.head) }
    }
    const excerpt = this.head.trim().slice(0, 120) || 'an empty body'
    if (this.broken !== null) {
      return {
        failure: malformedAnswer(
          `The answer is not well-formed XML or was refused: ${this.broken} (${excerpt}).`,
        ),
      }
    }
    const statusCode = this.statusCode ?? ''
    if (!this.response || statusCode === '') {
      return {
        failure: malformedAnswer(
          `The answer is not a ${operation}Response with a StatusCode (${excerpt}).`,
        ),
      }
    }
    if (statusCode === 'CLIENT_NOT_FOUND') {
      return { value: null }
    }
    const kind = classifyStatusCode(statusCode)
    if (kind !== 'COMPLETED') {
      return {
        failure: {
          kind: kind === 'TRANSIENT' ? 'TRANSIENT' : 'REJECTED',
          errorCode: statusCode,
          errorDescription: this.message || statusCode,
        },
      }
    }
    const payload = this.spec.read(this.paired ?? '', this.items)
    return typeof payload === 'string'
      ? { failure: malformedAnswer(`The ${operation} answer is OK but holds ${payload}.`) }
      : { value: payload }
  }
}

/** The place an element opens inside `outer`, or null when it is none of the contract's. */
function placeFor(outer: Place, uri: string, local: string): Place | null {
  for (const place of outer.children) {
    if (place.local === local && place.namespaces.includes(uri)) {
      return place
    }
  }
  return null
}

function reasonOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
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

const RESET_CODES = new Set(['ECONNRESET', 'EPIPE'])

function errorCodeOf(error: unknown): string {
  const code =
    typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : null
  return typeof code === 'string' ? code : 'ERR_UNKNOWN'
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
  const { url, charset } = checkConnection(options, 'the CA reader')
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
  const paths = { subscription: `${base}/subscription`, pairing: `${base}/pairing` } as const
  // URL keeps an IPv6 literal's brackets; the socket wants the bare address.
  const hostname = url.hostname.replace(/^\[(.*)\]$/, '$1')
  const authorization = `Basic ${Buffer.from(`${options.username}:${options.password}`).toString('base64')}`
  const contentType = `text/xml; charset=${charset.name}`
  // Headers as a list are written as given, where an object costs a setHeader (and its checks)
  // each; so Host is ours to send. url.host keeps an IPv6 literal's brackets and a non-default port.
  const headersFor = (length: number): string[] => [
    'Host',
    url.host,
    'Authorization',
    authorization,
    'Content-Type',
    contentType,
    'Content-Length',
    String(length),
  ]
  let closed = false

  const exchange = <T extends readonly unknown[]>(
    spec: QuerySpec<T>,
    body: WireBody,
    deadline: number,
    retry: boolean,
  ) =>
    new Promise<Interpreted<T>>((resolve, reject) => {
      let timedOut = false
      const request = send(
        {
          agent,
          protocol: url.protocol,
          hostname,
          port: url.port,
          path: paths[spec.service],
          method: 'POST',
          headers: headersFor(body.length),
        },
        (response: IncomingMessage) => {
          // Read as it arrives: nothing is buffered, and a broken answer costs no more than its bytes.
          const reader = new AnswerReader(spec, response.statusCode ?? 0, contentTypeOf(response))
          let size = 0
          response.on('data', (chunk: Buffer) => {
            size += chunk.length
            if (size > MAX_ANSWER_BYTES) {
              response.destroy(new AnswerTooLarge())
            } else {
              reader.write(chunk)
            }
          })
          response.on('error', fail)
          response.on('end', () => {
            clearTimeout(timer)
            resolve(reader.finish())
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
          resolve(exchange(spec, body, deadline, false))
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
    let outcome: Interpreted<T>
    try {
      const body = bodies[spec.operation](caId)
      outcome = await exchange(spec, body, Date.now() + options.timeoutMs, true)
    } catch (error) {
      throw caReadErrorOf(spec.operation, caId, networkFailure(error))
    }
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
  const reader = new AnswerReader(spec, answer.status, answer.contentType)
  for (const chunk of answer.chunks) {
    reader.write(chunk)
  }
  return reader.finish()
}
