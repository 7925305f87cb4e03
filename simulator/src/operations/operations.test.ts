import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { ServiceName } from '../contract/namespaces.js'
import type { OperationName } from './operation-table.js'
import type { Simulator, SimulatorOptions } from '../create-simulator.js'
import type { CardView } from '../model/inventory.js'
import type { JournalEntry } from '../runtime/journal.js'
import {
  CARD_A,
  CARD_B,
  CARD_C,
  CARD_OTHER_SMS,
  STB_1,
  STB_2,
  STB_3,
  adminAuth,
  callSoap,
  postSoap,
  requestEnvelope,
  startTestSimulator,
  type CallOptions,
  type CallResult,
} from '../test-support/soap.js'

/**
 * The 13 operations of the wire contract (docs/contract.md), called over
 * real HTTP: answers, resulting CA state, error codes, both element forms, SOAP 1.2, schema
 * faults, pairing semantics and SequenceNumber replays.
 */

type Children = Record<string, unknown>
type Setup = (target: Simulator, options: CallOptions) => Promise<void>

interface ValidCall {
  readonly operation: OperationName
  readonly children: Children
  readonly setup: Setup
}

interface ErrorCase {
  readonly operation: OperationName
  readonly when: string
  readonly children: Children
  readonly code: string
  /** Text the status Message must hold: the offending item. */
  readonly names: string
  readonly setup: Setup
}

/** The fixed clock of every simulator here, so that defaults taken from "now" are exact. */
const NOW = '2026-03-01T12:00:00.000Z'
const UNKNOWN_CARD = '01234567890'
const UNKNOWN_STB = '4242424242'
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
const SOAP11_NS = 'http://schemas.xmlsoap.org/soap/envelope/'
const SOAP12_NS = 'http://www.w3.org/2003/05/soap-envelope'
const ALL_CARDS = [CARD_A, CARD_B, CARD_C, CARD_OTHER_SMS]
const ALL_STBS = [STB_1, STB_2, STB_3]

/** The service endpoint of each operation, as the contract's table pins it. */
const SERVICE_OF: Readonly<Record<OperationName, ServiceName>> = {
  AddSubscriptions: 'subscription',
  CancelSubscriptions: 'subscription',
  GetActiveSubscriptions: 'subscription',
  CreatePairing: 'pairing',
  AddToExistingPairing: 'pairing',
  GetPairingStatusForCard: 'pairing',
  GetPairingStatusForPairingModule: 'pairing',
  SendMailMessageToClients: 'user-text-messaging',
  SendBarkMessageToClients: 'user-text-messaging',
  SendRepeatingBarkMessageToClients: 'user-text-messaging',
  DisplayFingerprint: 'fingerprint',
  UpdateCaPinToDefaultValue: 'ca-pin',
  UpdateCaPinToGivenValue: 'ca-pin',
}

const OTHER: CallOptions = { auth: 'other:other' }

// ----- request builders --------------------------------------------------------------------

const item = (caClientId: string, productId: string, extra: Children = {}): Children => ({
  CaClientId: caClientId,
  ProductId: productId,
  ...extra,
})
const subs = (...items: Children[]): Children => ({ Subscriptions: { Subscription: items } })
const cards = (...ids: string[]): Children => ({ CaClientIds: { CaClientId: ids } })
const stbs = (...ids: string[]): Children => ({ PairingModuleIds: { PairingModuleId: ids } })
/** A message of exactly `length` characters. */
const text = (length: number): string => 'Conax message 0123456789 '.repeat(10).slice(0, length)

/** it.each rows with their test title first, for a plain `%s` title. */
function titled<T>(rows: readonly T[], title: (row: T) => string): [string, T][] {
  return rows.map((row) => [title(row), row])
}

function call(
  target: Simulator,
  operation: OperationName,
  children: Children | string,
  options: CallOptions = {},
): Promise<CallResult> {
  return callSoap(target, SERVICE_OF[operation], operation, children, options)
}

// ----- reading answers and state -----------------------------------------------------------

function at(value: unknown, ...path: string[]): unknown {
  let current = value
  for (const key of path) {
    current =
      typeof current === 'object' && current !== null
        ? (current as Record<string, unknown>)[key]
        : undefined
  }
  return current
}

/** A repeated element as a list, whether it came once, many times or not at all. */
function listAt(value: unknown, ...path: string[]): unknown[] {
  const found = at(value, ...path)
  return found === undefined || found === '' ? [] : Array.isArray(found) ? found : [found]
}

function expectOk(answer: CallResult): void {
  expect(answer.fault, answer.body).toBeNull()
  expect(answer.status).toBe(200)
  expect(answer.statusCode, answer.message ?? answer.body).toBe('OK')
  expect(answer.transactionId).toMatch(UUID)
}

function expectStatus(answer: CallResult, code: string, names?: string): void {
  expect(answer.fault, answer.body).toBeNull()
  expect(answer.status).toBe(200)
  expect(answer.statusCode, answer.message ?? answer.body).toBe(code)
  expect(answer.transactionId).toMatch(UUID)
  if (names !== undefined) {
    expect(answer.message).toContain(names)
  }
}

function expectClientFault(answer: CallResult, reason: readonly RegExp[]): void {
  expect(answer.status).toBe(500)
  expect(answer.statusCode).toBeNull()
  expect(answer.fault?.code).toMatch(/(^|:)Client$/)
  for (const pattern of reason) {
    expect(answer.fault?.reason).toMatch(pattern)
  }
}

async function adminCard(target: Simulator, caClientId: string): Promise<CardView> {
  const res = await fetch(`${target.url}/admin/cards/${caClientId}`, { headers: adminAuth(target) })
  expect(res.status).toBe(200)
  return (await res.json()) as CardView
}

function modelCard(target: Simulator, caClientId: string): CardView {
  const card = target.model.card(caClientId)
  expect(card).not.toBeNull()
  return card as CardView
}

/** Every card's state and every STB's pairing: what "nothing applied" compares. */
async function caState(target: Simulator): Promise<unknown> {
  return {
    cards: await Promise.all(ALL_CARDS.map((id) => adminCard(target, id))),
    stbs: ALL_STBS.map((id) => target.model.pairingModule(id)?.pairingId ?? null),
  }
}

async function journal(target: Simulator): Promise<JournalEntry[]> {
  const res = await fetch(`${target.url}/admin/journal`, { headers: adminAuth(target) })
  expect(res.status).toBe(200)
  return (await res.json()) as JournalEntry[]
}

async function injectFault(target: Simulator, rule: Children): Promise<void> {
  const res = await fetch(`${target.url}/admin/faults`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...adminAuth(target) },
    body: JSON.stringify(rule),
  })
  expect(res.status).toBe(201)
}

/** The value without its transaction ids, which differ between two otherwise equal calls. */
function withoutIds(value: unknown): unknown {
  return JSON.parse(
    JSON.stringify(value, (key, inner: unknown) =>
      key === 'TransactionId' || key === 'transactionId' ? undefined : inner,
    ),
  ) as unknown
}

/** The namespace the root `Envelope` element of an answer is in. */
function envelopeNamespace(body: string): string | null {
  const root = /<(?:([\w.-]+):)?Envelope\b([^>]*)>/.exec(body)
  const prefix = root?.[1]
  const attributes = root?.[2] ?? ''
  const declaration = prefix === undefined ? 'xmlns' : `xmlns:${prefix}`
  return new RegExp(`${declaration}="([^"]*)"`).exec(attributes)?.[1] ?? null
}

const stb = (pairingModuleId: string, index: number): Children => ({
  PairingModuleId: pairingModuleId,
  SerialNumber: `KA2611XB00000${index}`,
  ProductCode: 'KSTB5043',
  ProductDescription: 'Kaon KSTB5043 HD Conax Zapper',
})

// ----- setups ------------------------------------------------------------------------------

const noSetup: Setup = () => Promise.resolve()

function activate(caClientId: string, ...productIds: string[]): Setup {
  return async (target, options) => {
    const items = productIds.map((id) => item(caClientId, id, { Distributor: 'Main' }))
    expectOk(await call(target, 'AddSubscriptions', subs(...items), options))
  }
}

function pair(cardIds: readonly string[], stbIds: readonly string[]): Setup {
  return async (target, options) => {
    expectOk(
      await call(target, 'CreatePairing', { ...cards(...cardIds), ...stbs(...stbIds) }, options),
    )
  }
}

