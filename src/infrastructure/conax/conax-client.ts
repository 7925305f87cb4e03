import { randomUUID } from 'node:crypto'
import { existsSync } from 'node:fs'
import { Agent as HttpAgent } from 'node:http'
import { Agent as HttpsAgent } from 'node:https'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import {
  BasicAuthSecurity,
  createClientAsync,
  HttpClient,
  type Client,
  type IExOptions,
  type IHeaders,
} from 'soap'
import type { ConaxCommand } from '../../domain/commands.js'
import {
  CHARACTER_SET_LABELS,
  DEFAULT_CHARACTER_SET,
  characterSetOf,
  toWireBytes,
  toWireText,
  type CharacterSet,
} from './character-set.js'
import { readTransactionStatus } from './conax-answers.js'
import type { ConaxOutcome } from './conax-outcome.js'
import {
  CONAX_SERVICES,
  findUnsendableText,
  readPayload,
  toConaxRequest,
  toSoapArgs,
  type ConaxRequest,
  type ConaxService,
} from './conax-requests.js'
import {
  bodyOf,
  classifyStatusCode,
  classifyTransportError,
  malformedAnswer,
  type Failure,
} from './fault-classification.js'

export type {
  ActiveSubscriptionsResult,
  CompletedOutcome,
  ConaxOutcome,
  PairingStatusResult,
  RejectedOutcome,
  TransientOutcome,
} from './conax-outcome.js'

/** How to reach the CA: the provider's connection settings (`ProvisioningProvider.connection`). */
export interface ConaxClientOptions {
  /** Base URL of the services, e.g. `http://127.0.0.1:8280/ca-server/webservices/caclient`. */
  readonly endpoint: string
  readonly username: string
  readonly password: string
  /** Longest wait for an answer; a call that takes longer is TRANSIENT `TIMEOUT`. */
  readonly timeoutMs: number
  /** The character set requests are sent in (default UTF-8; also ISO-8859-1, US-ASCII, UTF-16). */
  readonly characterSet?: string
}

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

/**
 * The folder of the shipped WSDLs, `fixtures/wsdl`, found by walking up from this module (it sits
 * at a different depth in `src/` and in `dist/src/`).
 */
export function wsdlDirectory(): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  for (;;) {
    const candidate = join(dir, 'fixtures', 'wsdl')
    if (existsSync(candidate)) {
      return candidate
    }
    const parent = dirname(dir)
    if (parent === dir) {
      throw new Error(
        `Failed to find fixtures/wsdl above ${fileURLToPath(import.meta.url)}. Ship the WSDLs with the adapter.`,
      )
    }
    dir = parent
  }
}

/** node-soap's HTTP client, re-encoding each request body in the configured character set. */
class CharsetHttpClient extends HttpClient {
  private readonly charset: CharacterSet

  constructor(charset: CharacterSet) {
    super()
    this.charset = charset
  }

  override buildRequest(
    rurl: string,
    data: unknown,
    exheaders?: IHeaders,
    exoptions?: IExOptions,
  ): unknown {
    const built: unknown = super.buildRequest(rurl, data, exheaders, exoptions)
    if (typeof data !== 'string' || typeof built !== 'object' || built === null) {
      return built
    }
    const request = built as { data: unknown; headers: Record<string, unknown> }
    const bytes = toWireBytes(toWireText(data, this.charset), this.charset)
    request.data = bytes
    request.headers['Content-Length'] = bytes.length
    request.headers['Content-Type'] = `text/xml; charset=${this.charset.name}`
    return request
  }
}

function checkOptions(options: ConaxClientOptions): CharacterSet {
  const url = URL.canParse(options.endpoint) ? new URL(options.endpoint) : null
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    throw new TypeError(
      `Failed to create the Conax client: endpoint '${options.endpoint}' is not an http(s) URL.`,
    )
  }
  if (!Number.isInteger(options.timeoutMs) || options.timeoutMs < 1) {
    throw new RangeError(
      `Failed to create the Conax client: timeoutMs must be a positive integer, not ${options.timeoutMs}.`,
    )
  }
  const charset = characterSetOf(options.characterSet ?? DEFAULT_CHARACTER_SET.name)
  if (!charset) {
    throw new RangeError(
      `Failed to create the Conax client: character set '${options.characterSet ?? ''}' is not supported. Use one of ${CHARACTER_SET_LABELS.join(', ')}.`,
    )
  }
  return charset
}

/** What one exchange put on and got from the wire, collected from node-soap's events. */
interface Exchange {
  request: string | null
  response: string | null
}

type AsyncOperation = (args: unknown, options: IExOptions) => Promise<unknown>

