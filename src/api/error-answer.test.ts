import { describe, expect, it } from 'vitest'
import { CodedError } from '../../common/coded-error.js'
import { AdapterError } from '../application/adapter-error.js'
import { codedErrorOf, errorAnswer } from './error-answer.js'

/** An error of another layer, which the API knows only as a CodedError (a store's, say). */
class LayerError extends CodedError<'STORE_WRITE_FAILED' | 'REQUEST_NOT_FOUND'> {
  override readonly name = 'LayerError'
}

/** Status and body the API answers `error` with. */
function answerOf(error: unknown): { status: number; body: unknown } {
  const coded = codedErrorOf(error, 1024)
  return { status: coded.httpStatus, body: errorAnswer(coded) }
}

describe('the API error answer', () => {
  it('answers any coded error with its own status, whichever layer threw it', () => {
    expect(answerOf(new LayerError('STORE_WRITE_FAILED', 503, 'The disk is full.'))).toEqual({
      status: 503,
      body: { error: { code: 'STORE_WRITE_FAILED', message: 'The disk is full.', details: {} } },
    })
    expect(answerOf(new LayerError('REQUEST_NOT_FOUND', 404, 'No request 7.')).status).toBe(404)
    expect(
      answerOf(new AdapterError('INVALID_FIELD', 'pin: 4 digits.', { details: { field: 'pin' } })),
    ).toEqual({
      status: 400,
      body: {
        error: { code: 'INVALID_FIELD', message: 'pin: 4 digits.', details: { field: 'pin' } },
      },
    })
    expect(answerOf(new CodedError('SOMETHING', 418, 'Tea.', { hint: 'Try coffee.' }))).toEqual({
      status: 418,
      body: { error: { code: 'SOMETHING', message: 'Tea.', hint: 'Try coffee.', details: {} } },
    })
  })

  it("gives express's refusals their code and keeps their status", () => {
    const tooLarge = Object.assign(new Error('request entity too large'), {
      status: 413,
      type: 'entity.too.large',
    })
    expect(answerOf(tooLarge)).toMatchObject({
      status: 413,
      body: { error: { code: 'PAYLOAD_TOO_LARGE', details: { limit: 1024 } } },
    })
    const charset = Object.assign(new Error('unsupported charset "X"'), {
      status: 415,
      type: 'charset.unsupported',
    })
    expect(answerOf(charset)).toEqual({
      status: 415,
      body: {
        error: {
          code: 'INVALID_REQUEST',
          message: 'The request body is not valid JSON: unsupported charset "X"',
          details: {},
        },
      },
    })
    expect(answerOf(Object.assign(new URIError('URI malformed'), { status: 400 }))).toMatchObject({
      status: 400,
      body: { error: { message: 'The request cannot be read: URI malformed.' } },
    })
  })

  it('answers anything else as a bug: 500 INTERNAL with its message', () => {
    expect(answerOf(new TypeError('x is undefined'))).toEqual({
      status: 500,
      body: {
        error: { code: 'INTERNAL', message: 'Internal adapter error: x is undefined', details: {} },
      },
    })
  })
})
