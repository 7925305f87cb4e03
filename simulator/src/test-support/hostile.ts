import { Agent, request, type IncomingHttpHeaders } from 'node:http'
import { XMLParser, XMLValidator } from 'fast-xml-parser'
import { expect } from 'vitest'
import { SOAP11_ENV, SOAP12_ENV } from '../contract/namespaces.js'
import type { Simulator } from '../create-simulator.js'
import type { ModelSnapshot } from '../model/ca-state.js'
import { STATUS_CODES } from '../model/types.js'
import type { SimulatorSnapshot, SimulatorStore } from '../store/simulator-store.js'

/**
 * Test helpers for the hostile-input suites: a raw HTTP client that sends bytes exactly as given,
 * readers that fail the test unless an answer has a shape the contract allows, and checkpoints
 * of the whole simulator state (model, journal, replay records) to prove that nothing changed.
 */

export interface RawAnswer {
  readonly status: number
  readonly headers: IncomingHttpHeaders
  readonly body: string
}

export interface RawRequest {
  readonly method?: string
  readonly headers?: Readonly<Record<string, string>>
  readonly body?: string | Buffer
  /** Send the body in chunks without a Content-Length (Transfer-Encoding: chunked). */
  readonly chunked?: boolean
}

/** An HTTP/1.1 client on keep-alive sockets; bodies go out byte for byte as given. */
export class RawClient {
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 4 })
  private readonly host: string
  private readonly port: number

  constructor(url: string) {
    const parsed = new URL(url)
    this.host = parsed.hostname
    this.port = Number(parsed.port)
  }

  /** Sends one request and reads the whole answer. */
  send(path: string, given: RawRequest = {}): Promise<RawAnswer> {
    const body = typeof given.body === 'string' ? Buffer.from(given.body, 'utf8') : given.body
    const headers: Record<string, string> = { ...given.headers }
    if (body && !given.chunked && !Object.keys(headers).some((h) => /^content-length$/i.test(h))) {
      headers['Content-Length'] = String(body.length)
    }
    return new Promise((resolve, reject) => {
      let answered = false
      const req = request(
        {
          host: this.host,
          port: this.port,
          path,
          method: given.method ?? 'POST',
          headers,
          agent: this.agent,
        },
        (res) => {
          answered = true
          const chunks: Buffer[] = []
          res.on('data', (chunk: Buffer) => chunks.push(chunk))
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 0,
              headers: res.headers,
              body: Buffer.concat(chunks).toString('utf8'),
            }),
          )
          res.on('error', reject)
        },
      )
      // A server that answers early (413) may close while the body is still going out.
      req.on('error', (error) => (answered ? undefined : reject(error)))
      if (body && given.chunked) {
        for (let at = 0; at < body.length; at += 64 * 1024) {
          req.write(body.subarray(at, at + 64 * 1024))
        }
        req.end()
      } else {
        req.end(body)
      }
    })
  }

  close(): void {
    this.agent.destroy()
  }
}

/** What a SOAP endpoint answered, once checked against the contract (section 3). */
export type SoapOutcome =
  | { readonly kind: 'fault'; readonly code: 'Client' | 'Server'; readonly reason: string }
  | {
      readonly kind: 'status'
      readonly response: string
      readonly statusCode: string
      readonly transactionId: string
    }
  | { readonly kind: 'http'; readonly status: 401 | 413 }

const parser = new XMLParser({ removeNSPrefix: true, parseTagValue: false, ignoreAttributes: true })
const ENVELOPE_START = new RegExp(
  `^<\\?xml version="1\\.0" encoding="UTF-8"\\?><soap:Envelope xmlns:soap="(${SOAP11_ENV}|${SOAP12_ENV})"><soap:Body>`,
)

type XmlObject = Record<string, unknown>
const objectAt = (value: unknown): XmlObject =>
  typeof value === 'object' && value !== null ? (value as XmlObject) : {}
const textAt = (value: unknown): string => (typeof value === 'string' ? value : '')

/**
 * Reads a SOAP endpoint's answer and fails unless the contract allows it: a status block in a
 * well-formed response (HTTP 200), a SOAP 1.1 or 1.2 fault (HTTP 500), 401 with a Basic
 * challenge, or 413 with a text body.
 */
