import { Command, CommanderError, InvalidArgumentError, Option } from 'commander'
import { pino } from 'pino'
import {
  addHttpOptions,
  guardListsOf,
  httpSettingsOf,
  type HttpCliOptions,
} from '../../common/http-cli.js'
import { errorLine } from '../../common/coded-error.js'
import { processIo, writeLine, type CliIo } from '../../common/cli-io.js'
import {
  firstOperand,
  printVersion,
  refuseUnknownCommand,
  withVersion,
} from '../../common/cli-commands.js'
import { HTTP_DEFAULTS } from '../../common/http-server.js'
import { isCodedError } from '../api/error-answer.js'
import { DEFAULT_LIMITS, type AdapterLimits } from '../api/limits.js'
import { startAdapter, type Adapter, type AdapterOptions } from '../create-adapter.js'
import { applyEnv, envOption, processRuntime, useIo, type CliRuntime } from './cli-support.js'
import {
  decideHeapGrowth,
  DEFAULT_HEAP_GROWTH_PERCENT,
  HEAP_GROWTH_RANGE,
  heapGrowthLine,
  type HeapGrowthDecision,
} from './heap-growth.js'
import { CLIENT_COMMANDS, runClientCli } from './runs-cli.js'

const DEFAULT_PORT = 8380

function port(value: string): number {
  const number = Number(value)
  if (!/^\d+$/.test(value) || number > 65535) {
    throw new InvalidArgumentError('--port must be an integer from 0 to 65535.')
  }
  return number
}

function concurrency(value: string): number {
  const number = Number(value)
  if (!/^\d+$/.test(value) || number < 1 || number > 256) {
    throw new InvalidArgumentError('--concurrency must be an integer from 1 to 256.')
  }
  return number
}

/** `name=value` of --limit, checked against the known limits. */
function limit(
  value: string,
  previous: Partial<AdapterLimits> | undefined,
): Partial<AdapterLimits> {
  const match = /^(\w+)=(\d+)$/.exec(value)
  const name = match?.[1] ?? ''
  if (!match || !Object.hasOwn(DEFAULT_LIMITS, name) || Number(match[2]) < 1) {
    throw new InvalidArgumentError(
      `--limit takes name=positive integer, the name one of ${Object.keys(DEFAULT_LIMITS).join(', ')}.`,
    )
  }
  return { ...previous, [name]: Number(match[2]) }
}

function leaseMs(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 100) {
    throw new InvalidArgumentError('--lease-ms must be an integer of at least 100 (milliseconds).')
  }
  return Number(value)
}

function runPageSize(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > 10_000) {
    throw new InvalidArgumentError('--run-page-size must be an integer from 1 to 10000.')
  }
  return Number(value)
}

function heapGrowth(value: string): number {
  const number = Number(value)
  const { min, max } = HEAP_GROWTH_RANGE
  if (!/^\d+$/.test(value) || (number !== 0 && (number < min || number > max))) {
    throw new InvalidArgumentError(
      `--heap-growth must be 0 (V8's own heap sizing) or an integer from ${min} to ${max} (percent).`,
    )
  }
  return number
}

function bytes(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1024) {
    throw new InvalidArgumentError('--body-limit must be an integer of at least 1024 (bytes).')
  }
  return Number(value)
}

interface CliOptions extends HttpCliOptions {
  provider: string
  port: number
  host: string
  data: string
  createDataDir?: boolean
  memory?: boolean
  databaseUrl?: string
  instanceId?: string
  leaseMs?: number
  runPageSize?: number
  fsync: 'group' | 'never'
  concurrency: number
  heapGrowth: number
  tenant?: string
  deliver: boolean
  logLevel: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'silent'
  apiToken?: string
  bodyLimit?: number
  limit?: Partial<AdapterLimits>
}

const CLIENT_HELP = `
Commands for a running adapter (--url, default http://127.0.0.1:8380, env CONAX_ADAPTER_URL;
--token, default env CONAX_ADAPTER_API_TOKEN; --json):
  runs define <file> | list | show <idOrCode> | preview <idOrCode> [--limit n]
  runs start <idOrCode> [--watch] | status <executionId> [--watch] | stop <executionId>
  runs resume <executionId> [--watch] | requests <executionId> | executions [idOrCode]
  communications add <file> | list [--external-system x] [--state s]
  reset-subscription <subscriptionId> [--preview]
  utility <json-or-@file>
  version (as --version) prints the version.
See conax-adapter <command> --help.`

