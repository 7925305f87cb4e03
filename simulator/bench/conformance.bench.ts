import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { availableParallelism, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import {
  NO_COMPACTION,
  copyStore,
  growLog,
  logBytes,
  prepareBase,
  syncStore,
} from './durable-stores.js'
import { ServerProcess, type ReadyLine } from './server-process.js'

/**
 * `npm run bench:sim:conformance`: the shipped conformance suite (`conax-conformance run
 * --cas-url <sim> --sim-admin`) against a simulator on a fresh store (its log empty) and against
 * one whose log was grown to `--grow-mb` MB (100; it does not compact during the run), both with
 * `--cards` cards (100000) and `--fsync group`, in `--rounds` alternating rounds (3). The figure
 * is the suite's own time (its summary line, without node's start), median over the rounds;
 * target: the grown store within 1.5x of the fresh one.
 */

const TARGET_RATIO = 1.5
const MB = 1024 * 1024
const CONFORMANCE = fileURLToPath(new URL('../../../bin/conax-conformance.js', import.meta.url))

interface Options {
  readonly cards: number
  readonly growMb: number
  readonly rounds: number
}

function readOptions(): Options {
  const { values } = parseArgs({
    options: {
      cards: { type: 'string' },
      'grow-mb': { type: 'string' },
      rounds: { type: 'string' },
    },
    strict: true,
  })
  const whole = (name: string, value: string | undefined, fallback: number): number => {
    const number = value === undefined ? fallback : Number(value)
    if (!Number.isInteger(number) || number < 1) {
      throw new Error(`--${name} must be a positive whole number, not '${value}'.`)
    }
    return number
  }
  return {
    cards: whole('cards', values.cards, 100_000),
    growMb: whole('grow-mb', values['grow-mb'], 100),
    rounds: whole('rounds', values.rounds, 3),
  }
}

/** One run of the suite against a simulator: the suite's own seconds, and the wall seconds. */
async function runSuite(ready: ReadyLine): Promise<{ suiteS: number; wallS: number }> {
  const started = performance.now()
  const child = spawn(
    process.execPath,
    [CONFORMANCE, 'run', '--cas-url', ready.url, '--sim-admin', '--no-color'],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, CONTEGO_SIM_ADMIN_TOKEN: ready.adminToken ?? '' },
    },
  )
  let output = ''
  child.stdout.setEncoding('utf8').on('data', (text: string) => (output += text))
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve))
  const wallS = (performance.now() - started) / 1000
  const summary = /(\d+) scenarios: .*\(([\d.]+) s\)/.exec(output)
  if (code !== 0 || summary === null) {
    throw new Error(
      `The conformance suite against ${ready.url} failed (exit code ${code}):\n${output.slice(-2000)}`,
    )
  }
  return { suiteS: Number(summary[2]), wallS }
}

const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1
    ? (sorted[middle] ?? Number.NaN)
    : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2
}

async function main(): Promise<void> {
  const options = readOptions()
  const work = mkdtempSync(join(tmpdir(), 'conax-bench-conformance-'))
  const started: ServerProcess[] = []
  const loadAtStart = loadavg()
  try {
    console.error(`preparing a store of ${options.cards} cards ...`)
    const base = join(work, 'base', 'sim.json')
    await prepareBase(base, options.cards)
    console.error(`growing a copy of its log to ${options.growMb} MB ...`)
    const grownFile = copyStore(base, join(work, 'grown'))
    const growth = await growLog(grownFile, options.growMb * MB)
    syncStore(grownFile)
    const targets: { name: string; ready: ReadyLine; runs: { suiteS: number; wallS: number }[] }[] =
      []
    for (const [name, file] of [
      ['fresh', copyStore(base, join(work, 'fresh'))],
      ['grown log', grownFile],
    ] as const) {
      const { server, ready } = await ServerProcess.start(
        name,
        './sim-server.js',
        [String(options.cards), '--data', file, '--fsync', 'group', '--compact-at', NO_COMPACTION],
        300_000,
      )
      started.push(server)
      targets.push({ name, ready, runs: [] })
    }
    for (let round = 1; round <= options.rounds; round++) {
      for (const target of targets) {
        console.error(`round ${round}/${options.rounds}: ${target.name} ...`)
        target.runs.push(await runSuite(target.ready))
      }
    }
    const [fresh, grown] = targets.map((t) => ({
      name: t.name,
      suiteS: median(t.runs.map((r) => r.suiteS)),
      wallS: median(t.runs.map((r) => r.wallS)),
      rounds: t.runs,
    }))
    const ratio = grown!.suiteS / fresh!.suiteS
    console.log('')
    console.log(
      `Conformance suite (--cas-url --sim-admin) against the simulator: ${options.cards} cards, ` +
        `--fsync group, ${options.rounds} alternating rounds; node ${process.version}, ` +
        `${availableParallelism()} CPUs, load average ${loadAtStart
          .map((v) => v.toFixed(2))
          .join(' ')} at the start, ${loadavg()
          .map((v) => v.toFixed(2))
          .join(' ')} at the end`,
    )
    console.log(
      `grown log: ${(growth.bytes / MB).toFixed(1)} MB at the start (${growth.requests} requests), ` +
        `${(logBytes(grownFile) / MB).toFixed(1)} MB after the rounds`,
    )
    for (const target of [fresh!, grown!]) {
      console.log(
        `${target.name.padEnd(10)} suite ${target.suiteS.toFixed(2)} s (median; rounds ` +
          `${target.rounds.map((r) => r.suiteS.toFixed(2)).join(' ')}), wall ${target.wallS.toFixed(2)} s`,
      )
    }
    console.log(
      `ratio grown/fresh: ${ratio.toFixed(3)}   target <= ${TARGET_RATIO}: ${ratio <= TARGET_RATIO ? 'PASS' : 'FAIL'}`,
    )
    console.log(
      JSON.stringify({
        bench: 'sim-conformance-durable',
        node: process.version,
        cpus: availableParallelism(),
        loadavg: { start: loadAtStart, end: loadavg() },
        options,
        growth,
        fresh,
        grown,
        target: { max: TARGET_RATIO, value: ratio, pass: ratio <= TARGET_RATIO },
      }),
    )
  } finally {
    await Promise.all(started.map((server) => server.stop(120_000)))
    rmSync(work, { recursive: true, force: true })
  }
}

main().catch((error: unknown) => {
  console.error('bench:sim:conformance failed:', error)
  process.exit(1)
})
