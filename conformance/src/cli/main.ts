import { mkdir, writeFile } from 'node:fs/promises'
import { TENANT_NAME, TENANT_NAME_RULE } from '../../../common/tenant-name.js'
import { dirname } from 'node:path'
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander'
import { errorLine, isCodedError } from '../../../common/coded-error.js'
import { processIo, writeLine, type CliIo } from '../../../common/cli-io.js'
import { printVersion, withVersion } from '../../../common/cli-commands.js'
import { DeviceMapError, loadDeviceMap, type DeviceMap } from '../engine/devices.js'
import { startDemo } from '../demo/demo.js'
import { explore, type ExploreProgress, type ExploreResult } from '../explore/explore.js'
import { renderConsoleScenario, renderConsoleSummary } from '../report/console.js'
import { renderHtml } from '../report/html.js'
import { renderJunit } from '../report/junit.js'
import { exitCodeOf, type RunResult } from '../result.js'
import { runScenarios, type Target } from '../runner.js'
import { scenarioJsonSchema } from '../scenario/json-schema.js'
import { shippedScenarioFolder } from './package-root.js'

const SCENARIO_PATHS_HELP =
  'scenario files or folders (searched for .yaml/.yml, except under providers/ and *.provider.yaml; default: the shipped fixtures/scenarios)'

/** The shipped scenarios, used when `run` names no path. */
export function defaultScenarioFolder(): string {
  return shippedScenarioFolder()
}

interface ReportOptions {
  junit?: string
  html?: string
  color: boolean
  tag?: string[]
}

function url(value: string): string {
  try {
    const parsed = new URL(value)
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
      throw new Error('not http(s)')
    }
    return value
  } catch {
    throw new InvalidArgumentError(`'${value}' is not an http(s) URL, e.g. http://127.0.0.1:8280.`)
  }
}

function nonNegative(value: string): number {
  if (!/^\d+$/.test(value)) {
    throw new InvalidArgumentError('must be a whole number (a journal sequence number).')
  }
  return Number(value)
}

function tenantName(value: string): string {
  if (!TENANT_NAME.test(value)) {
    throw new InvalidArgumentError(`must be ${TENANT_NAME_RULE} (e.g. ci-$CI_JOB_ID).`)
  }
  return value
}

/** A conax-sim URL moved into one of its tenants: `/t/<name>` in front of its path. */
function inTenant(url: string, tenant: string | undefined): string {
  if (tenant === undefined) {
    return url
  }
  const parsed = new URL(url)
  return `${parsed.origin}/t/${tenant}${parsed.pathname === '/' ? '' : parsed.pathname}`
}

function tenantOption(): Option {
  return new Option(
    '--tenant <name>',
    'use this tenant of the conax-sim (/t/<name>/...): its own state, journal, faults and clock, so that parallel pipelines can share one simulator',
  ).argParser(tenantName)
}

function port(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) > 65535) {
    throw new InvalidArgumentError('must be a port number from 0 to 65535 (0 picks a free one).')
  }
  return Number(value)
}

function wholeNumber(value: string): number {
  if (!/^\d+$/.test(value)) {
    throw new InvalidArgumentError('must be a whole number, e.g. 200.')
  }
  return Number(value)
}

function probability(value: string): number {
  const number = Number(value)
  if (value.trim() === '' || !Number.isFinite(number) || number < 0 || number > 1) {
    throw new InvalidArgumentError('must be a probability from 0 to 1, e.g. 0.1.')
  }
  return number
}

function faultList(faults: Readonly<Record<string, number>>): string {
  const parts = Object.entries(faults).map(([kind, count]) => `${kind} ${count}`)
  return parts.length > 0 ? parts.join(', ') : 'none'
}

