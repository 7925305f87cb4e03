import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  SERVICE_BASE_PATH,
  SERVICE_NAMES,
  SOAP11_ENV,
  SOAP12_ENV,
  serviceNamespace,
} from './contract/namespaces.js'
import { OPERATIONS, OPERATION_BY_NAME, type OperationName } from './operations/operation-table.js'
import type { ReadObject, ReadValue } from './contract/schema.js'
import { startSimulator, type Simulator } from './create-simulator.js'
import {
  RawClient,
  RecordingStore,
  checkpoint,
  soapOutcome,
  type Checkpoint,
  type SoapOutcome,
} from './test-support/hostile.js'
import { CARD_A, CARD_B, STB_1, TEST_INVENTORY, requestEnvelope } from './test-support/soap.js'

// Generated hostile SOAP bodies (fast-check): valid envelopes of all 13 operations, mutated in
// their tree (elements dropped, duplicated, renamed, wrapped; values replaced by random text;
// attribute noise; CDATA) and in their bytes (truncated, random bytes inserted or replaced), posted
// over keep-alive connections. Each answer must be one the contract allows and be journalled once;
// unless it is an OK answer to a write, the model and the replay records must be as before.
// A run is reproducible from its seed: HOSTILE_SEED=<n> HOSTILE_RUNS=<n> npx vitest run <this file>.

const SEED = Number(process.env.HOSTILE_SEED ?? 20_269)
const RUNS = Number(process.env.HOSTILE_RUNS ?? 10_000)

/** An element of a request under construction: raw attributes, then children or text. */
interface Node {
  name: string
  attrs: string[]
  children: Node[]
  /** Raw XML text content (already escaped, unless a mutation put markup in on purpose). */
  text: string | null
}

const isList = (value: ReadValue): value is readonly ReadValue[] => Array.isArray(value)

const element = (name: string, value: ReadValue): Node[] => {
  if (isList(value)) {
    return value.flatMap((item) => element(name, item))
  }
  if (typeof value === 'object') {
    return [{ name, attrs: [], children: children(value), text: null }]
  }
  return [{ name, attrs: [], children: [], text: String(value) }]
}
const children = (value: ReadObject): Node[] =>
  Object.entries(value).flatMap(([name, child]) => element(name, child))

/**
 * A valid request of each operation, against the inventory the simulator starts with: the
 * operation's example in the operation table (it names the devices of TEST_INVENTORY).
 */
function valid(operation: OperationName): ReadObject {
  const example = OPERATION_BY_NAME.get(operation)?.example
  if (!example) {
    throw new Error(`${operation} is not in the operation table`)
  }
  return example
}

function envelopeTree(operation: OperationName, soap12: boolean, qualified: boolean): Node {
  const spec = OPERATION_BY_NAME.get(operation)
  const ns = serviceNamespace(spec?.service ?? 'subscription')
  const prefix = (nodes: Node[]): Node[] =>
    nodes.map((node) => ({
      ...node,
      name: qualified ? `c:${node.name}` : node.name,
      children: prefix(node.children),
    }))
  const request: Node = {
    name: qualified ? `c:${operation}Request` : `${operation}Request`,
    attrs: [],
    children: prefix(children(valid(operation))),
    text: null,
  }
  const op: Node = {
    name: `c:${operation}`,
    attrs: [`xmlns:c="${ns}"`],
    children: [request],
    text: null,
  }
  const body: Node = { name: 's:Body', attrs: [], children: [op], text: null }
  return {
    name: 's:Envelope',
    attrs: [`xmlns:s="${soap12 ? SOAP12_ENV : SOAP11_ENV}"`],
    children: [body],
    text: null,
  }
}

function serialize(node: Node): string {
  const open = [node.name, ...node.attrs].join(' ')
  const inner = node.text ?? node.children.map(serialize).join('')
  return `<${open}>${inner}</${node.name}>`
}