/** The `conax-adapter [serve]` command line: starts the adapter; it writes to `io`. */
export function buildAdapterCommand(io: CliIo): Command {
  const command = useIo(withVersion(new Command('conax-adapter')), io)
    .usage('[serve] --provider <file> [options]')
    .description(
      'The CRM-side Conax Contego provisioning adapter: CRM actions to Conax commands, delivered without loss, behind a JSON API.',
    )
    .addHelpText('after', CLIENT_HELP)
    // Checked after the parse (not requiredOption), so that a misspelt option is named first.
    .option(
      '--provider <file>',
      'provisioning provider file (YAML or JSON), e.g. fixtures/scenarios/providers/conax-ws.yaml (required)',
    )
    .addOption(
      envOption(
        '-p, --port <port>',
        'HTTP API port (0 picks a free one)',
        'CONAX_ADAPTER_PORT',
        DEFAULT_PORT,
      ).argParser(port),
    )
    .addOption(
      envOption('-H, --host <host>', 'interface to listen on', 'CONAX_ADAPTER_HOST', '127.0.0.1'),
    )
    .addOption(
      envOption(
        '-d, --data <file>',
        'store of subscriptions and provisioning requests (a JSON snapshot; its log beside it)',
        'CONAX_ADAPTER_DATA',
        '.data/conax-adapter.json',
      ),
    )
    .addOption(
      new Option(
        '--create-data-dir',
        'create the folder of --data when it is missing (a --data given explicitly must otherwise be in an existing folder)',
      ),
    )
    .addOption(new Option('--memory', 'keep everything in memory instead (lost on exit)'))
    .addOption(
      envOption(
        '--database-url <url>',
        'PostgreSQL database instead of --data (postgres://user:password@host:5432/name), shared by several adapter instances',
        'DATABASE_URL',
      ).conflicts('memory'),
    )
    .addOption(
      envOption(
        '--instance-id <id>',
        "this instance's name in the shared database (default: host:pid:random)",
        'CONAX_ADAPTER_INSTANCE_ID',
      ),
    )
    .addOption(
      envOption(
        '--lease-ms <ms>',
        "how long an instance's claim on a request it sends holds; a dead instance's requests go to another after it (default 60000)",
        'CONAX_ADAPTER_LEASE_MS',
      ).argParser(leaseMs),
    )
    .addOption(
      new Option(
        '--run-page-size <n>',
        'subscriptions per batch of a run: its memory bound, and how often it saves its cursor and looks for a stop (default 500)',
      ).argParser(runPageSize),
    )
    .addOption(
      new Option(
        '--fsync <mode>',
        'fsync each group commit of the store (group) or leave it to the OS (never: survives a killed process, not a power cut)',
      )
        .choices(['group', 'never'])
        .default('group'),
    )
    .addOption(
      new Option('--concurrency <n>', 'requests in flight to Conax at once')
        .argParser(concurrency)
        .default(8),
    )
    .addOption(
      envOption(
        '--heap-growth <percent>',
        "how far the heap may grow past the live heap before a full collection: lower keeps the peak memory down for a little CPU; 0 leaves V8's own sizing (which lets the heap reach several times the live heap)",
        'CONAX_ADAPTER_HEAP_GROWTH',
        DEFAULT_HEAP_GROWTH_PERCENT,
      ).argParser(heapGrowth),
    )
    .addOption(
      envOption(
        '--tenant <name>',
        "provision this tenant of a conax-sim (/t/<name>/ before the provider endpoint's path)",
        'CONAX_ADAPTER_TENANT',
      ),
    )
    .addOption(new Option('--no-deliver', 'keep requests PENDING (no background delivery)'))
    .addOption(
      new Option('-l, --log-level <level>', 'log level of the JSON log on stdout')
        .choices(['trace', 'debug', 'info', 'warn', 'error', 'silent'])
        .default('info'),
    )
    .addOption(
      envOption(
        '--api-token <token>',
        'bearer token of the HTTP API (at least 16 characters); generated and printed at start when absent, required with a non-loopback --host. Prefer the variable: options show in ps',
        'CONAX_ADAPTER_API_TOKEN',
      ),
    )
    .addOption(
      new Option('--body-limit <bytes>', 'JSON body limit (default 1048576)').argParser(bytes),
    )
    .addOption(
      new Option(
        '--limit <name=value>',
        `raise or lower a bound of the API (repeatable): ${Object.entries(DEFAULT_LIMITS)
          .map(([name, value]) => `${name} (default ${value})`)
          .join(', ')}`,
      ).argParser(limit),
    )
  return addHttpOptions(command, HTTP_DEFAULTS)
}

