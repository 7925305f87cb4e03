import { loadavg } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { becomeSubscriber, inventoryOf, REQUESTS_PER_SUBSCRIPTION } from './adapter-workload.js'
import { benchMain, positiveInteger } from './bench-main.js'
import { SimulatorChild } from './simulator-child.js'
import {
  postAction,
  spawnAdapter,
  writeProviderFile,
  type AdapterProcess,
} from '../test-support/fleet.js'
import { startLocalPostgres, type LocalPostgres } from '../test-support/postgres-server.js'
import { writeFileSync } from 'node:fs'
import pg from 'pg'

/**
 * `npm run bench:pg`: N BECOME_SUBSCRIBER actions (default 10,000; 4 requests each) end to end,
 * from the first action sent over HTTP to the last request COMPLETED, in three set-ups: one adapter
 * process on the embedded file store, one on PostgreSQL, two on one PostgreSQL database (actions
 * spread over them). Every adapter is a `conax-adapter` process, the CA the built simulator in
 * another, PostgreSQL a local server with its durable defaults (fsync on), started by the bench
 * (docs/decisions/0017) unless --database-url names one. Prints each run and the ratios, then
 * one JSON line; exits 1 when a run does not verify.
 *
 * Flags: --subscriptions <n> (10000), --in-flight <n> (100 actions at once), --concurrency <n>
 * (8 requests in flight per adapter), --database-url <url> (a server to use; each run gets a
 * fresh database on it).
 */

const TOKEN = 'bench-pg-api-token-0123456789abcdef'

interface Run {
  readonly setup: string
  readonly instances: number
  readonly seconds: number
  readonly actionsPerSecond: number
  readonly requests: number
  readonly ok: boolean
  readonly problems: readonly string[]
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

async function pendingOf(adapter: AdapterProcess, state: string): Promise<number> {
  const answer = await fetch(
    `${adapter.url}/conax_web_services/provisioning_requests/list?life_cycle_state=${state}&number_of_results=1`,
    { headers: { Authorization: `Bearer ${TOKEN}` } },
  )
  return ((await answer.json()) as { total: number }).total
}

async function freshDatabase(serverUrl: string, name: string): Promise<string> {
  const client = new pg.Client({ connectionString: serverUrl })
  await client.connect()
  await client.query(`DROP DATABASE IF EXISTS ${name}`)
  await client.query(`CREATE DATABASE ${name}`)
  await client.end()
  const url = new URL(serverUrl)
  url.pathname = `/${name}`
  return url.toString()
}

async function runOnce(
  dir: string,
  sims: SimulatorChild[],
  setup: { readonly name: string; readonly instances: number; readonly databaseUrl: string | null },
  options: { subscriptions: number; inFlight: number; concurrency: number },
): Promise<Run> {
  const inventory = join(dir, `inventory-${setup.name}.json`)
  writeFileSync(inventory, JSON.stringify(inventoryOf(options.subscriptions)))
  const sim = await SimulatorChild.start(join(process.cwd(), 'bin', 'conax-sim.js'), [
    ...['--port', '0', '--inventory', inventory],
    ...['--log-level', 'silent', '--journal-limit', '1000'],
  ])
  sims.push(sim)
  const providerFile = writeProviderFile(dir, sim.url)
  const fleet: AdapterProcess[] = []
  try {
    for (let i = 0; i < setup.instances; i++) {
      fleet.push(
        await spawnAdapter({
          name: `${setup.name}-${i}`,
          providerFile,
          ...(setup.databaseUrl === null
            ? { dataFile: join(dir, `${setup.name}.json`) }
            : { databaseUrl: setup.databaseUrl }),
          apiToken: TOKEN,
          concurrency: options.concurrency,
        }),
      )
    }
    const problems: string[] = []
    const started = performance.now()
    let next = 1
    const worker = async (): Promise<void> => {
      for (let n = next++; n <= options.subscriptions; n = next++) {
        const target = fleet[n % fleet.length] as AdapterProcess
        const answer = await postAction(target, TOKEN, { ...becomeSubscriber(n) })
        if (answer.status !== 201 && problems.length < 10) {
          problems.push(`S${n}: ${answer.status} ${answer.body.slice(0, 200)}`)
        }
      }
    }
    await Promise.all(Array.from({ length: options.inFlight }, worker))
    const first = fleet[0] as AdapterProcess
    while ((await pendingOf(first, 'PENDING')) > 0) {
      await sleep(100)
    }
    const seconds = (performance.now() - started) / 1000
    const completed = await pendingOf(first, 'COMPLETED')
    const expected = options.subscriptions * REQUESTS_PER_SUBSCRIPTION
    if (completed !== expected) {
      problems.push(`${completed} requests COMPLETED, expected ${expected}`)
    }
    return {
      setup: setup.name,
      instances: setup.instances,
      seconds: Math.round(seconds * 100) / 100,
      actionsPerSecond: Math.round(options.subscriptions / seconds),
      requests: completed,
      ok: problems.length === 0,
      problems,
    }
  } finally {
    for (const adapter of fleet) {
      adapter.child.kill('SIGTERM')
      await adapter.exited
    }
    await sim.stop()
  }
}

benchMain('pg', async (dir, sims) => {
  const { values } = parseArgs({
    options: {
      subscriptions: { type: 'string' },
      'in-flight': { type: 'string' },
      concurrency: { type: 'string' },
      'database-url': { type: 'string' },
    },
    strict: true,
  })
  const options = {
    subscriptions: positiveInteger('subscriptions', values.subscriptions, 10_000),
    inFlight: positiveInteger('in-flight', values['in-flight'], 100),
    concurrency: positiveInteger('concurrency', values.concurrency, 8),
  }
  let server: LocalPostgres | null = null
  const serverUrl =
    values['database-url'] ?? (server = await startLocalPostgres({ durable: true })).url
  try {
    const load = loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')
    const runs: Run[] = []
    for (const setup of [
      { name: 'embedded', instances: 1, databaseUrl: null },
      { name: 'pg1', instances: 1, databaseUrl: await freshDatabase(serverUrl, 'bench_pg1') },
      { name: 'pg2', instances: 2, databaseUrl: await freshDatabase(serverUrl, 'bench_pg2') },
    ]) {
      const run = await runOnce(dir, sims, setup, options)
      runs.push(run)
      console.log(
        `${run.setup.padEnd(9)} ${run.instances} instance(s): ${options.subscriptions} actions, ${run.requests} requests in ${run.seconds} s (${run.actionsPerSecond} actions/s)${run.ok ? '' : ` FAILED: ${run.problems.join('; ')}`}`,
      )
    }
    const [embedded, pg1, pg2] = runs as [Run, Run, Run]
    const ratios = {
      pgOverEmbedded: Math.round((embedded.seconds / pg1.seconds) * 100) / 100,
      twoOverOne: Math.round((pg1.seconds / pg2.seconds) * 100) / 100,
    }
    console.log(
      `PostgreSQL, 1 instance / embedded: ${ratios.pgOverEmbedded}x (goal >= 0.5); 2 instances / 1: ${ratios.twoOverOne}x (goal > 1); load average at start ${load}`,
    )
    console.log(JSON.stringify({ loadAverage: load, options, runs, ratios }))
    return runs.every((run) => run.ok) && ratios.pgOverEmbedded >= 0.5 && ratios.twoOverOne > 1
  } finally {
    await server?.stop()
  }
})