const IDLE_SOCKET_TIMEOUT_MS = 4000

/**
 * Creates a Conax client: one node-soap client per service, built from the shipped WSDLs, with
 * the endpoint overridden to `<endpoint>/<service>`, HTTP Basic auth and a per-call timeout.
 *
 * @example
 * const conax = await createConaxClient({ endpoint, username: 'sms', password: 'sms', timeoutMs: 10_000 })
 * const outcome = await conax.send({ type: 'UPDATE_CA_PIN_TO_DEFAULT_VALUE', smartcardCaId: '01450253313', distributor: null }, 7)
 * if (outcome.kind === 'TRANSIENT') { ... retry later with the same sequence number ... }
 * await conax.close()
 */
export async function createConaxClient(options: ConaxClientOptions): Promise<ConaxClient> {
  const charset = checkOptions(options)
  const base = options.endpoint.replace(/\/+$/, '')
  const directory = wsdlDirectory()
  // Our own agents, so that close() can drop the kept-alive sockets. Idle sockets are dropped
  // before common server keep-alive timeouts (Apache 5 s), so that a call seldom reuses one the
  // CA has just closed (that would be a CONNECTION_RESET: TRANSIENT, and a replay when retried).
  const agentOptions = { keepAlive: true, timeout: IDLE_SOCKET_TIMEOUT_MS }
  const httpAgent = new HttpAgent(agentOptions)
  const httpsAgent = new HttpsAgent(agentOptions)
  const httpClient = new CharsetHttpClient(charset)
  const exchanges = new Map<string, Exchange>()

  const clients = new Map<ConaxService, Client>(
    await Promise.all(
      CONAX_SERVICES.map(async (service) => {
        const client = await createClientAsync(
          join(directory, `${service}.wsdl`),
          {
            httpClient,
            // node-soap caches WSDLs by path and lets each client mutate the cached options.
            disableCache: true,
            // Dates stay the CA's strings; node-soap would make them Dates (and drop precision).
            customDeserializer: {
              dateTime: (value: string) => value,
              date: (value: string) => value,
            },
          },
          `${base}/${service}`,
        )
        client.setSecurity(new BasicAuthSecurity(options.username, options.password))
        client.on('request', (xml, eid) => {
          const exchange = exchanges.get(eid)
          if (exchange) {
            exchange.request = toWireText(xml, charset)
          }
        })
        client.on('response', (body: unknown, _response: unknown, eid: string) => {
          const exchange = exchanges.get(eid)
          if (exchange && typeof body === 'string') {
            exchange.response = body
          }
        })
        return [service, client] as const
      }),
    ),
  )

  const call = async (request: ConaxRequest): Promise<ConaxOutcome> => {
    const client = clients.get(request.service)
    if (!client) {
      throw new Error(`Failed to send ${request.operation}: the Conax client is closed.`)
    }
    const method: unknown = client[`${request.operation}Async`]
    if (typeof method !== 'function') {
      throw new Error(`Failed to send ${request.operation}: the ${request.service} WSDL lacks it.`)
    }
    const exchangeId = randomUUID()
    const exchange: Exchange = { request: null, response: null }
    exchanges.set(exchangeId, exchange)
    try {
      const answer = await (method as AsyncOperation).call(
        client,
        { [`${request.operation}Request`]: toSoapArgs(request.children) },
        {
          exchangeId,
          // axios' own timeout is a socket-idle timer; the signal is the hard deadline.
          timeout: options.timeoutMs,
          signal: AbortSignal.timeout(options.timeoutMs),
          // A redirected POST would come back as a GET; a redirect means a wrong endpoint.
          maxRedirects: 0,
          // Ignore HTTP(S)_PROXY: the CA is reached directly, as the provider configures it.
          proxy: false,
          httpAgent,
          httpsAgent,
        },
      )
      return toOutcome(request, answer, exchange)
    } catch (error) {
      const failure = classifyTransportError(error)
      if (!failure) {
        throw error
      }
      return failed(failure, null, exchange.request, exchange.response ?? bodyOf(error))
    } finally {
      exchanges.delete(exchangeId)
    }
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
      return call(request)
    },
    close: () => {
      httpAgent.destroy()
      httpsAgent.destroy()
      clients.clear()
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

/** The outcome of an answer node-soap parsed (the resolved `[result, rawResponse, ...]`). */
function toOutcome(request: ConaxRequest, answer: unknown, exchange: Exchange): ConaxOutcome {
  const [result, rawResponse] = Array.isArray(answer) ? (answer as unknown[]) : []
  const response = typeof rawResponse === 'string' ? rawResponse : (exchange.response ?? '')
  const sent = exchange.request ?? ''
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