export function soapOutcome(answer: RawAnswer): SoapOutcome {
  const where = `HTTP ${answer.status}: ${answer.body.slice(0, 300)}`
  if (answer.status === 401) {
    expect(answer.headers['www-authenticate'], where).toMatch(/^Basic /)
    return { kind: 'http', status: 401 }
  }
  if (answer.status === 413) {
    expect(answer.headers['content-type'], where).toMatch(/^text\/plain/)
    expect(answer.body, where).toMatch(/limit/)
    return { kind: 'http', status: 413 }
  }
  expect([200, 500], where).toContain(answer.status)
  expect(answer.headers['content-type'], where).toMatch(
    /^(text\/xml|application\/soap\+xml); charset=utf-8$/,
  )
  expect(XMLValidator.validate(answer.body), where).toBe(true)
  const version = ENVELOPE_START.exec(answer.body)?.[1]
  expect(version, where).toBeDefined()
  const body = objectAt(objectAt(objectAt(parser.parse(answer.body)).Envelope).Body)
  const names = Object.keys(body)
  expect(names, where).toHaveLength(1)
  if (answer.status === 500) {
    expect(names[0], where).toBe('Fault')
    const fault = objectAt(body.Fault)
    if (version === SOAP12_ENV) {
      const value = objectAt(fault.Code).Value
      expect(['soap:Sender', 'soap:Receiver'], where).toContain(value)
      const reason = textAt(objectAt(fault.Reason).Text)
      expect(reason, where).not.toBe('')
      return { kind: 'fault', code: value === 'soap:Sender' ? 'Client' : 'Server', reason }
    }
    expect(['soap:Client', 'soap:Server'], where).toContain(fault.faultcode)
    const reason = textAt(fault.faultstring)
    expect(reason, where).not.toBe('')
    return { kind: 'fault', code: fault.faultcode === 'soap:Client' ? 'Client' : 'Server', reason }
  }
  const response = names[0] as string
  expect(response, where).toMatch(/^[A-Za-z]+Response$/)
  const status = objectAt(objectAt(body[response]).TransactionStatus)
  expect(STATUS_CODES as readonly unknown[], where).toContain(status.StatusCode)
  expect(status.TransactionId, where).toMatch(/^\S+$/)
  return {
    kind: 'status',
    response,
    statusCode: String(status.StatusCode),
    transactionId: String(status.TransactionId),
  }
}

/** Reads an admin API answer and fails unless it is JSON: a 2xx answer, or a 4xx `{ error: { code, message } }`. */
export function adminOutcome(answer: RawAnswer, what: string): 'ok' | 'refused' {
  const where = `${what} -> HTTP ${answer.status}: ${answer.body.slice(0, 300)}`
  if (answer.status === 204) {
    return 'ok'
  }
  expect(answer.headers['content-type'], where).toMatch(/^application\/json/)
  const json = JSON.parse(answer.body) as unknown
  if (answer.status >= 200 && answer.status < 300) {
    return 'ok'
  }
  expect(answer.status, where).toBeGreaterThanOrEqual(400)
  expect(answer.status, where).toBeLessThan(500)
  const error = objectAt(objectAt(json).error)
  expect(error.code, where).toMatch(/^[A-Z][A-Z_]+$/)
  expect(typeof error.message === 'string' && error.message.length > 0, where).toBe(true)
  return 'refused'
}

/** A store that keeps the last snapshot it was given, so a test can read the replay records. */
export class RecordingStore implements SimulatorStore {
  readonly description = 'recording test store'
  last: SimulatorSnapshot | null = null

  load(): Promise<SimulatorSnapshot | null> {
    return Promise.resolve(null)
  }

  save(snapshot: SimulatorSnapshot): Promise<void> {
    this.last = snapshot
    return Promise.resolve()
  }
}

/** The whole state of a simulator at one moment. */
export interface Checkpoint {
  readonly model: ModelSnapshot
  readonly replays: unknown
  /** The newest journal entry's seq. */
  readonly seq: number
}

/** Takes a checkpoint once every change so far is stored. */
export async function checkpoint(sim: Simulator, store: RecordingStore): Promise<Checkpoint> {
  await sim.flush()
  return {
    model: sim.model.toSnapshot(),
    replays: structuredClone(store.last?.replays ?? null),
    seq: sim.journal.toSnapshot().nextSeq - 1,
  }
}

/**
 * Fails unless nothing changed since `before`: the model deep-equals it, the replay records are
 * the same, and the journal gained `calls` entries, none of them an OK answer or a replay.
 */
export async function expectUnchanged(
  sim: Simulator,
  store: RecordingStore,
  before: Checkpoint,
  what: string,
  calls = 1,
): Promise<void> {
  await sim.flush()
  expect(sim.model.toSnapshot(), what).toEqual(before.model)
  expect(store.last?.replays ?? null, what).toEqual(before.replays)
  const added = sim.journal.list({ since: before.seq })
  expect(added.length, what).toBe(calls)
  for (const entry of added) {
    expect(entry.statusCode, what).not.toBe('OK')
    expect(entry.replay, what).toBe(false)
  }
}

/** The Authorization header for the admin API when the simulator has a token (added by a later change). */
export function adminHeaders(sim: Simulator): Record<string, string> {
  const token = (sim as { adminToken?: unknown }).adminToken
  return typeof token === 'string' ? { Authorization: `Bearer ${token}` } : {}
}
