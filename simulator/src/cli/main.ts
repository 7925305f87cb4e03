import { readFileSync } from 'node:fs'
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander'
import pino from 'pino'
import {
  addHttpOptions,
  guardListsOf,
  httpSettingsOf,
  type HttpCliOptions,
} from '../../../common/http-cli.js'
import { errorLine } from '../../../common/coded-error.js'
import { processIo, writeLine, type CliIo } from '../../../common/cli-io.js'
import {
  applyEnv,
  envOption,
  processSignals,
  useIo,
  type SignalSource,
} from '../../../common/cli-options.js'
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
  type Simulator,
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

const UNITS: Readonly<Record<string, number>> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }

/** A size in bytes: a whole number, optionally with k, m or g (binary: 64m is 64 MiB). */
export function byteSize(name: string, min: number) {
  return (value: string): number => {
    const match = /^(\d+)\s*([kmg]?)(?:i?b)?$/i.exec(value.trim())
    const bytes = match ? Number(match[1]) * (UNITS[(match[2] ?? '').toLowerCase()] ?? 1) : NaN
    if (!Number.isSafeInteger(bytes) || bytes < min) {
      throw new InvalidArgumentError(
        `${name} must be a size in bytes of at least ${min}, as a number with k, m or g for KiB, MiB or GiB (e.g. 64m), not '${value}'.`,
      )
    }
    return bytes
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
  fsync: 'group' | 'never'
  compactAt?: number
  journalRetain?: number
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
  tenants?: number
  tenantIdle?: number
  logLevel: LogLevel
  tlsCert?: string
  tlsKey?: string
  tlsClientCa?: string
  adminToken?: string
  adminBodyLimit?: number
  trustProxy?: boolean
}

/** The `conax-sim` command line, writing its help and usage errors to `io`. */
export function buildCommand(io: CliIo = processIo()): Command {
  const command = withVersion(useIo(new Command('conax-sim'), io))
    .usage('[options] | version')
    .description(
      'A Conax Contego CA simulator: the five SOAP services of the wire contract, plus a JSON admin API.',
    )
    .addOption(
      envOption(
        '-p, --port <port>',
        'TCP port (0 picks a free one)',
        'CONTEGO_SIM_PORT',
        DEFAULT_PORT,
      ).argParser(integer('--port', 0, 65535)),
    )
    .addOption(
      envOption('-H, --host <host>', 'interface to listen on', 'CONTEGO_SIM_HOST', '127.0.0.1'),
    )
    .addOption(
      envOption(
        '-d, --data <file>',
        'keep state and journal across restarts: a JSON snapshot at <file> and a log of changes in <file>.<n>.log next to it (in memory when omitted)',
        'CONTEGO_SIM_DATA',
      ),
    )
    .addOption(
      new Option(
        '--fsync <mode>',
        'with --data: group flushes each commit group to disk before answering its writes; never leaves it to the OS (faster; acknowledged writes survive a crash of the simulator, not a power failure)',
      )
        .choices(['group', 'never'])
        .default('group'),
    )
    .addOption(
      new Option(
        '--compact-at <bytes>',
        'with --data: write a new snapshot in the background when the log since the last one reaches this size (default 64m)',
      ).argParser(byteSize('--compact-at', 4096)),
    )
    .addOption(
      new Option(
        '--journal-retain <bytes>',
        'with --data: log segments older than the snapshot kept for GET /admin/journal (default 64m; 0 keeps none)',
      ).argParser(byteSize('--journal-retain', 0)),
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
      new Option(
        '--tenants <n>',
        'most tenants (/t/<name>/..., each an isolated in-memory simulator) alive at once; 0 turns them off (default 100)',
      ).argParser(integer('--tenants', 0, 10_000)),
    )
    .addOption(
      new Option(
        '--tenant-idle <seconds>',
        'a tenant nobody called for this long is closed and forgotten (default 1800)',
      ).argParser(integer('--tenant-idle', 1)),
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
      envOption(
        '-l, --log-level <level>',
        'log level of the JSON request log on stdout',
        'CONTEGO_SIM_LOG_LEVEL',
        'info',
      ).choices(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']),
    )
    .addOption(
      envOption(
        '--admin-token <token>',
        'bearer token of the admin API (at least 16 characters); generated and printed at start when absent, required with a non-loopback --host. Prefer the variable: options show in ps',
        'CONTEGO_SIM_ADMIN_TOKEN',
      ),
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
  conax-sim --data .data/sim.json --fixtures state kept in a file (and its log) across restarts
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

function toSimulatorOptions(cli: CliOptions, io: CliIo): SimulatorOptions {
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
    // The request log goes to the CLI's own output, so a caller of runCli captures it too.
    logger: pino({ level: cli.logLevel }, { write: (line: string) => io.stdout.write(line) }),
    ...(cli.data
      ? {
          dataFile: cli.data,
          createDataFolder: cli.createDataDir ?? false,
          fsync: cli.fsync,
          ...(cli.compactAt === undefined ? {} : { compactAtBytes: cli.compactAt }),
          ...(cli.journalRetain === undefined ? {} : { journalRetainBytes: cli.journalRetain }),
        }
      : {}),
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
    ...tenantsOf(cli),
    ...(cli.adminToken === undefined ? {} : { adminToken: cli.adminToken }),
    ...(cli.adminBodyLimit ? { adminBodyLimitBytes: cli.adminBodyLimit } : {}),
    ...(cli.trustProxy ? { trustProxy: true } : {}),
    ...guardListsOf(cli),
    http: httpSettingsOf(cli),
    ...tlsOptions(cli),
  }
}

/** `{ tenants }` of --tenants and --tenant-idle, when either is given. */
function tenantsOf(cli: CliOptions): Pick<SimulatorOptions, 'tenants'> {
  if (cli.tenants === undefined && cli.tenantIdle === undefined) {
    return {}
  }
  return {
    tenants: {
      ...(cli.tenants === undefined ? {} : { max: cli.tenants }),
      ...(cli.tenantIdle === undefined ? {} : { idleMs: cli.tenantIdle * 1000 }),
    },
  }
}

/** The subcommands of `conax-sim`; without one, it serves. */
const COMMANDS = ['version']

/** Resolves at the first SIGINT or SIGTERM of `signals`. */
function stopRequested(signals: SignalSource): Promise<void> {
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

/** The lines that say where the simulator listens, what it holds and how to call it. */
function startLines(sim: Simulator, cli: CliOptions): string[] {
  const stats = sim.model.stats()
  const lines = [
    `Conax Contego simulator listening on ${sim.url}`,
    ...SERVICE_NAMES.map(
      (service) => `  SOAP ${sim.serviceUrl(service).padEnd(70)} WSDL ${sim.wsdlUrl(service)}`,
    ),
    `  Admin ${sim.url}/admin/journal, ${sim.url}/admin/cards/:caClientId, health ${sim.url}/healthz`,
    `  Console ${sim.url}/console/ (sign in with the admin token)`,
    sim.adminTokenGenerated
      ? `  Admin token (generated): ${sim.adminToken}  — export CONTEGO_SIM_ADMIN_TOKEN=${sim.adminToken} to choose your own (send it as 'Authorization: Bearer <token>')`
      : '  Admin token: the configured one (CONTEGO_SIM_ADMIN_TOKEN or --admin-token)',
    `  Users: ${Object.keys(cli.users).join(', ')} | store: ${sim.storeDescription} | ${stats.smartcards} cards, ${stats.pairingModules} STBs, ${stats.products} products | journal lastSeq ${sim.journal.lastSeq()}`,
  ]
  const recovery = sim.storeRecovery
  if (recovery) {
    lines.push(
      `  Store: snapshot ${recovery.snapshotFormat ?? 'none'} at group ${recovery.position}, ${recovery.groupsReplayed} log groups (${recovery.bytesReplayed} bytes) replayed in ${Math.round(recovery.durationMs)} ms, fsync ${cli.fsync}`,
    )
  }
  return lines
}

/**
 * Runs the CLI on `argv` (node, script, ...), writing to `io`; resolves with the exit code once
 * the simulator has stopped (at a SIGINT or SIGTERM of `signals`) or failed to start.
 */
export async function runCli(
  argv: readonly string[],
  io: CliIo = processIo(),
  signals: SignalSource = processSignals,
): Promise<number> {
  const silent: CliIo = {
    ...io,
    stdout: { write: () => undefined },
    stderr: { write: () => undefined },
  }
  let word: string | undefined
  try {
    word = firstOperand(buildCommand(silent).exitOverride(), argv.slice(2))
  } catch {
    // An option value that does not parse: the parse below reports it.
  }
  if (word === 'version') {
    return printVersion(io)
  }
  if (word !== undefined) {
    return refuseUnknownCommand(io, 'conax-sim', word, COMMANDS)
  }
  const command = buildCommand(io).exitOverride()
  let cli: CliOptions
  try {
    command.parse(argv)
    applyEnv(command, io.env)
    cli = command.opts<CliOptions>()
  } catch (error) {
    if (error instanceof CommanderError) {
      return error.code === 'commander.helpDisplayed' || error.code === 'commander.version' ? 0 : 2
    }
    throw error
  }
  try {
    const sim = await startSimulator(toSimulatorOptions(cli, io))
    const stopped = stopRequested(signals)
    for (const line of startLines(sim, cli)) {
      writeLine(io.stdout, line)
    }
    for (const tail of sim.storeRecovery?.repaired ?? []) {
      writeLine(
        io.stderr,
        `conax-sim: warning: dropped bytes ${tail.from} to ${tail.to} (${tail.bytes} bytes) at the end of ${tail.file}: ${tail.reason}. A write cut short by a crash ends this way (its group was never acknowledged), and so does damage to the file; every whole group before it was kept.`,
      )
    }
    await stopped
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
