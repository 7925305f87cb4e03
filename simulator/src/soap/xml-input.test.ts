import { describe, expect, it } from 'vitest'
import { readXml, type XmlElement, type XmlLimits, type XmlReadResult } from './xml-input.js'

const LIMITS: XmlLimits = { maxDepth: 32, maxElements: 20_000 }
const UTF8 = 'text/xml; charset=utf-8'

function read(xml: string, contentType: string | undefined = UTF8, limits = LIMITS): XmlReadResult {
  return readXml(Buffer.from(xml, 'utf8'), contentType, limits)
}

function rootOf(result: XmlReadResult): XmlElement {
  if (!result.ok) {
    throw new Error(`expected a document, got ${result.kind}: ${result.reason}`)
  }
  return result.root
}

const kindOf = (result: XmlReadResult): string => (result.ok ? 'OK' : result.kind)

function child(element: XmlElement, index: number): XmlElement {
  const found = element.children[index]
  if (!found) {
    throw new Error(`<${element.local}> has no child ${index}`)
  }
  return found
}

const nested = (depth: number, attributes = ''): string =>
  `<a${attributes}>`.repeat(depth) + '</a>'.repeat(depth)

describe('readXml namespaces', () => {
  it('applies a default xmlns to the element and its descendants', () => {
    const root = rootOf(read('<Op xmlns="urn:service"><Request><Id>1</Id></Request></Op>'))

    expect(root).toEqual({
      ns: 'urn:service',
      local: 'Op',
      text: '',
      children: [
        {
          ns: 'urn:service',
          local: 'Request',
          text: '',
          children: [{ ns: 'urn:service', local: 'Id', text: '1', children: [] }],
        },
      ],
    })
  })

  it('leaves unprefixed elements without a default namespace unqualified', () => {
    const root = rootOf(
      read('<ns2:Op xmlns:ns2="urn:service"><Request><Id>1</Id></Request></ns2:Op>'),
    )

    expect(root.ns).toBe('urn:service')
    expect(root.local).toBe('Op')
    expect(child(root, 0).ns).toBeNull()
    expect(child(child(root, 0), 0).ns).toBeNull()
  })

  it('resolves prefixes declared on the element itself and on ancestors', () => {
    const root = rootOf(
      read(
        '<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/">' +
          '<s:Body><c:Status xmlns:c="urn:common"><c:Code>OK</c:Code></c:Status></s:Body>' +
          '</s:Envelope>',
      ),
    )

    const body = child(root, 0)
    const status = child(body, 0)
    expect([root.ns, root.local]).toEqual(['http://schemas.xmlsoap.org/soap/envelope/', 'Envelope'])
    expect([body.ns, body.local]).toEqual(['http://schemas.xmlsoap.org/soap/envelope/', 'Body'])
    expect([status.ns, child(status, 0).ns, child(status, 0).text]).toEqual([
      'urn:common',
      'urn:common',
      'OK',
    ])
  })

  it('scopes a nested redeclaration to its subtree', () => {
    const root = rootOf(
      read(
        '<a xmlns="urn:1" xmlns:p="urn:p1">' +
          '<b xmlns="urn:2" xmlns:p="urn:p2"><c/><p:d/></b>' +
          '<e/><p:f/>' +
          '</a>',
      ),
    )

    const b = child(root, 0)
    expect([b.ns, child(b, 0).ns, child(b, 1).ns]).toEqual(['urn:2', 'urn:2', 'urn:p2'])
    expect([child(root, 1).ns, child(root, 2).ns]).toEqual(['urn:1', 'urn:p1'])
  })

  it('undeclares the default namespace with xmlns=""', () => {
    const root = rootOf(read('<a xmlns="urn:1"><b xmlns=""><c/></b></a>'))

    expect(child(root, 0).ns).toBeNull()
    expect(child(child(root, 0), 0).ns).toBeNull()
  })

  it('fails with PARSE on an undeclared prefix', () => {
    const result = read('<a xmlns:p="urn:p"><q:b/></a>')

    expect(kindOf(result)).toBe('PARSE')
    expect(result.ok ? '' : result.reason).toContain('unbound namespace prefix: "q"')
  })
})

