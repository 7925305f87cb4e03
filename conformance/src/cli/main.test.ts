import { execFile } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { XMLParser, XMLValidator } from 'fast-xml-parser'
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest'
import { capturedIo } from '../../../common/test-support/captured-io.js'
import { startSimulator } from '../../../simulator/src/index.js'
import { runConformanceCli } from './main.js'

// The command line's main function in process, with captured output: what the launcher runs,
// without a Node start-up per case. One smoke test below runs the built launcher for real.
const ROOT = join(import.meta.dirname, '..', '..', '..')
const BIN = join(ROOT, 'bin', 'conax-conformance.js')
const PASSING = join(
  ROOT,
  'fixtures',
  'scenarios',
  'business',
  'scenario-2-example-1-flexible-bundle.yaml',
)

interface CliResult {
  code: number
  stdout: string
  stderr: string
}

async function cli(...args: string[]): Promise<CliResult> {
  return cliWith({}, ...args)
}

async function cliWith(env: Record<string, string>, ...args: string[]): Promise<CliResult> {
  const io = capturedIo({ NO_COLOR: '1', ...env })
  const code = await runConformanceCli([process.execPath, BIN, ...args], io)
  return { code, stdout: io.out(), stderr: io.err() }
}

/** The built launcher in a child process, as CI runs it (npm test builds first). */
async function spawned(...args: string[]): Promise<CliResult> {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1' }
  delete env.CONTEGO_SIM_ADMIN_TOKEN
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [BIN, ...args], { env })
    return { code: 0, stdout, stderr }
  } catch (error) {
    const failed = error as CliResult
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr }
  }
}

let dir: string
let failing: string
let malformed: string

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'conformance-cli-'))
  const text = await readFile(PASSING, 'utf8')
  failing = join(dir, 'failing.yaml')
  await writeFile(
    failing,
    text
      .replace(
        '../providers/conax-ws.yaml',
        join(ROOT, 'fixtures', 'scenarios', 'providers', 'conax-ws.yaml'),
      )
      .replace('serviceCaId: EFA2', 'serviceCaId: PFA2'),
  )
  malformed = join(dir, 'malformed.yaml')
  await writeFile(malformed, 'name: x\nwhen: 3\n')
})
afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

describe('the conax-conformance launcher', () => {
  it('runs the built CLI in its own process: exit code, report, no colour in a pipe', async () => {
    const passed = await spawned('run', PASSING)
    expect(passed.code).toBe(0)
    expect(passed.stdout).toMatch(/1 scenarios: 1 passed, 0 failed, 0 errors/)
    expect(passed.stdout).not.toContain('\u001b[')
    expect((await spawned('run', '--cas-url', 'ftp://nowhere')).code).toBe(2)
  })
})

