import { randomUUID } from 'node:crypto'
import { performance } from 'node:perf_hooks'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { createServer as createTlsServer } from 'node:https'
import express from 'express'
import { pino, type Logger } from 'pino'
import { errorBody } from '../../common/coded-error.js'
import { ConsoleFiles, isConsolePath } from '../../common/console-server.js'
import {
  RequestGuard,
  generateToken,
  type AdmitOptions,
  guardOptionsProblem,
  isLoopbackAddress,
  tokenProblem,
} from '../../common/http-guard.js'
import {
  ConnectionGuard,
  HTTP_DEFAULTS,
  ListenError,
  httpServerOptions,
  httpSettingsProblem,
  listen,
  type ConnectionStats,
  type HttpServerSettings,
} from '../../common/http-server.js'
import { checkInventoryShape } from './admin/admin-requests.js'
import { OPEN_ADMIN_PATHS } from './admin/admin-openapi.js'
import { createAdminRouter } from './admin/admin-router.js'
import { JournalStreams } from './admin/journal-stream.js'
import { createSimulatorMetrics } from './runtime/metrics.js'
import { SERVICE_BASE_PATH, type ServiceName } from './contract/namespaces.js'
import { isOperationName, type OperationName } from './operations/operation-table.js'
import { fixtureInventory } from './fixtures/inventory.js'
import { CaModel } from './model/ca-model.js'
import { CaState } from './model/ca-state.js'
import type { InventoryInput } from './model/inventory.js'
import { STATUS_CODES, type ModelRules } from './model/types.js'
import { FaultInjector } from './runtime/fault-injector.js'
import { Journal } from './runtime/journal.js'
import { ReplayCache } from './runtime/replay-cache.js'
import { SimulatorError } from './runtime/simulator-error.js'
import {
  TENANT_DEFAULTS,
  TenantRegistry,
  tenantOf,
  type TenantInstance,
  type TenantSettings,
  type TenantView,
} from './runtime/tenants.js'
import { createSoapEndpoint } from './soap/soap-endpoint.js'
import { authenticate, serviceForPath } from './soap/transport.js'
import type { XmlLimits } from './soap/xml-input.js'
import {
  DEFAULT_COMPACT_AT_BYTES,
  DEFAULT_JOURNAL_RETAIN_BYTES,
  type AppendFile,
  type CompactionPoint,
  type FsyncMode,
  type LogStoreStats,
  type RecoveryReport,
} from './store/log-store.js'
import { isDurable, openPersistence, type PersistenceChoice } from './store/persistence.js'
import { WriteCoalescer, type SimulatorStore } from './store/simulator-store.js'

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent'