/** Every first word `conax-adapter` knows; any other word is refused with a suggestion. */
const COMMAND_WORDS: readonly string[] = ['serve', ...CLIENT_COMMANDS, 'version']

/**
 * The first word of `argv` (node, script, ...) after the client's own global options (`--url
 * <url>`, `--token <t>`, their `=` forms, `--json`, which `serve` does not have): a command word,
 * or an option of `serve`, or undefined.
 */
function firstWord(argv: readonly string[]): string | undefined {
  for (let i = 2; i < argv.length; i++) {
    const word = argv[i] as string
    if (word === '--url' || word === '--token') {
      i += 1
    } else if (word !== '--json' && !word.startsWith('--url=') && !word.startsWith('--token=')) {
      return word
    }
  }
  return undefined
}

/**
 * Whether `argv` (node, script, ...) is a client command: its first word after the client's own
 * global options (`--url <url>`, `--token <t>`, their `=` forms, `--json`, which `serve` does not have) is one of
 * {@link CLIENT_COMMANDS}. So `conax-adapter --url http://host:8380 runs list` is a client
 * command, as the client's help shows it, and not a start of the adapter without --provider.
 */
export function isClientCommand(argv: readonly string[]): boolean {
  return CLIENT_COMMANDS.has(firstWord(argv) ?? '')
}

/** Resolves when the adapter should stop: at the first SIGINT or SIGTERM of `signals`. */
function stopRequested(signals: CliRuntime['signals']): Promise<void> {
  return new Promise((resolve) => {
    const stop = (): void => {
      signals.off('SIGINT', stop)
      signals.off('SIGTERM', stop)
      resolve()
    }
    signals.on('SIGINT', stop)
    signals.on('SIGTERM', stop)
  })
}

/** The lines that say where the adapter listens, what it talks to and how to call it. */
function startLines(adapter: Adapter, cli: CliOptions, heap: HeapGrowthDecision | null): string[] {
  const { provider } = adapter
  const url = adapter.url ?? ''
  return [
    `Conax provisioning adapter listening on ${url}`,
    `  Provider ${provider.name} (${provider.lifeCycleState}) -> ${provider.connection.endpoint}`,
    `  Store: ${adapter.store.description} | delivery: ${cli.deliver ? `on, ${cli.concurrency} at a time` : 'off'}`,
    ...(heap === null ? [] : [heapGrowthLine(heap)]),
    `  API: POST ${url}/crm/actions, ${url}/conax_web_services/provisioning_requests/{list,show,add_subscriptions,cancel_subscriptions,create_pairing}`,
    `  Console ${url}/console/ (sign in with the API token)`,
    adapter.apiTokenGenerated
      ? `  API token (generated): ${adapter.apiToken}  — export CONAX_ADAPTER_API_TOKEN=${adapter.apiToken} to choose your own (send it as 'Authorization: Bearer <token>')`
      : '  API token: the configured one (CONAX_ADAPTER_API_TOKEN or --api-token)',
  ]
}

/** A word among the `serve` options of `argv` that is no option's value (`--memory runz`). */
function serveOperand(argv: readonly string[], io: CliIo): string | undefined {
  const silent = { write: () => undefined }
  try {
    return firstOperand(
      buildAdapterCommand({ ...io, stdout: silent, stderr: silent }).exitOverride(),
      argv.slice(2),
    )
  } catch {
    // An option value that does not parse: the parse of serveOptions reports it.
    return undefined
  }
}

/** The `serve` options of `argv`, or the exit code when they are not usable (or were only --help). */
function serveOptions(
  argv: readonly string[],
  io: CliIo,
): { cli: CliOptions; dataFromDefault: boolean } | number {
  const command = buildAdapterCommand(io).exitOverride()
  try {
    command.parse(argv)
    applyEnv(command, io.env)
    if (command.opts<Partial<CliOptions>>().provider === undefined) {
      command.error("error: required option '--provider <file>' not specified")
    }
  } catch (error) {
    if (error instanceof CommanderError) {
      return error.code === 'commander.helpDisplayed' || error.code === 'commander.version' ? 0 : 2
    }
    throw error
  }
  return {
    cli: command.opts<CliOptions>(),
    dataFromDefault: command.getOptionValueSource('data') === 'default',
  }
}

