import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { BasicAuthSecurity, createClientAsync } from 'soap'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { startSimulator, type Simulator } from '../../../simulator/src/index.js'
import { REQUEST_TYPES, type ConaxCommand, type RequestType } from '../../domain/commands.js'
import { CARD_A, INVENTORY, SAMPLES } from '../../test-support/conax-samples.js'
import { characterSetOf, type CharacterSet } from './character-set.js'
import { toConaxRequest, type RequestObject } from './conax-requests.js'
import { EnvelopeWriter, textEscaper } from './envelope-writer.js'
import { readXml, type XmlNode } from './fast-reader.js'

// The envelopes the Conax client writes: accepted byte for byte by the simulator in every
// character set, and the same document node-soap builds from the shipped WSDLs.

const WSDL_DIR = join(dirname(fileURLToPath(import.meta.url)), '../../../fixtures/wsdl')

/** Texts that need escaping, references in the 8-bit sets, or a reference to survive at all. */
const DISTRIBUTOR = `R&D <1> "x" 'y' ü € 𝄞 ]]>`
const MESSAGE = `a & b < c > d ]]> "q" 'a'\ttab\nline\r\ncrlf ü € ✓ 𝄞`

/**
 * The 13 samples in the order the client test sends them (CANCEL_SUBSCRIPTIONS last, after its
 * product was added), with the free texts replaced by ones that need escaping.
 */
const IN_ORDER: readonly ConaxCommand[] = [
  ...REQUEST_TYPES.filter((type) => type !== 'CANCEL_SUBSCRIPTIONS'),
  'CANCEL_SUBSCRIPTIONS' as const,
].map((type): ConaxCommand => {
  const sample: ConaxCommand = SAMPLES[type]
  if (sample.type === 'ADD_SUBSCRIPTIONS') {
    return { ...sample, distributor: DISTRIBUTOR }
  }
  return sample.type === 'SEND_MAIL_MESSAGE_TO_CLIENT' ? { ...sample, message: MESSAGE } : sample
})

const CHARSETS = ['UTF-8', 'ISO-8859-1', 'US-ASCII', 'UTF-16'] as const

function charset(name: string): CharacterSet {
  const found = characterSetOf(name)
  if (!found) {
    throw new Error(`no character set ${name}`)
  }
  return found
}

let sim: Simulator
let endpoint: string

beforeAll(async () => {
  sim = await startSimulator({ users: { sms: 'sms', other: 'other' }, inventory: INVENTORY })
  endpoint = sim.serviceUrl('subscription').replace(/\/subscription$/, '')
})
afterAll(async () => {
  await sim?.close()
})
beforeEach(async () => {
  await sim.reset(true)
})

describe('textEscaper', () => {
  const text = `&<>"'\r\n\tü€𝄞`
  it.each([
    ['UTF-8', `&amp;&lt;&gt;"'&#xD;\n\tü€𝄞`],
    ['ISO-8859-1', `&amp;&lt;&gt;"'&#xD;\n\tü&#x20AC;&#x1D11E;`],
    ['US-ASCII', `&amp;&lt;&gt;"'&#xD;\n\t&#xFC;&#x20AC;&#x1D11E;`],
    ['UTF-16', `&amp;&lt;&gt;"'&#xD;\n\tü€𝄞`],
  ])('%s: markup and CR become references, and what the set cannot carry', (name, escaped) => {
    expect(textEscaper(charset(name))(text)).toBe(escaped)
    expect(textEscaper(charset(name))('01450253313')).toBe('01450253313')
  })
})

describe('the simulator accepts the bytes written for every operation', () => {
  it('covers the 13 operations', () => {
    expect(new Set(IN_ORDER.map((command) => command.type))).toEqual(new Set(REQUEST_TYPES))
  })

  it.each(CHARSETS)('in %s, with texts kept exactly', async (name) => {
    const writer = new EnvelopeWriter(charset(name))
    const statuses: [RequestType, number, string][] = []
    for (const [index, command] of IN_ORDER.entries()) {
      const request = toConaxRequest(command, index + 1)
      const body = writer.body(request)
      const bytes =
        typeof body.data === 'string' ? Buffer.from(body.data, body.encoding) : body.data
      expect(bytes.length).toBe(body.length)
      const answer = await fetch(`${endpoint}/${request.service}`, {
        method: 'POST',
        headers: {
          'Content-Type': `text/xml; charset=${name}`,
          Authorization: `Basic ${Buffer.from('sms:sms').toString('base64')}`,
          SOAPAction: '""',
        },
        body: bytes,
      })
      const text = await answer.text()
      statuses.push([
        command.type,
        answer.status,
        /<StatusCode>(\w+)<\/StatusCode>/.exec(text)?.[1] ?? text.slice(0, 300),
      ])
      expect(sim.journal.list().at(-1)?.operation).toBe(request.operation)
    }
    expect(statuses).toEqual(IN_ORDER.map((command) => [command.type, 200, 'OK']))
    const card = sim.model.card(CARD_A)
    expect(card?.inbox.map((mail) => mail.message)).toEqual([MESSAGE])
    expect(sim.journal.list()[0]?.request).toMatchObject({
      Subscriptions: { Subscription: [expect.objectContaining({ Distributor: DISTRIBUTOR })] },
    })
  })
})

/** A document as names and texts: namespace URI and local name, leaf text, children. */
interface Canonical {
  readonly name: string
  readonly text?: string
  readonly children?: readonly Canonical[]
}

function canonical(node: XmlNode): Canonical {
  const name = `{${node.ns ?? ''}}${node.local}`
  return node.children.length === 0
    ? { name, text: node.text }
    : { name, children: node.children.map(canonical) }
}

describe('the envelope is the document node-soap builds from the WSDLs', () => {
  it('for each of the 13 operations, with texts that need escaping', async () => {
    const clients = new Map<string, Awaited<ReturnType<typeof createClientAsync>>>()
    const writer = new EnvelopeWriter(charset('UTF-8'))
    for (const [index, command] of IN_ORDER.entries()) {
      const request = toConaxRequest(command, index + 1)
      let client = clients.get(request.service)
      if (!client) {
        client = await createClientAsync(
          join(WSDL_DIR, `${request.service}.wsdl`),
          { disableCache: true },
          `${endpoint}/${request.service}`,
        )
        client.setSecurity(new BasicAuthSecurity('sms', 'sms'))
        clients.set(request.service, client)
      }
      const operation: unknown = client[`${request.operation}Async`]
      expect(typeof operation).toBe('function')
      const args: Record<string, RequestObject> = {
        [`${request.operation}Request`]: request.children,
      }
      await (operation as (args: unknown) => Promise<unknown>).call(client, args)
      const theirs = readXml(client.lastRequest ?? '')
      const ours = readXml(writer.text(request))
      expect(theirs, client.lastRequest).not.toBeNull()
      expect(ours).not.toBeNull()
      expect(canonical(ours as XmlNode), request.operation).toEqual(canonical(theirs as XmlNode))
    }
    // node-soap's requests were accepted as well: the CA state is the same as after ours.
    expect(sim.model.card(CARD_A)?.inbox.map((mail) => mail.message)).toEqual([MESSAGE])
  })
})
