import { describe, expect, it } from 'vitest'
import type { FingerprintInput } from './messages.js'
import {
  CARD_A,
  CARD_B,
  CARD_UNKNOWN,
  NOW,
  ctx,
  aModel,
  cardOf,
  codeOf,
  valueOf,
  mail,
  bark,
  repeatingBark,
  fingerprint,
} from './test-support/model-fixtures.js'

describe('CaModel messages', () => {
  it('puts a mail message of 141 characters in the inbox with its transaction', () => {
    const model = aModel()
    const text = 'm'.repeat(141)

    const outcome = model.sendMail(ctx, {
      ...mail(text, [CARD_A, CARD_B, CARD_A]),
      startIndicationTime: '2026-11-27T08:00:00.000Z',
      sequenceNumber: 7,
    })

    expect(valueOf(outcome)).toBe(2)
    expect(cardOf(model, CARD_B).inbox).toEqual([
      {
        message: text,
        startIndicationTime: '2026-11-27T08:00:00.000Z',
        receivedAt: NOW,
        transactionId: 'tx-1',
        sequenceNumber: 7,
      },
    ])
    expect(cardOf(model, CARD_A).inbox).toHaveLength(1)
  })

  it('rejects a mail message of 142 characters and an empty one', () => {
    const model = aModel()

    const long = model.sendMail(ctx, mail('m'.repeat(142)))
    const empty = model.sendMail(ctx, mail(''))

    expect(codeOf(long)).toBe('INPUT_VALIDATION_ERROR')
    expect(long.message).toContain('142 characters')
    expect(codeOf(empty)).toBe('INPUT_VALIDATION_ERROR')
    expect(cardOf(model, CARD_A).inbox).toEqual([])
  })

  it('counts characters, not UTF-16 code units', () => {
    const model = aModel()

    const outcome = model.sendMail(ctx, mail('😀'.repeat(141)))

    expect(valueOf(outcome)).toBe(1)
  })

  it('shows a bark of 129 characters with a default duration of 20 seconds and rejects 130', () => {
    const model = aModel()

    valueOf(model.sendBark(ctx, bark('b'.repeat(129))))
    const long = model.sendBark(ctx, bark('b'.repeat(130)))

    expect(codeOf(long)).toBe('INPUT_VALIDATION_ERROR')
    expect(cardOf(model, CARD_A).screen).toEqual([
      {
        kind: 'BARK',
        message: 'b'.repeat(129),
        displayDurationInSeconds: 20,
        startIndicationTime: null,
        repetitionCount: null,
        repetitionIntervalInSeconds: null,
        receivedAt: NOW,
        transactionId: 'tx-1',
        sequenceNumber: null,
      },
    ])
  })

  it('rejects a bark display duration below 1 second', () => {
    const model = aModel()

    const outcome = model.sendBark(ctx, bark('hello', { displayDurationInSeconds: 0 }))

    expect(codeOf(outcome)).toBe('INPUT_VALIDATION_ERROR')
    expect(outcome.message).toContain('DisplayDurationInSeconds')
  })

  it("accepts 129 'é' counted in characters and rejects them as 258 UTF-8 bytes", () => {
    const text = 'é'.repeat(129)
    const inCharacters = aModel()
    const inBytes = aModel({ messageLengthUnit: 'utf8-bytes' })

    const byCharacters = inCharacters.sendBark(ctx, bark(text))
    const byBytes = inBytes.sendBark(ctx, bark(text))
    const fitsInBytes = inBytes.sendBark(ctx, bark('é'.repeat(64)))

    expect(valueOf(byCharacters)).toBe(1)
    expect(codeOf(byBytes)).toBe('INPUT_VALIDATION_ERROR')
    expect(byBytes.message).toContain('258 UTF-8 bytes')
    expect(valueOf(fitsInBytes)).toBe(1)
  })

  it('counts a mail message in UTF-8 bytes under that profile', () => {
    const model = aModel({ messageLengthUnit: 'utf8-bytes' })

    const fits = model.sendMail(ctx, mail('€'.repeat(47)))
    const tooLong = model.sendMail(ctx, mail('€'.repeat(48)))

    expect(valueOf(fits)).toBe(1)
    expect(codeOf(tooLong)).toBe('INPUT_VALIDATION_ERROR')
    expect(tooLong.message).toContain('144 UTF-8 bytes')
  })

  it.each([10, 20, 2540, 2550])('accepts a repetition interval of %i seconds', (interval) => {
    const model = aModel()

    valueOf(model.sendRepeatingBark(ctx, repeatingBark(interval)))

    expect(cardOf(model, CARD_A).screen[0]).toMatchObject({
      kind: 'REPEATING_BARK',
      repetitionCount: 3,
      repetitionIntervalInSeconds: interval,
    })
  })

  it.each([0, 5, 15, 2555, 2560, -10])(
    'rejects a repetition interval of %i seconds',
    (interval) => {
      const model = aModel()

      const outcome = model.sendRepeatingBark(ctx, repeatingBark(interval))

      expect(codeOf(outcome)).toBe('INPUT_VALIDATION_ERROR')
      expect(outcome.message).toContain('RepetitionIntervalInSeconds')
      expect(cardOf(model, CARD_A).screen).toEqual([])
    },
  )

  it('rejects a repetition count below 1', () => {
    const model = aModel()

    const outcome = model.sendRepeatingBark(ctx, repeatingBark(60, 0))

    expect(codeOf(outcome)).toBe('INPUT_VALIDATION_ERROR')
    expect(outcome.message).toContain('RepetitionCount')
  })

  it('keeps the newest messages when maxMessagesPerCard is reached', () => {
    const model = aModel({ maxMessagesPerCard: 3 })

    for (const n of [1, 2, 3, 4, 5]) {
      valueOf(model.sendMail({ ...ctx, transactionId: `tx-${n}` }, mail(`message ${n}`)))
      valueOf(model.sendBark(ctx, bark(`bark ${n}`)))
      valueOf(model.displayFingerprint({ ...ctx, transactionId: `tx-${n}` }, fingerprint()))
    }

    const card = cardOf(model, CARD_A)
    expect(card.inbox.map((m) => m.message)).toEqual(['message 3', 'message 4', 'message 5'])
    expect(card.screen.map((m) => m.message)).toEqual(['bark 3', 'bark 4', 'bark 5'])
    expect(card.fingerprints.map((f) => f.transactionId)).toEqual(['tx-3', 'tx-4', 'tx-5'])
  })

  it('delivers nothing when one card of the request is unknown', () => {
    const model = aModel()

    const outcome = model.sendMail(ctx, mail('hello', [CARD_A, CARD_UNKNOWN]))

    expect(codeOf(outcome)).toBe('CLIENT_NOT_FOUND')
    expect(outcome.message).toContain(CARD_UNKNOWN)
    expect(cardOf(model, CARD_A).inbox).toEqual([])
  })
})