function givePin(caClientId: string, pin: string): Setup {
  return async (target, options) => {
    expectOk(
      await call(target, 'UpdateCaPinToGivenValue', { CaClientId: caClientId, Pin: pin }, options),
    )
  }
}

/** One valid call of each of the 13 operations on `card`, with the state it needs. */
function validCalls(card: string): ValidCall[] {
  return [
    {
      operation: 'AddSubscriptions',
      children: subs(
        item(card, 'GFA1', {
          Distributor: 'Main',
          StartDate: '2026-04-01T00:00:00Z',
          EndDate: '2026-12-31T23:59:59Z',
        }),
        item(card, 'EFA2'),
      ),
      setup: noSetup,
    },
    {
      operation: 'CancelSubscriptions',
      children: subs(item(card, 'GFA1', { Distributor: 'Main' })),
      setup: activate(card, 'GFA1', 'EFA2'),
    },
    {
      operation: 'GetActiveSubscriptions',
      children: { CaClientId: card },
      setup: activate(card, 'GFA1', 'EFA2'),
    },
    {
      operation: 'CreatePairing',
      children: { ...cards(card), ...stbs(STB_1, STB_2), Distributor: 'TWIN1' },
      setup: noSetup,
    },
    {
      operation: 'AddToExistingPairing',
      children: { PairedCaClientId: card, ...stbs(STB_3) },
      setup: pair([card], [STB_1]),
    },
    {
      operation: 'GetPairingStatusForCard',
      children: { CaClientId: card },
      setup: pair([card], [STB_1, STB_2]),
    },
    {
      operation: 'GetPairingStatusForPairingModule',
      children: { PairingModuleId: STB_1 },
      setup: pair([card], [STB_1, STB_2]),
    },
    {
      operation: 'SendMailMessageToClients',
      children: {
        ...cards(card),
        Message: 'Your bill is ready',
        StartIndicationTime: '2026-03-02T08:00:00Z',
      },
      setup: noSetup,
    },
    {
      operation: 'SendBarkMessageToClients',
      children: { ...cards(card), Message: 'The match starts now', DisplayDurationInSeconds: 30 },
      setup: noSetup,
    },
    {
      operation: 'SendRepeatingBarkMessageToClients',
      children: {
        ...cards(card),
        Message: 'Renew today',
        RepetitionCount: 3,
        RepetitionIntervalInSeconds: 60,
      },
      setup: noSetup,
    },
    {
      operation: 'DisplayFingerprint',
      children: { ...cards(card), PositionX: 100, PositionY: 50, Slot: 'B' },
      setup: noSetup,
    },
    {
      operation: 'UpdateCaPinToDefaultValue',
      children: { CaClientId: card },
      setup: givePin(card, '9876'),
    },
    {
      operation: 'UpdateCaPinToGivenValue',
      children: { CaClientId: card, Pin: '0042' },
      setup: noSetup,
    },
  ]
}

const VALID_CALLS = validCalls(CARD_A)
/** Every operation that names a card (GetPairingStatusForPairingModule names an STB only). */
const OTHER_SMS_CALLS = validCalls(CARD_OTHER_SMS).filter(
  (c) => c.operation !== 'GetPairingStatusForPairingModule',
)

// ----- error cases -------------------------------------------------------------------------

const INVALID = 'INPUT_VALIDATION_ERROR'
const NOT_FOUND = 'CLIENT_NOT_FOUND'
const NOT_MANAGED = 'CLIENT_NOT_MANAGED_BY_SMS'
const STB_NOT_FOUND = 'PAIRING_MODULE_NOT_FOUND'

/** `[when, code, names, input]`: the input is turned into the request by the group's builder. */
type ErrorRow<T> = readonly [when: string, code: string, names: string, input: T]

function errorsOf<T>(
  operation: OperationName,
  setup: Setup,
  build: (input: T) => Children,
  rows: readonly ErrorRow<T>[],
): ErrorCase[] {
  return rows.map(([when, code, names, input]) => ({
    operation,
    when,
    code,
    names,
    setup,
    children: build(input),
  }))
}

const asOther =
  (setup: Setup): Setup =>
  (target) =>
    setup(target, OTHER)
const hasGfa1 = activate(CARD_A, 'GFA1')
const pairedA = pair([CARD_A], [STB_1])
/** A good item for CARD_A first, then the item under test: one bad item spoils the request. */
const afterGoodItem = (bad: Children): Children => subs(item(CARD_A, 'GFA1'), bad)
const cardId = (id: string): Children => ({ CaClientId: id })
const pairing = ([cardIds, stbIds]: readonly [string[], string[]]): Children => ({
  ...cards(...cardIds),
  ...stbs(...stbIds),
})
const overriding =
  (base: Children) =>
  (changes: Children): Children => ({ ...base, ...changes })
const identity = (children: Children): Children => children
const REPEAT = { RepetitionCount: 2, RepetitionIntervalInSeconds: 60 }

