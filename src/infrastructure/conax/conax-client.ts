/**
 * The Conax client: sends a command as its operation's SOAP request (the envelope written from the
 * wire table, envelope-writer.ts) over a keep-alive HTTP(S) agent with Basic auth and a hard
 * deadline, and reads the answer with saxes (soap-answer.ts). node-soap and axios are not on this
 * path (docs/decisions/0016-adapter-writes-envelopes.md).
 * @module
 */
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http'
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https'
import type { ConaxCommand } from '../../domain/commands.js'
import {
  AnswerTooLarge,
  DeadlineExceeded,
  IDLE_SOCKET_TIMEOUT_MS,
  MAX_ANSWER_BYTES,
  checkConnection,
  contentTypeOf,
} from './ca-connection.js'
import { readTransactionStatus } from './conax-answers.js'
import type { ConaxClientOptions } from './connection-options.js'
import type { ConaxOutcome } from './conax-outcome.js'
import {
  CONAX_SERVICES,
  findUnsendableText,
  readPayload,
  toConaxRequest,
  type ConaxRequest,
  type ConaxService,
} from './conax-requests.js'
import { EnvelopeWriter, type WireBody } from './envelope-writer.js'
import { encodingOf } from './fast-reader.js'
import {
  classifyNetworkError,
  classifyStatusCode,
  malformedAnswer,
  type Failure,
} from './fault-classification.js'
import { readSoapAnswer, type AnswerObject } from './soap-answer.js'

export type { ConaxClientOptions } from './connection-options.js'
export type {
  ActiveSubscriptionsResult,
  CompletedOutcome,
  ConaxOutcome,
  PairingStatusResult,
  RejectedOutcome,
  TransientOutcome,
} from './conax-outcome.js'

/** Sends Conax commands over the wire contract (docs/contract.md). */
export interface ConaxClient {
  /**
   * Sends one command; writes carry `sequenceNumber` as SequenceNumber, so sending the same command
   * again with the same number is a replay at the CA. Resolves with the outcome for every expected
   * failure (business errors, faults, HTTP and network errors, timeouts); rejects only on bugs.
   */
  send(command: ConaxCommand, sequenceNumber: number): Promise<ConaxOutcome>
  /** Drops the kept-alive connections; `send` must not be called afterwards. */
  close(): Promise<void>
}

/** The client's own settings, beside the provider's connection. */
export interface ConaxClientTuning {
  /** Most connections open to the CA at once (default 64); more calls wait for a free one. */
  readonly maxSockets?: number
}

const DEFAULT_MAX_SOCKETS = 64
/** An answer as it came: HTTP status and the body decoded in the character set it declares. */
interface RawAnswer {
  readonly status: number
  readonly body: string
}

/** The body's text in the Content-Type's character set (UTF-8 when it names none we know). */
function decode(chunks: readonly Buffer[], contentType: string): string {
  const bytes = chunks.length === 1 ? (chunks[0] ?? Buffer.alloc(0)) : Buffer.concat(chunks)
  const text = bytes.toString(encodingOf(contentType))
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text
}

/**
 * Creates a Conax client for the services under `endpoint` (`<endpoint>/<service>`), with HTTP
 * Basic auth, the provider's character set and a `timeoutMs` deadline per call, over a keep-alive
 * agent of at most `maxSockets` connections.
 *
 * @example
 * const conax = await createConaxClient({ endpoint, username: 'sms', password: 'sms', timeoutMs: 10_000 })
 * const outcome = await conax.send({ type: 'UPDATE_CA_PIN_TO_DEFAULT_VALUE', smartcardCaId: '01450253313', distributor: null }, 7)
 * if (outcome.kind === 'TRANSIENT') { ... retry later with the same sequence number ... }
 * await conax.close()
 */
export function createConaxClient(
  options: ConaxClientOptions & ConaxClientTuning,
): Promise<ConaxClient> {
  // Bad options reject, as they did when building the client was asynchronous.
  return new Promise((resolve) => resolve(conaxClient(options)))
}

