import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { createServer, type AddressInfo, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest'
import { startAdapter } from '../../src/index.js'
import { SERVICE_BASE_PATH, startSimulator } from '../../simulator/src/index.js'
import { clientFor } from './engine/given.js'
import { inventoryOf } from './engine/given.js'
import { DeviceMap } from './engine/devices.js'
import { wireLinesOfJournal } from './engine/wire.js'
import { renderFailedChecks } from './report/console.js'
import { exitCodeOf } from './result.js'
import { runScenarioFile, runScenarios } from './runner.js'
import { loadScenario } from './scenario/load.js'

const PROVIDER = join(
  import.meta.dirname,
  '..',
  '..',
  'fixtures',
  'scenarios',
  'providers',
  'conax-ws.yaml',
)

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

    const adapter = result.checks.find((check) => check.name === 'adapter: then.requests')
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

describe('a request expected to stay PENDING', () => {
  it('passes on both sides: no call is expected for it, and the fresh CA is not sent it', async () => {
    const file = await write(
      'pending.yaml',
      `name: scheduled for later
provider: ${JSON.stringify(PROVIDER)}
given:
  crm:
    subscriptions:
      - id: S1
        services: [{ service: GEOLOGICAL, distributor: Main }]
        installedItems:
          - { serialNumber: SC1, product: SC-CONAX, caId: '01450250001', distributor: Main }
when:
  - crm:
      action: ADD_SERVICE
      subscriptionId: S1
      service: AGRICULTURE
      distributor: Main
      scheduledDate: '2027-01-01T00:00:00Z'
then:
  requests:
    - { type: ADD_SUBSCRIPTIONS, smartcardCaId: '01450250001', serviceCaId: AF1, distributor: Main, state: PENDING }
  ca:
    cards:
      '01450250001': { products: [GFA1] }
`,
    )
    const result = await runScenarioFile(file, { kind: 'in-process' })
    expect(result.verdict, renderFailedChecks(result, { color: false })).toBe('passed')
    // The expectation is still checked: the adapter must hold it PENDING.
    const eager = await write(
      'pending-sent.yaml',
      (await readFile(file, 'utf8')).replace(/\n {6}scheduledDate: .*\n/, '\n'),
    )
    const sent = await runScenarioFile(eager, { kind: 'in-process' })
    expect(sent.verdict).toBe('failed')
    expect(sent.checks[0]?.failures[0]?.diff?.actual[0]).toMatch(/serviceCaId=AF1 .*→ COMPLETED$/)
  })
})

describe('a copy of the scenario folder', () => {
  it('runs from anywhere: providers resolve against each scenario file and are not scenarios', async () => {
    const copy = join(dir, 'elsewhere', 'my-scenarios')
    await cp(join(import.meta.dirname, '..', '..', 'fixtures', 'scenarios'), copy, {
      recursive: true,
    })
    await writeFile(join(copy, 'providers', 'x.yaml'), 'name: not a scenario\n')

    // Every file of the copy is loaded before the tag selects: a provider taken for a scenario
    // would be an error result here.
    const run = await runScenarios([copy], { kind: 'in-process' }, { tags: ['scenario-2'] })

    const lines = run.scenarios.map((s) =>
      `${s.verdict} ${s.file} ${s.error?.message ?? ''}`.trim(),
    )
    expect(lines.filter((line) => !line.startsWith('passed '))).toEqual([])
    expect(lines.filter((line) => line.includes(`${copy}/business/`))).toEqual([
      `passed ${join(copy, 'business', 'scenario-2-example-1-flexible-bundle.yaml')}`,
      `passed ${join(copy, 'business', 'scenario-2-example-2-swap-to-flat-product.yaml')}`,
      `passed ${join(copy, 'business', 'scenario-2-example-3-upgrade-bundle-a-to-b.yaml')}`,
    ])
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
          reason: expect.stringContaining('crm, utility, api, run or ca') as unknown,
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
      const target = {
        kind: 'ca',
        ca: { url: sim.url, simAdmin: true, adminToken: sim.adminToken },
      } as const
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

  it('says how to pass the admin token when the simulator refuses its admin API', async () => {
    const sim = await startSimulator({ logger: 'silent', port: 0 })
    try {
      const file = await write('no-token.yaml', bundleScenario())
      const result = await runScenarioFile(file, {
        kind: 'ca',
        ca: { url: sim.url, simAdmin: true },
      })
      expect(result.verdict).toBe('error')
      expect(result.error).toMatchObject({
        code: 'CA_ADMIN_FAILED',
        message: expect.stringContaining('Pass it with --admin-token or CONTEGO_SIM_ADMIN_TOKEN'),
      })
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

  it('passes the shipped scenarios twice in a row against one standalone simulator', async () => {
    // Scenarios repeat the same writes on the same cards (AddSubscriptions GFA1 on 01450250001...):
    // a SequenceNumber used twice would be answered as a replay and change nothing, and the mails,
    // barks and fingerprints of earlier scenarios stay on the cards.
    const sim = await startSimulator({ logger: 'silent', port: 0 })
    const fixtures = join(import.meta.dirname, '..', '..', 'fixtures', 'scenarios')
    const paths = [
      join(fixtures, 'business'),
      join(fixtures, 'mapping', 'utility-send-mail.yaml'),
      join(fixtures, 'mapping', 'utility-fingerprint.yaml'),
    ]
    try {
      const target = {
        kind: 'ca',
        ca: { url: sim.url, simAdmin: true, adminToken: sim.adminToken },
      } as const
      for (const round of [1, 2]) {
        const run = await runScenarios(paths, target)
        const failed = run.scenarios.filter((scenario) => scenario.verdict !== 'passed')
        expect(
          failed.map(
            (scenario) =>
              `round ${round}: ${scenario.file}\n${renderFailedChecks(scenario, { color: false })}`,
          ),
        ).toEqual([])
        expect(run.scenarios).toHaveLength(7)
      }
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

/** A scenario of `ca` steps only on one paired card holding GFA1. */
function caStepsScenario(steps: string, then: string): string {
  return `name: CA steps
provider: ${JSON.stringify(PROVIDER)}
given:
  ca:
    smartcards: ['01450250001']
    stbs: ['1000000001']
    cards:
      '01450250001': { products: [GFA1], pairedWith: ['1000000001'], distributor: Main }
when:
${steps}
then:
${then}
`
}

describe('--cas-url --sim-admin: the steps that act on the CA', () => {
  it('makes drift through the admin API, not over the wire, and an unpair too', async () => {
    const sim = await startSimulator({ logger: 'silent', port: 0 })
    onTestFinished(() => sim.close())
    const file = await write(
      'drift.yaml',
      caStepsScenario(
        `  - ca: { unpair: '01450250001' }
  - ca: { removeProduct: { card: '01450250001', product: GFA1 } }
  - ca: { addProduct: { card: '01450250001', product: AF1, distributor: Main } }`,
        `  ca:
    cards:
      '01450250001': { products: [AF1], pairedWith: [] }`,
      ),
    )
    const target = {
      kind: 'ca',
      ca: { url: sim.url, simAdmin: true, adminToken: sim.adminToken },
    } as const

    const result = await runScenarioFile(file, target)

    expect(result.verdict, renderFailedChecks(result, { color: false })).toBe('passed')
    // Behind the CRM's back: no CancelSubscriptions or AddSubscriptions AF1 went over the wire.
    expect(sim.journal.list().flatMap(wireLinesOfJournal)).toEqual([
      'GetActiveSubscriptions card=01450250001 → OK',
      'CreatePairing cards=01450250001 stbs=1000000001 distributor=Main → OK',
      'AddSubscriptions card=01450250001 product=GFA1 distributor=Main → OK',
    ])
    // The same scenario in process agrees (side A and side B make the drift on their simulators).
    expect((await runScenarioFile(file, { kind: 'in-process' })).verdict).toBe('passed')
  })

  it('says why a drift could not be made', async () => {
    const sim = await startSimulator({ logger: 'silent', port: 0 })
    onTestFinished(() => sim.close())
    const file = await write(
      'drift-missing.yaml',
      caStepsScenario(
        `  - ca: { removeProduct: { card: '01450250001', product: AF1 } }`,
        `  ca:
    cards:
      '01450250001': { products: [GFA1] }`,
      ),
    )

    const result = await runScenarioFile(file, {
      kind: 'ca',
      ca: { url: sim.url, simAdmin: true, adminToken: sim.adminToken },
    })

    expect(result.error).toMatchObject({
      code: 'CA_DRIFT_FAILED',
      message: expect.stringContaining("Product 'AF1' is not active on card '01450250001'"),
    })
  })

  it("moves the simulator's clock where the scenario advances, so the dates it stamps follow", async () => {
    const start = Date.parse('2026-11-26T10:00:00.000Z')
    const sim = await startSimulator({ logger: 'silent', port: 0, now: () => new Date(start) })
    onTestFinished(() => sim.close())
    const file = await write(
      'advance.yaml',
      caStepsScenario(
        `  - ca: { type: GET_ACTIVE_SUBSCRIPTIONS, smartcardCaId: '01450250001' }
  - advance: 90s
  - ca: { type: GET_PAIRING_STATUS_FOR_CARD, smartcardCaId: '01450250001' }
  - advance: 1h`,
        `  ca:
    cards:
      '01450250001': { products: [GFA1] }`,
      ),
    )

    const result = await runScenarioFile(file, {
      kind: 'ca',
      ca: { url: sim.url, simAdmin: true, adminToken: sim.adminToken },
    })

    expect(result.verdict, renderFailedChecks(result, { color: false })).toBe('passed')
    expect(
      sim.journal
        .list()
        .slice(-2)
        .map((entry) => `${entry.operation ?? ''} ${entry.at}`),
    ).toEqual([
      'GetActiveSubscriptions 2026-11-26T10:00:00.000Z',
      'GetPairingStatusForCard 2026-11-26T10:01:30.000Z',
    ])
    expect(sim.advanceClock(0).toISOString()).toBe('2026-11-26T11:01:30.000Z')
  })

  it('notes an advance it cannot make on a CA without an admin API', async () => {
    const file = await write(
      'advance-real.yaml',
      caStepsScenario(
        `  - advance: 90s
  - ca: { type: GET_ACTIVE_SUBSCRIPTIONS, smartcardCaId: '01450250001' }`,
        `  ca:
    cards:
      '01450250001': { products: [GFA1] }`,
      ),
    )
    const scenario = await loadScenario(file)
    const sim = await startSimulator({
      logger: 'silent',
      port: 0,
      inventory: inventoryOf(scenario),
    })
    onTestFinished(() => sim.close())

    const result = await runScenarioFile(file, { kind: 'ca', ca: { url: sim.url } })

    expect(result.verdict, renderFailedChecks(result, { color: false })).toBe('passed')
    expect(result.checks[0]?.skipped).toEqual([
      "when[0] advance 90000 ms: the CA's clock cannot be moved on this target (only a conax-sim's, with --sim-admin)",
    ])
  })
})

describe('--devices: real devices stand for the scenario ones', () => {
  const devices = new DeviceMap(
    'map.yaml',
    { '01450250001': '01999000123' },
    { '1000000001': '2999000001' },
  )
  const realInventory = {
    smartcards: [{ caClientId: '01999000123' }],
    pairingModules: [
      {
        pairingModuleId: '2999000001',
        serialNumber: 'SN-REAL',
        productCode: 'KSTB5043',
        productDescription: 'Kaon KSTB5043 HD Conax Zapper',
      },
    ],
    products: ['GFA1', 'EFA2', 'AF1'].map((productId) => ({ productId })),
  }

  it('sends the real IDs to a CA that knows only those, and reads them back as the scenario ones', async () => {
    // No admin API: the state is read through GetPairingStatusForCard, whose STBs map back.
    const sim = await startSimulator({ logger: 'silent', port: 0, inventory: realInventory })
    onTestFinished(() => sim.close())
    const file = await write('devices.yaml', bundleScenario())

    const result = await runScenarioFile(file, { kind: 'ca', ca: { url: sim.url, devices } })

    expect(result.verdict, renderFailedChecks(result, { color: false })).toBe('passed')
    expect(sim.model.card('01450250001')).toBeNull()
    expect(sim.model.card('01999000123')).toMatchObject({
      pairing: { pairingModuleIds: ['2999000001'] },
    })
  })

  it('shows both IDs where a card fails, and the same scenario fails without the map', async () => {
    const sim = await startSimulator({ logger: 'silent', port: 0, inventory: realInventory })
    onTestFinished(() => sim.close())
    const file = await write(
      'devices-wrong.yaml',
      bundleScenario().replace('products: [GFA1, EFA2]', 'products: [GFA1, AF1]'),
    )

    const result = await runScenarioFile(file, { kind: 'ca', ca: { url: sim.url, devices } })
    const state = result.checks.find((check) => check.name === 'ca: CA state')
    expect(state?.failures[0]?.message).toBe('card 01450250001 (real 01999000123): products')

    const unmapped = await runScenarioFile(file, { kind: 'ca', ca: { url: sim.url } })
    expect(unmapped.checks[0]?.failures[0]?.diff?.actual[0]).toMatch(
      /^CREATE_PAIRING smartcardCaIds=01450250001 .*→ REJECTED \(CLIENT_NOT_FOUND\)$/,
    )
  })

  it('verifies a journal holding the real IDs, and warns once per run of a card the map lacks', async () => {
    const sim = await startSimulator({ logger: 'silent', port: 0, inventory: realInventory })
    onTestFinished(() => sim.close())
    const client = await clientFor(
      (await loadScenario(await write('p.yaml', bundleScenario()))).provider,
      `${sim.url}${SERVICE_BASE_PATH}`,
    )
    onTestFinished(() => client.close())
    // What the CRM sent for Example 1, on the real devices.
    const sent = [
      {
        type: 'CREATE_PAIRING',
        smartcardCaIds: ['01999000123'],
        stbCaIds: ['2999000001'],
        distributor: 'Main',
      },
      {
        type: 'ADD_SUBSCRIPTIONS',
        smartcardCaId: '01999000123',
        serviceCaId: 'GFA1',
        distributor: 'Main',
      },
      {
        type: 'ADD_SUBSCRIPTIONS',
        smartcardCaId: '01999000123',
        serviceCaId: 'EFA2',
        distributor: 'Main',
      },
    ] as const
    for (const [index, command] of sent.entries()) {
      expect((await client.send(command, index + 1)).kind).toBe('COMPLETED')
    }
    const good = await write('verify-devices.yaml', bundleScenario())
    // Two more scenarios that name a card the map does not list.
    const extra = bundleScenario().replace(
      "smartcards: ['01450250001']",
      "smartcards: ['01450250001', '01450250009']",
    )
    const other1 = await write('verify-devices-1.yaml', extra)
    const other2 = await write('verify-devices-2.yaml', extra)
    const warnings: string[] = []
    const journal = { url: sim.url, adminToken: sim.adminToken, devices }

    const run = await runScenarios(
      [good, other1, other2],
      { kind: 'journal', journal },
      {
        onWarning: (message) => warnings.push(message),
      },
    )

    expect(
      run.scenarios.map((s) => `${s.verdict} ${renderFailedChecks(s, { color: false })}`),
    ).toEqual(['passed ', 'passed ', 'passed '])
    expect(warnings).toEqual([
      `card 01450250009 (first in ${other1}) is not in the device map map.yaml: it goes to the CA as it is. Add it under smartcards if a real card stands for it.`,
    ])
    const unmapped = await runScenarioFile(good, {
      kind: 'journal',
      journal: { url: sim.url, adminToken: sim.adminToken },
    })
    expect(unmapped.verdict).toBe('failed')
  })
})

describe('a target that stops answering', () => {
  it('gives up on the admin API after its timeout instead of waiting for minutes', async () => {
    // Accepts connections, never answers.
    const sockets = new Set<Socket>()
    const silent = createServer((socket) => {
      sockets.add(socket)
    })
    await new Promise<void>((done) => silent.listen(0, '127.0.0.1', done))
    const { port } = silent.address() as AddressInfo
    try {
      const file = await write('silent.yaml', bundleScenario())
      // Without its timeout the run would wait on the silent server past the test's own timeout.
      const result = await runScenarioFile(file, {
        kind: 'journal',
        journal: { url: `http://127.0.0.1:${port}`, timeoutMs: 200 },
      })
      expect(result.verdict).toBe('error')
      expect(result.error?.code).toBe('CA_UNREACHABLE')
      expect(result.error?.message).toContain('no answer within 200 ms')
    } finally {
      sockets.forEach((socket) => socket.destroy())
      await new Promise((done) => silent.close(done))
    }
  })

  it('runs no further scenario once the CA did not answer one (each would wait its timeout)', async () => {
    const sim = await startSimulator({ logger: 'silent', port: 0 })
    const url = sim.url
    await sim.close()
    const first = await write('unreachable-1.yaml', bundleScenario())
    const second = await write('unreachable-2.yaml', bundleScenario())
    const run = await runScenarios([first, second], { kind: 'ca', ca: { url } })
    expect(run.scenarios.map((scenario) => scenario.error?.code)).toEqual([
      'CA_UNREACHABLE',
      'CA_UNREACHABLE',
    ])
    expect(run.scenarios[1]?.error?.message).toContain(
      `Not run: the target did not answer for ${first}`,
    )
  })
})

describe('--tag', () => {
  it('makes a run that selects no scenario unusable input, not an empty green run', async () => {
    const file = await write('tagged.yaml', bundleScenario())
    const run = await runScenarios([file], { kind: 'in-process' }, { tags: ['no-such-tag'] })
    expect(run.scenarios).toHaveLength(1)
    expect(run.scenarios[0]?.error?.code).toBe('SCENARIO_NOT_FOUND')
    expect(run.scenarios[0]?.error?.message).toContain('no scenario tagged no-such-tag')
    expect(exitCodeOf(run)).toBe(2)
  })
})

describe('verify --journal-url: another CRM drove a running simulator', () => {
  it('fails a scenario expecting only a refusal when the journal holds a call on its card', async () => {
    const text = `name: refused
provider: ${JSON.stringify(PROVIDER)}
given:
  ca:
    smartcards: ['01450250009']
when:
  - crm: { action: ACTIVATE, subscriptionId: NOBODY }
    expect: { refusal: SUBSCRIPTION_NOT_FOUND }
`
    const file = await write('verify-refusal.yaml', text)
    const scenario = await loadScenario(file)
    const sim = await startSimulator({
      logger: 'silent',
      port: 0,
      inventory: inventoryOf(scenario),
    })
    try {
      const quiet = await runScenarioFile(file, {
        kind: 'journal',
        journal: { url: sim.url, adminToken: sim.adminToken },
      })
      expect(quiet.verdict, renderFailedChecks(quiet, { color: false })).toBe('passed')
      // The CRM sent something although it should have refused.
      const client = await clientFor(scenario.provider, `${sim.url}${SERVICE_BASE_PATH}`)
      try {
        await client.send(
          {
            type: 'ADD_SUBSCRIPTIONS',
            smartcardCaId: '01450250009',
            serviceCaId: 'GFA1',
            distributor: null,
          },
          7,
        )
      } finally {
        await client.close()
      }
      const noisy = await runScenarioFile(file, {
        kind: 'journal',
        journal: { url: sim.url, adminToken: sim.adminToken },
      })
      expect(noisy.verdict).toBe('failed')
      expect(noisy.checks[0]?.failures[0]?.diff?.unexpected).toEqual([
        'AddSubscriptions card=01450250009 product=GFA1 → OK',
      ])
    } finally {
      await sim.close()
    }
  })

  it('leaves out the calls a fault failed and their replays when the scenario has faults', async () => {
    const text = `name: through faults
provider: ${JSON.stringify(PROVIDER)}
given:
  ca:
    smartcards: ['01450250001']
when:
  - ca: { fault: { kind: SYSTEM_ERROR, operation: AddSubscriptions } }
  - ca: { fault: { kind: RESET_AFTER_APPLY, operation: AddSubscriptions } }
  - ca: { fault: { kind: RESET, operation: AddSubscriptions } }
  - ca: { type: ADD_SUBSCRIPTIONS, smartcardCaId: '01450250001', serviceCaId: GFA1 }
  - ca: { type: ADD_SUBSCRIPTIONS, smartcardCaId: '01450250001', serviceCaId: EFA2 }
  - ca: { type: ADD_SUBSCRIPTIONS, smartcardCaId: '01450250001', serviceCaId: AF1 }
then:
  ca:
    cards:
      '01450250001': { products: [GFA1, EFA2, AF1] }
`
    const file = await write('verify-faults.yaml', text)
    const scenario = await loadScenario(file)
    const sim = await startSimulator({
      logger: 'silent',
      port: 0,
      inventory: inventoryOf(scenario),
    })
    onTestFinished(() => sim.close())
    const client = await clientFor(scenario.provider, `${sim.url}${SERVICE_BASE_PATH}`)
    onTestFinished(() => client.close())
    // A CRM that retries: GFA1 fails and goes again; EFA2 is applied, its answer lost, and it is
    // sent again with the same SequenceNumber (answered as a replay); AF1 is dropped unapplied.
    sim.faults.add({ kind: 'SYSTEM_ERROR', operation: 'AddSubscriptions', times: 1 })
    const add = (product: string) =>
      ({
        type: 'ADD_SUBSCRIPTIONS',
        smartcardCaId: '01450250001',
        serviceCaId: product,
        distributor: null,
      }) as const
    expect((await client.send(add('GFA1'), 21)).kind).toBe('TRANSIENT')
    expect((await client.send(add('GFA1'), 21)).kind).toBe('COMPLETED')
    sim.faults.add({ kind: 'RESET_AFTER_APPLY', operation: 'AddSubscriptions', times: 1 })
    expect((await client.send(add('EFA2'), 22)).kind).toBe('TRANSIENT')
    expect((await client.send(add('EFA2'), 22)).kind).toBe('COMPLETED')
    sim.faults.add({ kind: 'RESET', operation: 'AddSubscriptions', times: 1 })
    expect((await client.send(add('AF1'), 23)).kind).toBe('TRANSIENT')
    expect((await client.send(add('AF1'), 23)).kind).toBe('COMPLETED')
    expect(
      sim.journal.list().map((entry) => `${entry.statusCode}${entry.replay ? ' replay' : ''}`),
    ).toEqual(['SYSTEM_ERROR', 'OK', 'OK', 'OK replay', 'RESET', 'OK'])

    const result = await runScenarioFile(file, {
      kind: 'journal',
      journal: { url: sim.url, adminToken: sim.adminToken },
    })

    expect(result.verdict, renderFailedChecks(result, { color: false })).toBe('passed')
  })

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
      await adapter.service.applyAction(step.crm)
      await adapter.deliverDue()
      const passed = await runScenarioFile(good, {
        kind: 'journal',
        journal: { url: sim.url, adminToken: sim.adminToken },
      })
      expect(passed.verdict, renderFailedChecks(passed, { color: false })).toBe('passed')

      const since = sim.journal.list().at(-1)?.seq ?? 0
      const wrong = await write('verify-wrong.yaml', bundleScenario('PFA2'))
      const failed = await runScenarioFile(wrong, {
        kind: 'journal',
        journal: { url: sim.url, adminToken: sim.adminToken },
      })
      expect(failed.verdict).toBe('failed')
      const diff = failed.checks[0]?.failures[0]?.diff
      expect(diff?.firstDivergence).toBe(2)
      expect(diff?.expected[2]).toBe(
        'AddSubscriptions card=01450250001 product=PFA2 distributor=Main → OK',
      )

      // Only entries after `since`: nothing happened since, so nothing matches.
      const later = await runScenarioFile(good, {
        kind: 'journal',
        journal: { url: sim.url, since, adminToken: sim.adminToken },
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
