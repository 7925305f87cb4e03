import { readFileSync } from 'node:fs'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it, onTestFinished } from 'vitest'
import { findScenarioFiles, isScenarioFile, parseScenario } from './load.js'
import { ScenarioError } from './scenario-error.js'

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

/** A minimal valid scenario, with `then` given as YAML lines (two-space indented under `then:`). */
function scenario(then: string, extra = ''): string {
  return `name: x
provider: ${JSON.stringify(PROVIDER)}
${extra}when:
  - ca: { type: GET_ACTIVE_SUBSCRIPTIONS, smartcardCaId: '01450250001' }
then:
${then}
`
}

async function problem(text: string): Promise<ScenarioError> {
  const error: unknown = await parseScenario(text, 'f.yaml').catch((e: unknown) => e)
  expect(error).toBeInstanceOf(ScenarioError)
  const scenarioError = error as ScenarioError
  // Never a stack trace or an internal error: the message is for the scenario author.
  expect(scenarioError.message).not.toMatch(/\n\s+at /)
  return scenarioError
}

describe('aliases, which YAML resolves only when the document becomes values', () => {
  it('reports an alias without its anchor at the alias, not as a harness failure', async () => {
    const error = await problem('name: &a x\nprovider: *b\nwhen: []\n')
    expect(error.code).toBe('SCENARIO_YAML')
    expect(error.issues[0]).toMatchObject({ line: 2, column: 11 })
    expect(error.issues[0]?.reason).toMatch(/Unresolved alias/)
    expect(error.location).toBe('f.yaml:2:11')
  })

  it('reports an alias bomb instead of expanding it', async () => {
    const levels = ['a: &a [x, x, x, x, x, x, x, x, x]']
    for (const [index, name] of ['b', 'c', 'd', 'e', 'f'].entries()) {
      const previous = String.fromCharCode('a'.charCodeAt(0) + index)
      levels.push(`${name}: &${name} [${Array(9).fill(`*${previous}`).join(', ')}]`)
    }
    const error = await problem(`${levels.join('\n')}\n`)
    expect(error.code).toBe('SCENARIO_YAML')
    expect(error.issues[0]?.reason).toMatch(/too many nodes/)
    expect(error.issues[0]?.line).toBeGreaterThan(0)
  })

  it('refuses aliases that expand to more than 50 nodes', async () => {
    const nine = (alias: string): string => `[${Array(9).fill(alias).join(', ')}]`
    const error = await problem(`a: &a [x]\nb: &b ${nine('*a')}\nc: &c ${nine('*b')}\n`)
    expect(error.code).toBe('SCENARIO_YAML')
    expect(error.issues[0]?.reason).toBe(
      'YAML: aliases expand to too many nodes (more than 50 alias expansions)',
    )
  })

  it('accepts texts reused through aliases, as a shipped scenario does', async () => {
    const file = join(PROVIDER, '..', '..', 'business', 'scenario-3-mail-and-bark-messages.yaml')

    const loaded = await parseScenario(readFileSync(file, 'utf8'), file)

    expect(loaded.data.name).toBeTruthy()
  })
})

describe('locations', () => {
  it('points an empty file at its first line', async () => {
    const error = await problem('')
    expect(error.code).toBe('SCENARIO_INVALID')
    expect(error.location).toBe('f.yaml:1:1')
  })

  it('explains a card key YAML read as a number', async () => {
    const error = await problem(scenario('  ca:\n    cards:\n      01450250001: { products: [] }'))
    expect(error.issues[0]).toMatchObject({ path: 'then.ca.cards.1450250001', line: 8 })
    expect(error.issues[0]?.reason).toContain("quote it, e.g. '01450250001'")
  })
})

describe('expectations that could never fail', () => {
  it('refuses a distributor in then.ca.cards, which nothing would check', async () => {
    const error = await problem(
      scenario("  ca:\n    cards:\n      '01450250001': { products: [], distributor: TWIN9 }"),
    )
    expect(error.issues[0]).toMatchObject({ path: 'then.ca.cards.01450250001', line: 8 })
    expect(error.issues[0]?.reason).toContain("unknown key 'distributor'")
  })

  it('still takes a distributor in given.ca.cards, where it sets the state up', async () => {
    const loaded = await parseScenario(
      scenario(
        "  ca:\n    cards:\n      '01450250001': { products: [] }",
        "given:\n  ca:\n    cards:\n      '01450250001': { products: [GFA1], distributor: Main }\n",
      ),
      'f.yaml',
    )
    expect(loaded.data.given.ca.cards['01450250001']?.distributor).toBe('Main')
  })

  it('refuses a scenario that expects nothing', async () => {
    const error = await problem(scenario('  {}'))
    expect(error.code).toBe('SCENARIO_INVALID')
    expect(error.issues[0]).toMatchObject({ path: 'then', line: 6 })
    expect(error.issues[0]?.reason).toContain('expects nothing')
  })

  it('takes a step expectation alone (a refusal) as an expectation', async () => {
    const text = `name: x
provider: ${JSON.stringify(PROVIDER)}
when:
  - crm: { action: ACTIVATE, subscriptionId: S1 }
    expect: { refusal: SUBSCRIPTION_NOT_FOUND }
`
    await expect(parseScenario(text, 'f.yaml')).resolves.toMatchObject({ file: 'f.yaml' })
  })
})

describe('finding scenario files in a folder', () => {
  it('leaves out provider files: a providers/ folder and *.provider.yaml|yml', async () => {
    // Under a folder named providers itself: only the folders below the searched one count.
    const root = join(await mkdtemp(join(tmpdir(), 'conformance-find-')), 'providers', 'suite')
    onTestFinished(() => rm(join(root, '..', '..'), { recursive: true, force: true }))
    const files = [
      'a.yaml',
      'b.yml',
      'notes.txt',
      'zx.provider.yaml',
      'zx.provider.yml',
      'providers/conax-ws.yaml',
      'nested/providers/deep/other.yml',
      'nested/c.yaml',
      'nested/my-providers/d.yaml',
    ]
    for (const file of files) {
      await mkdir(join(root, file, '..'), { recursive: true })
      await writeFile(join(root, file), 'name: x\n')
    }

    const found = await findScenarioFiles([root])

    expect(found.map((file) => file.slice(file.indexOf('suite') + 'suite/'.length))).toEqual([
      'a.yaml',
      'b.yml',
      'nested/c.yaml',
      'nested/my-providers/d.yaml',
    ])
  })

  it('takes a file named on the command line as it is', async () => {
    const root = await mkdtemp(join(tmpdir(), 'conformance-find-'))
    onTestFinished(() => rm(root, { recursive: true, force: true }))
    const file = join(root, 'zx.provider.yaml')
    await writeFile(file, 'name: x\n')

    expect(await findScenarioFiles([file])).toHaveLength(1)
  })

  it('judges a path inside the searched folder, with either separator', () => {
    expect(isScenarioFile('providers\\x.yaml')).toBe(false)
    expect(isScenarioFile('business/x.yaml')).toBe(true)
  })
})
