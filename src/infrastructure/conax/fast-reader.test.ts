import fc from 'fast-check'
import { createServer, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { SaxesParser } from 'saxes'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { Simulator } from '../../../simulator/src/index.js'
import type { CaReader } from '../../application/runs/run-ports.js'
import type { ObservedCard } from '../../domain/runs.js'
import { card, startTestCa, stb } from '../../test-support/adapter-harness.js'
import { createConaxClient, type ConaxClient, type ConaxClientOptions } from './conax-client.js'
import {
  CaReadError,
  createFastCaReader,
  readAnswer,
  readXml,
  type AnswerReading,
  type CaReadErrorCode,
  type ReadOperation,
} from './fast-reader.js'
import { gatewayCaReader } from './gateway-reader.js'

// Both CA readers against the real simulator, in process, over HTTP.

const UNKNOWN_CARD = '01234567890'
const OTHER_SMS_CARD = '09999999999'
const ENDPOINT_PATH = '/ca-server/webservices/caclient'

let sim: Simulator
let client: ConaxClient
let options: ConaxClientOptions

let sequenceNumber = 0

/** Each write with its own SequenceNumber: the simulator refuses a number reused with another payload. */
async function send(command: Parameters<ConaxClient['send']>[0]): Promise<void> {
  const outcome = await client.send(command, ++sequenceNumber)
  expect(outcome.kind, JSON.stringify(outcome)).toBe('COMPLETED')
}

beforeAll(async () => {
  sim = await startTestCa(8)
  await sim.loadInventory({ smartcards: [{ caClientId: OTHER_SMS_CARD, sms: 'other' }] })
  options = {
    endpoint: `${sim.url}${ENDPOINT_PATH}`,
    username: 'sms',
    password: 'sms',
    timeoutMs: 2000,
  }
  client = await createConaxClient(options)
  const add = (n: number, serviceCaId: string, distributor: string | null) =>
    send({ type: 'ADD_SUBSCRIPTIONS', smartcardCaId: card(n), serviceCaId, distributor })
  // Card 1: two distributors and a pairing with two STBs.
  await add(1, 'GFA1', 'Main')
  await add(1, 'EFA2', 'TWIN1')
  await send({
    type: 'CREATE_PAIRING',
    smartcardCaIds: [card(1)],
    stbCaIds: [stb(1), stb(2)],
    distributor: 'Main',
  })
  // Card 2: a product without distributor, not paired. Card 3: known, nothing active.
  await add(2, 'RFB1', null)
  // Cards 4 and 5 share an STB; card 4's distributor needs escaping on the wire.
  await add(4, 'BFB2', 'R&D <1>')
  await send({
    type: 'CREATE_PAIRING',
    smartcardCaIds: [card(4), card(5)],
    stbCaIds: [stb(3)],
    distributor: null,
  })
})

afterAll(async () => {
  await client.close()
  await sim.close()
})

afterEach(() => {
  sim.faults.clear()
})

/** Reads a card and answers the error it rejected with (fails the test when it resolved). */
async function failureOf(reader: CaReader, caId: string): Promise<CaReadError> {
  const error: unknown = await reader.readCard(caId).then(
    (observed) => new Error(`resolved with ${JSON.stringify(observed)}`),
    (rejection: unknown) => rejection,
  )
  expect(error).toBeInstanceOf(CaReadError)
  return error as CaReadError
}

type Expected =
  { readonly observed: ObservedCard } | { readonly code: CaReadErrorCode; readonly detail: string }

/** One table, run against both readers: they must agree card for card. */
const CASES: readonly {
  readonly name: string
  readonly caId: string
  readonly expected: Expected
}[] = [
  {
    name: 'products on two distributors and a pairing',
    caId: card(1),
    expected: {
      observed: {
        known: true,
        products: [
          { productId: 'GFA1', distributor: 'Main' },
          { productId: 'EFA2', distributor: 'TWIN1' },
        ],
        pairedStbs: [stb(1), stb(2)],
      },
    },
  },
  {
    name: 'a product without distributor, unpaired',
    caId: card(2),
    expected: {
      observed: {
        known: true,
        products: [{ productId: 'RFB1', distributor: null }],
        pairedStbs: [],
      },
    },
  },
  {
    name: 'a known card with nothing active',
    caId: card(3),
    expected: { observed: { known: true, products: [], pairedStbs: [] } },
  },
  {
    name: 'a distributor with XML metacharacters, a shared STB',
    caId: card(4),
    expected: {
      observed: {
        known: true,
        products: [{ productId: 'BFB2', distributor: 'R&D <1>' }],
        pairedStbs: [stb(3)],
      },
    },
  },
  {
    name: 'the other card of a pairing',
    caId: card(5),
    expected: { observed: { known: true, products: [], pairedStbs: [stb(3)] } },
  },
  {
    name: 'an unknown card',
    caId: UNKNOWN_CARD,
    expected: { observed: { known: false, products: [], pairedStbs: [] } },
  },
  {
    name: "another SMS user's card",
    caId: OTHER_SMS_CARD,
    expected: { code: 'CA_REFUSED', detail: 'CLIENT_NOT_MANAGED_BY_SMS' },
  },
]

/** Injected CA failures, each with the error both readers must give. */
const FAULTS = [
  { kind: 'SYSTEM_ERROR', code: 'CA_FAILED', detail: 'SYSTEM_ERROR' },
  { kind: 'SOAP_FAULT', code: 'CA_FAILED', detail: 'SOAP_SERVER_FAULT' },
  { kind: 'HTTP_STATUS', httpStatus: 503, code: 'CA_FAILED', detail: 'HTTP_503' },
] as const

const READERS: readonly [string, (given: ConaxClientOptions) => Promise<CaReader>][] = [
  ['fast reader', (given) => Promise.resolve(createFastCaReader(given))],
  ['gateway reader', async (given) => gatewayOver(await createConaxClient(given))],
]

/** A gateway reader whose close() also closes the client it was given (the test owns it). */
function gatewayOver(owned: ConaxClient): CaReader {
  const reader = gatewayCaReader(owned)
  return {
    readCard: (caId) => reader.readCard(caId),
    close: async () => {
      await reader.close()
      await owned.close()
    },
  }
}

describe.each(READERS)('the %s', (_name, create) => {
  let reader: CaReader

  beforeAll(async () => {
    reader = await create(options)
  })

  afterAll(async () => {
    await reader.close()
  })

  it.each(CASES)('reads $name', async ({ caId, expected }) => {
    if ('observed' in expected) {
      expect(await reader.readCard(caId)).toEqual(expected.observed)
    } else {
      const error = await failureOf(reader, caId)
      expect(error).toMatchObject({ code: expected.code, detail: expected.detail, caId })
      expect(error.message).toContain(caId)
      expect(error.message).toContain(expected.detail)
    }
  })

  it.each(FAULTS)('rejects an injected $kind with $code', async (fault) => {
    const { code: _code, detail: _detail, ...rule } = fault
    sim.faults.add({ ...rule, operation: 'GetPairingStatusForCard', times: 1 })
    const error = await failureOf(reader, card(1))
    expect(error).toMatchObject({
      code: fault.code,
      detail: fault.detail,
      operation: 'GetPairingStatusForCard',
    })
    expect(error.message).toMatch(/GetPairingStatusForCard.*resume the run later/)
  })

  it('rejects a wrong password with CA_REFUSED, naming HTTP 401', async () => {
    const wrong = await create({ ...options, password: 'wrong' })
    try {
      const error = await failureOf(wrong, card(1))
      expect(error).toMatchObject({ code: 'CA_REFUSED', detail: 'UNAUTHORIZED' })
      expect(error.message).toContain('401')
      expect(error.message).toContain('username and password')
    } finally {
      await wrong.close()
    }
  })

  it('rejects with CA_TIMEOUT when the CA does not answer in time', async () => {
    sim.faults.add({ kind: 'DELAY', delayMs: 1000, operation: 'GetActiveSubscriptions' })
    const slow = await create({ ...options, timeoutMs: 150 })
    try {
      const error = await failureOf(slow, card(1))
      expect(error).toMatchObject({ code: 'CA_TIMEOUT', operation: 'GetActiveSubscriptions' })
    } finally {
      await slow.close()
    }
  })

  it('rejects with CA_UNREACHABLE when nothing listens on the port', async () => {
    const port = await closedPort()
    const down = await create({ ...options, endpoint: `http://127.0.0.1:${port}${ENDPOINT_PATH}` })
    try {
      const error = await failureOf(down, card(1))
      expect(error.code).toBe('CA_UNREACHABLE')
      expect(error.message).toMatch(/failed with CONNECTION_REFUSED.*Check that the CA is up/)
    } finally {
      await down.close()
    }
  })

  it.each(['0145025<01>', '01450250&01', "1'; DROP--", '0145025000', '014502500011', ''])(
    'refuses CA ID %j before sending anything',
    async (caId) => {
      const before = sim.journal.size()
      const error = await failureOf(reader, caId)
      expect(error).toMatchObject({ code: 'INVALID_CA_ID', operation: null })
      expect(error.message).toContain('exactly 11 digits')
      expect(sim.journal.size()).toBe(before)
    },
  )

  it('rejects reads after close() with READER_CLOSED', async () => {
    const closing = await create(options)
    await closing.close()
    expect((await failureOf(closing, card(1))).code).toBe('READER_CLOSED')
  })
})

describe('the fast reader', () => {
  it.each(['ISO-8859-1', 'US-ASCII', 'UTF-16'])('sends in %s', async (characterSet) => {
    const reader = createFastCaReader({ ...options, characterSet })
    try {
      expect(await reader.readCard(card(4))).toEqual({
        known: true,
        products: [{ productId: 'BFB2', distributor: 'R&D <1>' }],
        pairedStbs: [stb(3)],
      })
    } finally {
      await reader.close()
    }
  })

  it('repeats a query once when the CA resets a kept-alive connection, not twice', async () => {
    const reader = createFastCaReader(options)
    try {
      await reader.readCard(card(2))
      sim.faults.add({ kind: 'RESET', operation: 'GetActiveSubscriptions', times: 1 })
      expect((await reader.readCard(card(2))).products).toEqual([
        { productId: 'RFB1', distributor: null },
      ])
      sim.faults.add({ kind: 'RESET', operation: 'GetActiveSubscriptions', times: 2 })
      const error = await failureOf(reader, card(2))
      expect(error).toMatchObject({ code: 'CA_UNREACHABLE', detail: 'CONNECTION_RESET' })
    } finally {
      await reader.close()
    }
  })

  it('reads the simulator default: SOAP 1.1, an ns2: wrapper, unqualified children', async () => {
    const proxy = await startProxy(sim, (xml) => {
      expect(xml).toMatch(
        /<soap:Envelope xmlns:soap="http:\/\/schemas.xmlsoap.org\/soap\/envelope\/"/,
      )
      expect(xml).toMatch(
        /<ns2:GetActiveSubscriptionsResponse|<ns2:GetPairingStatusForCardResponse/,
      )
      return xml
    })
    await expectCardOneThrough(proxy)
  })

  it.each([
    ['children qualified with another prefix', qualifyChildren],
    ['a default namespace and SOAP-ENV: envelope', defaultNamespace],
    ['whitespace, comments, CDATA and character references', decorate],
  ] as const)('reads answers with %s', async (_name, rewrite) => {
    const proxy = await startProxy(sim, rewrite)
    await expectCardOneThrough(proxy)
  })

  it.each<[string, () => string, string]>([
    ['an HTML page', () => '<html><body>Welcome to nginx!</body></html>', 'Conax Contego CA'],
    ['a 5 MiB body', () => `<a>${'x'.repeat(5 * 1024 * 1024)}</a>`, 'larger than'],
  ])('rejects %s with MALFORMED_ANSWER', async (_name, rewrite, said) => {
    const proxy = await startProxy(sim, rewrite)
    const reader = createFastCaReader({ ...options, endpoint: `${proxy.url}${ENDPOINT_PATH}` })
    try {
      const error = await failureOf(reader, card(1))
      expect(error).toMatchObject({ code: 'MALFORMED_ANSWER', detail: 'MALFORMED_ANSWER' })
      expect(error.message).toContain(said)
    } finally {
      await reader.close()
      await proxy.close()
    }
  })

  it('reads answers that arrive a byte at a time', async () => {
    const proxy = await startProxy(sim, (xml) => xml.replace('Main', 'Distributör'), true)
    const reader = createFastCaReader({ ...options, endpoint: `${proxy.url}${ENDPOINT_PATH}` })
    try {
      expect(await reader.readCard(card(1))).toEqual({
        known: true,
        products: [
          { productId: 'GFA1', distributor: 'Distributör' },
          { productId: 'EFA2', distributor: 'TWIN1' },
        ],
        pairedStbs: [stb(1), stb(2)],
      })
    } finally {
      await reader.close()
      await proxy.close()
    }
  })

  it.each<[string, (xml: string) => string, string]>([
    ['a truncated envelope', (xml) => xml.slice(0, -30), 'unclosed tag'],
    [
      'a wrapper with an unbound prefix',
      (xml) => xml.replace(/xmlns:ns2="[^"]*"/, ''),
      'unbound namespace prefix',
    ],
    ['a DOCTYPE', (xml) => xml.replace('?>', '?><!DOCTYPE x [<!ENTITY e "e">]>'), 'DOCTYPE'],
    [
      'the contract namespace misspelt',
      (xml) => xml.replace(/cas\/xsd\/(subscription|pairing)\/v1/, 'cas/xsd/$1/v2'),
      'Response with a StatusCode',
    ],
  ])('rejects %s with MALFORMED_ANSWER, saying why', async (_name, rewrite, said) => {
    const proxy = await startProxy(sim, rewrite, true)
    const reader = createFastCaReader({ ...options, endpoint: `${proxy.url}${ENDPOINT_PATH}` })
    try {
      const error = await failureOf(reader, card(1))
      expect(error).toMatchObject({ code: 'MALFORMED_ANSWER', detail: 'MALFORMED_ANSWER' })
      expect(error.message).toContain(said)
    } finally {
      await reader.close()
      await proxy.close()
    }
  })

  it('refuses an endpoint that is not http(s), a bad character set and a bad maxSockets', () => {
    expect(() => createFastCaReader({ ...options, endpoint: 'ftp://x' })).toThrow(/http\(s\)/)
    expect(() => createFastCaReader({ ...options, characterSet: 'EBCDIC' })).toThrow(/EBCDIC/)
    expect(() => createFastCaReader({ ...options, maxSockets: 0 })).toThrow(/maxSockets/)
  })
})

describe('readXml', () => {
  it('refuses what it does not understand', () => {
    for (const xml of [
      '<!DOCTYPE a [<!ENTITY x "y">]><a>&x;</a>',
      '<a><b></a></b>',
      '<p:a></q:a>',
      '<a>&bogus;</a>',
      '<a>1 < 2</a>',
      '<a/><b/>',
      '<a>',
      'not xml',
    ]) {
      expect(readXml(xml), xml).toBeNull()
    }
  })

  it('reads local names, decoded text, CDATA and nil', () => {
    const root = readXml(
      '<?xml version="1.0"?><x:a xmlns:x="urn:x" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" b=\'>\'><c>&lt;&#65;&#x42;&amp;</c><![CDATA[<d>]]><e xsi:nil="true"/></x:a>',
    )
    expect(root).toMatchObject({ local: 'a', qname: 'x:a', text: '<d>' })
    expect(root?.children.map((child) => [child.local, child.text, child.nil])).toEqual([
      ['c', '<AB&', false],
      ['e', '', true],
    ])
  })
})

// ---------------------------------------------------------------------------------------------
// Answers read in process: namespaces, chunking, malformed XML.

const SOAP11 = 'http://schemas.xmlsoap.org/soap/envelope/'
const SOAP12 = 'http://www.w3.org/2003/05/soap-envelope'
const SUBSCRIPTION_NS = 'http://www.conax.com/cas/xsd/subscription/v1'
const PAIRING_NS = 'http://www.conax.com/cas/xsd/pairing/v1'
const COMMON_NS = 'http://www.conax.com/cas/xsd/common-types/v1'
const XSI = 'http://www.w3.org/2001/XMLSchema-instance'
const SEED = 20_260_611

const OK_STATUS =
  '<TransactionStatus><StatusCode>OK</StatusCode><TransactionId>t-1</TransactionId><Message>2 active</Message></TransactionStatus>'
const TWO_SUBSCRIPTIONS =
  '<Subscriptions><Subscription><ProductId>GFA1</ProductId><Distributor>Main</Distributor><StartDate>2026-01-01</StartDate></Subscription>' +
  '<Subscription><ProductId>AF1</ProductId><StartDate>2026-01-01</StartDate></Subscription></Subscriptions>'
const TWO_PRODUCTS = [
  { productId: 'GFA1', distributor: 'Main' },
  { productId: 'AF1', distributor: null },
]

/** A SOAP 1.1 envelope as the simulator writes it around `body`. */
function envelope(body: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?><soap:Envelope xmlns:soap="${SOAP11}"><soap:Body>${body}</soap:Body></soap:Envelope>`
}

/** A GetActiveSubscriptions answer as the simulator writes it, with `inner` in the wrapper. */
function subscriptionsAnswer(inner = OK_STATUS + TWO_SUBSCRIPTIONS): string {
  return envelope(
    `<ns2:GetActiveSubscriptionsResponse xmlns:ns2="${SUBSCRIPTION_NS}">${inner}</ns2:GetActiveSubscriptionsResponse>`,
  )
}

function read(
  operation: ReadOperation,
  xml: string | Buffer,
  { status = 200, contentType = 'text/xml; charset=utf-8' } = {},
): AnswerReading {
  const body = typeof xml === 'string' ? Buffer.from(xml) : xml
  return readAnswer(operation, { status, contentType, chunks: [body] })
}

const malformed = { failure: { kind: 'TRANSIENT', errorCode: 'MALFORMED_ANSWER' } }

describe('readAnswer', () => {
  it.each<[string, string]>([
    ['the simulator default', subscriptionsAnswer()],
    [
      'other prefixes for the envelope and the wrapper',
      `<e:Envelope xmlns:e="${SOAP11}"><e:Body><s:GetActiveSubscriptionsResponse xmlns:s="${SUBSCRIPTION_NS}">${OK_STATUS}${TWO_SUBSCRIPTIONS}</s:GetActiveSubscriptionsResponse></e:Body></e:Envelope>`,
    ],
    [
      'the envelope in the default namespace, the wrapper declaring the service one as default',
      `<Envelope xmlns="${SOAP11}"><Body><GetActiveSubscriptionsResponse xmlns="${SUBSCRIPTION_NS}">${OK_STATUS}${TWO_SUBSCRIPTIONS}</GetActiveSubscriptionsResponse></Body></Envelope>`,
    ],
    [
      'children qualified in the common-types and service namespaces',
      subscriptionsAnswer(
        `<t:TransactionStatus xmlns:t="${COMMON_NS}"><t:StatusCode>OK</t:StatusCode></t:TransactionStatus>` +
          TWO_SUBSCRIPTIONS.replace(/<(\/?)(\w+)>/g, '<$1ns2:$2>'),
      ),
    ],
    [
      'a foreign default namespace undeclared again on the children',
      envelope(
        `<r:GetActiveSubscriptionsResponse xmlns:r="${SUBSCRIPTION_NS}" xmlns="urn:other"><TransactionStatus xmlns=""><StatusCode>OK</StatusCode></TransactionStatus><Subscriptions xmlns="">${TWO_SUBSCRIPTIONS.slice('<Subscriptions>'.length)}</r:GetActiveSubscriptionsResponse>`,
      ),
    ],
  ])('reads %s', (_name, xml) => {
    expect(read('GetActiveSubscriptions', xml)).toEqual({ value: TWO_PRODUCTS })
  })

  it.each<[string, string, AnswerReading | typeof malformed]>([
    [
      'a StatusCode of another namespace (no StatusCode of the contract)',
      subscriptionsAnswer(
        `<TransactionStatus><x:StatusCode xmlns:x="urn:other">OK</x:StatusCode></TransactionStatus>${TWO_SUBSCRIPTIONS}`,
      ),
      malformed,
    ],
    [
      "another namespace's StatusCode before the contract's",
      subscriptionsAnswer(
        `<TransactionStatus><x:StatusCode xmlns:x="urn:other">SYSTEM_ERROR</x:StatusCode><StatusCode>OK</StatusCode></TransactionStatus>${TWO_SUBSCRIPTIONS}`,
      ),
      { value: TWO_PRODUCTS },
    ],
    [
      "another namespace's ProductId before the contract's",
      subscriptionsAnswer(
        `${OK_STATUS}<Subscriptions><Subscription><x:ProductId xmlns:x="urn:other">EVIL</x:ProductId><ProductId>GFA1</ProductId></Subscription></Subscriptions>`,
      ),
      { value: [{ productId: 'GFA1', distributor: null }] },
    ],
    [
      'a list in a foreign default namespace',
      subscriptionsAnswer(
        `${OK_STATUS}<Subscriptions xmlns="urn:other"><Subscription><ProductId>EVIL</ProductId></Subscription></Subscriptions>`,
      ),
      { value: [] },
    ],
    [
      'a wrapper in the pairing namespace',
      subscriptionsAnswer().replaceAll(SUBSCRIPTION_NS, PAIRING_NS),
      malformed,
    ],
    [
      'an unqualified wrapper',
      envelope(
        `<GetActiveSubscriptionsResponse>${OK_STATUS}${TWO_SUBSCRIPTIONS}</GetActiveSubscriptionsResponse>`,
      ),
      malformed,
    ],
    [
      'an envelope of another namespace',
      subscriptionsAnswer().replace(SOAP11, 'urn:not-soap'),
      malformed,
    ],
    [
      'a Fault of another namespace beside the answer',
      subscriptionsAnswer().replace(
        '<soap:Body>',
        '<soap:Body><f:Fault xmlns:f="urn:other"><faultcode>soap:Server</faultcode></f:Fault>',
      ),
      { value: TWO_PRODUCTS },
    ],
  ])("does not take for the contract's %s", (_name, xml, expected) => {
    expect(read('GetActiveSubscriptions', xml)).toMatchObject(expected)
  })

  it('reads Paired, PairingModuleId and xsi:nil by namespace', () => {
    const answer = (inner: string): string =>
      envelope(
        `<p:GetPairingStatusForCardResponse xmlns:p="${PAIRING_NS}" xmlns:i="${XSI}">${OK_STATUS}${inner}</p:GetPairingStatusForCardResponse>`,
      )
    const modules =
      '<PairingModules><PairingModule><PairingModuleId>9000000001</PairingModuleId></PairingModule>' +
      '<PairingModule><p:PairingModuleId>9000000002</p:PairingModuleId></PairingModule></PairingModules>'
    expect(read('GetPairingStatusForCard', answer(`<Paired>true</Paired>${modules}`))).toEqual({
      value: ['9000000001', '9000000002'],
    })
    expect(read('GetPairingStatusForCard', answer(`<p:Paired> false </p:Paired>`))).toEqual({
      value: [],
    })
    // A nil Paired is no Paired; an xsi:nil of another namespace is just an attribute.
    expect(
      read('GetPairingStatusForCard', answer(`<Paired i:nil="true">true</Paired>`)),
    ).toMatchObject({
      failure: {
        errorCode: 'MALFORMED_ANSWER',
        errorDescription: expect.stringContaining("Paired is ''"),
      },
    })
    expect(
      read(
        'GetPairingStatusForCard',
        answer(`<Paired xmlns:n="urn:other" n:nil="true">true</Paired>${modules}`),
      ),
    ).toEqual({ value: ['9000000001', '9000000002'] })
  })

  it('reads SOAP 1.1 and 1.2 faults, each in its own namespace', () => {
    const soap11 = envelope(
      "<soap:Fault><faultcode>soap:Server</faultcode><faultstring>Couldn't parse stream.</faultstring></soap:Fault>",
    )
    const soap12 = `<env:Envelope xmlns:env="${SOAP12}"><env:Body><env:Fault><env:Code><env:Value>env:Sender</env:Value></env:Code><env:Reason><env:Text xml:lang="en">no such card</env:Text></env:Reason></env:Fault></env:Body></env:Envelope>`
    const mixed = envelope(
      `<f:Fault xmlns:f="${SOAP12}"><f:Code><f:Value>f:Sender</f:Value></f:Code></f:Fault>`,
    )
    expect(read('GetPairingStatusForCard', soap11, { status: 500 })).toEqual({
      failure: {
        kind: 'TRANSIENT',
        errorCode: 'SOAP_SERVER_FAULT',
        errorDescription: "Couldn't parse stream.",
      },
    })
    expect(read('GetPairingStatusForCard', soap12, { status: 500 })).toEqual({
      failure: {
        kind: 'REJECTED',
        errorCode: 'SOAP_CLIENT_FAULT',
        errorDescription: 'no such card',
      },
    })
    // A SOAP 1.2 Fault in a SOAP 1.1 Body is no fault: the HTTP status tells.
    expect(read('GetPairingStatusForCard', mixed, { status: 500 })).toMatchObject({
      failure: { kind: 'TRANSIENT', errorCode: 'HTTP_500' },
    })
  })

  it.each<[string, string, string]>([
    [
      'an unbound prefix',
      subscriptionsAnswer().replace('<TransactionStatus>', '<q:TransactionStatus>'),
      'unbound',
    ],
    [
      'an undeclared prefix',
      subscriptionsAnswer().replace('xmlns:ns2=', 'xmlns:q="" xmlns:ns2='),
      'undeclared',
    ],
    [
      'mismatched tags',
      subscriptionsAnswer().replace('</Subscriptions>', '</Subscription>'),
      'close tag',
    ],
    ['a truncated envelope', subscriptionsAnswer().slice(0, -20), 'unclosed'],
    ['an unknown entity', subscriptionsAnswer().replace('Main', 'M&bogus;'), 'entity'],
    [
      'a DOCTYPE declaring an entity',
      subscriptionsAnswer().replace('?>', '?><!DOCTYPE x [<!ENTITY e "OK">]>'),
      'DOCTYPE',
    ],
    [
      'a processing instruction',
      subscriptionsAnswer().replace('<soap:Body>', '<soap:Body><?evil x?>'),
      'processing instruction',
    ],
    [
      'two attributes with one expanded name',
      subscriptionsAnswer().replace(
        '<Subscriptions>',
        '<Subscriptions xmlns:a="urn:x" xmlns:b="urn:x" a:n="1" b:n="2">',
      ),
      'duplicate attribute',
    ],
    [
      'elements nested 65 levels deep',
      subscriptionsAnswer(`${'<a>'.repeat(62)}${'</a>'.repeat(62)}`),
      'deeper than 64',
    ],
    ['text after the envelope', `${subscriptionsAnswer()}OK`, 'outside of root'],
    ['no XML at all', 'Service Unavailable', 'outside of root'],
  ])('answers MALFORMED_ANSWER for %s', (_name, xml, reason) => {
    const reading = read('GetActiveSubscriptions', xml)
    expect(reading).toMatchObject(malformed)
    expect('failure' in reading && reading.failure.errorDescription).toMatch(
      new RegExp(`not well-formed XML or was refused: .*${reason}`),
    )
  })

  // Answers in the three encodings a CA answers in, with characters that take several bytes.
  const SAMPLES: readonly { name: string; contentType: string; body: Buffer }[] = [
    {
      name: 'UTF-8',
      contentType: 'text/xml; charset=utf-8',
      body: Buffer.from(subscriptionsAnswer().replace('Main', 'Distributör € 𝄞')),
    },
    {
      name: 'UTF-16 with a byte-order mark',
      contentType: 'text/xml; charset=UTF-16',
      body: Buffer.concat([
        Buffer.from([0xff, 0xfe]),
        Buffer.from(
          subscriptionsAnswer().replace('UTF-8', 'UTF-16').replace('Main', 'Ö 𝄞'),
          'utf16le',
        ),
      ]),
    },
    {
      name: 'ISO-8859-1',
      contentType: 'text/xml; charset=ISO-8859-1',
      body: Buffer.from(
        subscriptionsAnswer().replace('UTF-8', 'ISO-8859-1').replace('Main', 'Distributör'),
        'latin1',
      ),
    },
    {
      name: 'UTF-8, a fault',
      contentType: 'text/xml; charset=utf-8',
      body: Buffer.from(
        envelope(
          '<soap:Fault><faultcode>soap:Client</faultcode><faultstring>Ünknown</faultstring></soap:Fault>',
        ),
      ),
    },
  ]

  const inChunks = (body: Buffer, cuts: readonly number[]): Buffer[] => {
    const at = [0, ...[...new Set(cuts)].sort((a, b) => a - b), body.length]
    return at.slice(1).map((end, i) => body.subarray(at[i], end))
  }

  it.each(SAMPLES)(
    'reads $name the same cut at every byte boundary, or a byte at a time',
    (sample) => {
      const whole = readAnswer('GetActiveSubscriptions', {
        status: 200,
        ...sample,
        chunks: [sample.body],
      })
      expect(whole).toEqual(
        sample.name.includes('fault')
          ? {
              failure: expect.objectContaining({
                errorCode: 'SOAP_CLIENT_FAULT',
                errorDescription: 'Ünknown',
              }),
            }
          : {
              value: [
                expect.objectContaining({ productId: 'GFA1' }),
                { productId: 'AF1', distributor: null },
              ],
            },
      )
      for (let cut = 0; cut <= sample.body.length; cut++) {
        const chunks = inChunks(sample.body, [cut])
        expect(
          readAnswer('GetActiveSubscriptions', { status: 200, ...sample, chunks }),
          `cut at ${cut}`,
        ).toEqual(whole)
      }
      const bytes = inChunks(sample.body, Array.from(sample.body.keys()))
      expect(
        readAnswer('GetActiveSubscriptions', { status: 200, ...sample, chunks: bytes }),
      ).toEqual(whole)
    },
  )

  it(`reads an answer the same however it is cut into chunks (fast-check, seed ${SEED})`, () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...SAMPLES),
        fc.array(fc.nat(), { maxLength: 40 }),
        (sample, cuts) => {
          const whole = readAnswer('GetActiveSubscriptions', {
            status: 200,
            ...sample,
            chunks: [sample.body],
          })
          const chunks = inChunks(
            sample.body,
            cuts.map((cut) => cut % (sample.body.length + 1)),
          )
          expect(readAnswer('GetActiveSubscriptions', { status: 200, ...sample, chunks })).toEqual(
            whole,
          )
        },
      ),
      { seed: SEED, numRuns: 300 },
    )
  })

  it(`answers every mangled answer with a payload or a coded failure, never a throw (fast-check, seed ${SEED})`, () => {
    const valid = Buffer.from(subscriptionsAnswer())
    const mangled = fc
      .tuple(
        fc.nat(valid.length),
        fc.nat(valid.length),
        fc.string({ maxLength: 8 }),
        fc.integer({ min: 1, max: 64 }),
      )
      .map(([from, to, insert, chunk]) => ({
        body: Buffer.concat([
          valid.subarray(0, Math.min(from, to)),
          Buffer.from(insert),
          valid.subarray(Math.max(from, to)),
        ]),
        chunk,
      }))
    fc.assert(
      fc.property(
        mangled,
        fc.constantFrom<ReadOperation>('GetActiveSubscriptions', 'GetPairingStatusForCard'),
        ({ body, chunk }, operation) => {
          const reading = readAnswer(operation, {
            status: 200,
            contentType: 'text/xml',
            chunks: inChunks(
              body,
              Array.from({ length: Math.ceil(body.length / chunk) }, (_, i) => i * chunk),
            ),
          })
          if ('failure' in reading) {
            expect(reading.failure.errorCode).toMatch(/^[A-Z_0-9]+$/)
            expect(reading.failure.errorDescription).not.toBe('')
          } else {
            expect(reading.value === null || Array.isArray(reading.value)).toBe(true)
          }
        },
      ),
      { seed: SEED, numRuns: 500 },
    )
  })
})

describe(`readXml resolves namespaces as saxes' own xmlns option does (fast-check, seed ${SEED})`, () => {
  // Mostly what is allowed, sometimes what is not: both resolutions must agree on both.
  const mostly = (valid: readonly string[], invalid: readonly string[]): fc.Arbitrary<string> =>
    fc.oneof(
      { arbitrary: fc.constantFrom(...valid), weight: 12 },
      { arbitrary: fc.constantFrom(...invalid), weight: 1 },
    )
  const NAME = mostly(['x', 'y', 'a:x', 'b:y', 'xml:x'], ['xmlns:x', 'c:x', ':x', 'a:', 'a:b:c'])
  const ATTRIBUTE = mostly(
    [
      'xmlns=""',
      'xmlns="urn:1"',
      'xmlns:a="urn:1"',
      'xmlns:a="urn:2"',
      'xmlns:b="urn:1"',
      'xmlns:a=" urn:2 "',
      'xmlns:xml="http://www.w3.org/XML/1998/namespace"',
      'n="1"',
      'a:n="1"',
      'b:n="1"',
      'xml:lang="en"',
    ],
    [
      'xmlns:a=""',
      'xmlns:xml="urn:1"',
      'xmlns:b="http://www.w3.org/XML/1998/namespace"',
      'xmlns:b="http://www.w3.org/2000/xmlns/"',
      'xmlns="http://www.w3.org/2000/xmlns/"',
      'xmlns:xmlns="urn:1"',
      'xmlns:="urn:1"',
      'xmlns:a:b="urn:1"',
      'c:n="1"',
      ':n="1"',
      'a:n:m="1"',
    ],
  )

  type Tree = { name: string; attributes: string[]; children: Tree[] }
  /** Trees `depth` levels deep at most, each element with up to 3 children and 3 attributes. */
  const treeOf = (depth: number): fc.Arbitrary<Tree> =>
    fc.record({
      name: NAME,
      attributes: fc.uniqueArray(ATTRIBUTE, { maxLength: 3 }),
      children: depth === 0 ? fc.constant([]) : fc.array(treeOf(depth - 1), { maxLength: 3 }),
    })
  const tree = treeOf(3)

  const xmlOf = (node: Tree): string => {
    const open = [node.name, ...node.attributes].join(' ')
    return node.children.length === 0
      ? `<${open}/>`
      : `<${open}>${node.children.map(xmlOf).join('')}</${node.name}>`
  }

  /** (namespace, local name) of every element in document order, by saxes' xmlns option; null when it fails. */
  const bySaxes = (xml: string): [string | null, string][] | null => {
    const elements: [string | null, string][] = []
    const parser = new SaxesParser({ xmlns: true })
    parser.on('opentag', (tag) => elements.push([tag.uri === '' ? null : tag.uri, tag.local]))
    try {
      parser.write(xml).close()
    } catch {
      return null
    }
    return elements
  }

  const byReadXml = (xml: string): [string | null, string][] | null => {
    const root = readXml(xml)
    const elements: [string | null, string][] = []
    const walk = (node: NonNullable<typeof root>): void => {
      elements.push([node.ns, node.local])
      node.children.forEach(walk)
    }
    if (root) {
      walk(root)
    }
    return root ? elements : null
  }

  it('on generated documents: the same elements in the same namespaces, or both refuse', () => {
    let accepted = 0
    fc.assert(
      fc.property(tree, (root) => {
        const xml = xmlOf(root)
        const expected = bySaxes(xml)
        accepted += expected ? 1 : 0
        expect(byReadXml(xml), xml).toEqual(expected)
      }),
      { seed: SEED, numRuns: 2000 },
    )
    // The generator must reach both outcomes for the comparison to mean something.
    expect(accepted).toBeGreaterThan(100)
    expect(accepted).toBeLessThan(1900)
  })
})