/** The store options: memory, PostgreSQL, or the file store (its folder created for the default). */
function storeOptionsOf(cli: CliOptions, dataFromDefault: boolean): Partial<AdapterOptions> {
  if (cli.memory) {
    return {}
  }
  if (cli.databaseUrl !== undefined && cli.databaseUrl !== '') {
    return { databaseUrl: cli.databaseUrl }
  }
  // The default store (.data/ from a fresh clone) gets its folder; a path given on purpose must
  // name an existing folder, or --create-data-dir must say so.
  return {
    dataFile: cli.data,
    fsync: cli.fsync,
    createDataFolder: cli.createDataDir === true || dataFromDefault,
  }
}

/** `startAdapter`'s options from the command line. */
function adapterOptionsOf(cli: CliOptions, dataFromDefault: boolean, io: CliIo): AdapterOptions {
  return {
    provider: cli.provider,
    port: cli.port,
    host: cli.host,
    concurrency: cli.concurrency,
    ...(cli.tenant === undefined ? {} : { tenant: cli.tenant }),
    autoDeliver: cli.deliver,
    // The log goes to the CLI's own output, so a caller of runAdapterCli captures it too.
    logger: pino({ level: cli.logLevel }, { write: (line: string) => io.stdout.write(line) }),
    ...storeOptionsOf(cli, dataFromDefault),
    ...(cli.instanceId === undefined ? {} : { instanceId: cli.instanceId }),
    ...(cli.leaseMs === undefined ? {} : { leaseMs: cli.leaseMs }),
    ...(cli.runPageSize === undefined ? {} : { runPageSize: cli.runPageSize }),
    ...(cli.apiToken === undefined ? {} : { apiToken: cli.apiToken }),
    ...(cli.bodyLimit === undefined ? {} : { bodyLimitBytes: cli.bodyLimit }),
    ...(cli.limit === undefined ? {} : { limits: cli.limit }),
    ...guardListsOf(cli),
    http: httpSettingsOf(cli),
  }
}

/** Sets the heap growth before the adapter allocates anything; null when the runtime has no heap to size. */
function sizeHeap(percent: number, runtime: CliRuntime, io: CliIo): HeapGrowthDecision | null {
  if (runtime.heap === undefined) {
    return null
  }
  const decision = decideHeapGrowth(percent, runtime.heap.execArgv, io.env['NODE_OPTIONS'])
  if (decision.kind === 'set') {
    runtime.heap.setV8Flag(decision.flag)
  }
  return decision
}

/**
 * Runs the CLI on `argv` (node, script, ...), writing to `io`; resolves with the exit code once
 * the adapter has stopped (at a SIGINT or SIGTERM of `runtime.signals`) or failed to start, or
 * once a client command (runs, communications...) has done its work.
 */
export async function runAdapterCli(
  argv: readonly string[],
  io: CliIo = processIo(),
  runtime: CliRuntime = processRuntime(),
): Promise<number> {
  if (isClientCommand(argv)) {
    return runClientCli(argv, io, runtime)
  }
  // `serve` is the default command: `conax-adapter [options]` starts the adapter as it always has,
  // so the client commands are dispatched on their first word rather than by commander, and a word
  // that is no command is refused here (commander would take it for an excess argument of serve).
  const first = firstWord(argv)
  if (first === 'version') {
    return printVersion(io)
  }
  if (first !== undefined && first !== 'serve' && !first.startsWith('-')) {
    return refuseUnknownCommand(io, 'conax-adapter', first, COMMAND_WORDS)
  }
  const serveArgv = argv[2] === 'serve' ? [...argv.slice(0, 2), ...argv.slice(3)] : argv
  const operand = serveOperand(serveArgv, io)
  if (operand !== undefined) {
    return refuseUnknownCommand(io, 'conax-adapter', operand, COMMAND_WORDS)
  }
  const options = serveOptions(serveArgv, io)
  if (typeof options === 'number') {
    return options
  }
  const { cli, dataFromDefault } = options
  const heap = sizeHeap(cli.heapGrowth, runtime, io)
  try {
    const adapter = await startAdapter(adapterOptionsOf(cli, dataFromDefault, io))
    const stopped = stopRequested(runtime.signals)
    for (const line of startLines(adapter, cli, heap)) {
      writeLine(io.stdout, line)
    }
    await stopped
    await adapter.close()
    return 0
  } catch (error) {
    if (isCodedError(error)) {
      writeLine(io.stderr, errorLine('conax-adapter', error))
      return 2
    }
    throw error
  }
}
