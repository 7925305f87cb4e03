import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startAdapter } from '../../src/index.js'
import { SERVICE_BASE_PATH, startSimulator } from '../../simulator/src/index.js'
import { inventoryOf } from './engine/ca-state.js'
import { renderFailedChecks } from './report/console.js'
import { runScenarioFile, runScenarios } from './runner.js'
import { loadScenario } from './scenario/load.js'

const PROVIDER = join(import.meta.dirname, '..', '..', 'fixtures', 'providers', 'conax-ws.yaml')

/** Example 1 of the seed's Scenario 2, with the expected Entertain CA ID as a parameter. */
function bundleScenario(entertainCaId = 'EFA2'): string {
  return `name: Flexible Bundle A
provider: ${JSON.stringify(PROVIDER)}
given:
  ca:
    smartcards: ['01450250001']
    stbs: ['1000000001']
when:
  - crm:
      action: BECOME_SUBSCRIBER
      subscriptionId: S1
      services:
        - { service: GEOLOGICAL, distributor: Main }
        - { service: ENTERTAIN, distributor: Main }
      installedItems:
        - { serialNumber: SC1, product: SC-CONAX, caId: '01450250001', distributor: Main }
        - { serialNumber: STB1, product: STB-HD, caId: '1000000001', distributor: Main }
then:
  requests:
    - { type: CREATE_PAIRING, smartcardCaIds: ['01450250001'], stbCaIds: ['1000000001'], distributor: Main }
    - { type: ADD_SUBSCRIPTIONS, smartcardCaId: '01450250001', serviceCaId: GFA1, distributor: Main }
    - { type: ADD_SUBSCRIPTIONS, smartcardCaId: '01450250001', serviceCaId: ${entertainCaId}, distributor: Main }
  ca:
    cards:
      '01450250001': { products: [GFA1, ${entertainCaId}], pairedWith: ['1000000001'] }
`
}

let dir: string
const write = async (name: string, text: string): Promise<string> => {
  const file = join(dir, name)
  await writeFile(file, text)
  return file
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'conformance-runner-'))
})
afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

describe('a scenario whose expectation is wrong', () => {
  it('fails on both sides with the first divergence at the wrong request', async () => {
    // The seed's own slip: PFA2 for Entertain, where the mapping says EFA2.
    const file = await write('wrong.yaml', bundleScenario('PFA2'))
    const result = await runScenarioFile(file, { kind: 'in-process' })
    expect(result.verdict).toBe('failed')

    const adapter = result.checks.find((check) => check.name === 'adapter: refusals and requests')
    const diff = adapter?.failures[0]?.diff
    expect(diff?.firstDivergence).toBe(2)
    expect(diff?.expected[2]).toBe(
      'ADD_SUBSCRIPTIONS smartcardCaId=01450250001 serviceCaId=PFA2 distributor=Main → COMPLETED',
    )
    expect(diff?.actual[2]).toBe(
      'ADD_SUBSCRIPTIONS smartcardCaId=01450250001 serviceCaId=EFA2 distributor=Main → COMPLETED',
    )
    expect(adapter?.failures[0]?.path).toBe('then.requests')

    // The CA received EFA2, not PFA2: the journal check and the state check say so too.
    const journal = result.checks.find((check) => check.side === 'journal')
    expect(journal?.passed).toBe(false)
    const state = result.checks.find((check) => check.name === 'adapter: CA state')
    expect(state?.failures[0]).toMatchObject({
      path: 'then.ca.cards.01450250001.products',
      expected: ['GFA1', 'PFA2'],
      actual: ['EFA2', 'GFA1'],
    })

    // Sent straight to a fresh simulator, PFA2 is an unknown product: the CA refuses it.
    const ca = result.checks.find((check) => check.name === 'ca: answers to the expected sequence')
    expect(ca?.failures[0]?.diff?.firstDivergence).toBe(2)
    expect(ca?.failures[0]?.diff?.actual[2]).toMatch(/serviceCaId=PFA2 .*→ REJECTED \(\w+\)$/)

    const text = renderFailedChecks(result, { color: false })
    expect(text).toContain('first divergence at row 3')
    expect(text).toContain('expected: ADD_SUBSCRIPTIONS smartcardCaId=01450250001 serviceCaId=PFA2')
  })

  it('fails when a refusal was expected but the action was accepted', async () => {
    // `expect` sits beside `crm` in the step.
    const file = await write(
      'refusal.yaml',
      bundleScenario().replace('then:', '    expect: { refusal: TOO_MANY_VIEWING_POINTS }\nthen:'),
    )
    const result = await runScenarioFile(file, { kind: 'in-process' })
    const adapter = result.checks.find((check) => check.side === 'adapter')
    expect(adapter?.failures[0]).toMatchObject({
      path: 'when[0].expect.refusal',
      expected: 'TOO_MANY_VIEWING_POINTS',
    })
    expect(adapter?.failures[0]?.message).toContain('was accepted')
  })
})