/** The nodes in document order, each with its parent (null for the root). */
function walk(root: Node): { node: Node; parent: Node | null }[] {
  const all: { node: Node; parent: Node | null }[] = []
  const visit = (node: Node, parent: Node | null): void => {
    all.push({ node, parent })
    node.children.forEach((child) => visit(child, node))
  }
  visit(root, null)
  return all
}

const escape = (text: string): string =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/]]>/g, ']]&gt;')

const NAMES = [
  ...new Set(
    OPERATIONS.flatMap((op) => [op.name, `${op.name}Request`, ...op.request.map((e) => e.name)]),
  ),
  'Subscription',
  'CaClientId',
  'PairingModuleId',
  'Foo',
  's:Header',
  's:Body',
  's:Envelope',
  'c:Subscriptions',
  'x:Unbound',
  '1Digit',
  'a-b.c',
  'Ünïcödé',
]

const TEXTS = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 20 }),
  fc.integer().map(String),
  fc.double().map(String),
  fc.bigInt().map(String),
  fc.constantFrom(
    '',
    ' ',
    'NaN',
    '-0',
    '+7',
    '1e3',
    '0x1F',
    '99999999999999999999',
    '-2147483649',
    '2147483647',
    '٣',
    '０１４５０２５３３１３',
    CARD_A,
    CARD_B,
    '09999999999',
    '01234567890',
    STB_1,
    '1999999999',
    'GFA1',
    'EFA2',
    'NOPE1',
    'true',
    '2030-02-30T00:00:00Z',
    '2030-01-01T00:00:00+25:00',
    'x'.repeat(200),
    '\u202e\u0000\uffff',
  ),
)

const ATTRIBUTES = fc.oneof(
  fc.constantFrom(
    'xsi:nil="true"',
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:nil="true"',
    'xmlns="urn:evil"',
    'xmlns=""',
    'xmlns:c="urn:evil"',
    `xmlns:s="${SOAP12_ENV}"`,
    `xmlns:c="${serviceNamespace('pairing')}"`,
    'a="1" a="2"',
    'noValue',
    'id="&#0;"',
    'href="http://127.0.0.1:9/x"',
    's:mustUnderstand="1"',
  ),
  fc
    .tuple(fc.stringMatching(/^[a-z][a-z0-9]{0,8}$/), fc.string({ maxLength: 20 }))
    .map(([name, value]) => `${name}="${escape(value).replace(/"/g, '&quot;')}"`),
)

type TreeMutation =
  | { readonly kind: 'drop' | 'duplicate' | 'cdata'; readonly at: number }
  | { readonly kind: 'rename' | 'wrap'; readonly at: number; readonly name: string }
  | { readonly kind: 'text'; readonly at: number; readonly text: string; readonly raw: boolean }
  | { readonly kind: 'attr'; readonly at: number; readonly attr: string }

type ByteMutation =
  | { readonly kind: 'truncate'; readonly at: number }
  | { readonly kind: 'insert'; readonly at: number; readonly bytes: Uint8Array }
  | { readonly kind: 'replace'; readonly at: number; readonly byte: number }

const at = fc.nat()
const treeMutation: fc.Arbitrary<TreeMutation> = fc.oneof(
  fc.record({ kind: fc.constantFrom('drop', 'duplicate', 'cdata'), at }),
  fc.record({ kind: fc.constantFrom('rename', 'wrap'), at, name: fc.constantFrom(...NAMES) }),
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('text'),
      at,
      text: TEXTS,
      raw: fc.oneof({ weight: 4, arbitrary: fc.constant(false) }, fc.constant(true)),
    }),
  },
  fc.record({ kind: fc.constant('attr'), at, attr: ATTRIBUTES }),
)
const byteMutation: fc.Arbitrary<ByteMutation> = fc.oneof(
  fc.record({ kind: fc.constant('truncate'), at }),
  fc.record({
    kind: fc.constant('insert'),
    at,
    bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }),
  }),
  fc.record({ kind: fc.constant('replace'), at, byte: fc.integer({ min: 0, max: 255 }) }),
)

