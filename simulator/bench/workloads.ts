import type { Request } from 'autocannon'
import {
  SERVICE_BASE_PATH,
  SOAP11_ENV,
  serviceNamespace,
  type ServiceName,
} from '../src/contract/namespaces.js'

/** The products the AddSubscriptions workload rotates over (all in the fixture catalogue). */
export const BENCH_PRODUCTS = ['GFA1', 'EFA2', 'RFB1', 'BFB2', 'AF1'] as const

/** Cards named by one SendBarkMessageToClients request (the contract's default maximum). */
export const BARK_CARDS_PER_REQUEST = 500

/**
 * The canned answer of the bare baseline: an AddSubscriptionsResponse of the same shape and size as
 * the simulator's answer to a one-card AddSubscriptions (a 36-character TransactionId included).
 */
export const CANNED_ADD_SUBSCRIPTIONS_RESPONSE =
  `<?xml version="1.0" encoding="UTF-8"?><soap:Envelope xmlns:soap="${SOAP11_ENV}"><soap:Body>` +
  `<ns2:AddSubscriptionsResponse xmlns:ns2="${serviceNamespace('subscription')}">` +
  '<TransactionStatus><StatusCode>OK</StatusCode>' +
  '<TransactionId>00000000-0000-4000-8000-000000000000</TransactionId>' +
  '<Message>1 subscription(s) active, 1 newly added.</Message></TransactionStatus>' +
  '</ns2:AddSubscriptionsResponse></soap:Body></soap:Envelope>'

/** The request headers of every benchmark call: SOAP 1.1 and HTTP Basic sms:sms. */
export const BENCH_HEADERS: Readonly<Record<string, string>> = {
  'content-type': 'text/xml; charset=utf-8',
  authorization: `Basic ${Buffer.from('sms:sms').toString('base64')}`,
}

/** One load shape: where it posts and how the n-th request body looks. */
export interface Workload {
  readonly name: string
  readonly operation: string
  readonly path: string
  /** The body of the n-th request (n counts on across warm-up and measurement). */
  body(n: number): string
}

function envelope(service: ServiceName, operation: string, children: string): string {
  return (
    `<?xml version="1.0" encoding="UTF-8"?><s:Envelope xmlns:s="${SOAP11_ENV}"><s:Body>` +
    `<c:${operation} xmlns:c="${serviceNamespace(service)}"><${operation}Request>${children}` +
    `</${operation}Request></c:${operation}></s:Body></s:Envelope>`
  )
}

/**
 * AddSubscriptions with one card per request. Request n subscribes card `n mod cards` to product
 * `floor(n / cards) mod 5`, so every request of the first 5 x cards adds a new subscription.
 */
export function addSubscriptionsWorkload(cardIds: readonly string[]): Workload {
  return {
    name: 'AddSubscriptions x1 card',
    operation: 'AddSubscriptions',
    path: `${SERVICE_BASE_PATH}subscription`,
    body: (n) => {
      const card = cardIds[n % cardIds.length]!
      const product = BENCH_PRODUCTS[Math.floor(n / cardIds.length) % BENCH_PRODUCTS.length]!
      return envelope(
        'subscription',
        'AddSubscriptions',
        `<Subscriptions><Subscription><CaClientId>${card}</CaClientId><ProductId>${product}</ProductId>` +
          '<Distributor>Main</Distributor></Subscription></Subscriptions>',
      )
    },
  }
}

/**
 * SendBarkMessageToClients naming 500 cards per request; request n names the n-th window of 500
 * consecutive cards (wrapping round). The bodies are built once, one per window.
 */
export function barkWorkload(cardIds: readonly string[]): Workload {
  const windows = Math.max(1, Math.floor(cardIds.length / BARK_CARDS_PER_REQUEST))
  const bodies: string[] = []
  for (let w = 0; w < windows; w++) {
    let ids = ''
    for (let i = 0; i < BARK_CARDS_PER_REQUEST; i++) {
      ids += `<CaClientId>${cardIds[(w * BARK_CARDS_PER_REQUEST + i) % cardIds.length]!}</CaClientId>`
    }
    bodies.push(
      envelope(
        'user-text-messaging',
        'SendBarkMessageToClients',
        `<CaClientIds>${ids}</CaClientIds><Message>Your subscription renews tomorrow. Thank you!</Message>` +
          '<DisplayDurationInSeconds>20</DisplayDurationInSeconds>',
      ),
    )
  }
  return {
    name: `SendBark x${BARK_CARDS_PER_REQUEST} cards`,
    operation: 'SendBarkMessageToClients',
    path: `${SERVICE_BASE_PATH}user-text-messaging`,
    body: (n) => bodies[n % bodies.length]!,
  }
}

/**
 * autocannon request definitions that post the workload's bodies in turn; `counter.next` is shared
 * by every connection, so the sequence goes on across runs (warm-up, then measurement).
 */
export function cannonRequests(workload: Workload, counter: { next: number }): Request[] {
  return [
    {
      method: 'POST',
      path: workload.path,
      headers: { ...BENCH_HEADERS },
      setupRequest: (request) => ({ ...request, body: workload.body(counter.next++) }),
    },
  ]
}