/** How to start a simulator. Every field is optional; the defaults suit a test. */
export interface SimulatorOptions {
  /** TCP port; 0 (the default) picks a free one. */
  readonly port?: number
  /** Interface to listen on (default 127.0.0.1). */
  readonly host?: string
  /** SMS users allowed in by HTTP Basic auth, user name to password (default `{ sms: 'sms' }`). */
  readonly users?: Readonly<Record<string, string>>
  /**
   * A file to keep state and journal in: its snapshot, with the log of changes since in segment
   * files next to it (docs/decisions/0013; a `conax-sim/1` lowdb file of an earlier version
   * loads and goes on as the first snapshot). In memory when absent.
   */
  readonly dataFile?: string
  /** Create the folder of `dataFile` when it is missing (default false: refused, STORE_FOLDER_MISSING). */
  readonly createDataFolder?: boolean
  /**
   * With `dataFile`: `group` (default) flushes each commit group to disk (fdatasync) before its
   * writes are answered; `never` leaves that to the operating system, so acknowledged writes
   * survive a crash of the process but not of the machine (power loss).
   */
  readonly fsync?: FsyncMode
  /** With `dataFile`: compact (write a snapshot) when the log since the last one reaches this many bytes (default 64 MiB). */
  readonly compactAtBytes?: number
  /** With `dataFile`: bytes of older log segments kept for the journal after a compaction (default 64 MiB; 0 keeps none). */
  readonly journalRetainBytes?: number
  /** Test hook of the log store: awaited at each point of a compaction. */
  readonly onCompactionPoint?: (point: CompactionPoint) => Promise<void> | void
  /** Test hook of the log store: wraps each log segment opened for appending (failure injection). */
  readonly appendFile?: (file: AppendFile, path: string) => AppendFile
  /** Another store (a custom {@link SimulatorStore}); wins over `dataFile`. */
  readonly store?: SimulatorStore
  /** Settings where the real system is unknown (see simulator/README.md "Profile"). */
  readonly rules?: Partial<ModelRules>
  /** Operations that answer FEATURE_NOT_AVAILABLE. */
  readonly disabledOperations?: readonly OperationName[]
  /** Request body limit in bytes (default 1 MiB); larger bodies get HTTP 413 before parsing. */
  readonly bodyLimitBytes?: number
  /** Nesting depth and element count limits of one SOAP message (default 32 and 20,000). */
  readonly xmlLimits?: Partial<XmlLimits>
  /** Journal entries kept in memory, oldest dropped first (default 10,000); a log store keeps older ones on disk. */
  readonly journalLimit?: number
  /** Clients following `GET /admin/journal/stream` at once (default 16); more are refused with 503. */
  readonly journalStreamLimit?: number
  /** Interval of the event stream's keep-alive comments in ms (default 15,000). */
  readonly journalStreamHeartbeatMs?: number
  /** SequenceNumber replay records kept (default 100,000). */
  readonly replayLimit?: number
  /** Inventory to register at start (idempotent: known devices keep their state). */
  readonly inventory?: InventoryInput
  /** Register the fixture catalogue and a generated inventory of this many cards and STBs. */
  readonly fixtures?: { readonly size: number; readonly seed?: number }
  /** The clock (default: the system clock). */
  readonly now?: () => Date
  /** TransactionId generator (default: random UUIDs). */
  readonly newTransactionId?: () => string
  /** A pino logger, or a level for the default JSON logger on stdout (default `silent`). */
  readonly logger?: Logger | LogLevel
  /** Serve HTTPS instead of HTTP; with `clientCa`, clients must present a certificate it signed (mutual TLS). */
  readonly tls?: TlsOptions
  /**
   * The bearer token of the admin API (`Authorization: Bearer <token>` on every `/admin` call); a
   * random one when absent ({@link Simulator.adminToken}). Required to listen on a non-loopback host.
   */
  readonly adminToken?: string
  /** Host names (or `name:port`) accepted in the Host header besides the loopback names (proxies, containers). */
  readonly allowedHosts?: readonly string[]
  /** Exact origins (`https://tool.example`) allowed to call cross-origin, with CORS answers (none by default). */
  readonly allowedOrigins?: readonly string[]
  /** Admin API JSON body limit in bytes (default 32 MiB: an inventory of 100,000 cards and 100,000 STBs). */
  readonly adminBodyLimitBytes?: number
  /** Most entries `GET /admin/cards` and `GET /admin/journal` answer in one page (default 10,000). */
  readonly adminPageLimit?: number
  /** Connection cap and timeouts (see {@link SIMULATOR_HTTP_DEFAULTS}). */
  readonly http?: Partial<HttpServerSettings>
  /**
   * Behind a reverse proxy: the WSDLs' `soap:address` takes the scheme and host of the
   * X-Forwarded-Proto and X-Forwarded-Host headers (default false: they are ignored, since any
   * client can send them).
   */
  readonly trustProxy?: boolean
  /**
   * Tenants under `/t/<name>/` (see {@link TENANT_DEFAULTS}): each an in-memory simulator of its
   * own, with this one's options, users and admin token; `max: 0` turns them off.
   */
  readonly tenants?: Partial<TenantSettings>
}

/** How a tenant's simulator sits inside its parent: no listener, the parent's address with a prefix. */
interface Embedding {
  /** The parent's base URL and host:port, known once it listens. */
  readonly parentUrl: string
  readonly parentHost: string
  /** `/t/<name>`, in front of every path the tenant advertises. */
  readonly prefix: string
}

/**
 * The simulator's connection settings: the common defaults, with keep-alive connections kept 65 s,
 * longer than the 60 s idle time of common SOAP client pools, so the client closes first and
 * never sends on a socket the server is closing.
 */
export const SIMULATOR_HTTP_DEFAULTS: HttpServerSettings = {
  ...HTTP_DEFAULTS,
  keepAliveTimeoutMs: 65_000,
}
const DEFAULT_ADMIN_BODY_LIMIT = 32 * 1024 * 1024
const SOAP_ADMISSION: AdmitOptions = { token: false, format: 'text' }
const OPEN_ADMISSION: AdmitOptions = { token: false, format: 'json' }
const ADMIN_ADMISSION: AdmitOptions = { token: true, format: 'json' }
const DEFAULT_ADMIN_PAGE_LIMIT = 10_000

/** PEM contents (not paths) of the server certificate and key, and optionally of the client CA. */
export interface TlsOptions {
  readonly cert: string | Buffer
  readonly key: string | Buffer
  readonly clientCa?: string | Buffer
}

