import { describe, expect, it } from 'vitest'
import { StoreError, type StoreErrorCode } from './store-error.js'

describe('StoreError', () => {
  it.each<[StoreErrorCode, number]>([
    ['REQUEST_NOT_FOUND', 404],
    ['REQUEST_NOT_PENDING', 503],
    ['STORE_UNREADABLE', 503],
    ['STORE_FOLDER_MISSING', 503],
    ['STORE_WRITE_FAILED', 503],
    ['STORE_LOCKED', 503],
    ['SEQUENCE_NUMBERS_EXHAUSTED', 503],
  ])('%s answers HTTP %i', (code, status) => {
    const error = new StoreError(code, 'What failed.')
    expect(error).toMatchObject({ name: 'StoreError', code, httpStatus: status })
    expect(error.toJSON()).toEqual({ code, message: 'What failed.' })
  })
})