function mutateTree(root: Node, mutation: TreeMutation): void {
  const all = walk(root)
  // New values go into values (leaves) where there are any, so they reach the model's checks.
  const leaves = all.filter((entry) => entry.node.text !== null)
  const nodes = mutation.kind === 'text' && leaves.length > 0 ? leaves : all
  const { node, parent } = nodes[mutation.at % nodes.length] as { node: Node; parent: Node | null }
  const siblings = parent?.children
  const index = siblings?.indexOf(node) ?? -1
  switch (mutation.kind) {
    case 'drop':
      if (siblings) {
        siblings.splice(index, 1)
      } else {
        node.children = []
        node.text = ''
      }
      return
    case 'duplicate':
      siblings?.splice(index, 0, structuredClone(node))
      return
    case 'rename':
      node.name = mutation.name
      return
    case 'wrap':
      if (siblings) {
        siblings[index] = { name: mutation.name, attrs: [], children: [node], text: null }
      }
      return
    case 'text':
      node.children = []
      node.text = mutation.raw ? mutation.text : escape(mutation.text)
      return
    case 'cdata':
      if (node.text !== null) {
        node.text = `<![CDATA[${node.text}]]>`
      }
      return
    case 'attr':
      node.attrs.push(mutation.attr)
      return
  }
}

function mutateBytes(body: Buffer, mutation: ByteMutation): Buffer {
  const position = body.length === 0 ? 0 : mutation.at % (body.length + 1)
  switch (mutation.kind) {
    case 'truncate':
      return body.subarray(0, position)
    case 'insert':
      return Buffer.concat([body.subarray(0, position), mutation.bytes, body.subarray(position)])
    case 'replace': {
      const copy = Buffer.from(body)
      if (copy.length > 0) {
        copy[position % copy.length] = mutation.byte
      }
      return copy
    }
  }
}

interface Generated {
  readonly operation: OperationName
  readonly soap12: boolean
  readonly qualified: boolean
  /** Post to another service's endpoint than the operation's own. */
  readonly endpointShift: number
  readonly soapAction: 'none' | 'own' | 'other'
  readonly tree: readonly TreeMutation[]
  readonly bytes: readonly ByteMutation[]
}

const generated: fc.Arbitrary<Generated> = fc
  .record({
    operation: fc.constantFrom(...OPERATIONS.map((op) => op.name)),
    soap12: fc.boolean(),
    qualified: fc.boolean(),
    endpointShift: fc.oneof(
      { weight: 9, arbitrary: fc.constant(0) },
      { weight: 1, arbitrary: fc.integer({ min: 1, max: 4 }) },
    ),
    soapAction: fc.constantFrom('none', 'none', 'own', 'other'),
    tree: fc.array(treeMutation, { maxLength: 3 }),
    // Most cases keep their bytes, so that the mutations also reach the schema and the model.
    bytes: fc.oneof(
      { weight: 3, arbitrary: fc.constant([]) },
      fc.array(byteMutation, { minLength: 1, maxLength: 2 }),
    ),
  })
  // Every case is mutated somehow; an untouched valid envelope is the operation tests' business.
  .filter(
    (g) => g.tree.length + g.bytes.length > 0 || g.endpointShift > 0 || g.soapAction === 'other',
  )

function build(g: Generated): { path: string; headers: Record<string, string>; body: Buffer } {
  const tree = envelopeTree(g.operation, g.soap12, g.qualified)
  g.tree.forEach((mutation) => mutateTree(tree, mutation))
  let body: Buffer = Buffer.from(`<?xml version="1.0" encoding="UTF-8"?>${serialize(tree)}`, 'utf8')
  g.bytes.forEach((mutation) => (body = mutateBytes(body, mutation)))
  const own = OPERATION_BY_NAME.get(g.operation)?.service ?? 'subscription'
  const service =
    SERVICE_NAMES[(SERVICE_NAMES.indexOf(own) + g.endpointShift) % SERVICE_NAMES.length] ?? own
  const headers: Record<string, string> = {
    Authorization: `Basic ${Buffer.from('sms:sms').toString('base64')}`,
    'Content-Type': g.soap12 ? 'application/soap+xml; charset=utf-8' : 'text/xml; charset=utf-8',
  }
  if (g.soapAction !== 'none') {
    headers.SOAPAction = `"urn:conax#${g.soapAction === 'own' ? g.operation : 'CancelSubscriptions'}"`
  }
  return { path: `${SERVICE_BASE_PATH}${service}`, headers, body }
}