/** One line per history, and a line per step of shrinking that still fails. */
function progressLine(event: ExploreProgress): string {
  if (event.kind === 'shrinking') {
    return `  shrinking seed ${event.seed}: ${event.commands} commands still fail`
  }
  return `${event.passed ? '✓' : '✗'} history ${event.index}/${event.of}  seed ${event.seed}  ${event.steps} steps  faults: ${faultList(event.faults)}  ${(event.durationMs / 1000).toFixed(1)} s`
}

/** The verdict of an exploration, with how to replay a failure. */
function exploreVerdict(result: ExploreResult): string {
  const figures = `${result.histories} histories, ${result.steps} steps, faults: ${faultList(result.faults)}, ${(result.durationMs / 1000).toFixed(1)} s`
  const failure = result.failure
  if (!failure) {
    return `explore: passed (${figures})`
  }
  return [
    `explore: FAILED on seed ${failure.seed} (${figures})`,
    `  invariant ${failure.invariant}: ${failure.message}`,
    `  shrunk history (${failure.counterexample.length} steps):`,
    ...failure.counterexample.map((step, index) => `    ${index + 1}. ${step}`),
    `  replay: conax-conformance explore --seed ${failure.seed} --path '${failure.path}'`,
    `  scenario: ${failure.scenarioFile} (${
      failure.reproduces
        ? 'fails the same way when run'
        : 'does NOT fail when run: the failure depends on something the file cannot express (an adapter restart, timing); replay the seed and path'
    }${
      failure.passesWithoutAdapterOptions === undefined
        ? ''
        : failure.passesWithoutAdapterOptions
          ? '; passes on an adapter without the planted options'
          : '; also fails on an adapter without the planted options'
    })`,
    `  run it: conax-conformance run ${failure.scenarioFile}`,
  ].join('\n')
}

/** Runs the explorer and answers the exit code (0 passed, 1 an invariant broke, 2 bad options). */
async function exploreCommand(
  io: CliIo,
  options: {
    seed?: number
    actions: number
    faults: number
    runs: number
    out: string
    path?: string
    databaseUrl?: string
    instances: number
  },
): Promise<number> {
  let result: ExploreResult
  const { databaseUrl, instances, ...rest } = options
  try {
    result = await explore({
      ...rest,
      ...(databaseUrl === undefined ? {} : { database: { databaseUrl, instances } }),
      onProgress: (event) => writeLine(io.stdout, progressLine(event)),
    })
  } catch (error) {
    if (error instanceof RangeError) {
      writeLine(io.stderr, `conax-conformance explore: ${error.message}`)
      return 2
    }
    throw error
  }
  writeLine(io.stdout, exploreVerdict(result))
  return result.passed ? 0 : 1
}

function tagList(value: string, previous: string[] | undefined): string[] {
  const tags = value
    .split(',')
    .map((tag) => tag.trim())
    .filter((tag) => tag.length > 0)
  if (tags.length === 0) {
    throw new InvalidArgumentError('must name at least one tag, e.g. --tag business,scenario-2.')
  }
  return [...(previous ?? []), ...tags]
}

async function writeReport(file: string, content: string): Promise<void> {
  await mkdir(dirname(file), { recursive: true })
  await writeFile(file, content, 'utf8')
}

/** Runs, prints as it goes, writes the reports, and answers the exit code. */
async function execute(
  io: CliIo,
  paths: string[],
  target: Target,
  options: ReportOptions,
): Promise<number> {
  const { stdout, stderr } = io
  const console_ = {
    color: options.color && stdout.isTTY === true && !io.env.NO_COLOR,
    // A terminal's own width; a pipe or a CI log gets the default (120 columns).
    ...(stdout.isTTY === true && (stdout.columns ?? 0) > 0 ? { width: stdout.columns } : {}),
  }
  const run: RunResult = await runScenarios(
    paths.length > 0 ? paths : [defaultScenarioFolder()],
    target,
    {
      ...(options.tag ? { tags: options.tag } : {}),
      onResult: (result) => stdout.write(renderConsoleScenario(result, console_)),
      onWarning: (message) => writeLine(stderr, `warning: ${message}`),
    },
  )
  writeLine(stdout, renderConsoleSummary(run, console_))
  try {
    if (options.junit) {
      await writeReport(options.junit, renderJunit(run))
      writeLine(stdout, `JUnit report: ${options.junit}`)
    }
    if (options.html) {
      await writeReport(options.html, renderHtml(run))
      writeLine(stdout, `HTML report: ${options.html}`)
    }
  } catch (error) {
    writeLine(
      stderr,
      `conax-conformance: REPORT_UNWRITABLE: ${error instanceof Error ? error.message : String(error)}. Choose a writable path.`,
    )
    return 2
  }
  return exitCodeOf(run)
}

