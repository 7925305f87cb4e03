/* eslint-disable no-console -- the CLI talks to a terminal */
import { Command, InvalidArgumentError, Option } from 'commander'
import {
  addHttpOptions,
  guardListsOf,
  httpSettingsOf,
  type HttpCliOptions,
} from '../../common/http-cli.js'
import { errorLine } from '../../common/coded-error.js'
import { HTTP_DEFAULTS } from '../../common/http-server.js'
import { isCodedError } from '../api/error-answer.js'
import { DEFAULT_LIMITS, type AdapterLimits } from '../api/limits.js'
import { startAdapter } from '../create-adapter.js'
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
  fsync: 'group' | 'never'
  concurrency: number
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
See conax-adapter <command> --help.`

/** The `conax-adapter [serve]` command line: starts the adapter. */
export function buildAdapterCommand(): Command {
  const command = new Command('conax-adapter')
    .usage('[serve] --provider <file> [options]')
    .description(
      'The CRM-side Conax Contego provisioning adapter: CRM actions to Conax commands, delivered without loss, behind a JSON API.',
    )
    .addHelpText('after', CLIENT_HELP)
    .requiredOption(
      '--provider <file>',
      'provisioning provider file (YAML or JSON), e.g. fixtures/scenarios/providers/conax-ws.yaml',
    )
    .addOption(
      new Option('-p, --port <port>', 'HTTP API port (0 picks a free one)')
        .argParser(port)
        .env('CONAX_ADAPTER_PORT')
        .default(DEFAULT_PORT),
    )
    .addOption(
      new Option('-H, --host <host>', 'interface to listen on')
        .env('CONAX_ADAPTER_HOST')
        .default('127.0.0.1'),
    )
    .addOption(
      new Option(
        '-d, --data <file>',
        'store of subscriptions and provisioning requests (a JSON snapshot; its log beside it)',
      )
        .env('CONAX_ADAPTER_DATA')
        .default('.data/conax-adapter.json'),
    )
    .addOption(
      new Option(
        '--create-data-dir',
        'create the folder of --data when it is missing (a --data given explicitly must otherwise be in an existing folder)',
      ),
    )
    .addOption(new Option('--memory', 'keep everything in memory instead (lost on exit)'))
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
    .addOption(new Option('--no-deliver', 'keep requests PENDING (no background delivery)'))
    .addOption(
      new Option('-l, --log-level <level>', 'log level of the JSON log on stdout')
        .choices(['trace', 'debug', 'info', 'warn', 'error', 'silent'])
        .default('info'),
    )
    .addOption(
      new Option(
        '--api-token <token>',
        'bearer token of the HTTP API (at least 16 characters); generated and printed at start when absent, required with a non-loopback --host. Prefer the variable: options show in ps',
      ).env('CONAX_ADAPTER_API_TOKEN'),
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

/**
 * Whether `argv` (node, script, ...) is a client command: its first word after the client's own
 * global options (`--url <url>`, `--token <t>`, their `=` forms, `--json`, which `serve` does not have) is one of
 * {@link CLIENT_COMMANDS}. So `conax-adapter --url http://host:8380 runs list` is a client
 * command, as the client's help shows it, and not a start of the adapter without --provider.
 */
export function isClientCommand(argv: readonly string[]): boolean {
  for (let i = 2; i < argv.length; i++) {
    const word = argv[i] as string
    if (word === '--url' || word === '--token') {
      i += 1
    } else if (word !== '--json' && !word.startsWith('--url=') && !word.startsWith('--token=')) {
      return CLIENT_COMMANDS.has(word)
    }
  }
  return false
}

/**
 * Runs the CLI; resolves with the exit code once the adapter has stopped (or failed to start), or
 * once a client command (runs, communications...) has done its work.
 */
export async function runAdapterCli(argv: readonly string[]): Promise<number> {
  if (isClientCommand(argv)) {
    return runClientCli(argv)
  }
  const first = argv[2]
  // `serve` is the default command: `conax-adapter [options]` starts the adapter as it always has,
  // so the client commands are dispatched on their first word rather than by commander.
  const serveArgv = first === 'serve' ? [...argv.slice(0, 2), ...argv.slice(3)] : argv
  const command = buildAdapterCommand().exitOverride()
  let cli: CliOptions
  try {
    cli = command.parse(serveArgv).opts<CliOptions>()
  } catch (error) {
    const code = (error as { code?: string }).code
    return code === 'commander.helpDisplayed' || code === 'commander.version' ? 0 : 2
  }
  try {
    const adapter = await startAdapter({
      provider: cli.provider,
      port: cli.port,
      host: cli.host,
      concurrency: cli.concurrency,
      autoDeliver: cli.deliver,
      logger: cli.logLevel,
      // The default store (.data/ from a fresh clone) gets its folder; a path given on purpose
      // must name an existing folder, or --create-data-dir must say so.
      ...(cli.memory
        ? {}
        : {
            dataFile: cli.data,
            fsync: cli.fsync,
            createDataFolder:
              cli.createDataDir === true || command.getOptionValueSource('data') === 'default',
          }),
      ...(cli.apiToken === undefined ? {} : { apiToken: cli.apiToken }),
      ...(cli.bodyLimit === undefined ? {} : { bodyLimitBytes: cli.bodyLimit }),
      ...(cli.limit === undefined ? {} : { limits: cli.limit }),
      ...guardListsOf(cli),
      http: httpSettingsOf(cli),
    })
    const { provider } = adapter
    console.log(`Conax provisioning adapter listening on ${adapter.url ?? ''}`)
    console.log(
      `  Provider ${provider.name} (${provider.lifeCycleState}) -> ${provider.connection.endpoint}`,
    )
    console.log(
      `  Store: ${adapter.store.description} | delivery: ${cli.deliver ? `on, ${cli.concurrency} at a time` : 'off'}`,
    )
    console.log(
      `  API: POST ${adapter.url ?? ''}/crm/actions, ${adapter.url ?? ''}/conax_web_services/provisioning_requests/{list,show,add_subscriptions,cancel_subscriptions,create_pairing}`,
    )
    console.log(
      adapter.apiTokenGenerated
        ? `  API token (generated): ${adapter.apiToken}  — export CONAX_ADAPTER_API_TOKEN=${adapter.apiToken} to choose your own (send it as 'Authorization: Bearer <token>')`
        : '  API token: the configured one (CONAX_ADAPTER_API_TOKEN or --api-token)',
    )
    await new Promise<void>((resolve) => {
      const stop = (): void => {
        process.off('SIGINT', stop)
        process.off('SIGTERM', stop)
        resolve()
      }
      process.on('SIGINT', stop)
      process.on('SIGTERM', stop)
    })
    await adapter.close()
    return 0
  } catch (error) {
    if (isCodedError(error)) {
      console.error(errorLine('conax-adapter', error))
      return 2
    }
    throw error
  }
}
