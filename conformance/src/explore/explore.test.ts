import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { capturedIo } from '../../../common/test-support/captured-io.js'
import { runConformanceCli } from '../cli/main.js'
import { runScenario } from '../runner.js'
import { loadScenario } from '../scenario/load.js'
import { explore, type ExploreResult } from './explore.js'

// Issue 10's explorer: it must find the order bug planted on purpose (the old per-device order,
// `ordering: 'per-device'`), shrink it and write a scenario that fails on that adapter and passes
// on the fixed one; and a fixed set of seeds must pass on the fixed adapter.

let out: string

beforeAll(async () => {
  out = await mkdtemp(join(tmpdir(), 'conax-explore-test-'))
})

afterAll(async () => {
  await rm(out, { recursive: true, force: true })
})

/** Seed 1 exposes the per-device order within its first history (a move between viewing points). */
const PLANTED_SEED = 1

describe('the explorer on a planted bug (order per device only)', () => {
  let result: ExploreResult

  beforeAll(async () => {
    result = await explore({
      seed: PLANTED_SEED,
      adapterOptions: { ordering: 'per-device' },
      out,
    })
  }, 120_000)

  it('fails on the per-action order, shrunk to a few steps', () => {
    expect(result.passed).toBe(false)
    const failure = result.failure
    expect(failure?.seed).toBe(PLANTED_SEED)
    expect(failure?.invariant).toBe('per-action-order')
    expect(failure?.message).toMatch(/reached the CA \(journal #\d+\) before its earlier/)
    // The first history ran far more steps; shrinking left the few that matter.
    expect(failure?.counterexample.length).toBeLessThan(10)
    expect(failure?.path).toMatch(/^\d+(:\d+)*(@.*)?$/)
  })

  it('writes a scenario the loader takes, which fails on the planted bug and passes without it', async () => {
    const file = result.failure?.scenarioFile as string
    expect(file).toBe(join(out, `explore-seed-${PLANTED_SEED}.yaml`))
    expect(await readFile(file, 'utf8')).toContain('# yaml-language-server: $schema=')
    const scenario = await loadScenario(file)
    expect(scenario.data.tags).toEqual(['explore', 'per-action-order'])

    const planted = await runScenario(scenario, {
      kind: 'in-process',
      adapterOptions: { ordering: 'per-device' },
    })
    expect(planted.verdict).toBe('failed')
    expect(planted.checks.filter((c) => !c.passed).map((c) => c.name)).toEqual([
      'adapter: then.soapCalls',
    ])

    const fixed = await runScenario(scenario, { kind: 'in-process' })
    expect(fixed.checks.filter((c) => !c.passed)).toEqual([])
    expect(fixed.verdict).toBe('passed')
    expect(result.failure?.reproduces).toBe(true)
    expect(result.failure?.passesWithoutAdapterOptions).toBe(true)
  }, 60_000)

  it('replays the shrunk history from its seed and path alone', async () => {
    const failure = result.failure
    const replayed = await explore({
      seed: PLANTED_SEED,
      path: failure?.path as string,
      adapterOptions: { ordering: 'per-device' },
      out: join(out, 'replay'),
    })
    expect(replayed.failure?.invariant).toBe('per-action-order')
    expect(replayed.failure?.counterexample).toEqual(failure?.counterexample)
  }, 60_000)
})

describe('the explorer on the fixed adapter', () => {
  it('passes a fixed set of seeded histories (the CI set)', async () => {
    const histories: string[] = []
    const result = await explore({
      seed: 1,
      runs: 10,
      out,
      onProgress: (event) => {
        if (event.kind === 'history') {
          histories.push(`${event.seed}:${event.passed}`)
        }
      },
    })
    expect(result.failure).toBeUndefined()
    expect(result.passed).toBe(true)
    expect(histories).toEqual(Array.from({ length: 10 }, (_, i) => `${i + 1}:true`))
    // The set does exercise faults and restarts, not only happy paths.
    expect(Object.keys(result.faults).sort()).toEqual(
      ['CA down', 'DELAY', 'RESET_AFTER_APPLY', 'SYSTEM_ERROR', 'restart'].sort(),
    )
    expect(result.steps).toBeGreaterThan(500)
  }, 180_000)
})

describe('the explorer on two adapter instances sharing PostgreSQL', () => {
  it('passes a fixed set of seeded histories, steps taken by the instances in turn', async () => {
    // The tests' PostgreSQL server (vitest globalSetup, docs/decisions/0017); none: the test fails.
    const postgres = inject('postgres')
    if ('error' in postgres) {
      throw new Error(`This test needs PostgreSQL and none could be started. ${postgres.error}`)
    }
    const histories: string[] = []
    const result = await explore({
      seed: 1,
      runs: 5,
      actions: 120,
      out,
      database: { databaseUrl: postgres.url, instances: 2 },
      onProgress: (event) => {
        if (event.kind === 'history') {
          histories.push(`${event.seed}:${event.passed}`)
        }
      },
    })
    expect(result.failure).toBeUndefined()
    expect(histories).toEqual(Array.from({ length: 5 }, (_, i) => `${i + 1}:true`))
    expect(result.steps).toBeGreaterThan(100)
    // Faults and a restart (of one instance) happen on the shared database too.
    expect(result.faults).toHaveProperty('restart')
    expect(result.faults).toHaveProperty('CA down')
  }, 180_000)

  it('refuses a bad instance count, saying what to pass', async () => {
    await expect(
      explore({ seed: 1, database: { databaseUrl: 'postgres://h/db', instances: 5 } }),
    ).rejects.toThrow('database.instances must be an integer from 1 to 4 (got 5)')
  })
})

describe('conax-conformance explore', () => {
  it('prints one line per history and the verdict, and exits 0 when every history passed', async () => {
    const io = capturedIo()
    const code = await runConformanceCli(
      [
        'node',
        'conax-conformance',
        'explore',
        '--seed',
        '2',
        '--runs',
        '2',
        '--actions',
        '40',
      ].concat(['--out', out]),
      io,
    )
    expect(code).toBe(0)
    const lines = io.out().trimEnd().split('\n')
    expect(lines[0]).toMatch(/^✓ history 1\/2 {2}seed 2 {2}\d+ steps {2}faults: /)
    expect(lines[1]).toMatch(/^✓ history 2\/2 {2}seed 3 /)
    expect(lines[2]).toMatch(/^explore: passed \(2 histories, \d+ steps, faults: .*, [\d.]+ s\)$/)
  }, 60_000)

  it('exits 2 on a bad option, saying what to pass', async () => {
    const io = capturedIo()
    expect(await runConformanceCli(['node', 'c', 'explore', '--faults', '1.5'], io)).toBe(2)
    expect(await runConformanceCli(['node', 'c', 'explore', '--path', 'abc'], io)).toBe(2)
    expect(io.err()).toContain("path 'abc' is not a path the explorer printed")
    const url = ['--database-url', 'postgres://localhost/x']
    expect(await runConformanceCli(['node', 'c', 'explore', ...url, '--instances', '5'], io)).toBe(
      2,
    )
    expect(io.err()).toContain('database.instances must be an integer from 1 to 4 (got 5)')
  })
})
