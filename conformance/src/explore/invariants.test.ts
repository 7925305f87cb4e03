import { describe, expect, it } from 'vitest'
import { loadProvider, type ProvisioningRequest, type Subscription } from '../../../src/index.js'
import {
  caStateMatches,
  everyRequestFinal,
  expectedCards,
  noRejectionWithoutCause,
  nothingAppliedTwice,
  nothingLost,
  perActionOrder,
  type JournalView,
  type RequestView,
} from './invariants.js'
import { EXPLORER_PROVIDER_FILE } from './explore.js'

// The invariants on hand-made requests and journals: each one must notice the one thing it guards.

const CARD_1 = '01460000001'
const CARD_2 = '01460000002'
const STB_1 = '20000000001'

function request(
  number: number,
  command: ProvisioningRequest['command'],
  changes: Partial<RequestView> = {},
): RequestView {
  return {
    number: String(number),
    type: command.type,
    command,
    sequenceNumber: 1000 + number,
    precedence: 1000 + number,
    lifeCycleState: 'COMPLETED',
    referenceNumber: `T${number}`,
    errorCode: null,
    errorDescription: null,
    actionId: 'A1',
    ...changes,
  }
}

function entry(
  seq: number,
  operation: string,
  sequenceNumber: number | null,
  changes: Partial<JournalView> = {},
): JournalView {
  return {
    seq,
    user: 'sms',
    operation,
    request: sequenceNumber === null ? {} : { SequenceNumber: sequenceNumber },
    statusCode: 'OK',
    transactionId: `T${seq}`,
    replay: false,
    ...changes,
  }
}

const pairing = request(1, {
  type: 'CREATE_PAIRING',
  smartcardCaIds: [CARD_2],
  stbCaIds: [STB_1],
  distributor: 'Main',
})
const add = request(2, {
  type: 'ADD_SUBSCRIPTIONS',
  smartcardCaId: CARD_2,
  serviceCaId: 'GFA1',
  distributor: 'Main',
})
const cancel = request(3, {
  type: 'CANCEL_SUBSCRIPTIONS',
  smartcardCaId: CARD_1,
  serviceCaId: 'GFA1',
  distributor: 'Main',
})

describe('per-action order', () => {
  it('passes writes that reached the CA in their planned order, retries and replays included', () => {
    const journal = [
      entry(1, 'CreatePairing', 1001, { statusCode: 'SYSTEM_ERROR' }),
      entry(2, 'CreatePairing', 1001),
      entry(3, 'AddSubscriptions', 1002),
      entry(4, 'AddSubscriptions', 1002, { replay: true }),
      entry(5, 'CancelSubscriptions', 1003),
    ]
    expect(perActionOrder([pairing, add, cancel], journal)).toEqual([])
  })

  it('names the request that overtook an earlier one of its action on another card', () => {
    const journal = [
      entry(1, 'CreatePairing', 1001, { statusCode: 'SYSTEM_ERROR' }),
      entry(2, 'CancelSubscriptions', 1003),
      entry(3, 'CreatePairing', 1001),
      entry(4, 'AddSubscriptions', 1002),
    ]
    const [violation, ...more] = perActionOrder([pairing, add, cancel], journal)
    expect(more).toEqual([])
    expect(violation?.invariant).toBe('per-action-order')
    expect(violation?.actionId).toBe('A1')
    expect(violation?.message).toContain(`#3 CANCEL_SUBSCRIPTIONS card ${CARD_1} product GFA1`)
    expect(violation?.message).toContain('before its earlier #1 CREATE_PAIRING')
  })

  it('does not compare requests of different actions', () => {
    const other = { ...cancel, actionId: 'A2' }
    const journal = [
      entry(1, 'CancelSubscriptions', 1003),
      entry(2, 'CreatePairing', 1001),
      entry(3, 'AddSubscriptions', 1002),
    ]
    expect(perActionOrder([pairing, add, other], journal)).toEqual([])
  })
})

describe('nothing applied twice', () => {
  it('accepts a retry answered as a replay', () => {
    const journal = [
      entry(1, 'AddSubscriptions', 1002),
      entry(2, 'AddSubscriptions', 1002, { replay: true }),
    ]
    expect(nothingAppliedTwice(journal)).toEqual([])
  })

  it('finds a write applied twice with one SequenceNumber', () => {
    const journal = [entry(1, 'AddSubscriptions', 1002), entry(7, 'AddSubscriptions', 1002)]
    const [violation] = nothingAppliedTwice(journal)
    expect(violation?.invariant).toBe('nothing-applied-twice')
    expect(violation?.message).toContain(
      'SequenceNumber 1002 was applied twice (journal #1 and #7)',
    )
  })
})