const journalled = (outcome: SoapOutcome): string =>
  outcome.kind === 'status'
    ? outcome.statusCode
    : outcome.kind === 'fault'
      ? `FAULT:${outcome.code}`
      : `HTTP_${outcome.status}`

const WRITES = new Set(OPERATIONS.filter((op) => op.write).map((op) => `${op.name}Response`))

describe(`generated hostile SOAP bodies (seed ${SEED}, ${RUNS} runs)`, () => {
  let sim: Simulator
  let store: RecordingStore
  let client: RawClient

  beforeAll(async () => {
    store = new RecordingStore()
    sim = await startSimulator({
      inventory: TEST_INVENTORY,
      users: { sms: 'sms', other: 'other' },
      store,
      journalLimit: 200,
      logger: 'silent',
    })
    client = new RawClient(sim.url)
    // A pairing, an active product and a replay record for the mutations to aim at.
    for (const [service, operation, children] of [
      ['pairing', 'CreatePairing', valid('CreatePairing')],
      ['subscription', 'AddSubscriptions', valid('AddSubscriptions')],
      [
        'subscription',
        'AddSubscriptions',
        { Subscriptions: { Subscription: { CaClientId: CARD_A, ProductId: 'GFA1' } } },
      ],
    ] as const) {
      const answer = await client.send(`${SERVICE_BASE_PATH}${service}`, {
        headers: {
          Authorization: `Basic ${Buffer.from('sms:sms').toString('base64')}`,
          'Content-Type': 'text/xml; charset=utf-8',
        },
        body: requestEnvelope(service, operation, children),
      })
      expect(soapOutcome(answer)).toMatchObject({ kind: 'status', statusCode: 'OK' })
    }
  })

  afterAll(async () => {
    client.close()
    await sim.close()
  })

  it('answers every one as the contract allows, journals it once and changes nothing unless it is an OK write', async () => {
    const tally = new Map<string, number>()
    let before: Checkpoint = await checkpoint(sim, store)
    await fc.assert(
      fc.asyncProperty(generated, async (g) => {
        const { path, headers, body } = build(g)
        const outcome = soapOutcome(await client.send(path, { headers, body }))
        const key = journalled(outcome)
        tally.set(key, (tally.get(key) ?? 0) + 1)
        const entries = sim.journal.list({ since: before.seq })
        expect(entries.map((e) => e.statusCode)).toEqual([key])
        const appliedWrite =
          outcome.kind === 'status' && outcome.statusCode === 'OK' && WRITES.has(outcome.response)
        const after = await checkpoint(sim, store)
        // Compared as JSON first (fast); toEqual only to show the difference.
        if (
          !appliedWrite &&
          JSON.stringify(after) !== JSON.stringify({ ...before, seq: after.seq })
        ) {
          expect(after.model).toEqual(before.model)
          expect(after.replays).toEqual(before.replays)
        }
        before = after
      }),
      { seed: SEED, numRuns: RUNS, endOnFailure: true },
    )
    expect((await client.send('/healthz', { method: 'GET' })).status).toBe(200)
    const total = [...tally.values()].reduce((sum, n) => sum + n, 0)
    expect(total).toBe(RUNS)
    // The mutations reach every layer: unreadable bytes, schema refusals and business answers.
    expect(tally.get('FAULT:Server')).toBeGreaterThan(RUNS / 20)
    expect(tally.get('FAULT:Client')).toBeGreaterThan(RUNS / 20)
    expect(tally.get('INPUT_VALIDATION_ERROR') ?? 0).toBeGreaterThan(0)
  }, 60_000)
})