const ERROR_CASES: readonly ErrorCase[] = [
  ...errorsOf('AddSubscriptions', noSetup, afterGoodItem, [
    ['a card id has 10 digits', INVALID, '0145025331', item('0145025331', 'EFA2')],
    ['a card id holds a letter', INVALID, '0145025331X', item('0145025331X', 'EFA2')],
    ['a product id holds a forbidden character', INVALID, 'GFA1!', item(CARD_B, 'GFA1!')],
    ['a product id has 33 characters', INVALID, 'P'.repeat(33), item(CARD_B, 'P'.repeat(33))],
    [
      'EndDate is before StartDate',
      INVALID,
      'EndDate',
      item(CARD_B, 'EFA2', { StartDate: '2026-05-01T00:00:00Z', EndDate: '2026-04-30T23:59:59Z' }),
    ],
    ['a card is unknown', NOT_FOUND, UNKNOWN_CARD, item(UNKNOWN_CARD, 'GFA1')],
    ['a card belongs to another SMS', NOT_MANAGED, CARD_OTHER_SMS, item(CARD_OTHER_SMS, 'GFA1')],
    ['a product is not in the catalogue', 'PRODUCT_NOT_FOUND', 'NOPE9', item(CARD_B, 'NOPE9')],
  ]),
  ...errorsOf('CancelSubscriptions', hasGfa1, afterGoodItem, [
    ['a card id has 12 digits', INVALID, '014502533130', item('014502533130', 'GFA1')],
    ['a product id holds a dot', INVALID, 'GF.A1', item(CARD_A, 'GF.A1')],
    ['a card is unknown', NOT_FOUND, UNKNOWN_CARD, item(UNKNOWN_CARD, 'GFA1')],
    ['a card belongs to another SMS', NOT_MANAGED, CARD_OTHER_SMS, item(CARD_OTHER_SMS, 'GFA1')],
    ['a product is not in the catalogue', 'PRODUCT_NOT_FOUND', 'NOPE9', item(CARD_A, 'NOPE9')],
  ]),
  ...errorsOf('GetActiveSubscriptions', hasGfa1, cardId, [
    ['the card id has 10 digits', INVALID, '1450253313', '1450253313'],
    ['the card is unknown', NOT_FOUND, UNKNOWN_CARD, UNKNOWN_CARD],
    ['the card belongs to another SMS', NOT_MANAGED, CARD_OTHER_SMS, CARD_OTHER_SMS],
  ]),
  // CARD_A is already paired with STB_1: a failed CreatePairing must not cancel that pairing.
  ...errorsOf('CreatePairing', pairedA, pairing, [
    ['a card id has 4 digits', INVALID, '1234', [[CARD_A, '1234'], [STB_2]]],
    ['a pairing module id holds letters', INVALID, 'STB-3', [[CARD_A], [STB_2, 'STB-3']]],
    ['a pairing module id has 21 digits', INVALID, '1'.repeat(21), [[CARD_A], ['1'.repeat(21)]]],
    ['a card is unknown', NOT_FOUND, UNKNOWN_CARD, [[CARD_A, UNKNOWN_CARD], [STB_2]]],
    [
      'a card belongs to another SMS',
      NOT_MANAGED,
      CARD_OTHER_SMS,
      [[CARD_A, CARD_OTHER_SMS], [STB_2]],
    ],
    ['a pairing module is unknown', STB_NOT_FOUND, UNKNOWN_STB, [[CARD_A], [STB_2, UNKNOWN_STB]]],
  ]),
  ...errorsOf('AddToExistingPairing', pairedA, identity, [
    ['it names no card and no module', INVALID, 'PairingModuleId', { PairedCaClientId: CARD_A }],
    [
      'both lists are empty',
      INVALID,
      'PairingModuleId',
      { PairedCaClientId: CARD_A, CaClientIds: '', PairingModuleIds: '' },
    ],
    [
      'PairedCaClientId holds a letter',
      INVALID,
      'A1450253313',
      { PairedCaClientId: 'A1450253313', ...cards(CARD_B) },
    ],
    [
      'an added card id has 10 digits',
      INVALID,
      '1900080207',
      { PairedCaClientId: CARD_A, ...cards(CARD_B, '1900080207') },
    ],
    [
      'PairedCaClientId is unknown',
      NOT_FOUND,
      UNKNOWN_CARD,
      { PairedCaClientId: UNKNOWN_CARD, ...cards(CARD_B) },
    ],
    [
      'an added card is unknown',
      NOT_FOUND,
      UNKNOWN_CARD,
      { PairedCaClientId: CARD_A, ...cards(CARD_B, UNKNOWN_CARD) },
    ],
    [
      'an added card belongs to another SMS',
      NOT_MANAGED,
      CARD_OTHER_SMS,
      { PairedCaClientId: CARD_A, ...cards(CARD_B, CARD_OTHER_SMS) },
    ],
    [
      'PairedCaClientId belongs to another SMS',
      NOT_MANAGED,
      CARD_OTHER_SMS,
      { PairedCaClientId: CARD_OTHER_SMS, ...cards(CARD_B) },
    ],
    [
      'an added pairing module is unknown',
      STB_NOT_FOUND,
      UNKNOWN_STB,
      { PairedCaClientId: CARD_A, ...cards(CARD_B), ...stbs(STB_2, UNKNOWN_STB) },
    ],
    [
      'PairedCaClientId has no pairing',
      'NOT_PAIRED',
      CARD_B,
      { PairedCaClientId: CARD_B, ...cards(CARD_C), ...stbs(STB_2) },
    ],
  ]),
  ...errorsOf('GetPairingStatusForCard', pairedA, cardId, [
    ['the card id has 12 digits', INVALID, '014502533130', '014502533130'],
    ['the card is unknown', NOT_FOUND, UNKNOWN_CARD, UNKNOWN_CARD],
    ['the card belongs to another SMS', NOT_MANAGED, CARD_OTHER_SMS, CARD_OTHER_SMS],
  ]),
  ...errorsOf(
    'GetPairingStatusForPairingModule',
    pairedA,
    (id: string) => ({ PairingModuleId: id }),
    [
      ['the module id holds letters', INVALID, '12ab', '12ab'],
      ['the module id has 21 digits', INVALID, '9'.repeat(21), '9'.repeat(21)],
      ['the module is unknown', STB_NOT_FOUND, UNKNOWN_STB, UNKNOWN_STB],
    ],
  ),
  ...errorsOf(
    'SendMailMessageToClients',
    noSetup,
    overriding({ ...cards(CARD_A), Message: 'Hi' }),
    [
      ['the message has 142 characters', INVALID, '142', { Message: text(142) }],
      ['the message is empty', INVALID, 'Message', { Message: '' }],
      ['a card id has 10 digits', INVALID, '1450253313', cards(CARD_A, '1450253313')],
      ['a card is unknown', NOT_FOUND, UNKNOWN_CARD, cards(CARD_A, UNKNOWN_CARD)],
      ['a card belongs to another SMS', NOT_MANAGED, CARD_OTHER_SMS, cards(CARD_A, CARD_OTHER_SMS)],
    ],
  ),
  ...errorsOf(
    'SendBarkMessageToClients',
    noSetup,
    overriding({ ...cards(CARD_A), Message: 'Hi' }),
    [
      ['the message has 130 characters', INVALID, '130', { Message: text(130) }],
      ['a card id holds a letter', INVALID, '0145025331X', cards(CARD_A, '0145025331X')],
      ['a card is unknown', NOT_FOUND, UNKNOWN_CARD, cards(CARD_A, UNKNOWN_CARD)],
      ['a card belongs to another SMS', NOT_MANAGED, CARD_OTHER_SMS, cards(CARD_A, CARD_OTHER_SMS)],
    ],
  ),
  ...errorsOf(
    'SendRepeatingBarkMessageToClients',
    noSetup,
    overriding({ ...cards(CARD_A), Message: 'Hi', ...REPEAT }),
    [
      ['the message has 130 characters', INVALID, '130', { Message: text(130) }],
      ['RepetitionCount is 0', INVALID, 'RepetitionCount', { RepetitionCount: 0 }],
      ['a card is unknown', NOT_FOUND, UNKNOWN_CARD, cards(CARD_A, UNKNOWN_CARD)],
      ['a card belongs to another SMS', NOT_MANAGED, CARD_OTHER_SMS, cards(CARD_A, CARD_OTHER_SMS)],
    ],
  ),
  ...errorsOf('DisplayFingerprint', noSetup, overriding(cards(CARD_A)), [
    ["Slot is 'C'", INVALID, 'Slot', { Slot: 'C' }],
    ['a card id has 12 digits', INVALID, '014502533130', cards(CARD_A, '014502533130')],
    ['a card is unknown', NOT_FOUND, UNKNOWN_CARD, cards(CARD_A, UNKNOWN_CARD)],
    ['a card belongs to another SMS', NOT_MANAGED, CARD_OTHER_SMS, cards(CARD_A, CARD_OTHER_SMS)],
  ]),
  // The PIN is 9876 first, so that a wrongly applied reset would show.
  ...errorsOf('UpdateCaPinToDefaultValue', givePin(CARD_A, '9876'), cardId, [
    ['the card id has 10 digits', INVALID, '1450253313', '1450253313'],
    ['the card is unknown', NOT_FOUND, UNKNOWN_CARD, UNKNOWN_CARD],
  ]),
  ...errorsOf('UpdateCaPinToDefaultValue', asOther(givePin(CARD_OTHER_SMS, '9876')), cardId, [
    ['the card belongs to another SMS', NOT_MANAGED, CARD_OTHER_SMS, CARD_OTHER_SMS],
  ]),
  ...errorsOf('UpdateCaPinToGivenValue', noSetup, overriding({ CaClientId: CARD_A, Pin: '4321' }), [
    ["the PIN is '12a4'", INVALID, 'Pin', { Pin: '12a4' }],
    ["the PIN is '12345'", INVALID, 'Pin', { Pin: '12345' }],
    ['the card id holds a letter', INVALID, '0145025331X', { CaClientId: '0145025331X' }],
    ['the card is unknown', NOT_FOUND, UNKNOWN_CARD, { CaClientId: UNKNOWN_CARD }],
    [
      'the card belongs to another SMS',
      NOT_MANAGED,
      CARD_OTHER_SMS,
      { CaClientId: CARD_OTHER_SMS },
    ],
  ]),
]

/** Calls naming three distinct cards (`over`) and two (`within`), for a limit of two per request. */
const CARD_LIMIT_CASES: readonly {
  operation: OperationName
  over: Children
  within: Children
  setup: Setup
}[] = [
  {
    operation: 'AddSubscriptions',
    over: subs(item(CARD_A, 'GFA1'), item(CARD_B, 'GFA1'), item(CARD_C, 'GFA1')),
    within: subs(item(CARD_A, 'GFA1'), item(CARD_B, 'GFA1'), item(CARD_A, 'EFA2')),
    setup: noSetup,
  },
  {
    operation: 'CancelSubscriptions',
    over: subs(item(CARD_A, 'GFA1'), item(CARD_B, 'GFA1'), item(CARD_C, 'GFA1')),
    within: subs(item(CARD_A, 'GFA1'), item(CARD_B, 'GFA1'), item(CARD_A, 'EFA2')),
    setup: activate(CARD_A, 'GFA1', 'EFA2'),
  },
  {
    operation: 'CreatePairing',
    over: { ...cards(CARD_A, CARD_B, CARD_C), ...stbs(STB_1) },
    within: { ...cards(CARD_A, CARD_B, CARD_A), ...stbs(STB_1) },
    setup: noSetup,
  },
  {
    operation: 'AddToExistingPairing',
    over: { PairedCaClientId: CARD_A, ...cards(CARD_B, CARD_C) },
    within: { PairedCaClientId: CARD_A, ...cards(CARD_B) },
    setup: pairedA,
  },
  {
    operation: 'SendMailMessageToClients',
    over: { ...cards(CARD_A, CARD_B, CARD_C), Message: 'Hello' },
    within: { ...cards(CARD_A, CARD_B), Message: 'Hello' },
    setup: noSetup,
  },
  {
    operation: 'SendBarkMessageToClients',
    over: { ...cards(CARD_A, CARD_B, CARD_C), Message: 'Hello' },
    within: { ...cards(CARD_A, CARD_B), Message: 'Hello' },
    setup: noSetup,
  },
  {
    operation: 'SendRepeatingBarkMessageToClients',
    over: {
      ...cards(CARD_A, CARD_B, CARD_C),
      Message: 'Hello',
      RepetitionCount: 2,
      RepetitionIntervalInSeconds: 10,
    },
    within: {
      ...cards(CARD_A, CARD_B),
      Message: 'Hello',
      RepetitionCount: 2,
      RepetitionIntervalInSeconds: 10,
    },
    setup: noSetup,
  },
  {
    operation: 'DisplayFingerprint',
    over: cards(CARD_A, CARD_B, CARD_C),
    within: cards(CARD_A, CARD_B),
    setup: noSetup,
  },
]