/** `--devices`: the real devices that stand for the scenario's on the target. */
function devicesOption(): Option {
  return new Option(
    '--devices <file>',
    'a YAML or JSON map of the scenarios\' smartcard and STB IDs to those of the target ({ smartcards: { "<scenario id>": "<real id>" }, stbs: {...} })',
  )
}

/** Reads `--devices`; prints why it cannot be used and answers null (exit 2). */
async function deviceMapOf(
  io: CliIo,
  file: string | undefined,
): Promise<DeviceMap | undefined | null> {
  if (file === undefined) {
    return undefined
  }
  try {
    return await loadDeviceMap(file)
  } catch (error) {
    if (error instanceof DeviceMapError) {
      writeLine(io.stderr, errorLine('conax-conformance', error))
      return null
    }
    throw error
  }
}

/** The simulator's admin token, for the runs that use its admin API. */
function adminTokenOption(): Option {
  return new Option(
    '--admin-token <token>',
    "the conax-sim's admin token (conax-sim prints a generated one at start; default: the environment's CONTEGO_SIM_ADMIN_TOKEN)",
  )
}

/** `{ adminToken }` from `--admin-token`, else the environment's CONTEGO_SIM_ADMIN_TOKEN. */
function adminTokenPart(io: CliIo, given: string | undefined): { adminToken?: string } {
  const token = given ?? io.env.CONTEGO_SIM_ADMIN_TOKEN
  return token === undefined || token === '' ? {} : { adminToken: token }
}

function reportOptions(command: Command): Command {
  return (
    command
      .option('--junit <file>', 'write a JUnit XML report (Jenkins, GitLab, GitHub Actions)')
      .option('--html <file>', 'write a self-contained HTML report')
      // Not variadic (<tag...>): that would swallow the paths after it (`--tag business scenarios/`).
      .option(
        '--tag <tags>',
        'only scenarios with one of these tags (comma-separated; the option may be repeated)',
        tagList,
      )
      .option(
        '--no-color',
        'no ANSI colours (they are also off when stdout is not a terminal or NO_COLOR is set)',
      )
  )
}

