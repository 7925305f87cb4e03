import { describe, expect, it } from 'vitest'
import { diffSequences, partialMismatches, sequenceFailed } from './compare.js'

const A = 'ADD_SUBSCRIPTIONS card=01450250001 service=GFA1 distributor=Main'
const B = 'CANCEL_SUBSCRIPTIONS card=01450250001 service=GFA1 distributor=Main'
const C = 'ADD_SUBSCRIPTIONS card=01450250002 service=GFA1 distributor=Main'

describe('diffSequences, ordered', () => {
  it('finds no divergence in equal sequences', () => {
    const diff = diffSequences([A, B], [A, B], true)
    expect(diff).toEqual({
      expected: [A, B],
      actual: [A, B],
      firstDivergence: null,
      ordered: true,
      missing: [],
      unexpected: [],
    })
    expect(sequenceFailed(diff)).toBe(false)
  })

  it('points at the first differing row and lists the multiset differences', () => {
    const diff = diffSequences([A, B, C], [A, C, C], true)
    expect(diff.firstDivergence).toBe(1)
    expect(diff.missing).toEqual([B])
    expect(diff.unexpected).toEqual([C])
    expect(sequenceFailed(diff)).toBe(true)
  })

  it('shows a reordering as a divergence with nothing missing or unexpected', () => {
    const diff = diffSequences([A, B], [B, A], true)
    expect(diff.firstDivergence).toBe(0)
    expect(diff.missing).toEqual([])
    expect(diff.unexpected).toEqual([])
    expect(sequenceFailed(diff)).toBe(true)
  })

  it('diverges at the shorter length when one sequence is a prefix of the other', () => {
    expect(diffSequences([A, B], [A], true)).toMatchObject({ firstDivergence: 1, missing: [B] })
    expect(diffSequences([A], [A, B], true)).toMatchObject({ firstDivergence: 1, unexpected: [B] })
    expect(diffSequences([], [A], true).firstDivergence).toBe(0)
  })

  it('counts repeated lines', () => {
    const diff = diffSequences([A, A], [A], true)
    expect(diff.missing).toEqual([A])
    expect(diff.unexpected).toEqual([])
  })

  it('copies its inputs', () => {
    const expected = [A]
    const diff = diffSequences(expected, [A], true)
    expected.push(B)
    expect(diff.expected).toEqual([A])
  })
})

describe('diffSequences, unordered', () => {
  it('accepts a reordering', () => {
    const diff = diffSequences([A, B], [B, A], false)
    expect(diff).toMatchObject({
      firstDivergence: null,
      ordered: false,
      missing: [],
      unexpected: [],
    })
    expect(sequenceFailed(diff)).toBe(false)
  })

  it('points at the first missing expected line', () => {
    const diff = diffSequences([A, B, C], [C, A], false)
    expect(diff).toMatchObject({ firstDivergence: 1, missing: [B], unexpected: [] })
    expect(sequenceFailed(diff)).toBe(true)
  })

  it('points past the end when lines are only unexpected', () => {
    const diff = diffSequences([A], [C, A], false)
    expect(diff).toMatchObject({ firstDivergence: 1, missing: [], unexpected: [C] })
    expect(sequenceFailed(diff)).toBe(true)
  })

  it('treats a repeated line as missing where its extra occurrence is', () => {
    const diff = diffSequences([A, B, A], [A, B], false)
    expect(diff).toMatchObject({ firstDivergence: 2, missing: [A], unexpected: [] })
  })
})

describe('sequenceFailed', () => {
  it('judges from the lines under the diff ordering rule', () => {
    const base = { firstDivergence: null, missing: [], unexpected: [] }
    expect(sequenceFailed({ ...base, expected: [A, B], actual: [B, A], ordered: true })).toBe(true)
    expect(sequenceFailed({ ...base, expected: [A, B], actual: [B, A], ordered: false })).toBe(
      false,
    )
    expect(sequenceFailed({ ...base, expected: [], actual: [], ordered: true })).toBe(false)
  })
})

