import { describe, expect, it } from 'vitest'
import { markRow, tokensOf, type Piece } from './tokens.js'

const marked = (pieces: readonly Piece[]): string[] =>
  pieces.filter((piece) => piece.differs).map((piece) => piece.text)
const joined = (pieces: readonly Piece[]): string => pieces.map((piece) => piece.text).join('')

describe('tokensOf', () => {
  it('cuts a line into its key=value parts and the → STATE tail', () => {
    expect(
      tokensOf('ADD_SUBSCRIPTIONS smartcardCaId=01450250001 serviceCaId=PFA2 → REJECTED (70001)'),
    ).toEqual([
      'ADD_SUBSCRIPTIONS',
      'smartcardCaId=01450250001',
      'serviceCaId=PFA2',
      '→ REJECTED (70001)',
    ])
  })

  it('keeps a quoted value whole, escaped quotes and → included', () => {
    expect(tokensOf('SEND_MAIL message="Hi \\"you\\" → there" slot=A → OK')).toEqual([
      'SEND_MAIL',
      'message="Hi \\"you\\" → there"',
      'slot=A',
      '→ OK',
    ])
    // An unterminated quote runs to the end of the line rather than losing anything.
    expect(tokensOf('X message="open quote a=b')).toEqual(['X', 'message="open quote a=b'])
  })

  it('gives nothing for an empty line or spaces only', () => {
    expect(tokensOf('')).toEqual([])
    expect(tokensOf('   ')).toEqual([])
  })
})

describe('markRow', () => {
  it('marks only the token that differs, and gives each line back whole', () => {
    const expected =
      'ADD_SUBSCRIPTIONS smartcardCaId=01450250001 serviceCaId=PFA2 distributor=Main → COMPLETED'
    const actual =
      'ADD_SUBSCRIPTIONS smartcardCaId=01450250001 serviceCaId=EFA2 distributor=Main → COMPLETED'
    const row = markRow(expected, actual)
    expect(marked(row.expected)).toEqual(['serviceCaId=PFA2'])
    expect(marked(row.actual)).toEqual(['serviceCaId=EFA2'])
    expect(joined(row.expected)).toBe(expected)
    expect(joined(row.actual)).toBe(actual)
  })

  it('marks a token one side lacks, and the state tail when only it differs', () => {
    const row = markRow(
      'CANCEL_SUBSCRIPTIONS smartcardCaId=1 serviceCaId=GFA1 → COMPLETED',
      'CANCEL_SUBSCRIPTIONS smartcardCaId=1 serviceCaId=GFA1 distributor=Main → REJECTED (70001)',
    )
    expect(marked(row.expected)).toEqual(['→ COMPLETED'])
    expect(marked(row.actual)).toEqual(['distributor=Main', '→ REJECTED (70001)'])
  })

  it('marks every token of a line that has no counterpart', () => {
    const row = markRow('CREATE_PAIRING smartcardCaIds=1 stbCaIds=2 → COMPLETED', undefined)
    expect(marked(row.expected)).toEqual([
      'CREATE_PAIRING',
      'smartcardCaIds=1',
      'stbCaIds=2',
      '→ COMPLETED',
    ])
    expect(row.actual).toEqual([])
  })

  it('marks nothing in equal lines', () => {
    const row = markRow('A b=1  c=2', 'A b=1  c=2')
    expect(marked(row.expected)).toEqual([])
    expect(marked(row.actual)).toEqual([])
    expect(joined(row.expected)).toBe('A b=1  c=2')
  })

  it('matches tokens in order: a token moved elsewhere counts as differing', () => {
    const row = markRow('A x=1 y=2 z=3', 'A y=2 z=3 x=1')
    expect(marked(row.expected)).toEqual(['x=1'])
    expect(marked(row.actual)).toEqual(['x=1'])
  })

  it('handles lines of thousands of tokens without an ordered table', () => {
    const many = (prefix: string): string =>
      Array.from({ length: 3000 }, (_, i) => `${prefix}${i}=v`).join(' ')
    const row = markRow(`A ${many('k')} tail=1`, `B ${many('k')} tail=2`)
    expect(marked(row.expected)).toEqual(['A', 'tail=1'])
    expect(marked(row.actual)).toEqual(['B', 'tail=2'])
    const shuffled = markRow(`A ${many('k')} x=1`, `A x=2 ${many('j')}`)
    // Past the table's size, tokens are matched by count: all differ here, and nothing is lost.
    expect(marked(shuffled.expected)).toHaveLength(3001)
    expect(joined(shuffled.actual)).toBe(`A x=2 ${many('j')}`)
  })
})