/** The `conax-conformance` command line; `exit` receives the process exit code. */
export function buildConformanceCommand(
  io: CliIo,
  exit: (code: number) => void,
  untilStopped: () => Promise<void> = stopSignal,
): Command {
  const program = withVersion(new Command('conax-conformance'))
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
    })
    .description(
      'Replays Conax Contego business scenarios (YAML) against the provisioning adapter and a CA, and reports where they differ.',
    )
    .exitOverride()
    .showHelpAfterError()
  reportOptions(
    program
      .command('run')
      .description(
        'run scenarios: by default the adapter and the simulator in this process (both sides); with --cas-url, the expected commands against that CA',
      )
      .argument('[paths...]', SCENARIO_PATHS_HELP)
      .option('--cas-url <url>', 'send the expected commands to this CA endpoint instead', url)
      .option('--username <name>', 'CA user (default: the scenario provider’s)')
      .option('--password <secret>', 'CA password (default: the scenario provider’s)')
      .option(
        '--sim-admin',
        'the --cas-url target is a conax-sim: load inventory, clear cards, make drift and move its clock through its admin API',
      )
      .addOption(adminTokenOption())
      .addOption(tenantOption())
      .addOption(devicesOption()),
  ).action(
    async (
      paths: string[],
      options: ReportOptions & {
        tenant?: string
        casUrl?: string
        username?: string
        password?: string
        simAdmin?: boolean
        adminToken?: string
        devices?: string
      },
    ) => {
      if (options.devices !== undefined && !options.casUrl) {
        writeLine(
          io.stderr,
          'conax-conformance: DEVICES_INVALID: --devices maps the scenario devices to those of a CA: give the CA with --cas-url (in-process runs use the scenario IDs).',
        )
        exit(2)
        return
      }
      if (options.tenant !== undefined && !options.casUrl) {
        writeLine(
          io.stderr,
          'conax-conformance: TENANT_WITHOUT_CA: --tenant names a tenant of a conax-sim: give the simulator with --cas-url (in-process runs have a simulator of their own).',
        )
        exit(2)
        return
      }
      const devices = await deviceMapOf(io, options.devices)
      if (devices === null) {
        exit(2)
        return
      }
      const target: Target = options.casUrl
        ? {
            kind: 'ca',
            ca: {
              url: inTenant(options.casUrl, options.tenant),
              ...(options.username === undefined ? {} : { username: options.username }),
              ...(options.password === undefined ? {} : { password: options.password }),
              simAdmin: options.simAdmin === true,
              ...adminTokenPart(io, options.adminToken),
              ...(devices ? { devices } : {}),
            },
          }
        : { kind: 'in-process' }
      exit(await execute(io, paths, target, options))
    },
  )
  reportOptions(
    program
      .command('verify')
      .description(
        "check a running conax-sim's journal, driven by another CRM, against the scenarios' expected sequences",
      )
      .argument('[paths...]', SCENARIO_PATHS_HELP)
      .requiredOption('--journal-url <url>', 'the conax-sim to read (its /admin/journal)', url)
      .option('--since <seq>', 'only journal entries after this sequence number', nonNegative)
      .addOption(adminTokenOption())
      .addOption(tenantOption())
      .addOption(devicesOption()),
  ).action(
    async (
      paths: string[],
      options: ReportOptions & {
        tenant?: string
        journalUrl: string
        since?: number
        adminToken?: string
        devices?: string
      },
    ) => {
      const devices = await deviceMapOf(io, options.devices)
      if (devices === null) {
        exit(2)
        return
      }
      const target: Target = {
        kind: 'journal',
        journal: {
          url: inTenant(options.journalUrl, options.tenant),
          ...(options.since === undefined ? {} : { since: options.since }),
          ...adminTokenPart(io, options.adminToken),
          ...(devices ? { devices } : {}),
        },
      }
      exit(await execute(io, paths, target, options))
    },
  )
  program
    .command('explore')
    .description(
      'generate random valid CRM histories with faults, drive the adapter and a simulator in this process, check invariants; on a failure, shrink it and write it as a scenario',
    )
    .option('--seed <n>', 'seed of the first history (default: a random one, printed)', wholeNumber)
    .option('--actions <n>', 'commands per history, at most', wholeNumber, 200)
    .option('--faults <p>', 'probability that a command is a fault (0 to 1)', probability, 0.1)
    .option('--runs <n>', 'histories, with seeds seed, seed+1, ...', wholeNumber, 1)
    .option('--out <dir>', 'folder for the scenario file of a failure', 'explore-failures')
    .option('--path <path>', 'replay the shrunk history a failure printed (with its --seed)')
    .option(
      '--database-url <url>',
      'a PostgreSQL server: each history gets a fresh database there, shared by --instances adapters',
    )
    .option('--instances <n>', 'adapter instances on the database (1 to 4)', wholeNumber, 2)
    .action(
      async (options: {
        seed?: number
        actions: number
        faults: number
        runs: number
        out: string
        path?: string
        databaseUrl?: string
        instances: number
      }) => {
        exit(await exploreCommand(io, options))
      },
    )
  program
    .command('demo')
    .description(
      'start a simulator and an adapter with a short CRM history replayed (fixtures/examples/), for trying the README examples and the consoles; Ctrl-C stops both',
    )
    .option('--sim-port <port>', 'simulator port (0 picks a free one)', port, 8280)
    .option('--adapter-port <port>', 'adapter port (0 picks a free one)', port, 8380)
    .action(async (options: { simPort: number; adapterPort: number }) => {
      exit(await demoCommand(io, options, untilStopped))
    })
  program
    .command('version')
    .description('print the version (as --version)')
    .action(() => exit(printVersion(io)))
  program
    .command('schema')
    .description('print the JSON Schema of scenario files')
    .action(() => {
      writeLine(io.stdout, JSON.stringify(scenarioJsonSchema(), null, 2))
      exit(0)
    })
  return program
}