/** A running simulator. */
export interface Simulator {
  /** Base URL, e.g. `http://127.0.0.1:41234`. */
  readonly url: string
  readonly port: number
  /** The CA state model (read it in tests; change it through SOAP or the admin API). */
  readonly model: CaModel
  readonly journal: Journal
  readonly faults: FaultInjector
  /** Where state is kept: `memory` or the store file. */
  readonly storeDescription: string
  /** What the log store (`dataFile`) found at start: snapshot, groups replayed, tails repaired; null otherwise. */
  readonly storeRecovery: RecoveryReport | null
  /** The log store's figures (segments, bytes, compactions); null without `dataFile`. */
  storeStats(): LogStoreStats | null
  /**
   * Writes a snapshot of the state now and starts a new log segment, as happens by itself when
   * the log passes `compactAtBytes` (`dataFile` only; resolves at once otherwise).
   */
  compact(): Promise<void>
  /** The admin API's bearer token: the configured one, or the one generated at start. */
  readonly adminToken: string
  /** Whether {@link adminToken} was generated (no `adminToken` option). */
  readonly adminTokenGenerated: boolean
  /** Connections open now, evicted, refused and timed out since the start. */
  connectionStats(): ConnectionStats
  /** The tenants (`/t/<name>/`) alive now. */
  tenants(): Promise<TenantView[]>
  /** The SOAP endpoint URL of a service. */
  serviceUrl(service: ServiceName): string
  /** The WSDL URL of a service. */
  wsdlUrl(service: ServiceName): string
  /** Registers devices and products, as `POST /admin/inventory` does. */
  loadInventory(input: InventoryInput): Promise<void>
  /** Forgets state and journal (inventory too unless `keepInventory`). */
  reset(keepInventory?: boolean): Promise<void>
  /** Waits until every change is stored. */
  flush(): Promise<void>
  /** Stops accepting connections, stores the state and closes. */
  close(): Promise<void>
  /**
   * Moves the simulator's clock forward (a scenario's `advance`): what it takes as "now" for
   * received dates, start times and display times. Not stored; a restart starts at the real time.
   */
  advanceClock(ms: number): Date
}

const DEFAULT_XML_LIMITS: XmlLimits = { maxDepth: 32, maxElements: 20_000 }

function positive(name: string, value: number | undefined): void {
  if (value !== undefined && (!Number.isInteger(value) || value < 1)) {
    throw new SimulatorError(
      'INVALID_OPTION',
      `Option ${name} must be a positive integer, not ${value}.`,
    )
  }
}

/** The log store's options (they are checked even without `dataFile`: a typo should not wait). */
function checkStoreOptions(options: SimulatorOptions): void {
  positive('compactAtBytes', options.compactAtBytes)
  if (
    options.journalRetainBytes !== undefined &&
    (!Number.isInteger(options.journalRetainBytes) || options.journalRetainBytes < 0)
  ) {
    throw new SimulatorError(
      'INVALID_OPTION',
      `Option journalRetainBytes must be a whole number of bytes, 0 or more, not ${options.journalRetainBytes}.`,
    )
  }
  if (options.fsync !== undefined && options.fsync !== 'group' && options.fsync !== 'never') {
    throw new SimulatorError(
      'INVALID_OPTION',
      `Option fsync must be 'group' or 'never', not ${JSON.stringify(options.fsync)}.`,
    )
  }
}

function checkOptions(options: SimulatorOptions): void {
  positive('bodyLimitBytes', options.bodyLimitBytes)
  positive('adminBodyLimitBytes', options.adminBodyLimitBytes)
  positive('adminPageLimit', options.adminPageLimit)
  positive('journalLimit', options.journalLimit)
  positive('journalStreamLimit', options.journalStreamLimit)
  positive('journalStreamHeartbeatMs', options.journalStreamHeartbeatMs)
  checkStoreOptions(options)
  positive('replayLimit', options.replayLimit)
  positive('rules.maxCardsPerRequest', options.rules?.maxCardsPerRequest)
  positive('rules.maxMessagesPerCard', options.rules?.maxMessagesPerCard)
  if (
    options.port !== undefined &&
    (!Number.isInteger(options.port) || options.port < 0 || options.port > 65535)
  ) {
    throw new SimulatorError(
      'INVALID_OPTION',
      `Option port must be 0 to 65535, not ${options.port}.`,
    )
  }
  if (options.users && Object.keys(options.users).length === 0) {
    throw new SimulatorError('INVALID_OPTION', 'Option users must name at least one SMS user.')
  }
  for (const name of options.disabledOperations ?? []) {
    if (!isOperationName(name)) {
      throw new SimulatorError(
        'INVALID_OPTION',
        `disabledOperations names '${String(name)}', which is not a contract operation.`,
      )
    }
  }
  positive('xmlLimits.maxDepth', options.xmlLimits?.maxDepth)
  positive('xmlLimits.maxElements', options.xmlLimits?.maxElements)
  checkRules(options.rules ?? {})
  checkHttpOptions(options)
  for (const name of ['now', 'newTransactionId'] as const) {
    if (options[name] !== undefined && typeof options[name] !== 'function') {
      throw new SimulatorError('INVALID_OPTION', `Option ${name} must be a function.`)
    }
  }
}

