import type { IncomingMessage, ServerResponse } from 'node:http'
import { performance } from 'node:perf_hooks'
import type { Logger } from 'pino'
import { SERVICE_BASE_PATH, serviceNamespace, type ServiceName } from '../contract/namespaces.js'
import type { CaState } from '../model/ca-state.js'
import type { FaultInjector } from '../runtime/fault-injector.js'
import type { Journal } from '../runtime/journal.js'
import type { ReplayCache } from '../runtime/replay-cache.js'
import { faultAnswer, textAnswer, type Answer, type Call } from './answers.js'
import { internIds, recordCall } from './call-journal.js'
import { createDispatch } from './dispatch.js'
import { checkSoapAction, locateOperation } from './locate-operation.js'
import { SchemaViolation, readChildren } from './request-reader.js'
import { authenticate, createWsdlRoute, readBody } from './transport.js'
import { readXml, type XmlLimits } from './xml-input.js'
import { soapContentType } from './xml-output.js'

/** What the SOAP endpoints need from the simulator around them. */
export interface SoapEndpointDeps {
  readonly state: CaState
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
  /** Whether the WSDLs' `soap:address` follows X-Forwarded-Proto and X-Forwarded-Host. */
  readonly trustProxy?: boolean
  /**
   * Resolves once the state changed by a write is stored. Rejects when storing failed: the change
   * has then been undone, with `onRollback` undoing what the endpoint itself recorded for it.
   */
  readonly persist: (onRollback?: () => void) => Promise<void>
  /** host:port of the server, for WSDLs asked for without a usable Host header. */
  readonly ownHost: () => string
  /** What comes before the services' path in the WSDLs' addresses: a tenant's `/t/<name>`, or ''. */
  readonly pathPrefix: string
  /** Asks for a store write without waiting (journal entries of reads and failures). */
  readonly persistSoon: () => void
  /** True once the simulator is closing: delays end early and operations are refused. */
  readonly closing: () => boolean
  /** Waits `ms`, or less when the simulator starts closing. */
  readonly sleep: (ms: number) => Promise<void>
  readonly logger: Logger
  /** Told of every answered call (the metrics), with the time it took. */
  readonly onAnswered?: (call: Call, answer: Answer, seconds: number) => void
}

/** The SOAP request handler and a way to wait for the calls in flight. */
export interface SoapEndpoint {
  handle(req: IncomingMessage, res: ServerResponse, service: ServiceName, query: string): void
  /** Resolves when no call is being dispatched. */
  drain(): Promise<void>
}

/** "Couldn't parse stream." is what the real server answered to an unreadable body (docs/domain.md §1.1). */
const UNPARSEABLE = "Couldn't parse stream."

/**
 * The SOAP hot path: a plain `node:http` handler (no express, no node-soap) that authenticates
 * (transport.ts), reads the body within limits and parses it (xml-input.ts), finds the operation
 * (locate-operation.ts), reads its request against the operation table's schema
 * (request-reader.ts), runs it (dispatch.ts), journals (call-journal.ts) and answers
 * (answers.ts) exactly as the contract says.
 */
export function createSoapEndpoint(deps: SoapEndpointDeps): SoapEndpoint {
  const inFlight = new Set<Promise<void>>()
  const serveWsdl = createWsdlRoute(
    deps.scheme,
    deps.ownHost,
    deps.pathPrefix,
    deps.trustProxy === true,
  )
  const dispatch = createDispatch(deps)

  function finish(call: Call, res: ServerResponse, answer: Answer): void {
    if (!answer.journalled) {
      recordCall(deps.journal, deps.logger, call, answer)
      deps.persistSoon()
    }
    deps.onAnswered?.(call, answer, (performance.now() - call.started) / 1000)
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

  /** Parses, finds and reads the operation, then runs it. */
  async function answerBody(req: IncomingMessage, call: Call, body: Buffer): Promise<Answer> {
    const parsed = readXml(body, req.headers['content-type'], deps.xmlLimits)
    if (!parsed.ok) {
      switch (parsed.kind) {
        case 'PARSE':
          return faultAnswer(call, 'Server', UNPARSEABLE)
        case 'DOCTYPE':
        case 'INSTRUCTION':
        case 'LIMIT':
          return faultAnswer(call, 'Client', `Refused: ${parsed.reason}.`)
      }
    }
    const located = locateOperation(call, parsed.root)
    if ('httpStatus' in located) {
      return located
    }
    const { operation } = located
    const mismatch = checkSoapAction(req.headers, call, operation.name)
    if (mismatch) {
      return mismatch
    }
    let read
    try {
      read = readChildren(
        located.request,
        operation.request,
        serviceNamespace(call.service),
        `${operation.name}Request`,
      )
    } catch (error) {
      if (error instanceof SchemaViolation) {
        return faultAnswer(call, 'Client', `Schema violation: ${error.message}`)
      }
      throw error
    }
    const request = internIds(deps.state, read)
    call.request = request
    return dispatch(call, operation, request)
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
    call.user = authenticate(req, deps.users)
    if (call.user === null) {
      req.resume()
      // Connection: close, so an unauthenticated client cannot make us drain a large body.
      const unauthorised = textAnswer(
        401,
        'Missing or wrong HTTP Basic credentials.',
        'unauthorised',
        {
          'WWW-Authenticate': 'Basic realm="Conax Contego simulator", charset="UTF-8"',
          Connection: 'close',
        },
      )
      finish(call, res, unauthorised)
      return
    }
    const tooLarge = (): void => {
      const text = `Request body exceeds the ${deps.bodyLimitBytes}-byte limit; nothing was parsed. Split the request.`
      finish(call, res, textAnswer(413, text, 'body over the size limit', { Connection: 'close' }))
    }
    readBody(req, deps.bodyLimitBytes, tooLarge, (body) => {
      call.body = body
      const done = answerBody(req, call, body).then(
        (answer) => finish(call, res, answer),
        (error: unknown) => {
          deps.logger.error({ err: error }, 'soap dispatch failed')
          finish(
            call,
            res,
            faultAnswer(call, 'Server', 'Internal simulator error; nothing was changed.'),
          )
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