function conaxClient(options: ConaxClientOptions & ConaxClientTuning): ConaxClient {
  const { url, charset } = checkConnection(options, 'the Conax client')
  const secure = url.protocol === 'https:'
  // Idle sockets are dropped before common server keep-alive timeouts (Apache 5 s), so that a
  // call seldom reuses one the CA has just closed (that would be a CONNECTION_RESET: TRANSIENT,
  // and a replay when retried).
  const agentOptions = {
    keepAlive: true,
    noDelay: true,
    maxSockets: options.maxSockets ?? DEFAULT_MAX_SOCKETS,
    timeout: IDLE_SOCKET_TIMEOUT_MS,
  }
  const agent = secure ? new HttpsAgent(agentOptions) : new HttpAgent(agentOptions)
  const post = secure ? httpsRequest : httpRequest
  const base = url.pathname.replace(/\/+$/, '')
  const paths = Object.fromEntries(
    CONAX_SERVICES.map((service) => [service, `${base}/${service}`]),
  ) as Readonly<Record<ConaxService, string>>
  // URL keeps an IPv6 literal's brackets; the socket wants the bare address.
  const hostname = url.hostname.replace(/^\[(.*)\]$/, '$1')
  const authorization = `Basic ${Buffer.from(`${options.username}:${options.password}`).toString('base64')}`
  const contentType = `text/xml; charset=${charset.name}`
  const writer = new EnvelopeWriter(charset)
  // Headers as a list are written as given, where an object costs a setHeader (and its checks)
  // each; so Host is ours to send. url.host keeps an IPv6 literal's brackets and a non-default
  // port. SOAPAction is the WSDL's empty one (SOAP 1.1 over HTTP requires the header).
  const headersFor = (length: number): string[] => [
    'Host',
    url.host,
    'Authorization',
    authorization,
    'Content-Type',
    contentType,
    'Content-Length',
    String(length),
    'SOAPAction',
    '""',
  ]
  let closed = false

  const exchange = (service: ConaxService, body: WireBody) =>
    new Promise<RawAnswer>((resolve, reject) => {
      let timedOut = false
      const request = post(
        {
          agent,
          protocol: url.protocol,
          hostname,
          port: url.port,
          path: paths[service],
          method: 'POST',
          headers: headersFor(body.length),
        },
        (response: IncomingMessage) => {
          const status = response.statusCode ?? 0
          const chunks: Buffer[] = []
          let size = 0
          response.on('data', (chunk: Buffer) => {
            size += chunk.length
            if (size > MAX_ANSWER_BYTES) {
              response.destroy(new AnswerTooLarge())
            } else {
              chunks.push(chunk)
            }
          })
          response.on('error', fail)
          response.on('end', () => {
            clearTimeout(timer)
            resolve({ status, body: decode(chunks, contentTypeOf(response)) })
          })
        },
      )
      // The deadline covers the whole exchange: connecting, sending, waiting and reading.
      const timer = setTimeout(() => {
        timedOut = true
        request.destroy(new DeadlineExceeded())
      }, options.timeoutMs)
      function fail(error: Error): void {
        clearTimeout(timer)
        reject(timedOut ? new DeadlineExceeded() : error)
      }
      request.on('error', fail)
      request.end(body.data, body.encoding)
    })

  const networkFailure = (error: unknown): Failure | null => {
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
    return classifyNetworkError(error)
  }

  return {
    send: async (command, sequenceNumber) => {
      const request = toConaxRequest(command, sequenceNumber)
      const unsendable = findUnsendableText(request.children)
      if (unsendable) {
        return {
          kind: 'REJECTED',
          errorCode: 'UNSENDABLE_TEXT',
          errorDescription: `Not sent: ${unsendable}`,
          referenceNumber: null,
          request: null,
          response: null,
        }
      }
      if (closed) {
        throw new Error(`Failed to send ${request.operation}: the Conax client is closed.`)
      }
      const body = writer.body(request)
      let answer: RawAnswer
      try {
        answer = await exchange(request.service, body)
      } catch (error) {
        const failure = networkFailure(error)
        if (!failure) {
          throw error
        }
        return failed(failure, null, body.text, null)
      }
      const read = readSoapAnswer(request.operation, request.service, answer.status, answer.body)
      return 'failure' in read
        ? failed(read.failure, null, body.text, answer.body)
        : toOutcome(request, read.response, body.text, answer.body)
    },
    close: () => {
      closed = true
      agent.destroy()
      return Promise.resolve()
    },
  }
}

function failed(
  failure: Failure,
  referenceNumber: string | null,
  request: string | null,
  response: string | null,
): ConaxOutcome {
  return failure.kind === 'REJECTED'
    ? { ...failure, kind: 'REJECTED', referenceNumber, request, response }
    : { ...failure, kind: 'TRANSIENT', request, response }
}

/** The outcome of an `<OpResponse>` (`result`), given what was sent and the answer's text. */
function toOutcome(
  request: ConaxRequest,
  result: AnswerObject,
  sent: string,
  response: string,
): ConaxOutcome {
  const status = readTransactionStatus(result)
  if (!status) {
    return failed(
      malformedAnswer(`The ${request.operation} answer has no valid TransactionStatus.`),
      null,
      sent,
      response,
    )
  }
  const kind = classifyStatusCode(status.statusCode)
  if (kind !== 'COMPLETED') {
    const failure: Failure = {
      kind,
      errorCode: status.statusCode,
      errorDescription: status.message || status.statusCode,
    }
    return failed(failure, status.transactionId, sent, response)
  }
  const payload = readPayload(request, result)
  if (!status.transactionId || payload === undefined) {
    const what = status.transactionId ? 'payload' : 'TransactionId'
    return failed(
      malformedAnswer(
        `The ${request.operation} answer is OK but its ${what} is missing or invalid.`,
      ),
      status.transactionId,
      sent,
      response,
    )
  }
  return {
    kind: 'COMPLETED',
    referenceNumber: status.transactionId,
    message: status.message,
    request: sent,
    response,
    result: payload,
  }
}