describe('readXml text and entities', () => {
  it('decodes the predefined entities and character references', () => {
    const root = rootOf(read('<a>&amp;&lt;&gt;&quot;&apos;&#65;&#x42;&#x20AC;</a>'))

    expect(root.text).toBe('&<>"\'AB€')
  })

  it('keeps surrounding whitespace of text', () => {
    expect(rootOf(read('<a>  two  words \n</a>')).text).toBe('  two  words \n')
  })

  it('fails with PARSE on an undefined entity', () => {
    const result = read('<a>&foo;</a>')

    expect(kindOf(result)).toBe('PARSE')
    expect(result.ok ? '' : result.reason).toContain('undefined entity')
  })

  it.each(['<a>fish & chips</a>', '<a>&amp</a>', '<a>&#0;</a>', '<a>&#x110000;</a>'])(
    'fails with PARSE on %s',
    (xml) => {
      expect(kindOf(read(xml))).toBe('PARSE')
    },
  )

  it('fails with PARSE on references to characters XML does not allow', () => {
    const references = ['<a>&#1;</a>', '<a>&#xD800;</a>', '<a>&#xFFFE;</a>']

    expect(references.map((xml) => kindOf(read(xml)))).toEqual(['PARSE', 'PARSE', 'PARSE'])
  })

  it('keeps CDATA content literally', () => {
    const root = rootOf(read('<a><![CDATA[x &amp; <y> &foo;]]></a>'))

    expect(root.text).toBe('x &amp; <y> &foo;')
    expect(root.children).toEqual([])
  })

  it('joins text and CDATA in document order', () => {
    expect(rootOf(read('<a>1 &amp; <![CDATA[2 &amp;]]> 3</a>')).text).toBe('1 & 2 &amp; 3')
  })

  it('ignores comments', () => {
    const root = rootOf(read('<?xml version="1.0"?><a><!-- note -->x<!-- more -->y</a>'))

    expect(root.text).toBe('xy')
    expect(root.children).toEqual([])
  })
})

describe('readXml refusals', () => {
  it('refuses a DOCTYPE with kind DOCTYPE', () => {
    expect(kindOf(read('<!DOCTYPE a><a/>'))).toBe('DOCTYPE')
    expect(kindOf(read('<!doctype a><a/>'))).toBe('DOCTYPE')
  })

  it('refuses an entity declaration wherever it appears', () => {
    expect(kindOf(read('<a><!ENTITY x "y"></a>'))).toBe('DOCTYPE')
  })

  it('refuses a processing instruction wherever it appears (SOAP 1.1 section 3), not the XML declaration', () => {
    for (const xml of [
      '<?xml-stylesheet href="x.xsl"?><a/>',
      '<a><?php system("id") ?></a>',
      '<a/><?after?>',
    ]) {
      const result = read(xml)
      expect(kindOf(result), xml).toBe('INSTRUCTION')
      expect(result.ok ? '' : result.reason).toContain('processing instruction')
    }
    expect(kindOf(read('<?xml version="1.0" encoding="UTF-8"?><a/>'))).toBe('OK')
  })

  // How long these refusals take is measured by npm run bench:parse, not asserted here.
  it('refuses the billion-laughs document without expanding it', () => {
    const lol = [
      '<?xml version="1.0"?>',
      '<!DOCTYPE lolz [',
      ' <!ENTITY lol "lol">',
      ...Array.from(
        { length: 9 },
        (_, i) => ` <!ENTITY lol${i + 1} "${`&lol${i === 0 ? '' : i};`.repeat(10)}">`,
      ),
      ']>',
      '<lolz>&lol9;</lolz>',
    ].join('\n')

    const result = read(lol)

    expect(kindOf(result)).toBe('DOCTYPE')
    expect(JSON.stringify(result)).not.toContain('lollol')
  })

  it('refuses an external entity and reads nothing from the file it names', () => {
    const xxe =
      '<?xml version="1.0"?>' +
      '<!DOCTYPE foo [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>' +
      '<foo>&xxe;</foo>'

    const result = read(xxe)

    expect(kindOf(result)).toBe('DOCTYPE')
    expect(result).not.toHaveProperty('root')
    expect(JSON.stringify(result)).not.toMatch(/root:|nologin|\/bin\/(ba)?sh/)
  })

  it('accepts nesting up to maxDepth and refuses one level more with kind LIMIT', () => {
    const limits = { maxDepth: 5, maxElements: 100 }

    expect(kindOf(read(nested(5), UTF8, limits))).toBe('OK')
    const deeper = read(nested(6), UTF8, limits)
    expect(kindOf(deeper)).toBe('LIMIT')
    expect(deeper.ok ? '' : deeper.reason).toContain('5')
  })

  it('counts every element level, self-closing ones included', () => {
    expect(kindOf(read('<a><b><c/><c/></b></a>', UTF8, { maxDepth: 3, maxElements: 100 }))).toBe(
      'OK',
    )
    expect(kindOf(read('<a><b><c/><c/></b></a>', UTF8, { maxDepth: 2, maxElements: 100 }))).toBe(
      'LIMIT',
    )
  })

  it('accepts maxElements elements and refuses one more with kind LIMIT', () => {
    const limits = { maxDepth: 5, maxElements: 10 }

    expect(kindOf(read(`<a>${'<b/>'.repeat(9)}</a>`, UTF8, limits))).toBe('OK')
    expect(kindOf(read(`<a>${'<b/>'.repeat(10)}</a>`, UTF8, limits))).toBe('LIMIT')
  })

  it('refuses a 100,000-deep nesting with LIMIT and without throwing', () => {
    const result = read(nested(100_000))

    expect(kindOf(result)).toBe('LIMIT')
  })

  it("enforces maxDepth when attribute values contain '/>'", () => {
    const limits = { maxDepth: 5, maxElements: 100 }

    const result = read(nested(6, ' x="/>"'), UTF8, limits)

    expect(kindOf(result)).toBe('LIMIT')
  })
})

