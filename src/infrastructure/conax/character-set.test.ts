import { describe, expect, it } from 'vitest'
import {
  DEFAULT_CHARACTER_SET,
  characterSetOf,
  toWireBytes,
  toWireText,
  type CharacterSet,
} from './character-set.js'

const envelope = (text: string) =>
  `<?xml version="1.0" encoding="utf-8"?><soap:Envelope><M>${text}</M></soap:Envelope>`

function charset(label: string): CharacterSet {
  const found = characterSetOf(label)
  expect(found).not.toBeNull()
  return found as CharacterSet
}

describe('characterSetOf', () => {
  it.each([
    ['UTF-8', 'UTF-8'],
    ['utf8', 'UTF-8'],
    [' iso-8859-1 ', 'ISO-8859-1'],
    ['Latin1', 'ISO-8859-1'],
    ['US-ASCII', 'US-ASCII'],
    ['utf-16', 'UTF-16'],
  ])('%s names %s', (label, name) => {
    expect(characterSetOf(label)?.name).toBe(name)
  })

  it('knows no other set', () => {
    expect(characterSetOf('windows-1252')).toBeNull()
    expect(characterSetOf('toString')).toBeNull()
  })
})

describe('toWireText', () => {
  it('leaves UTF-8 alone', () => {
    expect(toWireText(envelope('€'), DEFAULT_CHARACTER_SET)).toBe(envelope('€'))
  })

  it('re-declares the envelope and references what the set cannot carry', () => {
    expect(toWireText(envelope('Grüße € 𝄞'), charset('ISO-8859-1'))).toBe(
      '<?xml version="1.0" encoding="ISO-8859-1"?><soap:Envelope><M>Grüße &#x20AC; &#x1D11E;</M></soap:Envelope>',
    )
    expect(toWireText(envelope('ü'), charset('ascii'))).toContain('<M>&#xFC;</M>')
    expect(toWireText(envelope('€'), charset('UTF-16'))).toBe(
      '<?xml version="1.0" encoding="UTF-16"?><soap:Envelope><M>€</M></soap:Envelope>',
    )
  })

  it('closes a CDATA section around a reference, where references are not decoded', () => {
    expect(toWireText(envelope('<![CDATA[a€b]]> €'), charset('ISO-8859-1'))).toContain(
      '<M><![CDATA[a]]>&#x20AC;<![CDATA[b]]> &#x20AC;</M>',
    )
  })

  it('adds a declaration when there is none', () => {
    expect(toWireText('<a/>', charset('ISO-8859-1'))).toBe(
      '<?xml version="1.0" encoding="ISO-8859-1"?><a/>',
    )
  })
})

describe('toWireBytes', () => {
  it('encodes in the set, with a byte-order mark for UTF-16', () => {
    expect([...toWireBytes('ü', charset('ISO-8859-1'))]).toEqual([0xfc])
    expect([...toWireBytes('ü', DEFAULT_CHARACTER_SET)]).toEqual([0xc3, 0xbc])
    expect([...toWireBytes('a', charset('UTF-16'))]).toEqual([0xff, 0xfe, 0x61, 0x00])
  })
})