describe('a malformed scenario', () => {
  it('gives the file, line, column and reason of a YAML syntax error', async () => {
    const file = await write('syntax.yaml', 'name: broken\nwhen:\n  - crm: [unclosed\n')
    const result = await runScenarioFile(file, { kind: 'in-process' })
    expect(result.verdict).toBe('error')
    expect(result.error?.code).toBe('SCENARIO_YAML')
    expect(result.error?.location).toMatch(/syntax\.yaml:\d+:\d+$/)
    expect(result.error?.message).not.toMatch(/\n\s+at /)
  })

  it('points at the field that breaks the format, with the rule', async () => {
    const text = bundleScenario()
      .replace('action: BECOME_SUBSCRIBER', 'action: BECOME_SUBSCRIBR')
      .replace('serviceCaId: GFA1, distributor: Main }', 'serviceCaId: GFA1, distributer: Main }')
    const file = await write('schema.yaml', text)
    await expect(loadScenario(file)).rejects.toMatchObject({
      code: 'SCENARIO_INVALID',
      issues: [
        expect.objectContaining({ path: 'when[0].crm.action', line: 9, column: 15 }),
        expect.objectContaining({
          path: 'then.requests[1]',
          reason: expect.stringContaining("unknown key 'distributer'") as unknown,
          line: 20,
        }),
      ],
    })
    const result = await runScenarioFile(file, { kind: 'in-process' })
    expect(result.error?.location).toBe(`${file}:9:15`)
    expect(result.error?.message).toContain('when[0].crm.action')
  })

  it('names a step with none of the step keys', async () => {
    const file = await write(
      'step.yaml',
      `name: x\nprovider: ${JSON.stringify(PROVIDER)}\nwhen:\n  - crn: { action: ACTIVATE, subscriptionId: S1 }\n`,
    )
    await expect(loadScenario(file)).rejects.toMatchObject({
      issues: [
        expect.objectContaining({
          path: 'when[0]',
          line: 4,
          reason: expect.stringContaining('crm, utility, api or ca') as unknown,
        }),
      ],
    })
  })

  it('reports a provider file that does not exist', async () => {
    const file = await write(
      'provider.yaml',
      bundleScenario().replace(JSON.stringify(PROVIDER), 'no-such-provider.yaml'),
    )
    const result = await runScenarioFile(file, { kind: 'in-process' })
    expect(result.error?.code).toBe('PROVIDER_INVALID')
    expect(result.error?.message).toContain('no-such-provider.yaml')
  })

  it('makes a run exit with unusable input, and a missing path is an error result', async () => {
    const run = await runScenarios([join(dir, 'missing-folder')], { kind: 'in-process' })
    expect(run.scenarios).toHaveLength(1)
    expect(run.scenarios[0]?.error?.code).toBe('SCENARIO_NOT_FOUND')
  })
})