/** Resolves on the first SIGINT or SIGTERM: what stops a long-running command (`demo`). */
function stopSignal(): Promise<void> {
  return new Promise((resolve) => {
    const stop = (): void => {
      process.off('SIGINT', stop)
      process.off('SIGTERM', stop)
      resolve()
    }
    process.once('SIGINT', stop)
    process.once('SIGTERM', stop)
  })
}

/** `demo`: both servers with the examples' history, the addresses and tokens printed, until stopped. */
async function demoCommand(
  io: CliIo,
  options: { simPort: number; adapterPort: number },
  untilStopped: () => Promise<void>,
): Promise<number> {
  const demo = await startDemo({
    simPort: options.simPort,
    adapterPort: options.adapterPort,
    ...(io.env.CONTEGO_SIM_ADMIN_TOKEN ? { adminToken: io.env.CONTEGO_SIM_ADMIN_TOKEN } : {}),
    ...(io.env.CONAX_ADAPTER_API_TOKEN ? { apiToken: io.env.CONAX_ADAPTER_API_TOKEN } : {}),
  })
  const requests = Object.entries(demo.history.requests)
    .map(([state, count]) => `${count} ${state}`)
    .join(', ')
  writeLine(
    io.stdout,
    [
      `Simulator listening on ${demo.simulator.url} (SOAP user sms/sms)`,
      `Adapter listening on ${demo.adapter.url ?? ''}`,
      `Replayed ${demo.history.actions} CRM actions from fixtures/examples/crm-history.yaml: ${requests} provisioning requests.`,
      `Drift: ${demo.drift}.`,
      '',
      'In a second terminal, in this folder:',
      `  export CONTEGO_SIM_ADMIN_TOKEN=${demo.simulator.adminToken} CONAX_ADAPTER_API_TOKEN=${demo.adapter.apiToken}`,
      '  npx conax-adapter runs define fixtures/examples/runs/nightly-reset.yaml',
      '  npx conax-adapter runs preview NIGHTLY',
      '',
      'Ctrl-C stops both.',
    ].join('\n'),
  )
  await untilStopped()
  await demo.close()
  writeLine(io.stdout, 'Stopped.')
  return 0
}

/** Runs the CLI on `argv`; resolves with the exit code (0 passed, 1 failures, 2 unusable input). */
export async function runConformanceCli(
  argv: readonly string[],
  io: CliIo = processIo(),
  untilStopped: () => Promise<void> = stopSignal,
): Promise<number> {
  let code = 0
  const program = buildConformanceCommand(
    io,
    (value) => {
      code = value
    },
    untilStopped,
  )
  try {
    await program.parseAsync([...argv])
    return code
  } catch (error) {
    if (error instanceof CommanderError) {
      return error.exitCode === 0 ? 0 : 2
    }
    writeLine(
      io.stderr,
      isCodedError(error)
        ? errorLine('conax-conformance', error)
        : `conax-conformance: ${error instanceof Error ? error.message : String(error)}`,
    )
    return 2
  }
}
