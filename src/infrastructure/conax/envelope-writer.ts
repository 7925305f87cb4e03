/**
 * The SOAP 1.1 request envelope of a {@link ConaxRequest}, written directly from the wire table in
 * the provider's character set (docs/contract.md §2.1 and §6): the operation wrapper in the
 * service namespace, its `<OpRequest>` and every child unqualified, in the XSD's order. This is
 * the document node-soap built from the shipped WSDLs, without its object model
 * (docs/decisions/0016-adapter-writes-envelopes.md).
 * @module
 */
import { toWireBytes, type CharacterSet } from './character-set.js'
import type { ConaxRequest, RequestObject, RequestValue } from './conax-requests.js'

const SOAP11_ENV = 'http://schemas.xmlsoap.org/soap/envelope/'

/** The namespace of a service's operations and wrapper elements. */
export function serviceNamespace(service: string): string {
  return `http://www.conax.com/cas/xsd/${service}/v1`
}

/** A request body as it goes on the wire: text in an 8-bit encoding, or UTF-16 bytes. */
export interface WireBody {
  /** The envelope as text: what the outcome records as the request. */
  readonly text: string
  /** What is written: the text itself for 8-bit sets (Node then sends headers and body in one segment). */
  readonly data: string | Buffer
  readonly encoding: 'utf8' | 'latin1'
  /** Bytes, for Content-Length. */
  readonly length: number
}

const MARKUP: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  // A parser turns a literal CR (and CR LF) into LF; a reference reaches the CA as it was sent.
  '\r': '&#xD;',
}

/** What needs a reference in text, by the highest code point the set carries. */
function specialsOf(charset: CharacterSet): RegExp {
  if (charset.maxCodePoint >= 0x10ffff) {
    return /[&<>\r]/gu
  }
  return charset.maxCodePoint >= 0xff ? /[&<>\r\u0100-\u{10ffff}]/gu : /[&<>\r\u0080-\u{10ffff}]/gu
}

/**
 * The escaper of text in `charset`: markup characters and CR become references, and so does every
 * character the set cannot carry. The text holds XML characters only ({@link findUnsendableText}
 * refused the rest before), so no lone surrogate reaches it.
 */
export function textEscaper(charset: CharacterSet): (text: string) => string {
  const specials = specialsOf(charset)
  const tester = new RegExp(specials.source, 'u')
  const replace = (char: string): string =>
    MARKUP[char] ?? `&#x${(char.codePointAt(0) ?? 0).toString(16).toUpperCase()};`
  // Most texts (CA IDs, product IDs, dates) need nothing: testing first saves the copy.
  return (text) => (tester.test(text) ? text.replace(specials, replace) : text)
}

/** Appends `<name>value</name>` for a value and, for a list, one such element per item. */
function writeValue(
  out: string[],
  name: string,
  value: RequestValue,
  escape: (text: string) => string,
): void {
  if (typeof value === 'string') {
    out.push(`<${name}>${escape(value)}</${name}>`)
  } else if (typeof value === 'number') {
    out.push(`<${name}>${String(value)}</${name}>`)
  } else if (Array.isArray(value)) {
    for (const item of value as readonly (string | RequestObject)[]) {
      writeValue(out, name, item, escape)
    }
  } else {
    out.push(`<${name}>`)
    writeChildren(out, value as RequestObject, escape)
    out.push(`</${name}>`)
  }
}

function writeChildren(
  out: string[],
  children: RequestObject,
  escape: (text: string) => string,
): void {
  for (const name of Object.keys(children)) {
    const value = children[name]
    if (value !== undefined) {
      writeValue(out, name, value, escape)
    }
  }
}

/** Writes the request envelopes of one character set; the fixed parts of each operation are cached. */
export class EnvelopeWriter {
  private readonly charset: CharacterSet
  private readonly escape: (text: string) => string
  private readonly frames = new Map<string, readonly [string, string]>()

  constructor(charset: CharacterSet) {
    this.charset = charset
    this.escape = textEscaper(charset)
  }

  /** The envelope of `request` as text, its XML declaration naming the character set. */
  text(request: ConaxRequest): string {
    const [head, tail] = this.frameOf(request)
    const out = [head]
    writeChildren(out, request.children, this.escape)
    out.push(tail)
    return out.join('')
  }

  /** The envelope of `request` as it is sent. */
  body(request: ConaxRequest): WireBody {
    const text = this.text(request)
    if (this.charset.encoding === 'utf16le') {
      const data = toWireBytes(text, this.charset)
      return { text, data, encoding: 'latin1', length: data.length }
    }
    // Every character above the set's range is a reference now, so Latin-1 writes US-ASCII too.
    const encoding = this.charset.encoding === 'utf8' ? 'utf8' : 'latin1'
    return { text, data: text, encoding, length: Buffer.byteLength(text, encoding) }
  }

  private frameOf(request: ConaxRequest): readonly [string, string] {
    const key = `${request.service}/${request.operation}`
    let frame = this.frames.get(key)
    if (!frame) {
      const op = request.operation
      frame = [
        `<?xml version="1.0" encoding="${this.charset.name}"?>` +
          `<soap:Envelope xmlns:soap="${SOAP11_ENV}" xmlns:tns="${serviceNamespace(request.service)}">` +
          `<soap:Body><tns:${op}><${op}Request>`,
        `</${op}Request></tns:${op}></soap:Body></soap:Envelope>`,
      ]
      this.frames.set(key, frame)
    }
    return frame
  }
}
