import { performance } from 'node:perf_hooks'
import type { Logger } from 'pino'
import type { ReadObject, ReadValue } from '../contract/schema.js'
import type { CaState, InternedId } from '../model/ca-state.js'
import type { Journal, JournalEntry } from '../runtime/journal.js'
import type { Answer, Call } from './answers.js'

/**
 * What the simulator keeps of a SOAP call: its journal entry (the request with ids shared and
 * long texts cut) and its log line.
 */

const JOURNAL_TEXT_LIMIT = 1024

/** Most bytes of a raw request or answer body the journal keeps in memory (16 KiB). */
export const JOURNAL_XML_LIMIT = 16 * 1024

/** Journals and logs a call; the entry is the durable record of what was answered. */
export function recordCall(
  journal: Journal,
  logger: Logger,
  call: Call,
  answer: Answer,
): JournalEntry {
  const durationMs = Math.round((performance.now() - call.started) * 1000) / 1000
  const entry = journal.append(
    {
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
    },
    {
      ...(call.body === undefined ? {} : { requestXml: boundedBody(call.body) }),
      ...(answerSent(answer) ? { answerXml: boundedAnswer(answer.body) } : {}),
    },
  )
  if (logger.isLevelEnabled('info')) {
    logger.info(
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

/** Whether the client gets the answer's body (not when the connection is reset or dropped). */
function answerSent(answer: Answer): boolean {
  return answer.statusCode !== 'RESET' && answer.dropAnswer !== true
}

/**
 * A raw body as journal text: decoded as UTF-8 (bytes that are not become U+FFFD, so the JSON
 * answer stays valid whatever was sent), at most {@link JOURNAL_XML_LIMIT} bytes, with a marker
 * saying how much was cut.
 */
export function boundedBody(body: Buffer): string {
  if (body.length <= JOURNAL_XML_LIMIT) {
    return body.toString('utf8')
  }
  const kept = body.subarray(0, JOURNAL_XML_LIMIT).toString('utf8')
  return `${kept}\n… (${body.length - JOURNAL_XML_LIMIT} more bytes cut)`
}

/** An answer's body as journal text, bounded like {@link boundedBody}. */
export function boundedAnswer(body: string): string {
  // Answers are almost always small: only measure bytes when the characters could exceed it.
  return body.length * 3 <= JOURNAL_XML_LIMIT || Buffer.byteLength(body) <= JOURNAL_XML_LIMIT
    ? body
    : boundedBody(Buffer.from(body, 'utf8'))
}

// ----- reading a request by the contract's element names -------------------------------------

const isList = (value: ReadValue | undefined): value is readonly ReadValue[] => Array.isArray(value)

const isObject = (value: ReadValue | undefined): value is ReadObject =>
  typeof value === 'object' && !isList(value)

/** The items of a repeated element (none when it is absent). */
const itemsOf = (value: ReadValue | undefined): readonly ReadValue[] => (isList(value) ? value : [])

/** How many cards a request names, for the request log line. */
export function cardCount(request: ReadObject): number {
  const subscriptions = request.Subscriptions
  if (isObject(subscriptions)) {
    const items = itemsOf(subscriptions.Subscription).filter(isObject)
    return new Set(items.map((item) => item.CaClientId)).size
  }
  const cards = request.CaClientIds
  const ids = isObject(cards) ? itemsOf(cards.CaClientId) : []
  const single = request.CaClientId ?? request.PairedCaClientId
  return ids.length + (single === undefined ? 0 : 1)
}

const INTERNED: ReadonlyMap<string, InternedId> = new Map([
  ['CaClientId', 'card'],
  ['PairedCaClientId', 'card'],
  ['PairingModuleId', 'module'],
  ['ProductId', 'product'],
  ['Distributor', 'distributor'],
])

/** The request with its ids replaced by the model's shared strings, so journalled requests stay small. */
export function internIds(state: CaState, request: ReadObject): ReadObject {
  const interned: Record<string, ReadValue> = {}
  for (const [name, value] of Object.entries(request)) {
    interned[name] = internValue(state, INTERNED.get(name), value)
  }
  return interned
}

function internValue(state: CaState, kind: InternedId | undefined, value: ReadValue): ReadValue {
  if (typeof value === 'string') {
    return kind === undefined ? value : state.intern(kind, value)
  }
  if (typeof value === 'number' || typeof value === 'boolean') {
    return value
  }
  return isList(value)
    ? value.map((item) => internValue(state, kind, item))
    : internIds(state, value)
}

// ----- bounded copies for the journal ---------------------------------------------------------

/** A copy of a request for the journal with long texts cut, so a rejected 1 MiB message is not kept. */
function boundedForJournal(request: ReadObject): ReadObject {
  // Almost every request has no long text: keep it as it is rather than copy it on the hot path.
  return hasLongText(request) ? boundedCopy(request) : request
}

function hasLongText(value: ReadValue): boolean {
  if (typeof value === 'string') {
    return value.length > JOURNAL_TEXT_LIMIT
  }
  if (typeof value === 'number' || typeof value === 'boolean') {
    return false
  }
  return isList(value) ? value.some(hasLongText) : Object.values(value).some(hasLongText)
}

function boundedCopy(request: ReadObject): ReadObject {
  const bounded: Record<string, ReadValue> = {}
  for (const [name, value] of Object.entries(request)) {
    bounded[name] = boundValue(value)
  }
  return bounded
}

function boundValue(value: ReadValue): ReadValue {
  if (typeof value === 'string') {
    return value.length > JOURNAL_TEXT_LIMIT
      ? `${value.slice(0, JOURNAL_TEXT_LIMIT)}… (${value.length - JOURNAL_TEXT_LIMIT} more characters)`
      : value
  }
  if (typeof value === 'number' || typeof value === 'boolean') {
    return value
  }
  return isList(value) ? value.map(boundValue) : boundedCopy(value)
}
