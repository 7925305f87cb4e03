/**
 * The character set the Conax client sends its requests in (the provider's `characterSet`). The
 * XML declaration, the Content-Type and the bytes must all name the same set, because a body whose
 * bytes and declaration disagree is what the real CA answered with "Couldn't parse stream."
 * (docs/contract.md §3). The client writes its envelopes in the set directly (envelope-writer.ts);
 * the fast reader converts its request templates here.
 * @module
 */

/** A character set the client can send in. */
export interface CharacterSet {
  /** The name sent in `Content-Type` and in the XML declaration. */
  readonly name: 'UTF-8' | 'ISO-8859-1' | 'US-ASCII' | 'UTF-16'
  readonly encoding: 'utf8' | 'latin1' | 'ascii' | 'utf16le'
  /** Highest code point the set can carry; anything above is sent as a character reference. */
  readonly maxCodePoint: number
}

const UTF_8: CharacterSet = { name: 'UTF-8', encoding: 'utf8', maxCodePoint: 0x10ffff }
const ISO_8859_1: CharacterSet = { name: 'ISO-8859-1', encoding: 'latin1', maxCodePoint: 0xff }
const US_ASCII: CharacterSet = { name: 'US-ASCII', encoding: 'ascii', maxCodePoint: 0x7f }
const UTF_16: CharacterSet = { name: 'UTF-16', encoding: 'utf16le', maxCodePoint: 0x10ffff }

const BY_LABEL: Readonly<Record<string, CharacterSet>> = {
  'utf-8': UTF_8,
  utf8: UTF_8,
  'iso-8859-1': ISO_8859_1,
  'iso8859-1': ISO_8859_1,
  iso_8859_1: ISO_8859_1,
  latin1: ISO_8859_1,
  'us-ascii': US_ASCII,
  ascii: US_ASCII,
  'utf-16': UTF_16,
}

/** The character set a label names (case-insensitive), or null when the client cannot send in it. */
export function characterSetOf(label: string): CharacterSet | null {
  return BY_LABEL[label.trim().toLowerCase()] ?? null
}

/** The names accepted by {@link characterSetOf}, for error messages. */
export const CHARACTER_SET_LABELS: readonly string[] = Object.keys(BY_LABEL)

/** The default: UTF-8, as CRM.COM's provider page has it. */
export const DEFAULT_CHARACTER_SET = UTF_8

const DECLARATION = /^<\?xml[^>]*\?>/
const CDATA_SECTION = /(<!\[CDATA\[[\s\S]*?\]\]>)/

/**
 * The envelope as it is sent in `charset`: its XML declaration names the set, and characters the
 * set cannot carry become character references. That is safe on a whole envelope because markup
 * (names, prefixes, namespace URIs) is ASCII, so only text can hold such characters; inside a
 * CDATA section (where references are not decoded) the section is closed around the reference.
 */
export function toWireText(envelope: string, charset: CharacterSet): string {
  if (charset === UTF_8) {
    return envelope
  }
  const declared = `<?xml version="1.0" encoding="${charset.name}"?>`
  const body = DECLARATION.test(envelope)
    ? envelope.replace(DECLARATION, declared)
    : declared + envelope
  if (charset.maxCodePoint >= 0x10ffff) {
    return body
  }
  const escape = (text: string, around: [string, string]): string => {
    let out = ''
    for (const char of text) {
      const code = char.codePointAt(0) ?? 0
      out +=
        code > charset.maxCodePoint
          ? `${around[0]}&#x${code.toString(16).toUpperCase()};${around[1]}`
          : char
    }
    return out
  }
  return body
    .split(CDATA_SECTION)
    .map((part) =>
      part.startsWith('<![CDATA[') ? escape(part, [']]>', '<![CDATA[']) : escape(part, ['', '']),
    )
    .join('')
}

/** The bytes of a text from {@link toWireText}; UTF-16 gets a byte-order mark, as XML requires. */
export function toWireBytes(text: string, charset: CharacterSet): Buffer {
  const bytes = Buffer.from(text, charset.encoding)
  return charset.encoding === 'utf16le' ? Buffer.concat([Buffer.from([0xff, 0xfe]), bytes]) : bytes
}
