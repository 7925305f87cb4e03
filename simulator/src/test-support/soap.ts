import { XMLParser } from 'fast-xml-parser'
import request from 'supertest'
import {
  SOAP11_ENV,
  SOAP12_ENV,
  serviceNamespace,
  type ServiceName,
} from '../contract/namespaces.js'
import { startSimulator, type Simulator, type SimulatorOptions } from '../create-simulator.js'

/** The header the admin API needs: the simulator's bearer token. */
export function adminAuth(sim: Simulator): Record<string, string> {
  return { Authorization: `Bearer ${sim.adminToken}` }
}

/** A supertest agent for the simulator's admin API, the token set on every request. */
export function adminApi(sim: Simulator): ReturnType<typeof request.agent> {
  return request.agent(sim.url).set(adminAuth(sim))
}

/** Test helpers: raw SOAP calls against a running simulator, and a small fixed inventory. */
export const CARD_A = '01450253313'
export const CARD_B = '01900080207'
export const CARD_C = '01000000003'
export const CARD_OTHER_SMS = '09999999999'
export const STB_1 = '1000000001'
export const STB_2 = '1000000002'
export const STB_3 = '1000000003'

export const TEST_INVENTORY = {
  smartcards: [
    { caClientId: CARD_A },
    { caClientId: CARD_B },
    { caClientId: CARD_C },
    { caClientId: CARD_OTHER_SMS, sms: 'other' },
  ],
  pairingModules: [STB_1, STB_2, STB_3].map((id, index) => ({
    pairingModuleId: id,
    serialNumber: `KA2611XB00000${index + 1}`,
    productCode: 'KSTB5043',
    productDescription: 'Kaon KSTB5043 HD Conax Zapper',
  })),
  products: ['GFA1', 'EFA2', 'RFB1', 'BFB2', 'AF1', '1001'].map((productId) => ({ productId })),
}

/** A simulator on port 0 with users sms/sms and other/other and the test inventory. */
export function startTestSimulator(options: SimulatorOptions = {}): Promise<Simulator> {
  return startSimulator({
    users: { sms: 'sms', other: 'other' },
    inventory: TEST_INVENTORY,
    ...options,
  })
}

export interface CallOptions {
  readonly version?: '1.1' | '1.2'
  /** Qualify the children of `<OpRequest>` in the service namespace. */
  readonly qualified?: boolean
  readonly auth?: string | null
  readonly soapAction?: string
  readonly contentType?: string
}

export interface CallResult {
  readonly status: number
  readonly body: string
  readonly contentType: string | null
  /** `<OpResponse>` parsed (no namespace prefixes), or null for faults and non-SOAP answers. */
  readonly response: Record<string, unknown> | null
  readonly statusCode: string | null
  readonly transactionId: string | null
  readonly message: string | null
  /** faultcode / soap:Code Value and faultstring / Reason Text of a fault. */
  readonly fault: { readonly code: string; readonly reason: string } | null
}

const parser = new XMLParser({ removeNSPrefix: true, parseTagValue: false, ignoreAttributes: true })

/** `<tag>value</tag>` for each entry; arrays repeat the tag; nested objects nest. */
export function xmlOf(value: Record<string, unknown>, prefix = ''): string {
  let xml = ''
  for (const [name, child] of Object.entries(value)) {
    const items = Array.isArray(child) ? child : [child]
    for (const item of items) {
      const inner =
        typeof item === 'object' && item !== null
          ? xmlOf(item as Record<string, unknown>, prefix)
          : String(item as string | number | boolean)
              .replace(/&/g, '&amp;')
              .replace(/</g, '&lt;')
      xml += `<${prefix}${name}>${inner}</${prefix}${name}>`
    }
  }
  return xml
}

/** The envelope of a call: `<Op><OpRequest>children</OpRequest></Op>`. */
export function requestEnvelope(
  service: ServiceName,
  operation: string,
  children: Record<string, unknown> | string,
  options: CallOptions = {},
): string {
  const envNs = options.version === '1.2' ? SOAP12_ENV : SOAP11_ENV
  const prefix = options.qualified ? 'c:' : ''
  const inner = typeof children === 'string' ? children : xmlOf(children, prefix)
  return `<?xml version="1.0" encoding="UTF-8"?><s:Envelope xmlns:s="${envNs}"><s:Body><c:${operation} xmlns:c="${serviceNamespace(service)}"><${prefix}${operation}Request>${inner}</${prefix}${operation}Request></c:${operation}></s:Body></s:Envelope>`
}

/** Posts a raw body to a service endpoint and reads the answer. */
export async function postSoap(
  sim: Simulator,
  service: ServiceName,
  body: string | Buffer,
  options: CallOptions = {},
): Promise<CallResult> {
  const headers: Record<string, string> = {
    'Content-Type':
      options.contentType ??
      (options.version === '1.2'
        ? 'application/soap+xml; charset=utf-8'
        : 'text/xml; charset=utf-8'),
  }
  const auth = options.auth === undefined ? 'sms:sms' : options.auth
  if (auth !== null) {
    headers.Authorization = `Basic ${Buffer.from(auth).toString('base64')}`
  }
  if (options.soapAction !== undefined) {
    headers.SOAPAction = options.soapAction
  }
  const res = await fetch(sim.serviceUrl(service), { method: 'POST', headers, body })
  const text = await res.text()
  return readAnswer(res.status, res.headers.get('content-type'), text)
}

/** Calls an operation with children given as an object (or raw XML). */
export function callSoap(
  sim: Simulator,
  service: ServiceName,
  operation: string,
  children: Record<string, unknown> | string,
  options: CallOptions = {},
): Promise<CallResult> {
  return postSoap(sim, service, requestEnvelope(service, operation, children, options), options)
}

function readAnswer(status: number, contentType: string | null, text: string): CallResult {
  let parsed: Record<string, unknown> | null = null
  try {
    parsed = parser.parse(text) as Record<string, unknown>
  } catch {
    parsed = null
  }
  const body = (parsed?.Envelope as Record<string, unknown> | undefined)?.Body as
    Record<string, unknown> | undefined
  const fault = body?.Fault as Record<string, unknown> | undefined
  const responseKey = body ? Object.keys(body).find((key) => key.endsWith('Response')) : undefined
  const response = responseKey ? (body?.[responseKey] as Record<string, unknown>) : null
  const txStatus = response?.TransactionStatus as Record<string, string> | undefined
  return {
    status,
    body: text,
    contentType,
    response,
    statusCode: txStatus?.StatusCode ?? null,
    transactionId: txStatus?.TransactionId ?? null,
    message: txStatus?.Message ?? null,
    fault: fault
      ? {
          code: String(
            (fault.faultcode as string | undefined) ??
              ((fault.Code as Record<string, unknown> | undefined)?.Value as string | undefined),
          ),
          reason: String(
            (fault.faultstring as string | undefined) ??
              ((fault.Reason as Record<string, unknown> | undefined)?.Text as string | undefined),
          ),
        }
      : null,
  }
}
