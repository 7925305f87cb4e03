import type { IncomingMessage, ServerResponse } from 'node:http'
import { performance } from 'node:perf_hooks'
import type { Logger } from 'pino'
import {
  SERVICE_BASE_PATH,
  SERVICE_NAMES,
  SOAP11_ENV,
  SOAP12_ENV,
  serviceNamespace,
  type ServiceName,
  type SoapVersion,
} from '../contract/namespaces.js'
import {
  OPERATION_BY_NAME,
  isOperationName,
  type OperationName,
  type OperationSpec,
} from '../contract/schema.js'
import { generateWsdl } from '../contract/wsdl.js'
import type { CaModel } from '../model/ca-model.js'
import type { ErrorCode } from '../model/types.js'
import type { FaultInjector, FaultRule } from '../runtime/fault-injector.js'
import type { Journal, JournalEntry } from '../runtime/journal.js'
import { ReplayCache, type ReplayRecord } from '../runtime/replay-cache.js'
import { OPERATION_HANDLERS, cardCount, internIds, type OperationResult } from './operations.js'
import { SchemaViolation, readChildren, type ReadObject } from './request-reader.js'
import { readXml, type XmlElement, type XmlLimits } from './xml-input.js'
import {
  envelope,
  escapeXml,
  faultEnvelope,
  soapContentType,
  writeElements,
  type FaultCode,
} from './xml-output.js'

/** What the SOAP endpoints need from the simulator around them. */
export interface SoapEndpointDeps {
  readonly model: CaModel
  readonly journal: Journal
  readonly replays: ReplayCache
  readonly faults: FaultInjector
  readonly users: ReadonlyMap<string, string>
  readonly disabledOperations: ReadonlySet<string>
  readonly bodyLimitBytes: number
  readonly xmlLimits: XmlLimits
  readonly now: () => Date
  readonly newTransactionId: () => string
  /** The scheme the WSDLs advertise in `soap:address`. */
  readonly scheme: 'http' | 'https'
  /**
   * Resolves once the state changed by a write is stored. Rejects when storing failed: the change
   * has then been undone, with `onRollback` undoing what the endpoint itself recorded for it.
   */
  readonly persist: (onRollback?: () => void) => Promise<void>
  /** host:port of the server, for WSDLs asked for without a usable Host header. */
  readonly ownHost: () => string
  /** Asks for a store write without waiting (journal entries of reads and failures). */
  readonly persistSoon: () => void
  /** True once the simulator is closing: delays end early and operations are refused. */
  readonly closing: () => boolean
  /** Waits `ms`, or less when the simulator starts closing. */
  readonly sleep: (ms: number) => Promise<void>
  readonly logger: Logger
}

/** The SOAP request handler and a way to wait for the calls in flight. */
export interface SoapEndpoint {
  handle(req: IncomingMessage, res: ServerResponse, service: ServiceName, query: string): void
  /** Resolves when no call is being dispatched. */
  drain(): Promise<void>
}

interface Call {
  readonly started: number
  /** When the call arrived (ISO-8601): the journal's `at` and the operation's "now". */
  readonly at: string
  readonly service: ServiceName
  user: string | null
  operation: string | null
  request: ReadObject | null
  version: SoapVersion
}

interface Answer {
  /** Already in the journal (writes are journalled before they are stored, so both land together). */
  readonly journalled?: JournalEntry
  readonly httpStatus: number
  readonly body: string
  readonly statusCode: string
  readonly transactionId: string | null
  readonly message: string | null
  readonly replay?: boolean
  /** Applied (and journalled) as usual, but the connection is destroyed instead of answering. */
  readonly dropAnswer?: boolean
  readonly contentType?: string
  readonly headers?: Record<string, string>
}