/** The guard's and the connections' options; a non-loopback host needs a configured token. */
function checkHttpOptions(options: SimulatorOptions): void {
  const tokenIssue = options.adminToken === undefined ? null : tokenProblem(options.adminToken)
  const problem =
    (tokenIssue === null ? null : `adminToken ${tokenIssue}.`) ??
    guardOptionsProblem({
      allowedHosts: options.allowedHosts,
      allowedOrigins: options.allowedOrigins,
    }) ??
    httpSettingsProblem(options.http, SIMULATOR_HTTP_DEFAULTS)
  if (problem) {
    throw new SimulatorError('INVALID_OPTION', problem)
  }
  const host = options.host ?? '127.0.0.1'
  if (!isLoopbackAddress(host) && options.adminToken === undefined) {
    throw new SimulatorError(
      'INSECURE_BIND',
      `Refusing to listen on ${host} without a configured admin token: anyone who reaches that interface could reset or rewrite the CA state through /admin. Set CONTEGO_SIM_ADMIN_TOKEN (or --admin-token) to a long random secret (e.g. openssl rand -base64 32), and use --tls-cert/--tls-key so the token and the SOAP passwords do not cross the network in clear; or listen on 127.0.0.1.`,
    )
  }
}

const RULE_CHOICES: Readonly<Record<keyof ModelRules, readonly unknown[] | 'positive' | 'pin'>> = {
  maxCardsPerRequest: 'positive',
  maxMessagesPerCard: 'positive',
  productIdFormat: ['lenient', 'digits'],
  messageLengthUnit: ['characters', 'utf8-bytes'],
  pairingReplace: ['whole', 'detach'],
  defaultPin: 'pin',
  hideExpiredProducts: [true, false],
  stbOwnership: ['enforce', 'off'],
  reusedSequenceNumber: [...STATUS_CODES.filter((code) => code !== 'OK'), 'apply'],
}

/** Every rule must be known and hold one of its values: a typo in a profile must not pass silently. */
function checkRules(rules: Partial<ModelRules>): void {
  for (const [name, value] of Object.entries(rules)) {
    const choice = Object.hasOwn(RULE_CHOICES, name)
      ? RULE_CHOICES[name as keyof ModelRules]
      : undefined
    const valid =
      choice === 'positive'
        ? typeof value === 'number' && Number.isInteger(value) && value >= 1
        : choice === 'pin'
          ? typeof value === 'string' && /^\d{4}$/.test(value)
          : choice?.includes(value)
    if (!valid) {
      const expected =
        choice === undefined
          ? `a known rule (${Object.keys(RULE_CHOICES).join(', ')})`
          : choice === 'positive'
            ? 'a positive integer'
            : choice === 'pin'
              ? '4 digits'
              : `one of ${choice.map((c) => JSON.stringify(c)).join(', ')}`
      throw new SimulatorError(
        'INVALID_OPTION',
        `rules.${name} must be ${expected}, not ${JSON.stringify(value)}.`,
      )
    }
  }
}

/** Listens, with "port in use" reported as such. */
async function listenOn(server: Server, port: number, host: string) {
  try {
    return await listen(server, port, host)
  } catch (error) {
    if (error instanceof ListenError) {
      throw new SimulatorError(error.code, error.message, { cause: error })
    }
    throw error
  }
}

/** The simulator's parts, from its options with every default applied. */
function createParts(options: SimulatorOptions) {
  const users = new Map(Object.entries(options.users ?? { sms: 'sms' }))
  // One CA state: the SOAP endpoint runs operations on it, the model is its face for the rest.
  const state = new CaState({ rules: options.rules ?? {}, defaultSms: firstUser(users) })
  return {
    users,
    logger:
      typeof options.logger === 'object'
        ? options.logger
        : pino({ level: options.logger ?? 'silent' }),
    clock: new SimulatorClock(options.now ?? (() => new Date())),
    state,
    model: new CaModel(state),
    journal: new Journal(options.journalLimit ?? 10_000, {
      durableOnAppend: !isDurable(options),
    }),
    replays: new ReplayCache(options.replayLimit ?? 100_000),
    faults: new FaultInjector(),
  }
}

