import { XMLParser, XMLValidator } from 'fast-xml-parser'

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

/** Why a body could not be read: `PARSE` is not well-formed or not decodable, `DOCTYPE` and `LIMIT` are refusals. */
export type XmlReadFailure = {
  readonly kind: 'PARSE' | 'DOCTYPE' | 'LIMIT'
  readonly reason: string
}

export type XmlReadResult =
  { readonly ok: true; readonly root: XmlElement } | ({ readonly ok: false } & XmlReadFailure)

type FxpNode = Record<string, unknown>

const parser = new XMLParser({
  preserveOrder: true,
  ignoreAttributes: false,
  attributeNamePrefix: '',
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: false,
  processEntities: false,
  htmlEntities: false,
  ignoreDeclaration: true,
  ignorePiTags: true,
  commentPropName: false,
  cdataPropName: '#cdata',
  maxNestedTags: 256,
})

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
 * Decodes, screens and parses a request body. Refuses DOCTYPE and entity declarations before any
 * parsing (nothing is expanded or fetched), and enforces the nesting and element-count limits
 * with a linear scan before the parser builds anything.
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
  const scan = scanStructure(decoded, limits)
  if (scan) {
    return fail('LIMIT', scan)
  }
  const valid = XMLValidator.validate(decoded)
  if (valid !== true) {
    return fail('PARSE', `${valid.err.msg} (line ${valid.err.line}, column ${valid.err.col})`)
  }
  let nodes: FxpNode[]
  try {
    nodes = parser.parse(decoded) as FxpNode[]
  } catch (error) {
    return fail('PARSE', error instanceof Error ? error.message : String(error))
  }
  const roots = nodes.filter((node) => elementName(node) !== null)
  const first = roots[0]
  if (roots.length !== 1 || !first) {
    return fail('PARSE', 'a document must have exactly one root element')
  }
  try {
    return {
      ok: true,
      root: toElement(first, new Map([['xml', 'http://www.w3.org/XML/1998/namespace']])),
    }
  } catch (error) {
    return fail('PARSE', error instanceof Error ? error.message : String(error))
  }
}

function decode(body: Buffer, transportCharset: string | null): string | null {
  const encoding = pickEncoding(body, transportCharset)
  if (encoding === undefined) {
    return null
  }
  let bytes = body
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
  // SMSConax trace's "Couldn't parse stream." case (conax-domain.md 1.1): refuse it as well.
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

/** Index of the `>` that ends the tag starting at `from`, skipping quoted attribute values; -1 if none. */
function tagEnd(xml: string, from: number): number {
  let quote = 0
  for (let index = from; index < xml.length; index++) {
    const code = xml.charCodeAt(index)
    if (quote !== 0) {
      quote = code === quote ? 0 : quote
    } else if (code === 0x22 || code === 0x27) {
      quote = code
    } else if (code === 0x3e) {
      return index
    }
  }
  return -1
}

/** A linear scan for nesting depth and element count; null when within limits. */
function scanStructure(xml: string, limits: XmlLimits): string | null {
  let depth = 0
  let elements = 0
  let at = xml.indexOf('<')
  while (at !== -1) {
    const next = xml.charCodeAt(at + 1)
    if (next === 0x21 /* ! */) {
      const end = xml.startsWith('<![CDATA[', at) ? xml.indexOf(']]>', at) : xml.indexOf('>', at)
      at = end === -1 ? -1 : xml.indexOf('<', end)
      continue
    }
    const close = tagEnd(xml, at)
    if (close === -1) {
      return null
    }
    if (next === 0x2f /* / */) {
      depth--
    } else if (next !== 0x3f /* ? */) {
      elements++
      if (xml.charCodeAt(close - 1) !== 0x2f) {
        depth++
      }
      if (depth > limits.maxDepth) {
        return `elements are nested deeper than ${limits.maxDepth} levels`
      }
      if (elements > limits.maxElements) {
        return `the message has more than ${limits.maxElements} elements`
      }
    }
    at = xml.indexOf('<', close)
  }
  return null
}

function elementName(node: FxpNode): string | null {
  for (const key of Object.keys(node)) {
    if (key !== ':@' && key !== '#text' && key !== '#cdata') {
      return key
    }
  }
  return null
}

function toElement(node: FxpNode, inherited: ReadonlyMap<string, string>): XmlElement {
  const name = elementName(node) as string
  const attributes = (node[':@'] ?? {}) as Record<string, string>
  let scope = inherited
  for (const [attribute, value] of Object.entries(attributes)) {
    if (attribute === 'xmlns' || attribute.startsWith('xmlns:')) {
      if (scope === inherited) {
        scope = new Map(inherited)
      }
      ;(scope as Map<string, string>).set(
        attribute === 'xmlns' ? '' : attribute.slice(6),
        decodeEntities(value),
      )
    }
  }
  const colon = name.indexOf(':')
  const prefix = colon === -1 ? '' : name.slice(0, colon)
  const local = colon === -1 ? name : name.slice(colon + 1)
  const ns = scope.get(prefix)
  if (ns === undefined && prefix !== '') {
    throw new Error(`the namespace prefix '${prefix}' of <${name}> is not declared`)
  }
  const children: XmlElement[] = []
  let text = ''
  for (const child of node[name] as FxpNode[]) {
    if ('#text' in child) {
      text += decodeEntities(String(child['#text']))
    } else if ('#cdata' in child) {
      text += (child['#cdata'] as FxpNode[])
        .map((part) => (part['#text'] as string | undefined) ?? '')
        .join('')
    } else if (elementName(child) !== null) {
      children.push(toElement(child, scope))
    }
  }
  return { ns: ns === '' || ns === undefined ? null : ns, local, children, text }
}

const PREDEFINED: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" }

/** Decodes the five predefined entities and character references; anything else is not well-formed here. */
function decodeEntities(text: string): string {
  if (!text.includes('&')) {
    return text
  }
  return text.replace(/&([^;&\s]*);?/g, (whole, name: string) => {
    if (!whole.endsWith(';')) {
      throw new Error(`a bare '&' must be written as &amp;`)
    }
    const predefined = PREDEFINED[name]
    if (predefined !== undefined) {
      return predefined
    }
    const code = /^#x[0-9a-f]+$/i.test(name)
      ? Number.parseInt(name.slice(2), 16)
      : /^#\d+$/.test(name)
        ? Number.parseInt(name.slice(1), 10)
        : Number.NaN
    if (!isXmlChar(code)) {
      throw new Error(`the entity reference '&${name};' is not defined`)
    }
    return String.fromCodePoint(code)
  })
}

/** The characters XML 1.0 allows (its production [2] Char). */
function isXmlChar(code: number): boolean {
  return (
    code === 0x9 ||
    code === 0xa ||
    code === 0xd ||
    (code >= 0x20 && code <= 0xd7ff) ||
    (code >= 0xe000 && code <= 0xfffd) ||
    (code >= 0x10000 && code <= 0x10ffff)
  )
}
