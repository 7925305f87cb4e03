import { describe, expect, it } from 'vitest'
import { COMMON_TYPES_NS, serviceNamespace } from '../contract/namespaces.js'
import type { ElementSpec, ReadObject } from '../contract/schema.js'
import { OPERATION_BY_NAME, type OperationName } from '../operations/operation-table.js'
import { readChildren, SchemaViolation } from './request-reader.js'
import { readXml, type XmlElement } from './xml-input.js'

const MESSAGING_NS = serviceNamespace('user-text-messaging')
const SUBSCRIPTION_NS = serviceNamespace('subscription')
const CARD = '01450253313'

function elementOf(xml: string): XmlElement {
  const result = readXml(Buffer.from(xml, 'utf8'), 'text/xml; charset=utf-8', {
    maxDepth: 32,
    maxElements: 1000,
  })
  if (!result.ok) {
    throw new Error(`test XML is not readable: ${result.kind}: ${result.reason}`)
  }
  return result.root
}

function specsOf(
  operation: OperationName,
  part: 'request' | 'response' = 'request',
): readonly ElementSpec[] {
  const spec = OPERATION_BY_NAME.get(operation)
  if (!spec) {
    throw new Error(`no operation ${operation}`)
  }
  return spec[part]
}

/** Reads `<{operation}Request>` holding `inner`, as the SOAP endpoint does. */
function readRequest(
  operation: OperationName,
  inner: string,
  serviceNs: string = MESSAGING_NS,
  rootAttributes = '',
): ReadObject {
  const name = `${operation}Request`
  return readChildren(
    elementOf(`<${name}${rootAttributes}>${inner}</${name}>`),
    specsOf(operation),
    serviceNs,
    name,
  )
}

const readBark = (inner: string): ReadObject => readRequest('SendBarkMessageToClients', inner)

function violation(action: () => unknown): string {
  try {
    action()
  } catch (error) {
    if (error instanceof SchemaViolation) {
      return error.message
    }
    throw error
  }
  throw new Error('expected a SchemaViolation, but nothing was thrown')
}

const BARK = `<CaClientIds><CaClientId>${CARD}</CaClientId></CaClientIds><Message>test</Message>`

describe('readChildren element names', () => {
  it('reads unqualified children as the field client sends them', () => {
    const request = readBark(
      `${BARK}<DisplayDurationInSeconds>10</DisplayDurationInSeconds><SequenceNumber>11</SequenceNumber>`,
    )

    expect(request).toEqual({
      CaClientIds: { CaClientId: [CARD] },
      Message: 'test',
      DisplayDurationInSeconds: 10,
      SequenceNumber: 11,
    })
  })

  it('reads children qualified in the service namespace', () => {
    const request = readRequest(
      'SendBarkMessageToClients',
      `${BARK}<SequenceNumber>11</SequenceNumber>`,
      MESSAGING_NS,
      ` xmlns="${MESSAGING_NS}"`,
    )

    expect(request).toEqual({
      CaClientIds: { CaClientId: [CARD] },
      Message: 'test',
      SequenceNumber: 11,
    })
  })

  it('reads children qualified in the common-types namespace', () => {
    const request = readBark(
      `<c:CaClientIds xmlns:c="${COMMON_TYPES_NS}"><c:CaClientId>${CARD}</c:CaClientId></c:CaClientIds>` +
        '<Message>test</Message>',
    )

    expect(request.CaClientIds).toEqual({ CaClientId: [CARD] })
  })

  it('accepts children in any order', () => {
    const request = readBark(
      `<SequenceNumber>3</SequenceNumber><Message>test</Message>` +
        `<CaClientIds><CaClientId>${CARD}</CaClientId><CaClientId>01900080207</CaClientId></CaClientIds>`,
    )

    expect(request).toEqual({
      SequenceNumber: 3,
      Message: 'test',
      CaClientIds: { CaClientId: [CARD, '01900080207'] },
    })
  })

  it('turns a list with one item into an array', () => {
    const request = readRequest(
      'AddSubscriptions',
      `<Subscriptions><Subscription><CaClientId>${CARD}</CaClientId><ProductId>GFA1</ProductId></Subscription></Subscriptions>`,
      SUBSCRIPTION_NS,
    )

    expect(request).toEqual({
      Subscriptions: { Subscription: [{ CaClientId: CARD, ProductId: 'GFA1' }] },
    })
  })

  it('keeps Message text verbatim and trims ids and numbers', () => {
    const request = readBark(
      `<CaClientIds><CaClientId>\n  ${CARD}  \n</CaClientId></CaClientIds>` +
        '<Message>  two  spaces \n</Message><DisplayDurationInSeconds> 10 </DisplayDurationInSeconds>',
    )

    expect(request).toEqual({
      CaClientIds: { CaClientId: [CARD] },
      Message: '  two  spaces \n',
      DisplayDurationInSeconds: 10,
    })
  })

  it('keeps a Message given in CDATA with its markup characters', () => {
    expect(readBark(`${BARK.replace('test', '<![CDATA[ <b>50% & more</b>]]>')}`).Message).toBe(
      ' <b>50% & more</b>',
    )
  })
})