/** Where to keep the state, with the log store's settings and their defaults. */
function storeChoice(options: SimulatorOptions): PersistenceChoice {
  return {
    store: options.store,
    dataFile: options.dataFile,
    log: {
      createFolder: options.createDataFolder ?? false,
      fsync: options.fsync ?? 'group',
      compactAtBytes: options.compactAtBytes ?? DEFAULT_COMPACT_AT_BYTES,
      journalRetainBytes: options.journalRetainBytes ?? DEFAULT_JOURNAL_RETAIN_BYTES,
      ...(options.onCompactionPoint ? { onCompactionPoint: options.onCompactionPoint } : {}),
      ...(options.appendFile ? { appendFile: options.appendFile } : {}),
    },
  }
}

function firstUser(users: ReadonlyMap<string, string>): string {
  return users.keys().next().value ?? 'sms'
}

function startupInventory(options: SimulatorOptions, sms: string): InventoryInput[] {
  const initial: InventoryInput[] = []
  if (options.fixtures) {
    initial.push(fixtureInventory({ ...options.fixtures, sms }))
  }
  if (options.inventory) {
    initial.push(checkInventoryShape(options.inventory))
  }
  return initial
}

/** Registers the start-up inventories; true when there was any (and so something to store). */
function registerStartupInventory(model: CaModel, initial: readonly InventoryInput[]): boolean {
  for (const input of initial) {
    const outcome = model.registerInventory(input)
    if (!outcome.ok) {
      throw new SimulatorError(
        'INVALID_INVENTORY',
        `Failed to register the start-up inventory: ${outcome.message}`,
      )
    }
  }
  return initial.length > 0
}

/** The request guard: Host names, cross-origin writes and the admin token. */
function createGuard(options: SimulatorOptions, adminToken: string): RequestGuard {
  return new RequestGuard({
    token: adminToken,
    scheme: options.tls ? 'https' : 'http',
    ...(options.allowedHosts ? { allowedHosts: options.allowedHosts } : {}),
    ...(options.allowedOrigins ? { allowedOrigins: options.allowedOrigins } : {}),
    realm: 'conax-sim admin API',
    tokenHint:
      options.adminToken === undefined
        ? "printed once by conax-sim at start (in-process: the simulator's adminToken); set CONTEGO_SIM_ADMIN_TOKEN to choose it"
        : 'the one the simulator was started with (CONTEGO_SIM_ADMIN_TOKEN, --admin-token or the adminToken option)',
    jsonError: (code, message) => errorBody(new SimulatorError(code, message)),
  })
}

/** An HTTP or HTTPS server with the connection timeouts, and no request handler yet. */
function createHttpServer(options: SimulatorOptions, settings: HttpServerSettings): Server {
  return options.tls
    ? createTlsServer({
        ...httpServerOptions(settings),
        cert: options.tls.cert,
        key: options.tls.key,
        ...(options.tls.clientCa
          ? { ca: options.tls.clientCa, requestCert: true, rejectUnauthorized: true }
          : {}),
      })
    : createServer(httpServerOptions(settings))
}

/**
 * Starts a Conax Contego simulator: the five SOAP services of the wire contract on a plain
 * `node:http` server (the hot path never touches express), and the JSON admin API on express.
 *
 * @example
 * const sim = await startSimulator({ fixtures: { size: 10 } })
 * // point a CRM at sim.serviceUrl('subscription') with user sms / password sms
 * await sim.close()
 */
export async function startSimulator(options: SimulatorOptions = {}): Promise<Simulator> {
  return (await openSimulator(options, null)).simulator
}

/**
 * A simulator and its request handler past the HTTP guard. With an embedding (a tenant) it does
 * not listen: its parent admits each request and hands it over with the prefix taken off.
 */
