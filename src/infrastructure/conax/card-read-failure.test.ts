import { describe, expect, it } from 'vitest'
import { CardReadError, type CaReader } from '../../application/runs/run-ports.js'
import { cardReadErrorOf, classifiedReader, scopeOf } from './card-read-failure.js'
import { CaReadError, type CaReadErrorCode } from './fast-reader.js'

const CARD = '01450250001'

function readError(code: CaReadErrorCode, detail: string | null): CaReadError {
  return new CaReadError({
    code,
    caId: CARD,
    operation: 'GetActiveSubscriptions',
    detail,
    message: `Failed to read card ${CARD}: ${detail ?? code}.`,
  })
}

describe('scopeOf', () => {
  it.each<[CaReadErrorCode, string | null, 'CARD' | 'CA']>([
    ['CA_UNREACHABLE', 'CONNECTION_REFUSED', 'CA'],
    ['CA_TIMEOUT', 'TIMEOUT', 'CA'],
    ['CA_FAILED', 'HTTP_503', 'CA'],
    ['READER_CLOSED', null, 'CA'],
    ['CA_REFUSED', 'UNAUTHORIZED', 'CA'],
    ['CA_REFUSED', 'FORBIDDEN', 'CA'],
    ['CA_REFUSED', 'HTTP_404', 'CA'],
    ['CA_REFUSED', 'SOAP_CLIENT_FAULT', 'CA'],
    ['CA_REFUSED', 'CLIENT_NOT_MANAGED_BY_SMS', 'CARD'],
    ['CA_REFUSED', 'REQUEST_TOO_LARGE', 'CARD'],
    ['CA_REFUSED', 'HTTP_', 'CARD'],
    ['CA_REFUSED', null, 'CARD'],
    ['INVALID_CA_ID', null, 'CARD'],
    ['MALFORMED_ANSWER', 'MALFORMED_ANSWER', 'CARD'],
  ])('%s with %s: %s', (code, detail, scope) => {
    expect(scopeOf(code, detail)).toBe(scope)
  })
})

describe('cardReadErrorOf', () => {
  it("lists the classified cause as the card's status, and keeps the message", () => {
    const error = cardReadErrorOf(CARD, readError('CA_REFUSED', 'CLIENT_NOT_MANAGED_BY_SMS'))
    expect(error).toBeInstanceOf(CardReadError)
    expect(error).toMatchObject({
      code: 'CLIENT_NOT_MANAGED_BY_SMS',
      scope: 'CARD',
      card: CARD,
      message: `Failed to read card ${CARD}: CLIENT_NOT_MANAGED_BY_SMS.`,
    })
  })

  it("takes the reader's code when there is no cause, and READ_FAILED for a stranger", () => {
    const timedOut = Object.assign(new Error('timed out'), { code: 'CA_TIMEOUT' })
    expect(cardReadErrorOf(CARD, timedOut)).toMatchObject({ code: 'CA_TIMEOUT', scope: 'CA' })
    expect(cardReadErrorOf(CARD, new Error('bug'))).toMatchObject({
      code: 'READ_FAILED',
      scope: 'CARD',
      message: 'bug',
    })
    expect(cardReadErrorOf(CARD, 'odd')).toMatchObject({ code: 'READ_FAILED', message: 'odd' })
  })

  it('passes a CardReadError through as it is', () => {
    const given = new CardReadError({ code: 'X', scope: 'CA', card: CARD, message: 'm' })
    expect(cardReadErrorOf(CARD, given)).toBe(given)
  })
})

describe('classifiedReader', () => {
  it('answers what the reader answers and classifies its rejections', async () => {
    const observed = { known: true, products: [], pairedStbs: [] }
    let closed = false
    const inner: CaReader = {
      readCard: (caId) =>
        caId === CARD
          ? Promise.resolve(observed)
          : Promise.reject(readError('CA_TIMEOUT', 'TIMEOUT')),
      close: () => {
        closed = true
        return Promise.resolve()
      },
    }
    const reader = classifiedReader(inner)
    expect(await reader.readCard(CARD)).toBe(observed)
    await expect(reader.readCard('01450250002')).rejects.toMatchObject({
      name: 'CardReadError',
      code: 'TIMEOUT',
      scope: 'CA',
      card: '01450250002',
    })
    await reader.close()
    expect(closed).toBe(true)
  })
})