/** Well-formed bodies that break the schema, and what the faultstring must name. */
const SCHEMA_VIOLATIONS: readonly {
  problem: string
  service: ServiceName
  body: string
  reason: readonly RegExp[]
}[] = [
  {
    problem: 'the mandatory CaClientId is missing',
    service: 'subscription',
    body: requestEnvelope('subscription', 'GetActiveSubscriptions', {}),
    reason: [/CaClientId/, /missing|mandatory|required/i],
  },
  {
    problem: 'a subscription item lacks its CaClientId',
    service: 'subscription',
    body: requestEnvelope('subscription', 'AddSubscriptions', subs({ ProductId: 'GFA1' })),
    reason: [/CaClientId/, /missing|mandatory|required/i],
  },
  {
    problem: 'the mandatory RepetitionCount is missing',
    service: 'user-text-messaging',
    body: requestEnvelope('user-text-messaging', 'SendRepeatingBarkMessageToClients', {
      ...cards(CARD_A),
      Message: 'Hello',
      RepetitionIntervalInSeconds: 60,
    }),
    reason: [/RepetitionCount/, /missing|mandatory|required/i],
  },
  {
    problem: 'an unknown child element is sent',
    service: 'ca-pin',
    body: requestEnvelope('ca-pin', 'UpdateCaPinToGivenValue', {
      CaClientId: CARD_A,
      Pin: '4321',
      Colour: 'red',
    }),
    reason: [/Colour/],
  },
  {
    problem: "SequenceNumber is 'seven'",
    service: 'subscription',
    body: requestEnvelope('subscription', 'AddSubscriptions', {
      ...subs(item(CARD_A, 'GFA1')),
      SequenceNumber: 'seven',
    }),
    reason: [/SequenceNumber/, /seven/],
  },
  {
    problem: "SequenceNumber is '7.5'",
    service: 'ca-pin',
    body: requestEnvelope('ca-pin', 'UpdateCaPinToDefaultValue', {
      CaClientId: CARD_A,
      SequenceNumber: '7.5',
    }),
    reason: [/SequenceNumber/, /7\.5/],
  },
  {
    problem: "DisplayDurationInSeconds is 'twenty'",
    service: 'user-text-messaging',
    body: requestEnvelope('user-text-messaging', 'SendBarkMessageToClients', {
      ...cards(CARD_A),
      Message: 'Hello',
      DisplayDurationInSeconds: 'twenty',
    }),
    reason: [/DisplayDurationInSeconds/, /twenty/],
  },
  {
    problem: "StartDate is 'next week'",
    service: 'subscription',
    body: requestEnvelope(
      'subscription',
      'AddSubscriptions',
      subs(item(CARD_A, 'GFA1', { StartDate: 'next week' })),
    ),
    reason: [/StartDate/, /next week/],
  },
  {
    problem: 'StartDate has month 13',
    service: 'subscription',
    body: requestEnvelope(
      'subscription',
      'AddSubscriptions',
      subs(item(CARD_A, 'GFA1', { StartDate: '2026-13-01T00:00:00Z' })),
    ),
    reason: [/StartDate/, /2026-13-01/],
  },
  {
    problem: 'EndDate is the 30th of February',
    service: 'subscription',
    body: requestEnvelope(
      'subscription',
      'AddSubscriptions',
      subs(item(CARD_A, 'GFA1', { EndDate: '2026-02-30T00:00:00Z' })),
    ),
    reason: [/EndDate/, /2026-02-30/],
  },
  {
    problem: 'StartIndicationTime has a space instead of T',
    service: 'user-text-messaging',
    body: requestEnvelope('user-text-messaging', 'SendMailMessageToClients', {
      ...cards(CARD_A),
      Message: 'Hello',
      StartIndicationTime: '2026-03-02 08:00:00',
    }),
    reason: [/StartIndicationTime/],
  },
  {
    problem: 'AddSubscriptions is posted to the pairing endpoint',
    service: 'pairing',
    body: requestEnvelope('subscription', 'AddSubscriptions', subs(item(CARD_A, 'GFA1'))),
    reason: [/AddSubscriptions/, /pairing/],
  },
  {
    problem: 'the body element is in the pairing namespace',
    service: 'subscription',
    body: requestEnvelope('pairing', 'AddSubscriptions', subs(item(CARD_A, 'GFA1'))),
    reason: [/AddSubscriptions/, /namespace/i],
  },
  {
    problem: 'a child element is in a foreign namespace',
    service: 'ca-pin',
    body: requestEnvelope(
      'ca-pin',
      'UpdateCaPinToGivenValue',
      `<x:CaClientId xmlns:x="urn:example:other">${CARD_A}</x:CaClientId><Pin>4321</Pin>`,
    ),
    reason: [/CaClientId/, /namespace/i],
  },
]

