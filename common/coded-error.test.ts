import { describe, expect, it } from 'vitest'
import { CodedError, errorBody, errorLine } from './coded-error.js'

class ShopError extends CodedError<'SHOP_CLOSED' | 'SHOP_GONE'> {
  override readonly name = 'ShopError'
}

describe('CodedError', () => {
  it('carries its code, HTTP status, message, hint, details and cause', () => {
    const cause = new Error('disk full')
    const error = new ShopError('SHOP_CLOSED', 503, 'The shop is closed.', {
      hint: 'Come back at 9.',
      details: { opensAt: '09:00' },
      cause,
    })
    expect(error).toBeInstanceOf(Error)
    expect(error).toBeInstanceOf(CodedError)
    expect(error).toMatchObject({
      name: 'ShopError',
      code: 'SHOP_CLOSED',
      httpStatus: 503,
      message: 'The shop is closed.',
      hint: 'Come back at 9.',
      details: { opensAt: '09:00' },
      cause,
    })
  })

  it('renders as JSON with hint and details only when there are any', () => {
    const bare = new CodedError('SHOP_GONE', 404, 'No such shop.')
    expect(JSON.parse(JSON.stringify(bare))).toEqual({
      code: 'SHOP_GONE',
      message: 'No such shop.',
    })
    expect(Object.hasOwn(bare, 'hint')).toBe(false)
    expect(Object.hasOwn(bare, 'cause')).toBe(false)
    const full = new CodedError('SHOP_CLOSED', 503, 'Closed.', { hint: 'Wait.', details: { a: 1 } })
    expect(errorBody(full)).toEqual({
      error: { code: 'SHOP_CLOSED', message: 'Closed.', hint: 'Wait.', details: { a: 1 } },
    })
  })

  it('renders one terminal line, with the hint after the message', () => {
    expect(errorLine('shop', new CodedError('SHOP_GONE', 404, 'No such shop.'))).toBe(
      'shop: SHOP_GONE: No such shop.',
    )
    expect(
      errorLine('shop', new CodedError('SHOP_CLOSED', 503, 'Closed.', { hint: 'Wait.' })),
    ).toBe('shop: SHOP_CLOSED: Closed. Wait.')
  })
})