describe('conax-conformance run', () => {
  it('exits 0 when every scenario passes', async () => {
    const result = await cli('run', PASSING, '--no-color')
    expect(result.code).toBe(0)
    expect(result.stdout).toMatch(/^✓ Scenario 2, Example 1/m)
    expect(result.stdout).toMatch(/1 scenarios: 1 passed, 0 failed, 0 errors/)
  })

  it('exits 1 on a failure and prints both sequences with the first divergence', async () => {
    const result = await cli('run', failing, '--no-color')
    expect(result.code).toBe(1)
    expect(result.stdout).toMatch(/^✗ Scenario 2, Example 1/m)
    // The row is cut to fit 120 columns around the difference, which both columns keep in view.
    expect(result.stdout).toMatch(/>> 3 {2}….*serviceCaId=PFA2 .* │ ….*serviceCaId=EFA2 /)
    expect(result.stdout).toContain('first divergence at row 3:')
    expect(result.stdout).not.toContain('\u001b[')
  })

  it('exits 2 on unusable input, naming the file and line', async () => {
    const result = await cli('run', malformed, PASSING, '--no-color')
    expect(result.code).toBe(2)
    expect(result.stdout).toContain(`${malformed}:2:7`)
    expect(result.stdout).toMatch(/when/)
  })

  it('selects by --tag without taking the paths after it for tags', async () => {
    const business = join(ROOT, 'fixtures', 'scenarios', 'business')
    // Only scenario-2 scenarios of business/: before, the path was read as a second tag and the
    // whole shipped suite was searched.
    const selected = await cli('run', '--tag', 'scenario-2,no-such-tag', business, '--no-color')
    expect(selected.code).toBe(0)
    expect(selected.stdout).toMatch(/3 scenarios: 3 passed/)
    // A tag no scenario carries is unusable input, not an empty green run.
    const none = await cli('run', '--tag', 'mapping', business, '--no-color')
    expect(none.code).toBe(2)
    expect(none.stdout).toContain('no scenario tagged mapping')
  })

  it('exits 2 on a bad option, with the reason', async () => {
    const result = await cli('run', '--cas-url', 'ftp://nowhere')
    expect(result.code).toBe(2)
    expect(result.stderr).toContain('is not an http(s) URL')
  })

  it("passes a simulator's admin token from --admin-token or CONTEGO_SIM_ADMIN_TOKEN", async () => {
    const token = 'conformance-cli-token-0123456789'
    const sim = await startSimulator({ logger: 'silent', adminToken: token })
    onTestFinished(() => sim.close())
    const target = ['--cas-url', sim.url, '--sim-admin', '--no-color']
    const refused = await cli('run', PASSING, ...target)
    expect(refused.code).toBe(2)
    expect(refused.stdout).toContain(
      'it needs its admin token. Pass it with --admin-token or CONTEGO_SIM_ADMIN_TOKEN',
    )
    expect((await cli('run', PASSING, ...target, '--admin-token', token)).code).toBe(0)
    expect(
      (await cliWith({ CONTEGO_SIM_ADMIN_TOKEN: token }, 'run', PASSING, ...target)).code,
    ).toBe(0)
  })

  it('runs on real devices with --devices: a simulator that knows only those passes Example 1', async () => {
    const token = 'conformance-cli-token-0123456789'
    const sim = await startSimulator({
      logger: 'silent',
      adminToken: token,
      inventory: {
        smartcards: [{ caClientId: '01999000123' }],
        pairingModules: [
          {
            pairingModuleId: '2999000001',
            serialNumber: 'SN-REAL',
            productCode: 'KSTB5043',
            productDescription: 'Kaon KSTB5043 HD Conax Zapper',
          },
        ],
        products: [{ productId: 'GFA1' }, { productId: 'EFA2' }],
      },
    })
    onTestFinished(() => sim.close())
    const devices = join(dir, 'devices.yaml')
    await writeFile(
      devices,
      'smartcards:\n  01450250001: 01999000123\nstbs:\n  1000000001: 2999000001\n',
    )
    const target = ['--cas-url', sim.url, '--sim-admin', '--admin-token', token, '--no-color']

    const result = await cli('run', PASSING, ...target, '--devices', devices)

    expect(result.code, result.stdout).toBe(0)
    expect(result.stdout).toMatch(/1 scenarios: 1 passed/)
    expect(result.stderr).toBe('')
    // The scenario's IDs never reached the CA: the harness registered and used the real ones.
    expect(sim.model.card('01450250001')).toBeNull()
    expect(sim.model.card('01999000123')).toMatchObject({
      subscriptions: [{ productId: 'GFA1' }, { productId: 'EFA2' }],
      pairing: { pairingModuleIds: ['2999000001'] },
    })
  })

  it('exits 2 on a device map it cannot use, naming the file, line and key', async () => {
    const devices = join(dir, 'bad-devices.yaml')
    await writeFile(
      devices,
      'smartcards:\n  01450250001: 01999000123\n  01450250002: 01999000123\n',
    )

    const bad = await cli('run', PASSING, '--cas-url', 'http://127.0.0.1:9', '--devices', devices)

    expect(bad.code).toBe(2)
    expect(bad.stderr).toBe(
      `conax-conformance: DEVICES_INVALID: ${devices}:3:3: smartcards.01450250002: maps to 01999000123 like smartcards.01450250001; one real card can stand for one scenario card only. Fix the device map (--devices) and run again.\n`,
    )
    const inProcess = await cli('run', PASSING, '--devices', devices)
    expect(inProcess.code).toBe(2)
    expect(inProcess.stderr).toContain('give the CA with --cas-url')
  })

  it('writes a JUnit report CI servers read, and a self-contained HTML report', async () => {
    const junit = join(dir, 'reports', 'junit.xml')
    const html = join(dir, 'reports', 'report.html')
    const result = await cli('run', PASSING, failing, malformed, '--junit', junit, '--html', html)
    expect(result.code).toBe(2)

    const xml = await readFile(junit, 'utf8')
    expect(XMLValidator.validate(xml)).toBe(true)
    const parsed = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '' }).parse(
      xml,
    ) as {
      testsuites: {
        tests: string
        failures: string
        errors: string
        testsuite: { testcase: { name: string; failure?: unknown; error?: unknown } }[]
      }
    }
    expect(parsed.testsuites).toMatchObject({ tests: '3', failures: '1', errors: '1' })
    const cases = parsed.testsuites.testsuite.map((suite) => suite.testcase)
    expect(cases.filter((c) => c.failure !== undefined)).toHaveLength(1)
    expect(cases.filter((c) => c.error !== undefined)).toHaveLength(1)

    const page = await readFile(html, 'utf8')
    expect(page.startsWith('<!DOCTYPE html>')).toBe(true)
    expect(page).not.toMatch(/(src|href)\s*=\s*["']?(https?:)?\/\//i)
    expect(page).not.toMatch(/@import|<script[^>]+src/i)
    expect(page).toContain('first divergence')
  })

  it('prints the JSON Schema of scenario files', async () => {
    const result = await cli('schema')
    expect(result.code).toBe(0)
    expect(JSON.parse(result.stdout)).toMatchObject({ title: 'Conax Contego conformance scenario' })
  })
})