async function openSimulator(
  options: SimulatorOptions,
  embedding: Embedding | null,
): Promise<{ simulator: Simulator; serve: (req: IncomingMessage, res: ServerResponse) => void }> {
  checkOptions(options)
  const { users, logger, clock, state, model, journal, replays, faults } = createParts(options)
  const now = clock.now
  const store = await openPersistence(storeChoice(options), {
    state,
    journal,
    replays,
    now,
    logger,
  })
  const inMemory = !store.durable
  if (!inMemory) {
    // A change is applied only once stored: the model records what each change touched, so a
    // failed write can be undone and a stored one logged. In memory nothing can fail, and
    // nothing is recorded.
    model.trackChanges()
  }
  const writer = new WriteCoalescer(
    (from) => store.write(from),
    (error) =>
      logger.error({ err: error, store: store.description }, 'failed to store the simulator state'),
    inMemory ? null : model,
    store.groupsInFlight,
  )
  const life = new Lifecycle()
  const persist = (onRollback?: () => void): Promise<void> =>
    inMemory || life.closed ? Promise.resolve() : writer.request(onRollback)
  const persistSoon = (): void => {
    if (!inMemory && !life.closed) {
      writer.request().catch(() => undefined)
    }
  }

  if (registerStartupInventory(model, startupInventory(options, firstUser(users)))) {
    await persist()
  }

  const reset = async (keepInventory = false): Promise<void> => {
    model.reset(keepInventory)
    const entries = journal.clear()
    const records = replays.clear()
    await persist(() => {
      journal.unclear(entries)
      replays.unclear(records)
    })
    faults.clear()
  }

  const startedAt = now()
  const metrics = createSimulatorMetrics(() => ({
    smartcards: model.stats().smartcards,
    journalEntries: journal.size(),
  }))
  let ownHost = embedding?.parentHost ?? '127.0.0.1'
  const soap = createSoapEndpoint({
    state,
    journal,
    replays,
    faults,
    users,
    disabledOperations: new Set(options.disabledOperations ?? []),
    bodyLimitBytes: options.bodyLimitBytes ?? 1024 * 1024,
    xmlLimits: { ...DEFAULT_XML_LIMITS, ...options.xmlLimits },
    now,
    newTransactionId: options.newTransactionId ?? randomUUID,
    scheme: options.tls ? 'https' : 'http',
    trustProxy: options.trustProxy === true,
    ownHost: () => ownHost,
    pathPrefix: embedding?.prefix ?? '',
    persist,
    persistSoon,
    closing: () => life.closing,
    sleep: (ms) => life.sleep(ms),
    logger,
    onAnswered: (call, answer, seconds) =>
      metrics.observe(call.service, call.operation, answer.statusCode, seconds),
  })
  const journalStreams = new JournalStreams(journal, {
    limit: options.journalStreamLimit ?? 16,
    heartbeatMs: options.journalStreamHeartbeatMs ?? 15_000,
  })
  const admin = express()
  admin.disable('x-powered-by')
  admin.use(
    createAdminRouter({
      model,
      journal,
      journalStreams,
      storeStats: () => store.stats(),
      storeDescription: store.description,
      faults,
      persist,
      reset,
      startedAt,
      now,
      advanceClock: (ms) => clock.advance(ms),
      bodyLimitBytes: options.adminBodyLimitBytes ?? DEFAULT_ADMIN_BODY_LIMIT,
      pageLimit: options.adminPageLimit ?? DEFAULT_ADMIN_PAGE_LIMIT,
      tenants: () => tenants,
      metrics,
    }),
  )

  const consoleFiles = new ConsoleFiles('simulator/console')
  const adminToken = options.adminToken ?? generateToken()
  let server: Server | null = null
  let connections: ConnectionGuard | null = null
  let url = ''
  let port = 0
  const guard = createGuard(options, adminToken)
  /** Every guard refusal is logged: a client that is refused should be visible to the operator. */
  const admitted = (
    req: IncomingMessage,
    res: ServerResponse,
    admission: AdmitOptions,
    path: string,
  ): boolean => {
    if (guard.admit(req, res, admission)) {
      return true
    }
    if (logger.isLevelEnabled('warn') && res.statusCode >= 400) {
      logger.warn(
        { method: req.method, path, httpStatus: res.statusCode, host: req.headers.host },
        'request refused by the HTTP guard',
      )
    }
    return false
  }

  const tenantSettings: TenantSettings = { ...TENANT_DEFAULTS, ...options.tenants }
  const tenants =
    embedding === null && tenantSettings.max > 0
      ? new TenantRegistry(
          tenantSettings,
          async (name) =>
            openTenant(options, adminToken, logger, {
              parentUrl: url,
              parentHost: ownHost,
              prefix: `/t/${name}`,
            }),
          () => Date.now(),
        )
      : null

  /** Serves an admitted request: SOAP, WSDL, health check or admin API. */
  const serve = (req: IncomingMessage, res: ServerResponse): void => {
    const target = req.url ?? '/'
    const queryAt = target.indexOf('?')
    const pathname = queryAt === -1 ? target : target.slice(0, queryAt)
    const service = pathname.startsWith(SERVICE_BASE_PATH) ? serviceForPath(pathname) : null
    if (service) {
      soap.handle(
        req,
        res,
        service,
        req.method === 'POST' || queryAt === -1 ? '' : target.slice(queryAt + 1),
      )
      return
    }
    admin(req, res)
  }

  /** Which admission a path needs: SOAP users, none (health check) or the admin token. */
  const admissionOf = (pathname: string): AdmitOptions => {
    const service = pathname.startsWith(SERVICE_BASE_PATH) ? serviceForPath(pathname) : null
    // Everything that is neither SOAP nor the health check is the admin API's: express matches
    // paths case-insensitively, so the token is not tied to an `/admin` prefix.
    return service
      ? SOAP_ADMISSION
      : OPEN_ADMIN_PATHS.has(pathname)
        ? OPEN_ADMISSION
        : ADMIN_ADMISSION
  }

  const route = (req: IncomingMessage, res: ServerResponse): void => {
    const target = req.url ?? '/'
    const queryAt = target.indexOf('?')
    const pathname = queryAt === -1 ? target : target.slice(0, queryAt)
    const tenant = tenants === null ? null : tenantOf(pathname)
    if (tenant !== null && tenants !== null) {
      if (req.method !== 'POST' || admissionOf(tenant.rest) !== SOAP_ADMISSION) {
        logHttp(logger, req, res, pathname)
      }
      const admission = admissionOf(tenant.rest)
      if (!admitted(req, res, admission, pathname)) {
        return
      }
      // Only a caller with credentials starts a tenant (a SOAP user, or the admin token the guard
      // checked): anonymous WSDL reads would otherwise use up the tenant limit.
      if (
        admission !== ADMIN_ADMISSION &&
        !tenants.has(tenant.name) &&
        authenticate(req, users) === null
      ) {
        req.resume()
        res.writeHead(401, {
          'Content-Type': 'text/plain; charset=utf-8',
          'WWW-Authenticate': 'Basic realm="Conax Contego simulator", charset="UTF-8"',
          Connection: 'close',
        })
        res.end(
          `Tenant '${tenant.name}' does not run yet: it starts on its first call with an SMS user's HTTP Basic credentials, or with the admin token.`,
        )
        return
      }
      tenants.get(tenant.name).then(
        (instance) => {
          req.url = tenant.rest + (queryAt === -1 ? '' : target.slice(queryAt))
          instance.handle(req, res)
        },
        (error: unknown) => {
          const coded =
            error instanceof SimulatorError
              ? error
              : new SimulatorError(
                  'INTERNAL',
                  `Failed to start tenant '${tenant.name}': ${String(error)}`,
                )
          res.writeHead(coded.httpStatus, { 'Content-Type': 'application/json; charset=utf-8' })
          res.end(JSON.stringify(errorBody(coded)))
        },
      )
      return
    }
    const service = pathname.startsWith(SERVICE_BASE_PATH) ? serviceForPath(pathname) : null
    if (service && req.method === 'POST') {
      if (admitted(req, res, SOAP_ADMISSION, pathname)) {
        soap.handle(req, res, service, '')
      }
      return
    }
    logHttp(logger, req, res, pathname)
    if (isConsolePath(pathname)) {
      // The console's files are public; its calls to /admin carry the token like any client's.
      if (admitted(req, res, OPEN_ADMISSION, pathname)) {
        consoleFiles.handle(req, res, pathname)
      }
      return
    }
    if (!admitted(req, res, admissionOf(pathname), pathname)) {
      return
    }
    serve(req, res)
  }
  if (embedding === null) {
    const listening = await listenFor(options, route, guard)
    ;({ server, connections, ownHost, port, url } = listening)
  } else {
    // A tenant: its parent listens, admits and hands requests over.
    url = `${embedding.parentUrl}${embedding.prefix}`
  }

  const close = async (): Promise<void> => {
    life.startClosing()
    // Streams never end by themselves: end them first, or the server would wait for them.
    journalStreams.close()
    // New connections stop at once, idle keep-alive sockets close; calls in flight finish (a
    // DELAY fault ends early and refuses) and are stored before close resolves.
    await tenants?.close()
    const listening = server
    if (listening !== null) {
      await new Promise<void>((resolve) => {
        const force = setTimeout(() => listening.closeAllConnections(), 2000)
        listening.close(() => {
          clearTimeout(force)
          resolve()
        })
        listening.closeIdleConnections()
      })
    }
    await soap.drain()
    await writer.flush()
    life.closed = true
    if (!inMemory) {
      const position = model.undoPosition()
      await store.write(0).then(
        () => model.commitUndo(position),
        (error: unknown) => {
          throw new SimulatorError(
            'STORE_WRITE_FAILED',
            `Failed to write the simulator store ${store.description} on close: ${error instanceof Error ? error.message : String(error)}.`,
            { cause: error },
          )
        },
      )
      await store.close()
    }
  }
  let closing: Promise<void> | null = null

  const simulator: Simulator = {
    url,
    port,
    model,
    journal,
    faults,
    storeDescription: store.description,
    storeRecovery: store.recovery,
    storeStats: () => store.stats(),
    compact: () => store.compact(() => writer.request()),
    adminToken,
    adminTokenGenerated: options.adminToken === undefined,
    connectionStats: () => connections?.stats() ?? NO_CONNECTIONS,
    tenants: async () => (await tenants?.list()) ?? [],
    serviceUrl: (service) => `${url}${SERVICE_BASE_PATH}${service}`,
    wsdlUrl: (service) => `${url}${SERVICE_BASE_PATH}${service}?wsdl`,
    loadInventory: async (input) => {
      const outcome = model.registerInventory(input)
      if (!outcome.ok) {
        throw new SimulatorError('INVALID_INVENTORY', outcome.message)
      }
      await persist()
    },
    reset,
    flush: () => writer.flush(),
    close: () => (closing ??= close()),
    advanceClock: (ms) => clock.advance(ms),
  }
  return { simulator, serve }
}