describe('partialMismatches', () => {
  it('constrains only the keys the expected object lists', () => {
    const actual = { id: 'S1', state: 'EFFECTIVE', services: [{ caId: '100' }], extra: true }
    expect(partialMismatches({ state: 'EFFECTIVE' }, actual, 'result')).toEqual([])
    expect(partialMismatches({ state: 'CANCELLED' }, actual, 'result')).toEqual([
      { path: 'result.state', expected: 'CANCELLED', actual: 'EFFECTIVE' },
    ])
  })

  it('names nested paths with dots and indexes', () => {
    const actual = { subscriptions: [{ serviceCaId: '100' }, { serviceCaId: '200' }] }
    const expected = { subscriptions: [{}, { serviceCaId: '300' }] }
    expect(partialMismatches(expected, actual, 'result')).toEqual([
      { path: 'result.subscriptions[1].serviceCaId', expected: '300', actual: '200' },
    ])
  })

  it('reports an array of another length once, as a whole', () => {
    expect(partialMismatches({ list: [1, 2] }, { list: [1] }, 'r')).toEqual([
      { path: 'r.list', expected: [1, 2], actual: [1] },
    ])
    expect(partialMismatches([1], 'x', 'r')).toEqual([{ path: 'r', expected: [1], actual: 'x' }])
  })

  it('reports a missing key and an object that is not one', () => {
    expect(partialMismatches({ a: 1, b: { c: 2 } }, { b: 3 }, 'r')).toEqual([
      { path: 'r.a', expected: 1, actual: undefined },
      { path: 'r.b', expected: { c: 2 }, actual: 3 },
    ])
    expect(partialMismatches({ a: 1 }, [1], 'r')).toEqual([
      { path: 'r', expected: { a: 1 }, actual: [1] },
    ])
  })

  it('matches a number with a numeric string of the same value, and nothing else loosely', () => {
    expect(
      partialMismatches({ id: 100, card: 1450250001 }, { id: '100', card: '01450250001' }, 'r'),
    ).toEqual([])
    expect(partialMismatches('2.5', 2.5, 'r')).toEqual([])
    expect(partialMismatches(100, '100a', 'r')).toHaveLength(1)
    expect(partialMismatches(0, '', 'r')).toHaveLength(1)
    expect(partialMismatches(true, 'true', 'r')).toHaveLength(1)
    expect(partialMismatches('1', 1.5, 'r')).toHaveLength(1)
  })

  it('lets a null expectation match null and absence only', () => {
    expect(partialMismatches({ distributor: null }, {}, 'r')).toEqual([])
    expect(partialMismatches({ distributor: null }, { distributor: null }, 'r')).toEqual([])
    expect(partialMismatches({ distributor: null }, { distributor: 'Main' }, 'r')).toEqual([
      { path: 'r.distributor', expected: null, actual: 'Main' },
    ])
    expect(partialMismatches({ distributor: 'Main' }, { distributor: null }, 'r')).toHaveLength(1)
  })

  it('does not read inherited properties as values', () => {
    expect(partialMismatches({ toString: 'x' }, {}, 'r')).toEqual([
      { path: 'r.toString', expected: 'x', actual: undefined },
    ])
  })

  it('quotes keys that would make the path ambiguous, and starts at an empty root', () => {
    expect(partialMismatches({ 'a.b': 1, '01450250001': 2 }, {}, '')).toEqual([
      { path: '["a.b"]', expected: 1, actual: undefined },
      { path: '01450250001', expected: 2, actual: undefined },
    ])
  })

  it('compares dates by instant', () => {
    const at = new Date('2025-03-01T10:00:00.000Z')
    expect(partialMismatches({ at }, { at: '2025-03-01T10:00:00Z' }, 'r')).toEqual([])
    expect(partialMismatches({ at }, { at: '2025-03-01T11:00:00Z' }, 'r')).toHaveLength(1)
  })
})
