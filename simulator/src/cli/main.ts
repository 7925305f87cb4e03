import { readFileSync } from 'node:fs'
import { Command, InvalidArgumentError, Option } from 'commander'
import {
  addHttpOptions,
  guardListsOf,
  httpSettingsOf,
  type HttpCliOptions,
} from '../../../common/http-cli.js'
import { errorLine } from '../../../common/coded-error.js'
import { processIo, writeLine, type CliIo } from '../../../common/cli-io.js'
import {
  firstOperand,
  printVersion,
  refuseUnknownCommand,
  withVersion,
} from '../../../common/cli-commands.js'
import { checkInventoryShape } from '../admin/admin-requests.js'
import { SERVICE_NAMES } from '../contract/namespaces.js'
import {
  OPERATION_NAMES,
  isOperationName,
  type OperationName,
} from '../operations/operation-table.js'
import {
  SIMULATOR_HTTP_DEFAULTS,
  startSimulator,
  type LogLevel,
  type SimulatorOptions,
} from '../create-simulator.js'
import { DEFAULT_INVENTORY_SEED } from '../fixtures/inventory.js'
import type { InventoryInput } from '../model/inventory.js'
import type { ModelRules } from '../model/types.js'
import { SimulatorError } from '../runtime/simulator-error.js'

const DEFAULT_PORT = 8280
const DEFAULT_FIXTURE_SIZE = 200

function integer(name: string, min: number, max = Number.MAX_SAFE_INTEGER) {
  return (value: string): number => {
    const number = Number(value)
    if (!/^\d+$/.test(value) || number < min || number > max) {
      throw new InvalidArgumentError(`${name} must be an integer from ${min} to ${max}.`)
    }
    return number
  }
}

/** `sms:sms,crm2:secret` to a user map. */
export function parseUsers(value: string): Record<string, string> {
  const users: Record<string, string> = {}
  for (const pair of value.split(',')) {
    const colon = pair.indexOf(':')
    if (colon < 1 || colon === pair.length - 1) {
      throw new InvalidArgumentError(`'${pair}' is not user:password.`)
    }
    users[pair.slice(0, colon)] = pair.slice(colon + 1)
  }
  return users
}

function parseOperations(value: string): OperationName[] {
  return value.split(',').map((name) => {
    const trimmed = name.trim()
    if (!isOperationName(trimmed)) {
      throw new InvalidArgumentError(
        `'${trimmed}' is not one of the ${OPERATION_NAMES.length} contract operations.`,
      )
    }
    return trimmed
  })
}

function readJson(file: string, what: string): unknown {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as unknown
  } catch (error) {
    throw new SimulatorError(
      'INVALID_OPTION',
      `Failed to read the ${what} file ${file}: ${(error instanceof Error ? error.message : String(error)).replace(/\s+/g, ' ')}.`,
    )
  }
}

interface CliOptions extends HttpCliOptions {
  port: number
  host: string
  data?: string
  createDataDir?: boolean
  users: Record<string, string>
  fixtures?: number | true
  seed: number
  inventory?: string
  profile?: string
  productIds?: ModelRules['productIdFormat']
  maxCards?: number
  disable?: OperationName[]
  bodyLimit?: number
  journalLimit?: number
  logLevel: LogLevel
  tlsCert?: string
  tlsKey?: string
  tlsClientCa?: string
  adminToken?: string
  adminBodyLimit?: number
  trustProxy?: boolean
}