describe('readXml malformed input', () => {
  it.each([
    ['an unclosed tag', '<a><b></a>'],
    ['a mismatched closing tag', '<a></b>'],
    ['a root that is never closed', '<a>'],
    ['two roots', '<a/><b/>'],
    ['an undeclared prefix', '<p:a/>'],
    ['text only', 'hello'],
    ['an empty body', ''],
    ['an attribute without quotes', '<a x=1/>'],
  ])('fails with PARSE on %s', (_label, xml) => {
    expect(kindOf(read(xml))).toBe('PARSE')
  })
})

describe('readXml character sets', () => {
  it('decodes UTF-8 when the Content-Type names no charset', () => {
    expect(rootOf(read('<a>café</a>', 'text/xml')).text).toBe('café')
    expect(rootOf(read('<a>café</a>', undefined)).text).toBe('café')
  })

  it('accepts a quoted charset parameter as the field trace sends it', () => {
    expect(rootOf(read('<a>ok</a>', 'text/xml;charset="utf-8"')).text).toBe('ok')
  })

  it('decodes a UTF-16LE body sent with charset=utf-16, with and without a BOM', () => {
    const xml = '<?xml version="1.0" encoding="utf-16"?><a>ဖ é</a>'

    const withBom = readXml(
      Buffer.from(`\ufeff${xml}`, 'utf16le'),
      'text/xml; charset=utf-16',
      LIMITS,
    )
    const withoutBom = readXml(Buffer.from(xml, 'utf16le'), 'text/xml; charset=UTF-16', LIMITS)

    expect(rootOf(withBom).text).toBe('ဖ é')
    expect(rootOf(withoutBom).text).toBe('ဖ é')
  })

  it('decodes a UTF-16BE body sent with charset=utf-16be', () => {
    const body = Buffer.from('<a>é</a>', 'utf16le').swap16()

    expect(rootOf(readXml(body, 'text/xml; charset=utf-16be', LIMITS)).text).toBe('é')
  })

  it('fails with PARSE on a body that declares utf-16 but is sent as UTF-8 bytes', () => {
    const xml =
      '<?xml version="1.0" encoding="utf-16"?>' +
      '<SendBarkMessageToClients xmlns="http://www.conax.com/cas/xsd/user-text-messaging/v1">' +
      '<SendBarkMessageToClientsRequest><Message>test</Message></SendBarkMessageToClientsRequest>' +
      '</SendBarkMessageToClients>'

    expect(kindOf(read(xml, 'text/xml;charset="utf-8"'))).toBe('PARSE')
  })

  it('fails with PARSE on invalid UTF-8 bytes', () => {
    const body = Buffer.concat([Buffer.from('<a>'), Buffer.from([0xc3, 0x28]), Buffer.from('</a>')])

    expect(kindOf(readXml(body, UTF8, LIMITS))).toBe('PARSE')
  })

  it('decodes ISO-8859-1 when the Content-Type says so', () => {
    const body = Buffer.from('<?xml version="1.0" encoding="ISO-8859-1"?><a>café</a>', 'latin1')

    expect(rootOf(readXml(body, 'text/xml; charset=ISO-8859-1', LIMITS)).text).toBe('café')
    expect(kindOf(readXml(body, UTF8, LIMITS))).toBe('PARSE')
  })

  it('fails with PARSE on a charset it does not know', () => {
    expect(kindOf(read('<a/>', 'text/xml; charset=ebcdic-cp-us'))).toBe('PARSE')
  })
})