describe('SOAP operations over HTTP', () => {
  let sim: Simulator
  const extras: Simulator[] = []

  /** Another simulator with the same fixed clock, closed after the test. */
  async function startExtra(options: SimulatorOptions = {}): Promise<Simulator> {
    const extra = await startTestSimulator({ now: () => new Date(NOW), ...options })
    extras.push(extra)
    return extra
  }

  beforeEach(async () => {
    sim = await startTestSimulator({ now: () => new Date(NOW) })
  })

  afterEach(async () => {
    await Promise.all([sim, ...extras.splice(0)].map((s) => s.close()))
  })

  describe('success paths', () => {
    it('AddSubscriptions activates products with distributor and dates', async () => {
      const answer = await call(
        sim,
        'AddSubscriptions',
        subs(
          item(CARD_A, 'GFA1', {
            Distributor: 'Main',
            StartDate: '2026-04-01T00:00:00Z',
            EndDate: '2026-12-31T23:59:59Z',
          }),
          item(CARD_A, 'EFA2'),
          item(CARD_B, 'GFA1', { Distributor: 'TWIN1' }),
        ),
      )

      expectOk(answer)
      expect(answer.contentType).toMatch(/^text\/xml/)
      expect(envelopeNamespace(answer.body)).toBe(SOAP11_NS)
      expect((await adminCard(sim, CARD_A)).subscriptions).toEqual([
        {
          productId: 'GFA1',
          distributor: 'Main',
          startDate: '2026-04-01T00:00:00.000Z',
          endDate: '2026-12-31T23:59:59.000Z',
        },
        { productId: 'EFA2', distributor: null, startDate: NOW, endDate: null },
      ])
      expect(modelCard(sim, CARD_B).subscriptions).toEqual([
        { productId: 'GFA1', distributor: 'TWIN1', startDate: NOW, endDate: null },
      ])
    })

    it('AddSubscriptions on an active product keeps one entry and updates its dates', async () => {
      await activate(CARD_A, 'GFA1')(sim, {})

      const answer = await call(
        sim,
        'AddSubscriptions',
        subs(item(CARD_A, 'GFA1', { EndDate: '2026-06-30T00:00:00Z' })),
      )

      expectOk(answer)
      expect(modelCard(sim, CARD_A).subscriptions).toEqual([
        {
          productId: 'GFA1',
          distributor: 'Main',
          startDate: NOW,
          endDate: '2026-06-30T00:00:00.000Z',
        },
      ])
    })

    it('CancelSubscriptions stops the named products and accepts one that is not active', async () => {
      await activate(CARD_A, 'GFA1', 'EFA2')(sim, {})

      const answer = await call(
        sim,
        'CancelSubscriptions',
        subs(item(CARD_A, 'GFA1', { Distributor: 'Main' }), item(CARD_A, 'RFB1')),
      )

      expectOk(answer)
      expect((await adminCard(sim, CARD_A)).subscriptions).toEqual([
        { productId: 'EFA2', distributor: 'Main', startDate: NOW, endDate: null },
      ])
    })

    it('GetActiveSubscriptions lists the products of a card', async () => {
      expectOk(
        await call(
          sim,
          'AddSubscriptions',
          subs(
            item(CARD_A, 'GFA1', {
              Distributor: 'Main',
              StartDate: '2026-04-01T00:00:00Z',
              EndDate: '2026-12-31T23:59:59Z',
            }),
            item(CARD_A, 'EFA2'),
          ),
        ),
      )

      const answer = await call(sim, 'GetActiveSubscriptions', { CaClientId: CARD_A })

      expectOk(answer)
      const listed = listAt(answer.response, 'Subscriptions', 'Subscription')
      expect(listed).toHaveLength(2)
      expect(listed[0]).toMatchObject({ ProductId: 'GFA1', Distributor: 'Main' })
      expect(Date.parse(at(listed[0], 'StartDate') as string)).toBe(
        Date.parse('2026-04-01T00:00:00Z'),
      )
      expect(Date.parse(at(listed[0], 'EndDate') as string)).toBe(
        Date.parse('2026-12-31T23:59:59Z'),
      )
      expect(listed[1]).toMatchObject({ ProductId: 'EFA2' })
      expect(Date.parse(at(listed[1], 'StartDate') as string)).toBe(Date.parse(NOW))
      expect(at(listed[1], 'EndDate')).toBeUndefined()
    })

    it('GetActiveSubscriptions answers an empty list for a card without products', async () => {
      const answer = await call(sim, 'GetActiveSubscriptions', { CaClientId: CARD_B })

      expectOk(answer)
      expect(listAt(answer.response, 'Subscriptions', 'Subscription')).toEqual([])
    })

    it('CreatePairing pairs the cards with the pairing modules', async () => {
      const answer = await call(sim, 'CreatePairing', {
        ...cards(CARD_A, CARD_B),
        ...stbs(STB_1, STB_2),
        Distributor: 'TWIN1',
      })

      expectOk(answer)
      const expected = {
        caClientIds: [CARD_A, CARD_B],
        pairingModuleIds: [STB_1, STB_2],
        distributor: 'TWIN1',
      }
      expect((await adminCard(sim, CARD_A)).pairing).toEqual(expected)
      expect(modelCard(sim, CARD_B).pairing).toEqual(expected)
      expect(sim.model.pairingModule(STB_1)?.pairingId).not.toBeNull()
      expect(modelCard(sim, CARD_C).pairing).toBeNull()
    })

    it('AddToExistingPairing adds cards and pairing modules to a pairing', async () => {
      await pairedA(sim, {})

      const answer = await call(sim, 'AddToExistingPairing', {
        PairedCaClientId: CARD_A,
        ...cards(CARD_B),
        ...stbs(STB_3),
      })

      expectOk(answer)
      const expected = {
        caClientIds: [CARD_A, CARD_B],
        pairingModuleIds: [STB_1, STB_3],
        distributor: null,
      }
      expect((await adminCard(sim, CARD_A)).pairing).toEqual(expected)
      expect((await adminCard(sim, CARD_B)).pairing).toEqual(expected)
    })

    it('GetPairingStatusForCard describes the pairing of a paired card', async () => {
      await pair([CARD_A, CARD_B], [STB_1, STB_2])(sim, {})

      const answer = await call(sim, 'GetPairingStatusForCard', { CaClientId: CARD_B })

      expectOk(answer)
      expect(at(answer.response, 'Paired')).toBe('true')
      expect(listAt(answer.response, 'CaClientIds', 'CaClientId')).toEqual([CARD_A, CARD_B])
      expect(listAt(answer.response, 'PairingModules', 'PairingModule')).toEqual([
        stb(STB_1, 1),
        stb(STB_2, 2),
      ])
    })

    it('GetPairingStatusForCard answers Paired false for an unpaired card', async () => {
      const answer = await call(sim, 'GetPairingStatusForCard', { CaClientId: CARD_C })

      expectOk(answer)
      expect(at(answer.response, 'Paired')).toBe('false')
      expect(listAt(answer.response, 'CaClientIds', 'CaClientId')).toEqual([])
      expect(listAt(answer.response, 'PairingModules', 'PairingModule')).toEqual([])
    })

    it('GetPairingStatusForPairingModule describes the pairing of a paired module', async () => {
      await pair([CARD_A], [STB_1, STB_2])(sim, {})

      const answer = await call(sim, 'GetPairingStatusForPairingModule', {
        PairingModuleId: STB_2,
      })

      expectOk(answer)
      expect(at(answer.response, 'Paired')).toBe('true')
      expect(listAt(answer.response, 'CaClientIds', 'CaClientId')).toEqual([CARD_A])
      expect(listAt(answer.response, 'PairingModules', 'PairingModule')).toEqual([
        stb(STB_1, 1),
        stb(STB_2, 2),
      ])
    })

    it('GetPairingStatusForPairingModule answers Paired false for an unpaired module', async () => {
      const answer = await call(sim, 'GetPairingStatusForPairingModule', {
        PairingModuleId: STB_3,
      })

      expectOk(answer)
      expect(at(answer.response, 'Paired')).toBe('false')
      expect(listAt(answer.response, 'PairingModules', 'PairingModule')).toEqual([])
    })

    it('SendMailMessageToClients puts the message verbatim in each inbox', async () => {
      const message = '  Bill & <offer> for March  '
      const answer = await call(sim, 'SendMailMessageToClients', {
        ...cards(CARD_A, CARD_B),
        Message: message,
        StartIndicationTime: '2026-03-02T08:00:00Z',
        SequenceNumber: 12,
      })

      expectOk(answer)
      for (const id of [CARD_A, CARD_B]) {
        const inbox = (await adminCard(sim, id)).inbox
        expect(inbox).toHaveLength(1)
        expect(inbox[0]).toMatchObject({
          message,
          transactionId: answer.transactionId,
          sequenceNumber: 12,
        })
        expect(Date.parse(inbox[0]?.startIndicationTime ?? '')).toBe(
          Date.parse('2026-03-02T08:00:00Z'),
        )
      }
      expect(modelCard(sim, CARD_C).inbox).toEqual([])
      expect(modelCard(sim, CARD_A).screen).toEqual([])
    })

    it('SendBarkMessageToClients shows the message for 20 seconds by default', async () => {
      const answer = await call(sim, 'SendBarkMessageToClients', {
        ...cards(CARD_A),
        Message: 'The match starts now',
      })

      expectOk(answer)
      expect((await adminCard(sim, CARD_A)).screen).toEqual([
        expect.objectContaining({
          kind: 'BARK',
          message: 'The match starts now',
          displayDurationInSeconds: 20,
          repetitionCount: null,
          repetitionIntervalInSeconds: null,
          transactionId: answer.transactionId,
        }),
      ])
      expect(modelCard(sim, CARD_A).inbox).toEqual([])
    })

    it('SendBarkMessageToClients keeps a given display duration', async () => {
      expectOk(
        await call(sim, 'SendBarkMessageToClients', {
          ...cards(CARD_A, CARD_B),
          Message: 'Goal!',
          DisplayDurationInSeconds: 45,
        }),
      )

      for (const id of [CARD_A, CARD_B]) {
        expect(modelCard(sim, id).screen).toEqual([
          expect.objectContaining({ message: 'Goal!', displayDurationInSeconds: 45 }),
        ])
      }
    })

    it('SendRepeatingBarkMessageToClients shows the message repeatedly', async () => {
      const answer = await call(sim, 'SendRepeatingBarkMessageToClients', {
        ...cards(CARD_A),
        Message: 'Renew today',
        RepetitionCount: 3,
        RepetitionIntervalInSeconds: 60,
      })

      expectOk(answer)
      expect((await adminCard(sim, CARD_A)).screen).toEqual([
        expect.objectContaining({
          kind: 'REPEATING_BARK',
          message: 'Renew today',
          displayDurationInSeconds: 20,
          repetitionCount: 3,
          repetitionIntervalInSeconds: 60,
          transactionId: answer.transactionId,
        }),
      ])
    })

    it('DisplayFingerprint schedules a fingerprint with the CA defaults', async () => {
      const answer = await call(sim, 'DisplayFingerprint', cards(CARD_A))

      expectOk(answer)
      expect((await adminCard(sim, CARD_A)).fingerprints).toEqual([
        expect.objectContaining({
          displayTime: NOW,
          durationInSeconds: 10,
          positionX: null,
          positionY: null,
          height: 12,
          slot: 'A',
          transactionId: answer.transactionId,
        }),
      ])
    })

    it('DisplayFingerprint keeps every given setting', async () => {
      expectOk(
        await call(sim, 'DisplayFingerprint', {
          ...cards(CARD_A, CARD_B),
          DisplayTime: '2026-03-05T20:00:00Z',
          DurationInSeconds: 30,
          PositionX: 100,
          PositionY: 200,
          Height: 24,
          Slot: 'B',
          SequenceNumber: 3,
        }),
      )

      for (const id of [CARD_A, CARD_B]) {
        const fingerprints = modelCard(sim, id).fingerprints
        expect(fingerprints).toEqual([
          expect.objectContaining({
            durationInSeconds: 30,
            positionX: 100,
            positionY: 200,
            height: 24,
            slot: 'B',
            sequenceNumber: 3,
          }),
        ])
        expect(Date.parse(fingerprints[0]?.displayTime ?? '')).toBe(
          Date.parse('2026-03-05T20:00:00Z'),
        )
      }
    })

    it('UpdateCaPinToGivenValue sets the PIN, leading zeros kept', async () => {
      const answer = await call(sim, 'UpdateCaPinToGivenValue', { CaClientId: CARD_A, Pin: '0042' })

      expectOk(answer)
      expect((await adminCard(sim, CARD_A)).pin).toBe('0042')
      expect(modelCard(sim, CARD_B).pin).toBe('1234')
    })

    it('UpdateCaPinToDefaultValue sets the PIN back to 1234', async () => {
      await givePin(CARD_A, '9876')(sim, {})
      expect(modelCard(sim, CARD_A).pin).toBe('9876')

      const answer = await call(sim, 'UpdateCaPinToDefaultValue', { CaClientId: CARD_A })

      expectOk(answer)
      expect((await adminCard(sim, CARD_A)).pin).toBe('1234')
    })

    it('gives every answer its own TransactionId', async () => {
      const first = await call(sim, 'GetActiveSubscriptions', { CaClientId: CARD_A })
      const second = await call(sim, 'GetActiveSubscriptions', { CaClientId: CARD_A })

      expectOk(first)
      expectOk(second)
      expect(second.transactionId).not.toBe(first.transactionId)
    })
  })

  describe('error codes', () => {
    it.each(titled(ERROR_CASES, (c) => `${c.operation} answers ${c.code} when ${c.when}`))(
      '%s',
      async (_title, { operation, children, code, names, setup }) => {
        await setup(sim, {})
        const before = await caState(sim)

        const answer = await call(sim, operation, children)

        expectStatus(answer, code, names)
        expect(await caState(sim)).toEqual(before)
      },
    )

    it.each(
      titled(
        [
          { operation: 'SendMailMessageToClients' as const, max: 141 },
          { operation: 'SendBarkMessageToClients' as const, max: 129 },
        ],
        (c) => `${c.operation} accepts ${c.max} characters and rejects ${c.max + 1}`,
      ),
    )('%s', async (_title, { operation, max }) => {
      const longest = await call(sim, operation, { ...cards(CARD_A), Message: text(max) })
      const tooLong = await call(sim, operation, { ...cards(CARD_A), Message: text(max + 1) })

      expectOk(longest)
      expectStatus(tooLong, 'INPUT_VALIDATION_ERROR', String(max + 1))
      const card = modelCard(sim, CARD_A)
      expect([...card.inbox, ...card.screen].map((m) => m.message)).toEqual([text(max)])
    })

    it('SendRepeatingBarkMessageToClients accepts 129 characters and rejects 130', async () => {
      const repeat = { RepetitionCount: 2, RepetitionIntervalInSeconds: 60 }
      const longest = await call(sim, 'SendRepeatingBarkMessageToClients', {
        ...cards(CARD_A),
        Message: text(129),
        ...repeat,
      })
      const tooLong = await call(sim, 'SendRepeatingBarkMessageToClients', {
        ...cards(CARD_A),
        Message: text(130),
        ...repeat,
      })

      expectOk(longest)
      expectStatus(tooLong, 'INPUT_VALIDATION_ERROR', '130')
      expect(modelCard(sim, CARD_A).screen.map((m) => m.message)).toEqual([text(129)])
    })

    it.each([10, 2550])(
      'SendRepeatingBarkMessageToClients accepts a repetition interval of %i seconds',
      async (interval) => {
        const answer = await call(sim, 'SendRepeatingBarkMessageToClients', {
          ...cards(CARD_A),
          Message: 'Renew today',
          RepetitionCount: 1,
          RepetitionIntervalInSeconds: interval,
        })

        expectOk(answer)
        expect(modelCard(sim, CARD_A).screen).toEqual([
          expect.objectContaining({ repetitionCount: 1, repetitionIntervalInSeconds: interval }),
        ])
      },
    )

    it.each([5, 15, 2555])(
      'SendRepeatingBarkMessageToClients rejects a repetition interval of %i seconds',
      async (interval) => {
        const answer = await call(sim, 'SendRepeatingBarkMessageToClients', {
          ...cards(CARD_A),
          Message: 'Renew today',
          RepetitionCount: 1,
          RepetitionIntervalInSeconds: interval,
        })

        expectStatus(answer, 'INPUT_VALIDATION_ERROR', 'RepetitionIntervalInSeconds')
        expect(modelCard(sim, CARD_A).screen).toEqual([])
      },
    )

    it.each(
      titled(
        CARD_LIMIT_CASES,
        (c) => `${c.operation} rejects more distinct cards than the limit and accepts the limit`,
      ),
    )('%s', async (_title, { operation, over, within, setup }) => {
      const limited = await startExtra({ rules: { maxCardsPerRequest: 2 } })
      await setup(limited, {})
      const before = await caState(limited)

      const rejected = await call(limited, operation, over)

      expectStatus(rejected, 'INPUT_VALIDATION_ERROR')
      expect(await caState(limited)).toEqual(before)
      expectOk(await call(limited, operation, within))
      expect(await caState(limited)).not.toEqual(before)
    })

    it.each(
      titled(
        OTHER_SMS_CALLS,
        (c) => `${c.operation} on a card of another SMS works for that SMS user only`,
      ),
    )('%s', async (_title, { operation, children, setup }) => {
      await setup(sim, OTHER)
      const before = await caState(sim)

      const refused = await call(sim, operation, children)

      expectStatus(refused, 'CLIENT_NOT_MANAGED_BY_SMS', CARD_OTHER_SMS)
      expect(await caState(sim)).toEqual(before)
      expectOk(await call(sim, operation, children, OTHER))
    })

    it('SendMailMessageToClients answers FEATURE_NOT_AVAILABLE when switched off', async () => {
      const limited = await startExtra({ disabledOperations: ['SendMailMessageToClients'] })

      const answer = await call(limited, 'SendMailMessageToClients', {
        ...cards(CARD_A),
        Message: 'Hello',
      })

      expectStatus(answer, 'FEATURE_NOT_AVAILABLE', 'SendMailMessageToClients')
      expect(modelCard(limited, CARD_A).inbox).toEqual([])
      expectOk(
        await call(limited, 'SendBarkMessageToClients', { ...cards(CARD_A), Message: 'Hello' }),
      )
    })

    it.each(
      titled(
        VALID_CALLS,
        (c) => `${c.operation} answers FEATURE_NOT_AVAILABLE when switched off, changing nothing`,
      ),
    )('%s', async (_title, { operation, children, setup }) => {
      const limited = await startExtra({ disabledOperations: [operation] })
      await setup(limited, {})
      const before = await caState(limited)

      const answer = await call(limited, operation, children)

      expectStatus(answer, 'FEATURE_NOT_AVAILABLE')
      expect(await caState(limited)).toEqual(before)
    })

    it('AddSubscriptions answers an injected SYSTEM_ERROR, applies nothing, then recovers', async () => {
      await injectFault(sim, { kind: 'SYSTEM_ERROR', operation: 'AddSubscriptions' })
      const children = subs(item(CARD_A, 'GFA1', { Distributor: 'Main' }))

      const failed = await call(sim, 'AddSubscriptions', children)

      expectStatus(failed, 'SYSTEM_ERROR')
      expect(modelCard(sim, CARD_A).subscriptions).toEqual([])
      const next = await call(sim, 'AddSubscriptions', children)
      expectOk(next)
      expect(next.transactionId).not.toBe(failed.transactionId)
      expect(modelCard(sim, CARD_A).subscriptions).toEqual([
        { productId: 'GFA1', distributor: 'Main', startDate: NOW, endDate: null },
      ])
    })

    it.each(
      titled(
        VALID_CALLS,
        (c) => `${c.operation} answers an injected SYSTEM_ERROR without applying anything`,
      ),
    )('%s', async (_title, { operation, children, setup }) => {
      await setup(sim, {})
      await injectFault(sim, { kind: 'SYSTEM_ERROR', operation })
      const before = await caState(sim)

      const failed = await call(sim, operation, children)

      expectStatus(failed, 'SYSTEM_ERROR')
      expect(await caState(sim)).toEqual(before)
      expectOk(await call(sim, operation, children))
    })
  })

  describe('all or nothing', () => {
    it('AddSubscriptions with one unknown product activates nothing', async () => {
      const answer = await call(
        sim,
        'AddSubscriptions',
        subs(item(CARD_A, 'GFA1'), item(CARD_A, 'NOPE9')),
      )

      expectStatus(answer, 'PRODUCT_NOT_FOUND', 'NOPE9')
      expect((await adminCard(sim, CARD_A)).subscriptions).toEqual([])
    })

    it('CancelSubscriptions with one unknown card cancels nothing', async () => {
      await activate(CARD_A, 'GFA1')(sim, {})

      const answer = await call(
        sim,
        'CancelSubscriptions',
        subs(item(CARD_A, 'GFA1'), item(UNKNOWN_CARD, 'GFA1')),
      )

      expectStatus(answer, 'CLIENT_NOT_FOUND', UNKNOWN_CARD)
      expect((await adminCard(sim, CARD_A)).subscriptions.map((p) => p.productId)).toEqual(['GFA1'])
    })

    it('CreatePairing with one unknown module keeps the earlier pairing', async () => {
      await pairedA(sim, {})

      const answer = await call(sim, 'CreatePairing', {
        ...cards(CARD_A, CARD_B),
        ...stbs(STB_2, UNKNOWN_STB),
      })

      expectStatus(answer, 'PAIRING_MODULE_NOT_FOUND', UNKNOWN_STB)
      expect((await adminCard(sim, CARD_A)).pairing?.pairingModuleIds).toEqual([STB_1])
      expect(modelCard(sim, CARD_B).pairing).toBeNull()
      expect(sim.model.pairingModule(STB_2)?.pairingId).toBeNull()
    })

    it('SendMailMessageToClients with one card of another SMS delivers to no inbox', async () => {
      const answer = await call(sim, 'SendMailMessageToClients', {
        ...cards(CARD_A, CARD_B, CARD_OTHER_SMS),
        Message: 'Hello',
      })

      expectStatus(answer, 'CLIENT_NOT_MANAGED_BY_SMS', CARD_OTHER_SMS)
      expect(modelCard(sim, CARD_A).inbox).toEqual([])
      expect(modelCard(sim, CARD_B).inbox).toEqual([])
    })

    it('DisplayFingerprint with one malformed card id schedules nothing', async () => {
      const answer = await call(sim, 'DisplayFingerprint', cards(CARD_A, '123'))

      expectStatus(answer, 'INPUT_VALIDATION_ERROR', '123')
      expect(modelCard(sim, CARD_A).fingerprints).toEqual([])
    })
  })

  describe('element forms and SOAP versions', () => {
    it.each(
      titled(
        VALID_CALLS,
        (c) => `${c.operation} gives the same answer and state with qualified children`,
      ),
    )('%s', async (_title, { operation, children, setup }) => {
      const twin = await startExtra()
      await setup(sim, {})
      await setup(twin, {})

      const plain = await call(sim, operation, children)
      const qualified = await call(twin, operation, children, { qualified: true })

      expectOk(plain)
      expectOk(qualified)
      expect(withoutIds(qualified.response)).toEqual(withoutIds(plain.response))
      expect(withoutIds(await caState(twin))).toEqual(withoutIds(await caState(sim)))
    })

    it.each(titled(VALID_CALLS, (c) => `${c.operation} answers a SOAP 1.2 call in SOAP 1.2`))(
      '%s',
      async (_title, { operation, children, setup }) => {
        const twin = await startExtra()
        await setup(sim, {})
        await setup(twin, {})

        const soap12 = await call(sim, operation, children, { version: '1.2' })
        const soap11 = await call(twin, operation, children)

        expectOk(soap12)
        expect(soap12.contentType).toMatch(/^application\/soap\+xml/)
        expect(envelopeNamespace(soap12.body)).toBe(SOAP12_NS)
        expect(withoutIds(soap12.response)).toEqual(withoutIds(soap11.response))
        expect(withoutIds(await caState(sim))).toEqual(withoutIds(await caState(twin)))
      },
    )

    it('answers a SOAP 1.2 schema violation with a soap:Sender fault', async () => {
      const answer = await call(sim, 'GetActiveSubscriptions', {}, { version: '1.2' })

      expect(answer.status).toBe(500)
      expect(answer.contentType).toMatch(/^application\/soap\+xml/)
      expect(envelopeNamespace(answer.body)).toBe(SOAP12_NS)
      expect(answer.fault?.code).toMatch(/(^|:)Sender$/)
      expect(answer.fault?.reason).toMatch(/CaClientId/)
    })

    it('answers a SOAP 1.2 business error with HTTP 200 and the status block', async () => {
      const answer = await call(
        sim,
        'GetActiveSubscriptions',
        { CaClientId: UNKNOWN_CARD },
        { version: '1.2', qualified: true },
      )

      expectStatus(answer, 'CLIENT_NOT_FOUND', UNKNOWN_CARD)
      expect(answer.contentType).toMatch(/^application\/soap\+xml/)
      expect(envelopeNamespace(answer.body)).toBe(SOAP12_NS)
    })
  })

  describe('schema violations', () => {
    it.each(titled(SCHEMA_VIOLATIONS, (c) => `answers a soap:Client fault when ${c.problem}`))(
      '%s',
      async (_title, { service, body, reason }) => {
        const before = await caState(sim)

        const answer = await postSoap(sim, service, body)

        expectClientFault(answer, reason)
        expect(answer.contentType).toMatch(/^text\/xml/)
        expect(envelopeNamespace(answer.body)).toBe(SOAP11_NS)
        expect(await caState(sim)).toEqual(before)
      },
    )
  })

  describe('pairing semantics', () => {
    it('CreatePairing of a paired card with another module cancels the first pairing', async () => {
      await pair([CARD_A], [STB_1])(sim, {})

      expectOk(await call(sim, 'CreatePairing', { ...cards(CARD_A), ...stbs(STB_2) }))

      const first = await call(sim, 'GetPairingStatusForPairingModule', { PairingModuleId: STB_1 })
      expectOk(first)
      expect(at(first.response, 'Paired')).toBe('false')
      expect(sim.model.pairingModule(STB_1)?.pairingId).toBeNull()
      expect((await adminCard(sim, CARD_A)).pairing).toEqual({
        caClientIds: [CARD_A],
        pairingModuleIds: [STB_2],
        distributor: null,
      })
    })

    it('CreatePairing of one member cancels the earlier pairing for every member', async () => {
      await pair([CARD_A, CARD_B], [STB_1])(sim, {})

      expectOk(await call(sim, 'CreatePairing', { ...cards(CARD_B), ...stbs(STB_2) }))

      expect(modelCard(sim, CARD_A).pairing).toBeNull()
      expect(sim.model.pairingModule(STB_1)?.pairingId).toBeNull()
      expect(modelCard(sim, CARD_B).pairing?.pairingModuleIds).toEqual([STB_2])
    })

    it('AddToExistingPairing extends the pairing that GetPairingStatusForPairingModule reports', async () => {
      await pair([CARD_A], [STB_1])(sim, {})

      expectOk(
        await call(sim, 'AddToExistingPairing', {
          PairedCaClientId: CARD_A,
          ...cards(CARD_B),
          ...stbs(STB_3),
        }),
      )
      const status = await call(sim, 'GetPairingStatusForPairingModule', {
        PairingModuleId: STB_3,
      })

      expectOk(status)
      expect(at(status.response, 'Paired')).toBe('true')
      expect(listAt(status.response, 'CaClientIds', 'CaClientId')).toEqual([CARD_A, CARD_B])
      expect(listAt(status.response, 'PairingModules', 'PairingModule')).toEqual([
        stb(STB_1, 1),
        stb(STB_3, 3),
      ])
      expect((await adminCard(sim, CARD_B)).pairing?.pairingModuleIds).toEqual([STB_1, STB_3])
    })
  })

  describe('STB ownership', () => {
    it("CreatePairing naming an STB paired to another SMS user's card is refused and keeps that pairing", async () => {
      await pair([CARD_OTHER_SMS], [STB_1])(sim, OTHER)
      const before = await caState(sim)

      const refused = await call(sim, 'CreatePairing', { ...cards(CARD_A), ...stbs(STB_1) })

      expectStatus(refused, 'CLIENT_NOT_MANAGED_BY_SMS', STB_1)
      expect(await caState(sim)).toEqual(before)
      expect(modelCard(sim, CARD_OTHER_SMS).pairing?.pairingModuleIds).toEqual([STB_1])
      expect(sim.model.pairingModule(STB_1)?.sms).toBe('other')
    })

    it("AddToExistingPairing naming another SMS user's STB is refused", async () => {
      await pair([CARD_OTHER_SMS], [STB_2])(sim, OTHER)
      await pair([CARD_A], [STB_1])(sim, {})
      const before = await caState(sim)

      const refused = await call(sim, 'AddToExistingPairing', {
        PairedCaClientId: CARD_A,
        ...stbs(STB_2),
      })

      expectStatus(refused, 'CLIENT_NOT_MANAGED_BY_SMS', STB_2)
      expect(await caState(sim)).toEqual(before)
    })

    it("GetPairingStatusForPairingModule on another SMS user's STB is refused; an unowned one answers", async () => {
      await pair([CARD_OTHER_SMS], [STB_1])(sim, OTHER)

      const refused = await call(sim, 'GetPairingStatusForPairingModule', {
        PairingModuleId: STB_1,
      })
      const unowned = await call(sim, 'GetPairingStatusForPairingModule', {
        PairingModuleId: STB_2,
      })

      expectStatus(refused, 'CLIENT_NOT_MANAGED_BY_SMS', STB_1)
      expectOk(unowned)
      expectOk(
        await call(sim, 'GetPairingStatusForPairingModule', { PairingModuleId: STB_1 }, OTHER),
      )
    })

    it("pairs another SMS user's STB under the profile rule stbOwnership 'off'", async () => {
      const open = await startExtra({ rules: { stbOwnership: 'off' } })
      await pair([CARD_OTHER_SMS], [STB_1])(open, OTHER)

      expectOk(await call(open, 'CreatePairing', { ...cards(CARD_A), ...stbs(STB_1) }))

      expect(modelCard(open, CARD_OTHER_SMS).pairing).toBeNull()
      expect(modelCard(open, CARD_A).pairing?.pairingModuleIds).toEqual([STB_1])
    })
  })

  describe('SequenceNumber replays', () => {
    const withSequence = (productId: string, sequenceNumber: number): Children => ({
      ...subs(item(CARD_A, productId, { Distributor: 'Main' })),
      SequenceNumber: sequenceNumber,
    })

    it('AddSubscriptions repeated with the same SequenceNumber and payload is a replay', async () => {
      const first = await call(sim, 'AddSubscriptions', withSequence('GFA1', 7))
      const second = await call(sim, 'AddSubscriptions', withSequence('GFA1', 7))

      expectOk(first)
      expectOk(second)
      expect(second.transactionId).toBe(first.transactionId)
      const entries = (await journal(sim)).filter((e) => e.operation === 'AddSubscriptions')
      expect(entries.map((e) => [e.transactionId, e.replay])).toEqual([
        [first.transactionId, false],
        [first.transactionId, true],
      ])
      expect(modelCard(sim, CARD_A).subscriptions.map((p) => p.productId)).toEqual(['GFA1'])
    })

    it('a replay changes nothing again even after the state moved on', async () => {
      const first = await call(sim, 'AddSubscriptions', withSequence('GFA1', 7))
      expectOk(first)
      expectOk(await call(sim, 'CancelSubscriptions', subs(item(CARD_A, 'GFA1'))))

      const replay = await call(sim, 'AddSubscriptions', withSequence('GFA1', 7), {
        qualified: true,
      })

      expectOk(replay)
      expect(replay.transactionId).toBe(first.transactionId)
      expect(modelCard(sim, CARD_A).subscriptions).toEqual([])
    })

    it('SendMailMessageToClients replayed delivers the mail once', async () => {
      const children = { ...cards(CARD_A), Message: 'Hello', SequenceNumber: 41 }

      const first = await call(sim, 'SendMailMessageToClients', children)
      const second = await call(sim, 'SendMailMessageToClients', children)

      expectOk(first)
      expectOk(second)
      expect(second.transactionId).toBe(first.transactionId)
      expect(modelCard(sim, CARD_A).inbox).toHaveLength(1)
    })

    it('the same SequenceNumber with another payload is refused, journalled and changes nothing', async () => {
      const first = await call(sim, 'AddSubscriptions', withSequence('GFA1', 7))
      const before = await caState(sim)

      const second = await call(sim, 'AddSubscriptions', withSequence('EFA2', 7))

      expectOk(first)
      expectStatus(second, 'INPUT_VALIDATION_ERROR', 'SequenceNumber 7')
      expect(second.message).toContain('AddSubscriptions')
      expect(second.message).toContain(first.transactionId as string)
      expect(second.message).toContain('new SequenceNumber')
      expect(second.transactionId).not.toBe(first.transactionId)
      expect(await caState(sim)).toEqual(before)
      const entries = (await journal(sim)).filter((e) => e.operation === 'AddSubscriptions')
      expect(entries.map((e) => [e.statusCode, e.replay])).toEqual([
        ['OK', false],
        ['INPUT_VALIDATION_ERROR', false],
      ])
    })

    it('a refused reuse leaves the first write replayable, and another operation or user may use the number', async () => {
      const first = await call(sim, 'AddSubscriptions', withSequence('GFA1', 7))
      await call(sim, 'AddSubscriptions', withSequence('EFA2', 7))

      const replay = await call(sim, 'AddSubscriptions', withSequence('GFA1', 7))
      const otherOperation = await call(sim, 'CancelSubscriptions', {
        ...subs(item(CARD_A, 'GFA1')),
        SequenceNumber: 7,
      })
      const otherUser = await call(
        sim,
        'AddSubscriptions',
        { ...subs(item(CARD_OTHER_SMS, 'EFA2')), SequenceNumber: 7 },
        OTHER,
      )

      expect(replay.transactionId).toBe(first.transactionId)
      expectOk(otherOperation)
      expectOk(otherUser)
    })

    it('answers a reused SequenceNumber with the status the profile rule reusedSequenceNumber names', async () => {
      const strict = await startExtra({ rules: { reusedSequenceNumber: 'SYSTEM_ERROR' } })
      expectOk(await call(strict, 'AddSubscriptions', withSequence('GFA1', 7)))

      const second = await call(strict, 'AddSubscriptions', withSequence('EFA2', 7))

      expectStatus(second, 'SYSTEM_ERROR', 'SequenceNumber 7')
      expect(modelCard(strict, CARD_A).subscriptions.map((p) => p.productId)).toEqual(['GFA1'])
    })

    it("applies the same SequenceNumber with another payload as a new write under reusedSequenceNumber 'apply'", async () => {
      const lenient = await startExtra({ rules: { reusedSequenceNumber: 'apply' } })
      const first = await call(lenient, 'AddSubscriptions', withSequence('GFA1', 7))
      const second = await call(lenient, 'AddSubscriptions', withSequence('EFA2', 7))

      expectOk(first)
      expectOk(second)
      expect(second.transactionId).not.toBe(first.transactionId)
      expect(modelCard(lenient, CARD_A).subscriptions.map((p) => p.productId)).toEqual([
        'GFA1',
        'EFA2',
      ])
      const entries = (await journal(lenient)).filter((e) => e.operation === 'AddSubscriptions')
      expect(entries.map((e) => e.replay)).toEqual([false, false])
    })

    it('a write without SequenceNumber repeated is applied again', async () => {
      const children = { ...cards(CARD_A), Message: 'Hello' }

      const first = await call(sim, 'SendMailMessageToClients', children)
      const second = await call(sim, 'SendMailMessageToClients', children)

      expectOk(first)
      expectOk(second)
      expect(second.transactionId).not.toBe(first.transactionId)
      expect(modelCard(sim, CARD_A).inbox).toHaveLength(2)
    })
  })
})