/** The `conax-sim` command line. */
export function buildCommand(): Command {
  const command = withVersion(new Command('conax-sim'))
    .usage('[options] | version')
    .description(
      'A Conax Contego CA simulator: the five SOAP services of the wire contract, plus a JSON admin API.',
    )
    .addOption(
      new Option('-p, --port <port>', 'TCP port (0 picks a free one)')
        .argParser(integer('--port', 0, 65535))
        .env('CONTEGO_SIM_PORT')
        .default(DEFAULT_PORT),
    )
    .addOption(
      new Option('-H, --host <host>', 'interface to listen on')
        .env('CONTEGO_SIM_HOST')
        .default('127.0.0.1'),
    )
    .addOption(
      new Option(
        '-d, --data <file>',
        'lowdb JSON file that keeps state and journal across restarts (in memory when omitted)',
      ).env('CONTEGO_SIM_DATA'),
    )
    .addOption(
      new Option(
        '--create-data-dir',
        'create the folder of --data when it is missing (otherwise a missing folder is refused)',
      ),
    )
    .addOption(
      new Option(
        '-u, --users <list>',
        'SMS users for HTTP Basic auth, as user:password pairs separated by commas; the first owns new cards',
      )
        .argParser(parseUsers)
        .default({ sms: 'sms' }, 'sms:sms'),
    )
    .addOption(
      new Option(
        '-f, --fixtures [size]',
        `register the seed catalogue and a generated inventory of [size] cards and STBs (default ${DEFAULT_FIXTURE_SIZE})`,
      ).argParser(integer('--fixtures', 1, 1_000_000)),
    )
    .addOption(
      new Option('--seed <n>', 'faker seed of the generated inventory')
        .argParser(integer('--seed', 0))
        .default(DEFAULT_INVENTORY_SEED),
    )
    .addOption(
      new Option(
        '--inventory <file>',
        'register the devices and products of a JSON file (the POST /admin/inventory shape) at start',
      ),
    )
    .addOption(
      new Option(
        '--profile <file>',
        'JSON file with SimulatorOptions: rules, disabledOperations, bodyLimitBytes, xmlLimits, journalLimit, replayLimit',
      ),
    )
    .addOption(
      new Option(
        '--product-ids <format>',
        'ProductId format: lenient (GFA1, EFA2...) or digits (strict profile)',
      ).choices(['lenient', 'digits']),
    )
    .addOption(
      new Option(
        '--max-cards <n>',
        'distinct cards allowed in one request (default 500)',
      ).argParser(integer('--max-cards', 1)),
    )
    .addOption(
      new Option(
        '--disable <operations>',
        'operations that answer FEATURE_NOT_AVAILABLE, comma separated',
      ).argParser(parseOperations),
    )
    .addOption(
      new Option(
        '--body-limit <bytes>',
        'request body limit; larger bodies get HTTP 413 (default 1048576)',
      ).argParser(integer('--body-limit', 1024)),
    )
    .addOption(
      new Option('--journal-limit <n>', 'journal entries kept (default 10000)').argParser(
        integer('--journal-limit', 1),
      ),
    )
    .addOption(
      new Option('--tls-cert <file>', 'serve HTTPS with this PEM certificate (needs --tls-key)'),
    )
    .addOption(new Option('--tls-key <file>', 'PEM private key of --tls-cert'))
    .addOption(
      new Option(
        '--tls-client-ca <file>',
        'require client certificates signed by this PEM CA (mutual TLS, as the real system)',
      ),
    )
    .addOption(
      new Option('-l, --log-level <level>', 'log level of the JSON request log on stdout')
        .choices(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'])
        .env('CONTEGO_SIM_LOG_LEVEL')
        .default('info'),
    )
    .addOption(
      new Option(
        '--admin-token <token>',
        'bearer token of the admin API (at least 16 characters); generated and printed at start when absent, required with a non-loopback --host. Prefer the variable: options show in ps',
      ).env('CONTEGO_SIM_ADMIN_TOKEN'),
    )
    .addOption(
      new Option(
        '--admin-body-limit <bytes>',
        'admin API JSON body limit (default 33554432, an inventory of 100,000 cards and STBs)',
      ).argParser(integer('--admin-body-limit', 1024)),
    )
    .addOption(
      new Option(
        '--trust-proxy',
        "behind a reverse proxy: the WSDLs' soap:address takes X-Forwarded-Proto and X-Forwarded-Host (off: they are ignored)",
      ).env('CONTEGO_SIM_TRUST_PROXY'),
    )
  return addHttpOptions(command, SIMULATOR_HTTP_DEFAULTS).addHelpText(
    'after',
    `
Commands:
  version                                    print the version (as --version)

Examples:
  conax-sim --fixtures                       in memory, 200 generated cards and STBs, port ${DEFAULT_PORT}
  conax-sim --data .data/sim.json --fixtures state kept in a file across restarts
  conax-sim --port 0 --users sms:sms,crm2:secret --product-ids digits

Endpoints (HTTP Basic auth, SOAP 1.1 or 1.2; GET <endpoint>?wsdl for the WSDL):
${SERVICE_NAMES.map((s) => `  /ca-server/webservices/caclient/${s}`).join('\n')}
Admin API (JSON, header 'Authorization: Bearer <admin token>'): /admin/inventory, /admin/cards/:id,
  /admin/journal, /admin/reset, /admin/faults, /metrics (Prometheus); /healthz and
  /admin/openapi.json (the admin API described in OpenAPI 3.1) need no token`,
  )
}

function readPem(file: string, what: string): Buffer {
  try {
    return readFileSync(file)
  } catch (error) {
    throw new SimulatorError(
      'INVALID_OPTION',
      `Failed to read the ${what} ${file}: ${error instanceof Error ? error.message : String(error)}.`,
    )
  }
}

function tlsOptions(cli: CliOptions): Pick<SimulatorOptions, 'tls'> {
  if (!cli.tlsCert && !cli.tlsKey) {
    if (cli.tlsClientCa) {
      throw new SimulatorError('INVALID_OPTION', '--tls-client-ca needs --tls-cert and --tls-key.')
    }
    return {}
  }
  if (!cli.tlsCert || !cli.tlsKey) {
    throw new SimulatorError('INVALID_OPTION', '--tls-cert and --tls-key go together.')
  }
  return {
    tls: {
      cert: readPem(cli.tlsCert, 'TLS certificate'),
      key: readPem(cli.tlsKey, 'TLS key'),
      ...(cli.tlsClientCa ? { clientCa: readPem(cli.tlsClientCa, 'client CA') } : {}),
    },
  }
}

const PROFILE_KEYS = [
  'rules',
  'disabledOperations',
  'bodyLimitBytes',
  'xmlLimits',
  'journalLimit',
  'replayLimit',
]

/** A --profile file: only the settings a profile may hold (their values are checked by startSimulator). */
function readProfile(file: string): SimulatorOptions {
  const profile = readJson(file, 'profile')
  if (typeof profile !== 'object' || profile === null || Array.isArray(profile)) {
    throw new SimulatorError('INVALID_OPTION', `The profile ${file} must be a JSON object.`)
  }
  const unknown = Object.keys(profile).filter((key) => !PROFILE_KEYS.includes(key))
  if (unknown.length > 0) {
    throw new SimulatorError(
      'INVALID_OPTION',
      `The profile ${file} has unknown key(s) ${unknown.join(', ')}; a profile may hold ${PROFILE_KEYS.join(', ')}.`,
    )
  }
  return profile
}

function readInventory(file: string): InventoryInput {
  const data = readJson(file, 'inventory')
  try {
    return checkInventoryShape(data)
  } catch (error) {
    throw new SimulatorError(
      'INVALID_INVENTORY',
      `The inventory file ${file} is invalid: ${error instanceof Error ? error.message : String(error)}`,
    )
  }
}

function toSimulatorOptions(cli: CliOptions): SimulatorOptions {
  const profile = cli.profile ? readProfile(cli.profile) : {}
  const rules: Partial<ModelRules> = {
    ...profile.rules,
    ...(cli.productIds ? { productIdFormat: cli.productIds } : {}),
    ...(cli.maxCards ? { maxCardsPerRequest: cli.maxCards } : {}),
  }
  return {
    ...profile,
    port: cli.port,
    host: cli.host,
    users: cli.users,
    rules,
    logger: cli.logLevel,
    ...(cli.data ? { dataFile: cli.data, createDataFolder: cli.createDataDir ?? false } : {}),
    ...(cli.fixtures
      ? {
          fixtures: {
            size: cli.fixtures === true ? DEFAULT_FIXTURE_SIZE : cli.fixtures,
            seed: cli.seed,
          },
        }
      : {}),
    ...(cli.inventory ? { inventory: readInventory(cli.inventory) } : {}),
    ...(cli.disable ? { disabledOperations: cli.disable } : {}),
    ...(cli.bodyLimit ? { bodyLimitBytes: cli.bodyLimit } : {}),
    ...(cli.journalLimit ? { journalLimit: cli.journalLimit } : {}),
    ...(cli.adminToken === undefined ? {} : { adminToken: cli.adminToken }),
    ...(cli.adminBodyLimit ? { adminBodyLimitBytes: cli.adminBodyLimit } : {}),
    ...(cli.trustProxy ? { trustProxy: true } : {}),
    ...guardListsOf(cli),
    http: httpSettingsOf(cli),
    ...tlsOptions(cli),
  }
}

/** The subcommands of `conax-sim`; without one, it serves. */
const COMMANDS = ['version']

/** `command` writing its help and errors to `io`, and throwing rather than exiting. */
function toIo(command: Command, io: CliIo): Command {
  return command.exitOverride().configureOutput({
    writeOut: (text) => io.stdout.write(text),
    writeErr: (text) => io.stderr.write(text),
  })
}

/**
 * Runs the CLI on `argv` (node, script, ...), writing to `io`; resolves with the exit code once the
 * simulator has stopped (or failed to start), or once `version` has printed.
 */
export async function runCli(argv: readonly string[], io: CliIo = processIo()): Promise<number> {
  const silent: CliIo = {
    ...io,
    stdout: { write: () => undefined },
    stderr: { write: () => undefined },
  }
  let word: string | undefined
  try {
    word = firstOperand(toIo(buildCommand(), silent), argv.slice(2))
  } catch {
    // An option value that does not parse: the parse below reports it.
  }
  if (word === 'version') {
    return printVersion(io)
  }
  if (word !== undefined) {
    return refuseUnknownCommand(io, 'conax-sim', word, COMMANDS)
  }
  const command = toIo(buildCommand(), io)
  let cli: CliOptions
  try {
    cli = command.parse(argv).opts<CliOptions>()
  } catch (error) {
    const code = (error as { code?: string }).code
    return code === 'commander.helpDisplayed' || code === 'commander.version' ? 0 : 2
  }
  try {
    const sim = await startSimulator(toSimulatorOptions(cli))
    const stats = sim.model.stats()
    writeLine(io.stdout, `Conax Contego simulator listening on ${sim.url}`)
    for (const service of SERVICE_NAMES) {
      writeLine(
        io.stdout,
        `  SOAP ${sim.serviceUrl(service).padEnd(70)} WSDL ${sim.wsdlUrl(service)}`,
      )
    }
    writeLine(
      io.stdout,
      `  Admin ${sim.url}/admin/journal, ${sim.url}/admin/cards/:caClientId, health ${sim.url}/healthz`,
    )
    writeLine(
      io.stdout,
      sim.adminTokenGenerated
        ? `  Admin token (generated): ${sim.adminToken}  — export CONTEGO_SIM_ADMIN_TOKEN=${sim.adminToken} to choose your own (send it as 'Authorization: Bearer <token>')`
        : '  Admin token: the configured one (CONTEGO_SIM_ADMIN_TOKEN or --admin-token)',
    )
    writeLine(
      io.stdout,
      `  Users: ${Object.keys(cli.users).join(', ')} | store: ${sim.storeDescription} | ${stats.smartcards} cards, ${stats.pairingModules} STBs, ${stats.products} products`,
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
    await sim.close()
    return 0
  } catch (error) {
    if (error instanceof SimulatorError && error.code === 'STORE_WRITE_FAILED') {
      writeLine(io.stderr, `${errorLine('conax-sim', error)} The last changes may be lost.`)
      return 1
    }
    if (error instanceof SimulatorError) {
      writeLine(io.stderr, errorLine('conax-sim', error))
      return 2
    }
    throw error
  }
}