const HOST = /^(?:[A-Za-z0-9.-]{1,253}|\[[0-9A-Fa-f:.]{2,45}\])(?::\d{1,5})?$/
const JOURNAL_TEXT_LIMIT = 1024
const SERVICE_BY_PATH = new Map(SERVICE_NAMES.map((s) => [`${SERVICE_BASE_PATH}${s}`, s]))
const SHUTTING_DOWN: OperationResult = {
  statusCode: 'SYSTEM_ERROR',
  message: 'The simulator is shutting down; nothing was changed. Retry against the next instance.',
  payload: {},
}
/** "Couldn't parse stream." is what the real server answered to an unreadable body (docs/domain.md §1.1). */
const UNPARSEABLE = "Couldn't parse stream."

/** The SOAP service a request path names, or null. A trailing slash is tolerated. */
export function serviceForPath(pathname: string): ServiceName | null {
  const trimmed = pathname.length > 1 && pathname.endsWith('/') ? pathname.slice(0, -1) : pathname
  return SERVICE_BY_PATH.get(trimmed) ?? null
}

/**
 * The SOAP hot path: a plain `node:http` handler (no express, no node-soap) that authenticates,
 * reads within limits, parses, dispatches, journals and answers exactly as the contract says.
 */
export function createSoapEndpoint(deps: SoapEndpointDeps): SoapEndpoint {
  const wsdlCache = new Map<string, string>()

  const inFlight = new Set<Promise<void>>()

  /** Journals and logs a call; the entry is the durable record of what was answered. */
  function record(call: Call, answer: Answer): JournalEntry {
    const durationMs = Math.round((performance.now() - call.started) * 1000) / 1000
    const entry = deps.journal.append({
      at: call.at,
      user: call.user,
      service: call.service,
      operation: call.operation,
      request: call.request === null ? null : boundedForJournal(call.request),
      statusCode: answer.statusCode,
      transactionId: answer.transactionId,
      durationMs,
      httpStatus: answer.httpStatus,
      replay: answer.replay ?? false,
      message: answer.message,
    })
    if (deps.logger.isLevelEnabled('info')) {
      deps.logger.info(
        {
          service: call.service,
          operation: call.operation,
          cards: call.request ? cardCount(call.request) : 0,
          status: answer.statusCode,
          httpStatus: answer.httpStatus,
          durationMs,
          user: call.user,
          transactionId: answer.transactionId,
          ...(answer.replay ? { replay: true } : {}),
        },
        'soap call',
      )
    }
    return entry
  }

  function finish(call: Call, res: ServerResponse, answer: Answer): void {
    if (!answer.journalled) {
      record(call, answer)
      deps.persistSoon()
    }
    if (answer.statusCode === 'RESET' || answer.dropAnswer) {
      res.socket?.destroy()
      return
    }
    const body = Buffer.from(answer.body, 'utf8')
    res.writeHead(answer.httpStatus, {
      'Content-Type': answer.contentType ?? soapContentType(call.version),
      'Content-Length': body.length,
      ...answer.headers,
    })
    res.end(body)
  }

  function fault(call: Call, code: FaultCode, reason: string, httpStatus = 500): Answer {
    return {
      httpStatus,
      body: faultEnvelope(call.version, code, reason),
      statusCode: `FAULT:${code}`,
      transactionId: null,
      message: reason,
    }
  }

  function authenticate(req: IncomingMessage): string | null {
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
    return deps.users.get(user) === decoded.slice(colon + 1) ? user : null
  }

  function serveWsdl(req: IncomingMessage, res: ServerResponse, service: ServiceName): void {
    // The Host header names the address the client used; anything that is not host[:port] is
    // ignored, and at most a few hosts are cached, so a hostile header costs nothing.
    const given = req.headers.host ?? ''
    const host = HOST.test(given) ? given : deps.ownHost()
    const key = `${service}@${host}`
    let wsdl = wsdlCache.get(key)
    if (wsdl === undefined) {
      wsdl = generateWsdl(service, `${deps.scheme}://${host}${SERVICE_BASE_PATH}${service}`)
      if (wsdlCache.size >= 64) {
        wsdlCache.clear()
      }
      wsdlCache.set(key, wsdl)
    }
    res.writeHead(200, {
      'Content-Type': 'text/xml; charset=utf-8',
      'Content-Length': Buffer.byteLength(wsdl),
    })
    res.end(wsdl)
  }

  function readBody(
    req: IncomingMessage,
    call: Call,
    res: ServerResponse,
    onBody: (body: Buffer) => void,
  ): void {
    const tooLarge = (): void => {
      finish(call, res, {
        httpStatus: 413,
        body: `Request body exceeds the ${deps.bodyLimitBytes}-byte limit; nothing was parsed. Split the request.\n`,
        statusCode: 'HTTP_413',
        transactionId: null,
        message: 'body over the size limit',
        contentType: 'text/plain; charset=utf-8',
        headers: { Connection: 'close' },
      })
    }
    const declared = Number(req.headers['content-length'] ?? Number.NaN)
    if (declared > deps.bodyLimitBytes) {
      tooLarge()
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
      if (size > deps.bodyLimitBytes) {
        aborted = true
        chunks.length = 0
        tooLarge()
        return
      }
      chunks.push(chunk)
    })
    req.on('end', () => {
      if (!aborted) {
        onBody(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks))
      }
    })
    req.on('error', () => {
      aborted = true
    })
  }

  /** The one operation element inside a well-shaped Envelope (optional Header, one Body). */
  function bodyOperation(call: Call, root: XmlElement): XmlElement | Answer {
    if (root.local !== 'Envelope' || (root.ns !== SOAP11_ENV && root.ns !== SOAP12_ENV)) {
      return fault(
        call,
        'Client',
        `The root element must be a SOAP 1.1 or 1.2 Envelope, not <${root.local}> in '${root.ns ?? ''}'.`,
      )
    }
    call.version = root.ns === SOAP12_ENV ? '1.2' : '1.1'
    const parts = root.children.map((c) =>
      c.ns === root.ns ? c.local : `{${c.ns ?? ''}}${c.local}`,
    )
    const shape = parts.join(',')
    if (shape !== 'Body' && shape !== 'Header,Body') {
      return fault(
        call,
        'Client',
        `The SOAP Envelope must hold an optional Header and one Body, not ${shape || 'nothing'}.`,
      )
    }
    const body = root.children[parts.length - 1] as XmlElement
    const first = body.children[0]
    if (body.children.length !== 1 || !first || body.text.trim() !== '') {
      return fault(call, 'Client', 'The SOAP Body must hold exactly one operation element.')
    }
    return first
  }

  function locateOperation(
    call: Call,
    root: XmlElement,
  ): { spec: OperationSpec; request: XmlElement } | Answer {
    const first = bodyOperation(call, root)
    if ('httpStatus' in first) {
      return first
    }
    const namespace = serviceNamespace(call.service)
    const spec = isOperationName(first.local) ? OPERATION_BY_NAME.get(first.local) : undefined
    if (!spec || spec.service !== call.service) {
      const elsewhere = spec ? ` It is served at ${SERVICE_BASE_PATH}${spec.service}.` : ''
      return fault(
        call,
        'Client',
        `${first.local} is not an operation of the ${call.service} service.${elsewhere}`,
      )
    }
    call.operation = spec.name
    if (first.ns !== namespace) {
      return fault(
        call,
        'Client',
        `${spec.name} must be in namespace '${namespace}', not '${first.ns ?? ''}'.`,
      )
    }
    const wrapper = `${spec.name}Request`
    const requests = first.children.filter(
      (c) => c.local === wrapper && (c.ns === null || c.ns === namespace),
    )
    const request = requests[0]
    if (
      requests.length !== 1 ||
      first.children.length !== 1 ||
      !request ||
      first.text.trim() !== ''
    ) {
      return fault(call, 'Client', `${spec.name} must hold exactly one ${wrapper} element.`)
    }
    return { spec, request }
  }

  function checkSoapAction(req: IncomingMessage, call: Call, operation: string): Answer | null {
    const header = req.headers.soapaction
    const fromHeader = typeof header === 'string' ? header : undefined
    const fromType = /;\s*action\s*=\s*"?([^";]*)"?/i.exec(req.headers['content-type'] ?? '')?.[1]
    const action = (fromHeader ?? fromType ?? '').replace(/^"|"$/g, '').trim()
    if (action === '') {
      return null
    }
    const last = action.split(/[/#:]/).pop()
    return last === operation
      ? null
      : fault(
          call,
          'Client',
          `SOAPAction '${action}' does not match the body's operation ${operation}.`,
        )
  }

  function statusAnswer(
    call: Call,
    spec: OperationSpec,
    result: OperationResult,
    transactionId: string,
  ): Answer {
    const ns = serviceNamespace(spec.service)
    const status = `<TransactionStatus><StatusCode>${result.statusCode}</StatusCode><TransactionId>${transactionId}</TransactionId><Message>${escapeXml(result.message)}</Message></TransactionStatus>`
    const body = `<ns2:${spec.name}Response xmlns:ns2="${ns}">${status}${writeElements(spec.response, result.payload)}</ns2:${spec.name}Response>`
    return {
      httpStatus: 200,
      body: envelope(call.version, body),
      statusCode: result.statusCode,
      transactionId,
      message: result.message,
    }
  }

  async function injected(
    call: Call,
    spec: OperationSpec,
    rule: FaultRule,
  ): Promise<Answer | null> {
    switch (rule.kind) {
      case 'DELAY':
        await deps.sleep(rule.delayMs)
        return null
      case 'SYSTEM_ERROR':
        return statusAnswer(
          call,
          spec,
          { statusCode: 'SYSTEM_ERROR', message: rule.message, payload: {} },
          deps.newTransactionId(),
        )
      case 'SOAP_FAULT':
        return fault(call, 'Server', rule.message)
      case 'HTTP_STATUS':
        return {
          httpStatus: rule.httpStatus,
          body: `${rule.message}\n`,
          statusCode: `HTTP_${rule.httpStatus}`,
          transactionId: null,
          message: rule.message,
          contentType: 'text/plain; charset=utf-8',
        }
      case 'RESET':
        return {
          httpStatus: 0,
          body: '',
          statusCode: 'RESET',
          transactionId: null,
          message: rule.message,
        }
      case 'RESET_AFTER_APPLY':
        // Applied first: execute() drops the answer afterwards.
        return null
    }
  }

  async function execute(call: Call, spec: OperationSpec, request: ReadObject): Promise<Answer> {
    if (deps.disabledOperations.has(spec.name)) {
      const message = `${spec.name} is switched off in this simulator's profile.`
      return statusAnswer(
        call,
        spec,
        { statusCode: 'FEATURE_NOT_AVAILABLE', message, payload: {} },
        deps.newTransactionId(),
      )
    }
    const rule = deps.faults.take(call.service, spec.name)
    if (rule) {
      const answer = await injected(call, spec, rule)
      if (answer) {
        return answer
      }
    }
    const answer = await apply(call, spec, request)
    if (rule?.kind !== 'RESET_AFTER_APPLY') {
      return answer
    }
    const message = `${answer.message ?? ''} The answer was dropped: ${rule.message} (fault RESET_AFTER_APPLY).`
    if (answer.journalled) {
      deps.journal.amend(answer.journalled.seq, { statusCode: answer.statusCode, message })
    }
    return { ...answer, message, dropAnswer: true }
  }

  /** Runs the operation (or answers a replay or a reused SequenceNumber), storing a write before answering. */
  async function apply(call: Call, spec: OperationSpec, request: ReadObject): Promise<Answer> {
    if (deps.closing()) {
      return statusAnswer(call, spec, SHUTTING_DOWN, deps.newTransactionId())
    }
    const identity =
      spec.write && call.user ? ReplayCache.identify(call.user, spec.name, request) : null
    const earlier = identity ? deps.replays.lookup(identity.key) : undefined
    if (earlier && earlier.hash === identity?.hash) {
      const replay = statusAnswer(
        call,
        spec,
        { statusCode: 'OK', message: earlier.message, payload: {} },
        earlier.transactionId,
      )
      // The first answer may still be on its way to the store: a replay is acknowledged no sooner.
      return storeThenAnswer(call, { ...replay, replay: true })
    }
    const reused = deps.model.rules.reusedSequenceNumber
    if (earlier && reused !== 'apply') {
      return statusAnswer(
        call,
        spec,
        reusedSequenceNumber(spec, request, earlier, reused),
        deps.newTransactionId(),
      )
    }
    const transactionId = deps.newTransactionId()
    const position = deps.model.undoPosition()
    let result: OperationResult
    try {
      const ctx = { user: call.user ?? '', now: call.at, transactionId }
      result = OPERATION_HANDLERS[spec.name](deps.model, ctx, request)
    } catch (error) {
      // With a durable store the model recorded what the operation touched before it threw.
      deps.model.rollback(position)
      deps.logger.error({ err: error, operation: spec.name }, 'operation failed')
      const message = `Internal simulator error in ${spec.name}: ${error instanceof Error ? error.message : String(error)}`
      result = { statusCode: 'SYSTEM_ERROR', message, payload: {} }
    }
    const answer = statusAnswer(call, spec, result, transactionId)
    if (!spec.write || result.statusCode !== 'OK') {
      return answer
    }
    let onRollback: (() => void) | undefined
    if (identity) {
      const remembered = { ...identity, transactionId, message: result.message }
      const replaced = deps.replays.remember(remembered)
      // A write undone because it could not be stored is no replay target: a retry applies it.
      onRollback = () => deps.replays.forget(remembered, replaced)
    }
    return storeThenAnswer(call, answer, onRollback)
  }

  /**
   * Journals a write, stores state and journal together, then answers. A failed store undoes the
   * change (and every other change not yet stored) and answers SYSTEM_ERROR.
   */
  async function storeThenAnswer(
    call: Call,
    answer: Answer,
    onRollback?: () => void,
  ): Promise<Answer> {
    const entry = record(call, answer)
    try {
      await deps.persist(onRollback)
      return { ...answer, journalled: entry }
    } catch (error) {
      const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error
      const message = `The write was not applied: the simulator could not store it (${cause instanceof Error ? cause.message : String(cause)}), so nothing was changed. Check the simulator's --data file and disk, then send the write again.`
      deps.journal.amend(entry.seq, { statusCode: 'SYSTEM_ERROR', message })
      const spec = OPERATION_BY_NAME.get(call.operation as OperationName) as OperationSpec
      const failed = statusAnswer(
        call,
        spec,
        { statusCode: 'SYSTEM_ERROR', message, payload: {} },
        answer.transactionId ?? deps.newTransactionId(),
      )
      return { ...failed, journalled: entry }
    }
  }

  async function dispatch(req: IncomingMessage, call: Call, body: Buffer): Promise<Answer> {
    const parsed = readXml(body, req.headers['content-type'], deps.xmlLimits)
    if (!parsed.ok) {
      return parsed.kind === 'PARSE'
        ? fault(call, 'Server', UNPARSEABLE)
        : fault(call, 'Client', `Refused: ${parsed.reason}.`)
    }
    const located = locateOperation(call, parsed.root)
    if ('httpStatus' in located) {
      return located
    }
    const mismatch = checkSoapAction(req, call, located.spec.name)
    if (mismatch) {
      return mismatch
    }
    let request: ReadObject
    try {
      request = readChildren(
        located.request,
        located.spec.request,
        serviceNamespace(call.service),
        `${located.spec.name}Request`,
      )
    } catch (error) {
      if (error instanceof SchemaViolation) {
        return fault(call, 'Client', `Schema violation: ${error.message}`)
      }
      throw error
    }
    internIds(deps.model, request)
    call.request = request
    return execute(call, located.spec, request)
  }

  /** Handles one request to a SOAP service path. */
  function handle(
    req: IncomingMessage,
    res: ServerResponse,
    service: ServiceName,
    query: string,
  ): void {
    const call: Call = {
      started: performance.now(),
      at: deps.now().toISOString(),
      service,
      user: null,
      operation: null,
      request: null,
      version: (req.headers['content-type'] ?? '').includes('application/soap+xml') ? '1.2' : '1.1',
    }
    if (req.method === 'GET' && /^wsdl$/i.test(query)) {
      serveWsdl(req, res, service)
      return
    }
    if (req.method !== 'POST') {
      res.writeHead(405, { Allow: 'POST', 'Content-Type': 'text/plain; charset=utf-8' })
      res.end(`POST SOAP requests here; GET ${SERVICE_BASE_PATH}${service}?wsdl for the WSDL.\n`)
      return
    }
    call.user = authenticate(req)
    if (call.user === null) {
      req.resume()
      finish(call, res, {
        httpStatus: 401,
        body: 'Missing or wrong HTTP Basic credentials.\n',
        statusCode: 'HTTP_401',
        transactionId: null,
        message: 'unauthorised',
        contentType: 'text/plain; charset=utf-8',
        // Connection: close, so an unauthenticated client cannot make us drain a large body.
        headers: {
          'WWW-Authenticate': 'Basic realm="Conax Contego simulator", charset="UTF-8"',
          Connection: 'close',
        },
      })
      return
    }
    readBody(req, call, res, (body) => {
      const done = dispatch(req, call, body).then(
        (answer) => finish(call, res, answer),
        (error: unknown) => {
          deps.logger.error({ err: error }, 'soap dispatch failed')
          finish(call, res, fault(call, 'Server', 'Internal simulator error; nothing was changed.'))
        },
      )
      inFlight.add(done)
      void done.finally(() => inFlight.delete(done))
    })
  }

  return {
    handle,
    drain: async () => {
      while (inFlight.size > 0) {
        await Promise.all([...inFlight])
      }
    },
  }
}