describe('nothing lost', () => {
  it('finds a COMPLETED write the CA never applied', () => {
    const lost = { ...add, referenceNumber: 'T99' }
    const journal = [
      entry(1, 'CreatePairing', 1001),
      entry(2, 'AddSubscriptions', 1002, { statusCode: 'RESET' }),
    ]
    const violations = nothingLost([pairing, lost], journal)
    expect(violations.map((v) => v.requests)).toEqual([['2']])
    expect(violations[0]?.message).toContain('never applied a write with its SequenceNumber 1002')
  })

  it('accepts a write found by its TransactionId', () => {
    const journal = [entry(5, 'AddSubscriptions', null, { transactionId: 'T2' })]
    expect(nothingLost([add], journal)).toEqual([])
  })
})

describe('no rejection without cause', () => {
  it('accepts a rejection the CA answered, and one refused before sending', () => {
    const refused = {
      ...add,
      lifeCycleState: 'REJECTED' as const,
      errorCode: 'SUBSCRIPTION_NOT_FOUND',
      errorDescription: 'not active',
    }
    const journal = [entry(1, 'AddSubscriptions', 1002, { statusCode: 'SUBSCRIPTION_NOT_FOUND' })]
    expect(noRejectionWithoutCause([refused], journal)).toEqual([])
    expect(noRejectionWithoutCause([refused], [])).toEqual([])
  })

  it('finds a REJECTED request without an error code or description', () => {
    const silent = {
      ...add,
      lifeCycleState: 'REJECTED' as const,
      errorCode: 'SYSTEM_ERROR',
      errorDescription: null,
    }
    const [violation] = noRejectionWithoutCause([silent], [])
    expect(violation?.message).toContain('is REJECTED without an error description')
  })

  it('finds a REJECTED write that the CA applied', () => {
    const wrong = {
      ...add,
      lifeCycleState: 'REJECTED' as const,
      errorCode: 'RESET',
      errorDescription: 'connection reset',
    }
    const journal = [entry(4, 'AddSubscriptions', 1002)]
    const [violation] = noRejectionWithoutCause([wrong], journal)
    expect(violation?.message).toContain('but the CA applied it (journal #4 answered OK)')
  })
})

describe('every request final', () => {
  it('lists the PENDING requests', () => {
    const pending = { ...add, lifeCycleState: 'PENDING' as const, errorCode: 'RESET' }
    const [violation] = everyRequestFinal([pairing, pending])
    expect(violation?.requests).toEqual(['2'])
    expect(violation?.message).toContain('1 request(s) still PENDING')
  })
})

describe('CA state matches the CRM', () => {
  const subscription = (state: Subscription['state']): Subscription => ({
    id: 'S1',
    type: null,
    state,
    services: [{ service: 'GEOLOGICAL', distributor: 'Main', state: 'EFFECTIVE' }],
    installedItems: [
      {
        serialNumber: 'SC-1',
        product: 'SC-CONAX',
        kind: 'SMARTCARD',
        caId: CARD_1,
        distributor: 'Main',
      },
      { serialNumber: 'STB-1', product: 'STB-HD', kind: 'STB', caId: STB_1, distributor: 'Main' },
    ],
    swaps: [],
    createdAt: '2026-11-26T10:00:00.000Z',
    updatedAt: '2026-11-26T10:00:00.000Z',
  })
  const holding = (products: string[], paired: boolean) => ({
    subscriptions: products.map((productId) => ({
      productId,
      distributor: 'Main',
      startDate: '2026-11-26T10:00:00.000Z',
      endDate: null,
    })),
    pairing: paired
      ? { caClientIds: [CARD_1], pairingModuleIds: [STB_1], distributor: 'Main' }
      : null,
  })

  it('accepts a card holding what its active subscription implies', async () => {
    const provider = await loadProvider(EXPLORER_PROVIDER_FILE)
    const expected = expectedCards(provider, [subscription('EFFECTIVE')], [CARD_1, CARD_2])
    const views = new Map([
      [CARD_1, holding(['GFA1'], true)],
      [CARD_2, holding([], false)],
    ])
    expect(caStateMatches(expected, (card) => views.get(card) ?? null)).toEqual([])
  })

  it('finds a missing product, a missing pairing and a product left on a rested card', async () => {
    const provider = await loadProvider(EXPLORER_PROVIDER_FILE)
    const active = expectedCards(provider, [subscription('EFFECTIVE')], [CARD_1])
    const missing = caStateMatches(active, () => holding([], false))
    expect(missing).toHaveLength(1)
    expect(missing[0]?.message).toContain(
      `card ${CARD_1} holds products [], the CRM expects [GFA1@Main]`,
    )
    expect(missing[0]?.message).toContain(`the CRM expects STBs [${STB_1}]`)
    const rested = expectedCards(provider, [subscription('IN_RESTING')], [CARD_1])
    // The pairing of a rested card stays (no operation dissolves one): only the product counts.
    const left = caStateMatches(rested, () => holding(['GFA1'], true))
    expect(left.map((v) => v.message)).toEqual([
      `card ${CARD_1} holds products [GFA1@Main], the CRM expects []`,
    ])
  })
})
