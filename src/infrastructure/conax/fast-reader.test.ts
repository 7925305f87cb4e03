import { createServer, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { Simulator } from '../../../simulator/src/index.js'
import type { CaReader } from '../../application/runs/run-ports.js'
import type { ObservedCard } from '../../domain/runs.js'
import { card, startTestCa, stb } from '../../test-support/adapter-harness.js'
import { createConaxClient, type ConaxClient, type ConaxClientOptions } from './conax-client.js'
import { CaReadError, createFastCaReader, readXml, type CaReadErrorCode } from './fast-reader.js'
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
      '<?xml version="1.0"?><x:a xmlns:x="urn:x" b=\'>\'><c>&lt;&#65;&#x42;&amp;</c><![CDATA[<d>]]><e xsi:nil="true"/></x:a>',
    )
    expect(root).toMatchObject({ local: 'a', qname: 'x:a', text: '<d>' })
    expect(root?.children.map((child) => [child.local, child.text, child.nil])).toEqual([
      ['c', '<AB&', false],
      ['e', '', true],
    ])
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

/** A proxy in front of the simulator that rewrites every answer it passes on. */
async function startProxy(target: Simulator, rewrite: (xml: string) => string): Promise<Proxy> {
  let count = 0
  const server = createServer((req, res) => {
    void forward(target, req).then(
      async (answer) => {
        const text = rewrite(await answer.text())
        count++
        res.writeHead(answer.status, {
          'Content-Type': answer.headers.get('content-type') ?? 'text/xml',
        })
        res.end(text)
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