/**
 * The answer to a write that reuses the SequenceNumber of an earlier, different write: applying
 * it would make a later replay of either one ambiguous, so it is refused and nothing changes.
 */
function reusedSequenceNumber(
  spec: OperationSpec,
  request: ReadObject,
  earlier: ReplayRecord,
  statusCode: ErrorCode,
): OperationResult {
  return {
    statusCode,
    message: `SequenceNumber ${request.SequenceNumber as number} of ${spec.name} was already used by an earlier write with another payload (TransactionId ${earlier.transactionId}); nothing was changed. Send this write with a new SequenceNumber.`,
    payload: {},
  }
}

/** A copy of a request for the journal with long texts cut, so a rejected 1 MiB message is not kept. */
function boundedForJournal(request: ReadObject): ReadObject {
  // Almost every request has no long text: keep it as it is rather than copy it on the hot path.
  return hasLongText(request) ? boundedCopy(request) : request
}

function hasLongText(value: ReadObject[string]): boolean {
  if (typeof value === 'string') {
    return value.length > JOURNAL_TEXT_LIMIT
  }
  if (Array.isArray(value)) {
    return (value as (string | number | ReadObject)[]).some(hasLongText)
  }
  return typeof value === 'object' && Object.values(value).some(hasLongText)
}

function boundedCopy(request: ReadObject): ReadObject {
  const bounded: ReadObject = {}
  for (const [name, value] of Object.entries(request)) {
    bounded[name] = boundValue(value)
  }
  return bounded
}

function boundValue(value: ReadObject[string]): ReadObject[string] {
  if (typeof value === 'string') {
    return value.length > JOURNAL_TEXT_LIMIT
      ? `${value.slice(0, JOURNAL_TEXT_LIMIT)}… (${value.length - JOURNAL_TEXT_LIMIT} more characters)`
      : value
  }
  if (Array.isArray(value)) {
    return (value as (string | number | ReadObject)[]).map((item) =>
      typeof item === 'object' ? boundedCopy(item) : boundValue(item),
    ) as ReadObject[string]
  }
  return typeof value === 'object' ? boundedCopy(value) : value
}