describe('--cas-url: the expected sequence against a CA endpoint', () => {
  it('passes against a standalone simulator set up through its admin API', async () => {
    const sim = await startSimulator({ logger: 'silent', port: 0 })
    try {
      const file = await write('remote.yaml', bundleScenario())
      const target = { kind: 'ca', ca: { url: sim.url, simAdmin: true } } as const
      const first = await runScenarioFile(file, target)
      expect(first.verdict, renderFailedChecks(first, { color: false })).toBe('passed')
      // The cards are cleared before each run, so a second run starts from the same state.
      const second = await runScenarioFile(file, target)
      expect(second.verdict).toBe('passed')
      expect(first.checks.map((check) => check.side)).toEqual(['ca', 'ca'])
    } finally {
      await sim.close()
    }
  })

  it('reads the state through the query operations when the CA has no admin API', async () => {
    const file = await write(
      'query.yaml',
      bundleScenario().replace(
        "pairedWith: ['1000000001'] }",
        "pairedWith: ['1000000001'], pin: '1234' }",
      ),
    )
    const scenario = await loadScenario(file)
    const sim = await startSimulator({
      logger: 'silent',
      port: 0,
      inventory: inventoryOf(scenario),
    })
    try {
      const result = await runScenarioFile(file, {
        kind: 'ca',
        ca: { url: `${sim.url}${SERVICE_BASE_PATH}` },
      })
      expect(result.verdict, renderFailedChecks(result, { color: false })).toBe('passed')
      const state = result.checks.find((check) => check.name === 'ca: CA state')
      expect(state?.skipped).toEqual(['card 01450250001 pin: not observable on this target'])
    } finally {
      await sim.close()
    }
  })

  it('is an error, not a failure, when the CA cannot be reached', async () => {
    const sim = await startSimulator({ logger: 'silent', port: 0 })
    const url = sim.url
    await sim.close()
    const file = await write('unreachable.yaml', bundleScenario())
    const result = await runScenarioFile(file, { kind: 'ca', ca: { url } })
    expect(result.verdict).toBe('error')
    expect(result.error?.code).toBe('CA_UNREACHABLE')
  })
})

describe('verify --journal-url: another CRM drove a running simulator', () => {
  it('passes when the CRM sent the expected sequence, and shows where it did not', async () => {
    const good = await write('verify.yaml', bundleScenario())
    const scenario = await loadScenario(good)
    const sim = await startSimulator({
      logger: 'silent',
      port: 0,
      inventory: inventoryOf(scenario),
    })
    const adapter = await startAdapter({
      provider: {
        ...scenario.provider,
        connection: { ...scenario.provider.connection, endpoint: `${sim.url}${SERVICE_BASE_PATH}` },
      },
      port: null,
      autoDeliver: false,
    })
    try {
      const step = scenario.data.when[0]
      if (!step || !('crm' in step)) {
        throw new Error('the scenario starts with a CRM action')
      }
      await adapter.service.applyAction(step.crm as never)
      await adapter.deliverDue()
      const passed = await runScenarioFile(good, { kind: 'journal', journal: { url: sim.url } })
      expect(passed.verdict, renderFailedChecks(passed, { color: false })).toBe('passed')

      const since = sim.journal.list().at(-1)?.seq ?? 0
      const wrong = await write('verify-wrong.yaml', bundleScenario('PFA2'))
      const failed = await runScenarioFile(wrong, { kind: 'journal', journal: { url: sim.url } })
      expect(failed.verdict).toBe('failed')
      const diff = failed.checks[0]?.failures[0]?.diff
      expect(diff?.firstDivergence).toBe(2)
      expect(diff?.expected[2]).toBe(
        'AddSubscriptions card=01450250001 product=PFA2 distributor=Main → OK',
      )

      // Only entries after `since`: nothing happened since, so nothing matches.
      const later = await runScenarioFile(good, {
        kind: 'journal',
        journal: { url: sim.url, since },
      })
      expect(later.checks[0]?.failures[0]?.diff?.actual).toEqual([])
    } finally {
      await adapter.close()
      await sim.close()
    }
  })
})

describe('the JSON Schema shipped for editors', () => {
  it('is the one generated from the loader schema (run npm run fixtures:schema after a change)', async () => {
    const { scenarioJsonSchema } = await import('./scenario/json-schema.js')
    const shipped = JSON.parse(
      await readFile(join(import.meta.dirname, '..', 'scenario.schema.json'), 'utf8'),
    ) as unknown
    expect(shipped).toEqual(scenarioJsonSchema())
  })
})
