import { join } from 'node:path'
import { stringify } from 'yaml'
import { describe, expect, it } from 'vitest'
import type { JournalEntry } from '../../../simulator/src/index.js'
import { parseScenario } from '../scenario/load.js'
import type { WhenStep } from '../scenario/schema.js'
import { EXPLORER_PROVIDER_FILE } from './explore.js'
import { failureScenario, type FailedHistory } from './scenario-writer.js'

// The scenario a failure is written as: a file the loader takes, with the expectations that make
// it fail the way the history did.

const CARD = '01460000001'
const STB = '20000000001'

function entry(
  seq: number,
  operation: string,
  sequenceNumber: number,
  replay = false,
): JournalEntry {
  return {
    seq,
    at: '2026-11-26T10:00:00.000Z',
    user: 'sms',
    service: 'subscription',
    operation,
    request: {
      SequenceNumber: sequenceNumber,
      Subscriptions: { Subscription: [{ CaClientId: CARD, ProductId: 'GFA1' }] },
    },
    statusCode: 'OK',
    transactionId: `T${seq}`,
    durationMs: 1,
    httpStatus: 200,
    replay,
    message: null,
  }
}

const become = {
  crm: {
    action: 'BECOME_SUBSCRIBER',
    subscriptionId: 'SUB-1',
    services: [{ service: 'GEOLOGICAL', distributor: 'Main' }],
    installedItems: [
      { serialNumber: 'SC-1', product: 'SC-CONAX', caId: CARD, distributor: 'Main' },
      { serialNumber: 'STB-1', product: 'STB-HD', caId: STB, distributor: 'Main' },
    ],
  },
} as WhenStep

const history: FailedHistory = {
  seed: 7,
  path: '0:1@AB:C',
  command: "conax-conformance explore --seed 7 --path '0:1@AB:C'",
  log: [
    { kind: 'step', step: become, label: 'crm: BECOME_SUBSCRIBER SUB-1' },
    { kind: 'restart', label: 'adapter restart' },
    { kind: 'step', step: { advance: 90_000 }, label: 'advance: 90s' },
    { kind: 'step', step: { deliver: 'until-idle' }, label: 'quiescence' },
  ],
  violations: [
    {
      invariant: 'nothing-applied-twice',
      message: 'AddSubscriptions with SequenceNumber 5 was applied twice (journal #1 and #2)',
    },
  ],
  requests: [],
  journal: [entry(1, 'AddSubscriptions', 5), entry(2, 'AddSubscriptions', 5)],
  expected: new Map([[CARD, { products: ['GFA1@Main'], pairing: { stbs: [STB], cards: [CARD] } }]]),
  cards: [CARD],
  stbs: [STB],
}

describe('the failure scenario', () => {
  it('is a scenario the loader takes, with the restart said in a comment and time as a duration', async () => {
    const folder = import.meta.dirname
    const { header, document } = failureScenario(history, {
      provider: join('..', '..', '..', 'fixtures', 'scenarios', 'providers', 'conax-ws.yaml'),
      schema: null,
    })
    expect(header).toBe('')
    const scenario = await parseScenario(stringify(document), join(folder, 'f.yaml'))
    expect(scenario.provider.name).toBe('Conax Contego Web Services')
    expect(EXPLORER_PROVIDER_FILE).toMatch(/conax-ws\.yaml$/)
    const [, advance, deliver] = scenario.data.when
    expect(advance).toEqual({
      advance: 90_000,
      comment: expect.stringContaining('restarted the adapter once') as unknown,
    })
    expect(deliver && 'expect' in deliver ? deliver.expect?.ca?.cards : null).toEqual({
      [CARD]: { products: ['GFA1'], pairedWith: [STB] },
    })
    expect(scenario.data.description).toContain('Invariant broken: nothing-applied-twice')
  })

  it('expects the doubled write as a replay, so that the file fails where the CA applied it twice', () => {
    const { document } = failureScenario(history, { provider: 'p.yaml', schema: 'schema.json' })
    expect(document.then).toEqual({
      soapCalls: {
        order: 'strict',
        list: [
          { operation: 'AddSubscriptions', cards: [CARD], products: ['GFA1'] },
          { operation: 'AddSubscriptions', cards: [CARD], products: ['GFA1'], replay: true },
        ],
      },
    })
  })
})
