import { join } from 'node:path'
import { describe, expect, it, onTestFinished } from 'vitest'
import { startSimulator } from '../../simulator/src/index.js'
import { capturedIo } from '../../common/test-support/captured-io.js'
import { runConformanceCli } from './cli/main.js'
import { packageRoot } from './cli/package-root.js'
import { exitCodeOf } from './result.js'
import { runScenarios } from './runner.js'

// Parallel CI on one simulator: ten pipelines, each in its own tenant (/t/<name>/), replay the
// same scenarios at once; each must pass as if it had the simulator to itself.

const SCENARIOS = join(packageRoot(), 'fixtures', 'scenarios', 'business')
const ADMIN_TOKEN = 'tenants-test-admin-token-0123456789'

interface JournalEntry {
  readonly seq: number
  readonly operation: string | null
  readonly request: unknown
}

describe('tenants of one simulator', () => {
  it('runs ten scenario suites in parallel, each in its own tenant, all green and without cross-talk', async () => {
    const sim = await startSimulator({ adminToken: ADMIN_TOKEN })
    onTestFinished(() => sim.close())
    const tenants = Array.from({ length: 10 }, (_, i) => `pipeline-${i}`)

    const runs = await Promise.all(
      tenants.map((tenant) =>
        runScenarios([SCENARIOS], {
          kind: 'ca',
          ca: { url: `${sim.url}/t/${tenant}`, simAdmin: true, adminToken: ADMIN_TOKEN },
        }),
      ),
    )

    for (const [i, run] of runs.entries()) {
      const failed = run.scenarios.filter((s) => s.verdict !== 'passed')
      expect(failed.map((s) => `${tenants[i]}: ${s.name}: ${JSON.stringify(s.checks)}`)).toEqual([])
      expect(exitCodeOf(run)).toBe(0)
    }
    expect(runs[0]?.scenarios.length).toBeGreaterThanOrEqual(5)

    // No cross-talk: every tenant's journal holds exactly one suite's calls, the same sequence of
    // operations and requests in each (the scenarios run one after another within a tenant), and
    // the root saw none of them.
    const journalOf = async (prefix: string): Promise<JournalEntry[]> => {
      const res = await fetch(`${sim.url}${prefix}/admin/journal`, {
        headers: { Authorization: `Bearer ${ADMIN_TOKEN}` },
      })
      expect(res.status).toBe(200)
      return (await res.json()) as JournalEntry[]
    }
    const journals = await Promise.all(tenants.map((tenant) => journalOf(`/t/${tenant}`)))
    // SequenceNumbers differ between runs of one process (each run reserves its own).
    const shape = (entries: JournalEntry[]) =>
      entries.map(
        (e) =>
          `${e.operation ?? '-'} ${JSON.stringify(e.request, (key, value: unknown) => (key === 'SequenceNumber' ? undefined : value))}`,
      )
    expect(journals[0]?.length).toBeGreaterThan(0)
    for (const journal of journals) {
      expect(shape(journal)).toEqual(shape(journals[0] ?? []))
    }
    expect(await journalOf('')).toEqual([])
    expect((await sim.tenants()).map((t) => t.name).sort()).toEqual([...tenants].sort())
  })

  it('takes the tenant as --tenant on the command line, and refuses it without --cas-url', async () => {
    const sim = await startSimulator({ adminToken: ADMIN_TOKEN })
    onTestFinished(() => sim.close())
    const io = capturedIo({ CONTEGO_SIM_ADMIN_TOKEN: ADMIN_TOKEN })
    const code = await runConformanceCli(
      [
        'node',
        'conax-conformance',
        'run',
        join(SCENARIOS, 'scenario-2-example-2-swap-to-flat-product.yaml'),
        '--cas-url',
        sim.url,
        '--sim-admin',
        '--tenant',
        'cli-1',
        '--no-color',
      ],
      io,
    )
    expect(code, io.out() + io.err()).toBe(0)
    expect((await sim.tenants()).map((t) => t.name)).toEqual(['cli-1'])
    expect(sim.journal.size()).toBe(0)

    const alone = capturedIo()
    expect(
      await runConformanceCli(['node', 'conax-conformance', 'run', '--tenant', 'x'], alone),
    ).toBe(2)
    expect(alone.err()).toContain('TENANT_WITHOUT_CA')
  })
})
