import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { checkWith, formatZodError, issuePath, issueWords } from './zod-issues.js'

const card = z.object({
  caClientId: z.string(),
  pin: z.string().nullable(),
  slot: z.enum(['A', 'B']),
  id: z.string().regex(/^P\d+$/, 'must be P followed by a number'),
  count: z.number().int().min(1),
})
const store = z.object({ format: z.literal('v1'), cards: z.array(card) })

const good = { caClientId: '01450253313', pin: null, slot: 'A', id: 'P1', count: 1 }

function problemOf(data: unknown, root?: string): string {
  const parsed = store.safeParse(data, { error: issueWords })
  expect(parsed.success).toBe(false)
  return parsed.success
    ? ''
    : formatZodError(parsed.error, data, root === undefined ? {} : { root })
}

describe('issuePath', () => {
  it('writes list items as [n] and fields with dots', () => {
    expect(issuePath(['model', 'cards', 3, 'pin'])).toBe('model.cards[3].pin')
    expect(issuePath([0, 'a'])).toBe('[0].a')
    expect(issuePath([])).toBe('')
  })
})

describe('formatZodError with issueWords', () => {
  it('names a missing field as missing', () => {
    expect(problemOf({ format: 'v1', cards: [{ ...good, caClientId: undefined }] })).toBe(
      'cards[0].caClientId is missing',
    )
  })

  it('names a field of the wrong type, with the type expected and the one received', () => {
    expect(problemOf({ format: 'v1', cards: [{ ...good, pin: 1234 }] })).toBe(
      'cards[0].pin is invalid: expected string, received number',
    )
    expect(problemOf({ format: 'v1', cards: [null] })).toBe(
      'cards[0] is invalid: expected object, received null',
    )
    expect(problemOf({ format: 'v1', cards: {} })).toBe(
      'cards is invalid: expected array, received object',
    )
  })

  it('names the values allowed', () => {
    expect(problemOf({ format: 'v1', cards: [{ ...good, slot: 'C' }] })).toBe(
      'cards[0].slot is invalid: expected one of "A"|"B"',
    )
    expect(problemOf({ format: 'v2', cards: [] })).toBe('format is invalid: expected "v1"')
  })

  it("keeps a schema's own message and zod's words for what it does not word", () => {
    expect(problemOf({ format: 'v1', cards: [{ ...good, id: 'X' }] })).toBe(
      'cards[0].id must be P followed by a number',
    )
    expect(problemOf({ format: 'v1', cards: [{ ...good, count: 0 }] })).toMatch(
      /^cards\[0\]\.count Too small/,
    )
  })

  it('names the top level by the root given, or not at all', () => {
    expect(problemOf(null, 'the top level')).toBe(
      'the top level is invalid: expected object, received null',
    )
    expect(problemOf([])).toBe('is invalid: expected object, received array')
  })

  it('lists unknown fields of a strict object', () => {
    const strict = z.strictObject({ keepInventory: z.boolean().optional() })
    const data = JSON.parse('{"keepinventory":true,"__proto__":1}') as unknown
    const parsed = strict.safeParse(data, { error: issueWords })
    expect(parsed.success).toBe(false)
    expect(parsed.success ? '' : formatZodError(parsed.error, data, { root: 'The body' })).toBe(
      'The body has unknown field(s) "keepinventory", "__proto__"',
    )
  })
})

describe('checkWith', () => {
  it('answers the parsed value, or the first problem in one line', () => {
    expect(checkWith(store, { format: 'v1', cards: [good] })).toEqual({
      ok: true,
      value: { format: 'v1', cards: [good] },
    })
    expect(checkWith(store, { format: 'v1' }, { root: 'the store' })).toEqual({
      ok: false,
      problem: 'cards is missing',
    })
  })
})
