import { describe, expect, it } from 'vitest'
import { isSplittable, type ConaxCommand } from './commands.js'
import { cardsLeftOut, planSplit } from './split.js'

const CARDS = ['01000000001', '01000000002', '01000000003', '01000000004', '01000000005']

const bark = (cards: readonly string[]): ConaxCommand => ({
  type: 'SEND_BARK_MESSAGE_TO_CLIENT',
  smartcardCaIds: cards,
  message: 'Hello',
  startIndicationTime: null,
  displayDurationInSeconds: 20,
  distributor: 'Main',
  communicationQueueNumber: '12',
})

const cardsOf = (command: ConaxCommand): readonly string[] =>
  'smartcardCaIds' in command ? command.smartcardCaIds : []

describe('planSplit', () => {
  it('takes the cards the CA names out and sends the rest again, keeping every other field', () => {
    const plan = planSplit(bark(CARDS), {
      errorCode: 'CLIENT_NOT_FOUND',
      errorDescription: "CaClientId '01000000004' is not known to the CA system.",
    })

    expect(plan?.failed).toEqual(['01000000004'])
    expect(plan?.parts).toEqual([
      bark(['01000000001', '01000000002', '01000000003', '01000000005']),
    ])
  })

  it('takes out every named card, and sends nothing again when all are named', () => {
    const two = planSplit(bark(CARDS.slice(0, 2)), {
      errorCode: 'CLIENT_NOT_MANAGED_BY_SMS',
      errorDescription: 'Cards 01000000001 and 01000000002 belong to another SMS',
    })

    expect(two).toEqual({ failed: CARDS.slice(0, 2), parts: [] })
  })

  it('halves the batch when the status blames a card but names none of the batch', () => {
    const plan = planSplit(bark(CARDS), {
      errorCode: 'CLIENT_NOT_FOUND',
      errorDescription: 'Unknown client 99999999999 (not in this batch).',
    })

    expect(plan?.failed).toEqual([])
    expect(plan?.parts.map(cardsOf)).toEqual([CARDS.slice(0, 3), CARDS.slice(3)])
  })

  it('always halves in bisect mode, whatever the message names', () => {
    const plan = planSplit(
      bark(CARDS),
      { errorCode: 'CLIENT_NOT_FOUND', errorDescription: "CaClientId '01000000004' unknown" },
      'bisect',
    )

    expect(plan?.failed).toEqual([])
    expect(plan?.parts.map(cardsOf)).toEqual([CARDS.slice(0, 3), CARDS.slice(3)])
  })

  it('splits off a malformed card named by INPUT_VALIDATION_ERROR, but not an unnamed one', () => {
    const named = planSplit(bark(CARDS), {
      errorCode: 'INPUT_VALIDATION_ERROR',
      errorDescription: "CaClientId '01000000002' must be exactly 11 digits.",
    })
    const unnamed = planSplit(bark(CARDS), {
      errorCode: 'INPUT_VALIDATION_ERROR',
      errorDescription: 'Message is 130 characters long; at most 129 are allowed.',
    })

    expect(named?.failed).toEqual(['01000000002'])
    expect(unnamed).toBeNull()
  })

  it('does not split a single card, a status that blames the request, a pairing, or mode off', () => {
    const unknown = { errorCode: 'CLIENT_NOT_FOUND', errorDescription: '01000000001' }

    expect(planSplit(bark(CARDS.slice(0, 1)), unknown)).toBeNull()
    expect(
      planSplit(bark(CARDS), { errorCode: 'FEATURE_NOT_AVAILABLE', errorDescription: '' }),
    ).toBeNull()
    expect(planSplit(bark(CARDS), unknown, 'off')).toBeNull()
    expect(
      planSplit(
        { type: 'CREATE_PAIRING', smartcardCaIds: CARDS, stbCaIds: ['1'], distributor: null },
        unknown,
      ),
    ).toBeNull()
  })

  it('ignores digits that are part of a longer number', () => {
    const plan = planSplit(bark(CARDS), {
      errorCode: 'CLIENT_NOT_FOUND',
      errorDescription: 'transaction 1010000000001 failed',
    })

    expect(plan?.failed).toEqual([])
    expect(plan?.parts).toHaveLength(2)
  })
})

describe('isSplittable and cardsLeftOut', () => {
  it('knows the batch commands and the cards a split left out', () => {
    expect(isSplittable(bark(CARDS))).toBe(true)
    expect(
      isSplittable({
        type: 'UPDATE_CA_PIN_TO_DEFAULT_VALUE',
        smartcardCaId: '1',
        distributor: null,
      }),
    ).toBe(false)
    expect(cardsLeftOut(bark(CARDS), [bark(CARDS.slice(0, 2)), bark(CARDS.slice(3, 4))])).toEqual([
      '01000000003',
      '01000000005',
    ])
  })
})
