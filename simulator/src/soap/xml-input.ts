import { SaxesParser, type SaxesTagNS } from 'saxes'

/** An element with its namespace resolved; text is the decoded concatenation of its text nodes. */
export interface XmlElement {
  readonly ns: string | null
  readonly local: string
  readonly children: XmlElement[]
  readonly text: string
}

export interface XmlLimits {
  /** Deepest element nesting accepted. */
  readonly maxDepth: number
  /** Most elements accepted in one document. */
  readonly maxElements: number
}

/**
 * Why a body could not be read: `PARSE` is not well-formed or not decodable; `DOCTYPE`,
 * `INSTRUCTION` (a processing instruction) and `LIMIT` are refusals of well-formed XML.
 */
export type XmlReadFailure = {
  readonly kind: 'PARSE' | 'DOCTYPE' | 'INSTRUCTION' | 'LIMIT'
  readonly reason: string
}

export type XmlReadResult =
  { readonly ok: true; readonly root: XmlElement } | ({ readonly ok: false } & XmlReadFailure)

const CHARSETS: Record<string, string> = {
  'utf-8': 'utf-8',
  utf8: 'utf-8',
  'us-ascii': 'utf-8',
  ascii: 'utf-8',
  'utf-16': 'utf-16le',
  'utf-16le': 'utf-16le',
  'utf-16be': 'utf-16be',
  'iso-8859-1': 'latin1',
  latin1: 'latin1',
}

const fail = (kind: XmlReadFailure['kind'], reason: string): XmlReadResult => ({
  ok: false,
  kind,
  reason,
})

/** The `charset` parameter of a Content-Type header, lower-cased, or null. */
export function charsetOf(contentType: string | undefined): string | null {
  const match = contentType ? /;\s*charset\s*=\s*"?([^";\s]+)"?/i.exec(contentType) : null
  return match?.[1]?.toLowerCase() ?? null
}

/**
 * Decodes, screens and parses a request body in one strict, namespace-aware pass (saxes).
 * DOCTYPE and entity declarations are refused as soon as they are met (nothing is expanded or
 * fetched); the nesting and element-count limits are enforced while parsing, so a hostile
 * document is dropped before it has cost more than its own bytes.
 */
export function readXml(
  body: Buffer,
  contentType: string | undefined,
  limits: XmlLimits,
): XmlReadResult {
  const decoded = decode(body, charsetOf(contentType))
  if (decoded === null) {
    return fail('PARSE', 'the body is not valid text in its declared character set')
  }
  if (/<!(DOCTYPE|ENTITY)/i.test(decoded)) {
    return fail('DOCTYPE', 'DOCTYPE and entity declarations are not allowed in a SOAP message')
  }
  const tree = new TreeBuilder(limits)
  try {
    tree.parse(decoded)
  } catch (error) {
    return tree.refusal ?? fail('PARSE', error instanceof Error ? error.message : String(error))
  }
  return tree.root
    ? { ok: true, root: tree.root }
    : fail('PARSE', 'the document has no root element')
}

interface OpenElement {
  readonly ns: string | null
  readonly local: string
  readonly children: XmlElement[]
  text: string
}

/** Builds the element tree from saxes events, counting depth and elements as it goes. */
class TreeBuilder {
  root: XmlElement | null = null
  refusal: (XmlReadResult & { ok: false }) | null = null
  private readonly stack: OpenElement[] = []
  private elements = 0
  private readonly limits: XmlLimits

  constructor(limits: XmlLimits) {
    this.limits = limits
  }

  parse(xml: string): void {
    const parser = new SaxesParser({ xmlns: true, position: false })
    parser.on('opentag', (tag) => this.open(tag))
    parser.on('closetag', () => this.close())
    parser.on('text', (text) => this.append(text))
    parser.on('cdata', (text) => this.append(text))
    parser.on('doctype', () =>
      this.refuse('DOCTYPE', 'DOCTYPE declarations are not allowed in a SOAP message'),
    )
    // SOAP 1.1 section 3: "A SOAP message MUST NOT contain Processing Instructions" (1.2 asks for a
    // Sender fault). The XML declaration is not one: saxes reports it as 'xmldecl'.
    parser.on('processinginstruction', (pi) =>
      this.refuse(
        'INSTRUCTION',
        `a processing instruction (<?${pi.target.slice(0, 40)} ...?>) is not allowed in a SOAP message`,
      ),
    )
    parser.write(xml).close()
  }

  private open(tag: SaxesTagNS): void {
    this.elements++
    if (this.elements > this.limits.maxElements) {
      this.refuse('LIMIT', `the message has more than ${this.limits.maxElements} elements`)
    }
    if (this.stack.length >= this.limits.maxDepth) {
      this.refuse('LIMIT', `elements are nested deeper than ${this.limits.maxDepth} levels`)
    }
    const element: OpenElement = {
      ns: tag.uri === '' ? null : tag.uri,
      local: tag.local,
      children: [],
      text: '',
    }
    this.stack.at(-1)?.children.push(element)
    this.stack.push(element)
  }

  private close(): void {
    const element = this.stack.pop()
    if (element && this.stack.length === 0) {
      this.root = element
    }
  }

  private append(text: string): void {
    const current = this.stack.at(-1)
    if (current) {
      current.text += text
    }
  }

  private refuse(kind: Exclude<XmlReadFailure['kind'], 'PARSE'>, reason: string): never {
    this.refusal = { ok: false, kind, reason }
    throw new Error(reason)
  }
}

function decode(body: Buffer, transportCharset: string | null): string | null {
  const encoding = pickEncoding(body, transportCharset)
  if (encoding === undefined) {
    return null
  }
  let bytes = body
  if (encoding.startsWith('utf-16') && body.length % 2 !== 0) {
    return null
  }
  if (encoding === 'utf-16be') {
    bytes = Buffer.from(body)
    bytes.swap16()
  }
  let text: string
  try {
    text = new TextDecoder(encoding === 'utf-16be' ? 'utf-16le' : encoding, { fatal: true }).decode(
      bytes,
    )
  } catch {
    return null
  }
  // A declaration that names another encoding than the bytes were decoded with is the
  // SMSConax trace's "Couldn't parse stream." case (docs/domain.md §1.1): refuse it as well.
  const declared = declaredEncoding(text)
  if (
    declared !== undefined &&
    CHARSETS[declared]?.replace('be', 'le') !== encoding.replace('be', 'le')
  ) {
    return null
  }
  return text
}

/** The transport charset wins; without one, a byte-order mark, then the XML declaration, then UTF-8. */
function pickEncoding(body: Buffer, transportCharset: string | null): string | undefined {
  if (transportCharset !== null) {
    return CHARSETS[transportCharset]
  }
  if (body[0] === 0xff && body[1] === 0xfe) {
    return 'utf-16le'
  }
  if (body[0] === 0xfe && body[1] === 0xff) {
    return 'utf-16be'
  }
  const declared = declaredEncoding(body.subarray(0, 200).toString('latin1'))
  return declared === undefined ? 'utf-8' : CHARSETS[declared]
}

function declaredEncoding(text: string): string | undefined {
  return /^<\?xml[^>]*\bencoding\s*=\s*["']([^"']+)["']/.exec(text)?.[1]?.toLowerCase()
}