async function expectCardOneThrough(proxy: Proxy): Promise<void> {
  const reader = createFastCaReader({ ...options, endpoint: `${proxy.url}${ENDPOINT_PATH}` })
  try {
    expect(await reader.readCard(card(1))).toEqual({
      known: true,
      products: [
        { productId: 'GFA1', distributor: 'Main' },
        { productId: 'EFA2', distributor: 'TWIN1' },
      ],
      pairedStbs: [stb(1), stb(2)],
    })
    expect(proxy.rewritten()).toBe(2)
  } finally {
    await reader.close()
    await proxy.close()
  }
}

/** `<ns2:OpResponse>` and its unqualified children all become `c:`-qualified in the service namespace. */
function qualifyChildren(xml: string): string {
  const [head = '', rest = ''] = xml.split('<soap:Body>')
  const body = rest
    .replace(/<(\/?)ns2:/g, '<$1c:')
    .replace('xmlns:ns2=', 'xmlns:c=')
    .replace(/<(\/?)([A-Z]\w*)/g, '<$1c:$2')
  expect(body).toMatch(/<c:TransactionStatus><c:StatusCode>OK<\/c:StatusCode>/)
  return `${head}<soap:Body>${body}`
}

/** The wrapper's namespace becomes the default one; the envelope prefix becomes SOAP-ENV. */
function defaultNamespace(xml: string): string {
  return xml
    .replace(/(<\/?)soap:/g, '$1SOAP-ENV:')
    .replace('xmlns:soap=', 'xmlns:SOAP-ENV=')
    .replace(/(<\/?)ns2:/g, '$1')
    .replace('xmlns:ns2=', 'xmlns=')
}