describe('CaModel fingerprints', () => {
  it('schedules a fingerprint with the defaults: now, 10 seconds, height 12, slot A', () => {
    const model = aModel()

    valueOf(model.displayFingerprint(ctx, fingerprint()))

    expect(cardOf(model, CARD_A).fingerprints).toEqual([
      {
        displayTime: NOW,
        durationInSeconds: 10,
        positionX: null,
        positionY: null,
        height: 12,
        slot: 'A',
        receivedAt: NOW,
        transactionId: 'tx-1',
        sequenceNumber: null,
      },
    ])
  })

  it('keeps the values given for a fingerprint', () => {
    const model = aModel()

    valueOf(
      model.displayFingerprint(
        ctx,
        fingerprint({
          displayTime: '2026-11-26T20:30:00.000Z',
          durationInSeconds: 30,
          positionX: 0,
          positionY: 640,
          height: 24,
          slot: 'B',
          sequenceNumber: 5,
        }),
      ),
    )

    expect(cardOf(model, CARD_A).fingerprints[0]).toMatchObject({
      displayTime: '2026-11-26T20:30:00.000Z',
      durationInSeconds: 30,
      positionX: 0,
      positionY: 640,
      height: 24,
      slot: 'B',
      sequenceNumber: 5,
    })
  })

  it.each<[string, Partial<FingerprintInput>]>([
    ['DurationInSeconds', { durationInSeconds: 0 }],
    ['Height', { height: 0 }],
    ['PositionX', { positionX: -1 }],
    ['PositionY', { positionY: -5 }],
    ['Slot', { slot: 'C' }],
    ['CaClientId', { caClientIds: [CARD_A, '123'] }],
  ])('rejects a fingerprint with a bad %s', (name, extra) => {
    const model = aModel()

    const outcome = model.displayFingerprint(ctx, fingerprint(extra))

    expect(codeOf(outcome)).toBe('INPUT_VALIDATION_ERROR')
    expect(outcome.message).toContain(name)
    expect(cardOf(model, CARD_A).fingerprints).toEqual([])
  })
})
