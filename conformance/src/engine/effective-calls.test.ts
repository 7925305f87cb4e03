import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { parseScenario } from '../scenario/load.js'
import { comparableLines, effectiveEntries, hasFaults } from './effective-calls.js'
import type { JournalEntryLike } from './wire-types.js'

const PROVIDER = join(
  import.meta.dirname,
  '..',
  '..',
  '..',
  'fixtures',
  'scenarios',
  'providers',
  'conax-ws.yaml',
)

async function dataWith(step: string): Promise<Awaited<ReturnType<typeof parseScenario>>['data']> {
  const scenario = await parseScenario(
    `name: x
provider: ${JSON.stringify(PROVIDER)}
when:
${step}
  - ca: { type: GET_ACTIVE_SUBSCRIPTIONS, smartcardCaId: '01450250001' }
then:
  ca: { cards: { '01450250001': { products: [] } } }
`,
    'x.yaml',
  )
  return scenario.data
}

const entry = (seq: number, statusCode: string, replay = false): JournalEntryLike => ({
  seq,
  service: 'Subscription',
  operation: 'AddSubscriptions',
  request: null,
  statusCode,
  replay,
})

const JOURNAL = [
  entry(1, 'SYSTEM_ERROR'),
  entry(2, 'FAULT:Server'),
  entry(3, 'RESET'),
  entry(4, 'HTTP_503'),
  entry(5, 'OK', true),
  entry(6, 'OK'),
  entry(7, 'CLIENT_NOT_FOUND'),
  entry(8, 'FAULT:Client'),
]

describe('the calls a CA applied', () => {
  it('are every call when the scenario has no fault', async () => {
    const data = await dataWith('  - advance: 90s')
    expect(hasFaults(data)).toBe(false)
    expect(effectiveEntries(data, JOURNAL)).toEqual(JOURNAL)
  })

  it.each([
    '  - ca: down\n  - ca: up',
    '  - ca: { fault: { kind: SYSTEM_ERROR } }',
    '  - ca: { clearFaults: true }',
  ])('leave out transient failures and replays with %j', async (steps) => {
    const data = await dataWith(steps)
    expect(hasFaults(data)).toBe(true)
    // A business refusal and a client fault are answers the CRM must have met: they stay.
    expect(effectiveEntries(data, JOURNAL).map((e) => e.seq)).toEqual([6, 7, 8])
  })
})

describe('comparableLines', () => {
  const read: JournalEntryLike = {
    seq: 9,
    service: 'Subscription',
    operation: 'GetActiveSubscriptions',
    request: { CaClientId: '01450250001' },
    statusCode: 'OK',
  }

  it("leaves out a reset's card reads, which no expected request stands for", async () => {
    const data = await dataWith(
      '  - reset: { subscriptionId: ZX-1, preview: true }\n    expect: { refusal: SUBSCRIPTION_NOT_FOUND }',
    )
    expect(comparableLines(data, [], [read])).toEqual([])
  })

  it('keeps them when the expected sequence has reads itself, and in scenarios without a reset', async () => {
    const reset = await dataWith(
      '  - reset: { subscriptionId: ZX-1, preview: true }\n    expect: { refusal: SUBSCRIPTION_NOT_FOUND }',
    )
    const plain = await dataWith('  - advance: 1s')
    expect(comparableLines(reset, ['GetActiveSubscriptions card=x → OK'], [read])).toHaveLength(1)
    expect(comparableLines(plain, [], [read])).toHaveLength(1)
    expect(comparableLines(plain, [], [read])[0]).toContain('GetActiveSubscriptions')
  })
})