function decorate(xml: string): string {
  return xml
    .replace(/></g, '>\n  <')
    .replace('<Paired>true', '<!-- paired --><Paired>&#116;rue')
    .replace('<ProductId>GFA1', '<ProductId><![CDATA[GFA1]]>')
    .replace('<Distributor>Main<', '<Distributor> M&#x61;in <')
}

interface Proxy {
  readonly url: string
  /** Answers rewritten so far. */
  rewritten(): number
  close(): Promise<void>
}

/**
 * A proxy in front of the simulator that rewrites every answer it passes on, whole or (`bytewise`)
 * one byte a write.
 */
async function startProxy(
  target: Simulator,
  rewrite: (xml: string) => string,
  bytewise = false,
): Promise<Proxy> {
  let count = 0
  const server = createServer((req, res) => {
    void forward(target, req).then(
      async (answer) => {
        const text = rewrite(await answer.text())
        count++
        res.writeHead(answer.status, {
          'Content-Type': answer.headers.get('content-type') ?? 'text/xml',
        })
        if (bytewise) {
          for (const byte of Buffer.from(text)) {
            res.write(Buffer.of(byte))
          }
          res.end()
        } else {
          res.end(text)
        }
      },
      (error: unknown) => {
        res.writeHead(502).end(String(error))
      },
    )
  })
  const port = await listen(server)
  return {
    url: `http://127.0.0.1:${port}`,
    rewritten: () => count,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  }
}

async function forward(target: Simulator, req: IncomingMessage): Promise<Response> {
  const chunks: Buffer[] = []
  for await (const chunk of req) {
    chunks.push(chunk as Buffer)
  }
  return fetch(`${target.url}${req.url ?? '/'}`, {
    method: req.method ?? 'POST',
    headers: {
      authorization: req.headers.authorization ?? '',
      'content-type': req.headers['content-type'] ?? '',
    },
    body: Buffer.concat(chunks),
  })
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port))
  })
}

/** A port that was free a moment ago and has nothing listening on it. */
async function closedPort(): Promise<number> {
  const server = createServer()
  const port = await listen(server)
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}
