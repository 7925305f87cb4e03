import { describe, expect, it } from 'vitest'
import { SimulatorError } from '../runtime/simulator-error.js'
import {
  checkInventoryShape,
  readActivation,
  readCardsQuery,
  readClockAdvance,
  readJournalQuery,
  readReset,
} from './admin-requests.js'

/** The coded error a reader throws for `input`. */
function refusal(read: () => unknown): { code: string; httpStatus: number; message: string } {
  try {
    read()
  } catch (error) {
    expect(error).toBeInstanceOf(SimulatorError)
    const { code, httpStatus, message } = error as SimulatorError
    return { code, httpStatus, message }
  }
  throw new Error('expected the reader to refuse its input')
}

describe('admin request bodies', () => {
  it('reads an absent body as empty and a valid one as typed values', () => {
    expect(readReset(undefined)).toBe(false)
    expect(readReset({ keepInventory: true })).toBe(true)
    expect(readActivation(undefined)).toEqual({ distributor: null, startDate: null, endDate: null })
    expect(
      readActivation({
        distributor: 'Main',
        startDate: '2026-11-26T11:00:00+01:00',
        endDate: null,
      }),
    ).toEqual({ distributor: 'Main', startDate: '2026-11-26T10:00:00.000Z', endDate: null })
    expect(readClockAdvance({ advanceMs: 0 })).toBe(0)
  })

  it.each([
    [
      'a misspelt reset field',
      () => readReset({ keepinventory: true }),
      /"keepinventory".*takes keepInventory/,
    ],
    [
      'a reset flag that is text',
      () => readReset({ keepInventory: 'yes' }),
      /^keepInventory must be true or false, not "yes"/,
    ],
    [
      'a reset body that is a list',
      () => readReset([true]),
      /^The body of a reset must be a JSON object, not \[true\]/,
    ],
    [
      'an activation date without a zone',
      () => readActivation({ startDate: '2026-11-26T10:00:00' }),
      /^startDate must be an ISO-8601 date-time with a zone/,
    ],
    [
      'an activation distributor that is a number',
      () => readActivation({ distributor: 5 }),
      /^distributor must be a string when given/,
    ],
    ['a clock moved back', () => readClockAdvance({ advanceMs: -1 }), /advanceMs/],
    ['a clock without advanceMs', () => readClockAdvance(undefined), /advanceMs/],
  ])('refuses %s with INVALID_REQUEST (400) naming the field', (_name, read, message) => {
    const error = refusal(read)
    expect(error).toMatchObject({ code: 'INVALID_REQUEST', httpStatus: 400 })
    expect(error.message).toMatch(message)
  })

  it.each([
    ['an unknown top-level field', { cards: [] }, /^The inventory has unknown field\(s\) "cards"/],
    [
      'a list item that is null',
      { smartcards: [null] },
      /^smartcards\[0\] is invalid: expected object, received null/,
    ],
    [
      'a card id that is a number',
      { smartcards: [{ caClientId: 5 }] },
      /^smartcards\[0\]\.caClientId must be a string/,
    ],
    [
      'an STB without a serial number',
      { pairingModules: [{ pairingModuleId: '1' }] },
      /^pairingModules\[0\]\.serialNumber is missing/,
    ],
    [
      'a product name that is a number',
      { products: [{ productId: 'GFA1', name: 1 }] },
      /^products\[0\]\.name must be a string when given/,
    ],
    [
      'a prototype key',
      JSON.parse('{"__proto__":{"smartcards":[]}}'),
      /unknown field\(s\) "__proto__"/,
    ],
  ])(
    'refuses an inventory with %s with INVALID_INVENTORY (400) naming the item',
    (_name, body, message) => {
      const error = refusal(() => checkInventoryShape(body))
      expect(error).toMatchObject({ code: 'INVALID_INVENTORY', httpStatus: 400 })
      expect(error.message).toMatch(message)
    },
  )
})

describe('admin query parameters', () => {
  it('reads numbers as Number() does, with the defaults of each route', () => {
    expect(readCardsQuery({}, 10_000)).toEqual({ offset: 0, limit: 100 })
    expect(readCardsQuery({ offset: '5', limit: '1e3' }, 10_000)).toEqual({
      offset: 5,
      limit: 1000,
    })
    expect(
      readJournalQuery({ since: '3', operation: 'CreatePairing', service: ['a', 'b'] }, 10),
    ).toEqual({
      after: 3,
      limit: 10,
      operation: 'CreatePairing',
      service: undefined,
    })
    expect(readJournalQuery({ after: '4', limit: '2' }, 10)).toMatchObject({ after: 4, limit: 2 })
    expect(refusal(() => readJournalQuery({ after: '4', since: '5' }, 10))).toMatchObject({
      code: 'INVALID_REQUEST',
      message: expect.stringContaining('after (4) and since (5) disagree') as string,
    })
  })

  it('refuses a number that is not one, naming the parameter (400), and a page above the maximum (422)', () => {
    expect(refusal(() => readCardsQuery({ limit: 'abc' }, 10))).toEqual({
      code: 'INVALID_REQUEST',
      httpStatus: 400,
      message: 'Query parameter limit must be an integer of at least 1, not "abc".',
    })
    expect(refusal(() => readJournalQuery({ limit: ['1', '2'] }, 10)).message).toMatch(
      /^Query parameter limit /,
    )
    expect(refusal(() => readJournalQuery({ since: '-1' }, 10)).message).toMatch(
      /^Query parameter since /,
    )
    expect(refusal(() => readJournalQuery({ limit: '11' }, 10))).toMatchObject({
      code: 'LIMIT_EXCEEDED',
      httpStatus: 422,
    })
    expect(refusal(() => readCardsQuery({}, 2))).toMatchObject({ code: 'LIMIT_EXCEEDED' })
  })
})