describe('readChildren simple types', () => {
  it.each<[string, number]>([
    ['12', 12],
    ['+7', 7],
    ['-2147483648', -2147483648],
    ['2147483647', 2147483647],
    ['007', 7],
  ])("reads the int '%s'", (text, value) => {
    expect(readBark(`${BARK}<SequenceNumber>${text}</SequenceNumber>`).SequenceNumber).toBe(value)
  })

  it.each(['12a', '99999999999', '2147483648', '1.5', '', '1e3', '0x10'])(
    "rejects '%s' as an xs:int, naming the path",
    (text) => {
      const message = violation(() => readBark(`${BARK}<SequenceNumber>${text}</SequenceNumber>`))

      expect(message).toContain('SendBarkMessageToClientsRequest/SequenceNumber')
      expect(message).toContain('xs:int')
    },
  )

  it.each<[string, string]>([
    ['2026-11-26T10:00:00+02:00', '2026-11-26T08:00:00.000Z'],
    ['2026-11-26T10:00:00-05:30', '2026-11-26T15:30:00.000Z'],
    ['2026-11-26T10:00:00Z', '2026-11-26T10:00:00.000Z'],
    ['2026-11-26T10:00:00', '2026-11-26T10:00:00.000Z'],
    ['2026-11-26T10:00:00.5Z', '2026-11-26T10:00:00.500Z'],
    [' 2026-11-26T10:00:00Z ', '2026-11-26T10:00:00.000Z'],
  ])("normalises the dateTime '%s' to %s", (text, iso) => {
    const request = readBark(`${BARK}<StartIndicationTime>${text}</StartIndicationTime>`)

    expect(request.StartIndicationTime).toBe(iso)
  })

  it.each([
    'yesterday',
    '2026-11-26',
    '2026-13-01T10:00:00Z',
    '2026-11-26T25:00:00Z',
    '2026-11-26 10:00:00',
  ])("rejects '%s' as an xs:dateTime, naming the path", (text) => {
    const message = violation(() =>
      readBark(`${BARK}<StartIndicationTime>${text}</StartIndicationTime>`),
    )

    expect(message).toContain('SendBarkMessageToClientsRequest/StartIndicationTime')
    expect(message).toContain('xs:dateTime')
  })

  it('rejects a day that its month does not have', () => {
    const message = violation(() =>
      readBark(`${BARK}<StartIndicationTime>2026-02-30T10:00:00Z</StartIndicationTime>`),
    )

    expect(message).toContain('xs:dateTime')
  })

  it.each<[string, boolean]>([
    ['true', true],
    ['1', true],
    ['false', false],
    ['0', false],
    [' true ', true],
  ])("reads the boolean '%s'", (text, value) => {
    const status = readChildren(
      elementOf(`<Status><Paired>${text}</Paired></Status>`),
      specsOf('GetPairingStatusForCard', 'response'),
      serviceNamespace('pairing'),
      'GetPairingStatusForCardResponse',
    )

    expect(status).toEqual({ Paired: value })
  })

  it.each(['yes', 'TRUE', ''])("rejects '%s' as an xs:boolean", (text) => {
    const message = violation(() =>
      readChildren(
        elementOf(`<Status><Paired>${text}</Paired></Status>`),
        specsOf('GetPairingStatusForCard', 'response'),
        serviceNamespace('pairing'),
        'GetPairingStatusForCardResponse',
      ),
    )

    expect(message).toContain('GetPairingStatusForCardResponse/Paired')
    expect(message).toContain('xs:boolean')
  })
})

describe('readChildren schema violations', () => {
  it('names an unknown element and what may appear instead', () => {
    const message = violation(() => readBark(`${BARK}<Colour>red</Colour>`))

    expect(message).toContain('SendBarkMessageToClientsRequest/Colour is not expected')
    expect(message).toContain('DisplayDurationInSeconds')
  })

  it('refuses a single element given twice', () => {
    const message = violation(() => readBark(`${BARK}<Message>again</Message>`))

    expect(message).toContain('SendBarkMessageToClientsRequest/Message occurs more than once')
  })

  it('refuses a missing mandatory element', () => {
    const message = violation(() =>
      readBark(`<CaClientIds><CaClientId>${CARD}</CaClientId></CaClientIds>`),
    )

    expect(message).toContain('SendBarkMessageToClientsRequest/Message is missing')
  })

  it('refuses a missing mandatory element deep in a list item', () => {
    const message = violation(() =>
      readRequest(
        'AddSubscriptions',
        `<Subscriptions><Subscription><CaClientId>${CARD}</CaClientId></Subscription></Subscriptions>`,
        SUBSCRIPTION_NS,
      ),
    )

    expect(message).toContain(
      'AddSubscriptionsRequest/Subscriptions/Subscription/ProductId is missing',
    )
  })

  it('refuses an empty list that needs at least one item', () => {
    const message = violation(() => readBark('<CaClientIds/><Message>test</Message>'))

    expect(message).toContain('SendBarkMessageToClientsRequest/CaClientIds/CaClientId is missing')
  })

  it('refuses an element in a foreign namespace', () => {
    const message = violation(() =>
      readBark(`${BARK}<x:SequenceNumber xmlns:x="urn:elsewhere">1</x:SequenceNumber>`),
    )

    expect(message).toContain('SendBarkMessageToClientsRequest/SequenceNumber')
    expect(message).toContain('urn:elsewhere')
  })

  it('refuses an element qualified in the namespace of another service', () => {
    const message = violation(() =>
      readBark(`<Message xmlns="${SUBSCRIPTION_NS}">test</Message><CaClientIds/>`),
    )

    expect(message).toContain(SUBSCRIPTION_NS)
  })

  it('refuses text inside a complex element', () => {
    const message = violation(() =>
      readBark(
        `<CaClientIds>oops<CaClientId>${CARD}</CaClientId></CaClientIds><Message>test</Message>`,
      ),
    )

    expect(message).toContain('SendBarkMessageToClientsRequest/CaClientIds must hold elements')
  })

  it('refuses elements inside a simple element', () => {
    const message = violation(() =>
      readBark(
        `<CaClientIds><CaClientId>${CARD}</CaClientId></CaClientIds><Message><b>x</b></Message>`,
      ),
    )

    expect(message).toContain('SendBarkMessageToClientsRequest/Message must hold text')
  })
})