/** The simulator's server, listening with `route` as its request handler. */
async function listenFor(
  options: SimulatorOptions,
  route: (req: IncomingMessage, res: ServerResponse) => void,
  guard: RequestGuard,
): Promise<{
  server: Server
  connections: ConnectionGuard
  ownHost: string
  port: number
  url: string
}> {
  const httpSettings = { ...SIMULATOR_HTTP_DEFAULTS, ...options.http }
  const server = createHttpServer(options, httpSettings)
  // Before the request handler, so that it sees each request start.
  const connections = new ConnectionGuard(server, httpSettings)
  server.on('request', route)
  const address = await listenOn(server, options.port ?? 0, options.host ?? '127.0.0.1')
  guard.listening(address.address, address.port)
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address
  const ownHost = `${host}:${address.port}`
  return {
    server,
    connections,
    ownHost,
    port: address.port,
    url: `${options.tls ? 'https' : 'http'}://${ownHost}`,
  }
}

const NO_CONNECTIONS: ConnectionStats = { open: 0, idle: 0, evicted: 0, refused: 0, timedOut: 0 }

/** A tenant: a simulator in memory with the parent's options, users and admin token, not listening. */
async function openTenant(
  parent: SimulatorOptions,
  adminToken: string,
  logger: Logger,
  embedding: Embedding,
): Promise<TenantInstance> {
  const {
    dataFile: _dataFile,
    store: _store,
    createDataFolder: _createDataFolder,
    port: _port,
    ...rest
  } = parent
  const { simulator, serve } = await openSimulator(
    { ...rest, adminToken, logger: logger.child({ tenant: embedding.prefix.slice(3) }) },
    embedding,
  )
  return {
    handle: serve,
    close: () => simulator.close(),
    stats: () => ({
      cards: simulator.model.stats().smartcards,
      journalEntries: simulator.journal.size(),
    }),
  }
}

