import { describe, expect, it } from 'vitest'
import {
  CARD_A,
  CARD_OTHER_SMS,
  CARD_UNKNOWN,
  ctx,
  aModel,
  cardOf,
  codeOf,
  valueOf,
} from './test-support/model-fixtures.js'

describe('CaModel PIN', () => {
  it('sets a given PIN and resets it to 1234', () => {
    const model = aModel()

    const given = model.updatePin(ctx, CARD_A, '9876')
    const pinAfterGiven = cardOf(model, CARD_A).pin
    const reset = model.updatePin(ctx, CARD_A, null)

    expect(valueOf(given)).toBe('9876')
    expect(pinAfterGiven).toBe('9876')
    expect(valueOf(reset)).toBe('1234')
    expect(cardOf(model, CARD_A).pin).toBe('1234')
  })

  it('resets to the defaultPin of the rules', () => {
    const model = aModel({ defaultPin: '0000' })
    valueOf(model.updatePin(ctx, CARD_A, '9876'))

    valueOf(model.updatePin(ctx, CARD_A, null))

    expect(cardOf(model, CARD_A).pin).toBe('0000')
  })

  it.each(['123', '12345', '12a4', ' 1234', ''])("rejects the PIN '%s'", (pin) => {
    const model = aModel()

    const outcome = model.updatePin(ctx, CARD_A, pin)

    expect(codeOf(outcome)).toBe('INPUT_VALIDATION_ERROR')
    expect(cardOf(model, CARD_A).pin).toBe('1234')
  })

  it('refuses a PIN change on an unknown card and on a card of another SMS', () => {
    const model = aModel()

    expect(codeOf(model.updatePin(ctx, CARD_UNKNOWN, '1111'))).toBe('CLIENT_NOT_FOUND')
    expect(codeOf(model.updatePin(ctx, CARD_OTHER_SMS, null))).toBe('CLIENT_NOT_MANAGED_BY_SMS')
    expect(cardOf(model, CARD_OTHER_SMS).pin).toBe('1234')
  })
})