/** The simulator's "now": the given clock plus what {@link Simulator.advanceClock} moved it by. */
class SimulatorClock {
  private offsetMs = 0
  private readonly base: () => Date

  constructor(base: () => Date) {
    this.base = base
  }

  readonly now = (): Date => new Date(this.base().getTime() + this.offsetMs)

  advance(ms: number): Date {
    if (!Number.isFinite(ms) || ms < 0) {
      throw new SimulatorError(
        'INVALID_REQUEST',
        `The clock moves forward only: advance by a number of milliseconds of at least 0, not ${ms}.`,
      )
    }
    this.offsetMs += ms
    return this.now()
  }

  get offset(): number {
    return this.offsetMs
  }
}

/** Closing state shared by the endpoint: pending delays end early once closing starts. */
class Lifecycle {
  closing = false
  closed = false
  private readonly sleepers = new Set<() => void>()

  sleep(ms: number): Promise<void> {
    if (this.closing) {
      return Promise.resolve()
    }
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer)
        this.sleepers.delete(done)
        resolve()
      }
      const timer = setTimeout(done, ms)
      this.sleepers.add(done)
    })
  }

  startClosing(): void {
    this.closing = true
    for (const wake of [...this.sleepers]) {
      wake()
    }
  }
}

/** One log line per HTTP request outside the SOAP POST path (which logs its own, richer line). */
function logHttp(logger: Logger, req: IncomingMessage, res: ServerResponse, path: string): void {
  if (!logger.isLevelEnabled('info')) {
    return
  }
  const started = performance.now()
  res.once('finish', () => {
    logger.info(
      {
        method: req.method,
        path,
        httpStatus: res.statusCode,
        durationMs: Math.round((performance.now() - started) * 1000) / 1000,
      },
      'http request',
    )
  })
}
