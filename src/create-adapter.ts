import { randomUUID } from 'node:crypto'
import { TENANT_NAME, TENANT_NAME_RULE } from '../common/tenant-name.js'
import { stat } from 'node:fs/promises'
import { hostname } from 'node:os'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { dirname, resolve } from 'node:path'
import { pino, type Logger } from 'pino'
import {
  RequestGuard,
  generateToken,
  guardOptionsProblem,
  isLoopbackAddress,
} from '../common/http-guard.js'
import { ConsoleFiles, isConsolePath } from '../common/console-server.js'
import {
  ConnectionGuard,
  HTTP_DEFAULTS,
  ListenError,
  httpServerOptions,
  httpSettingsProblem,
  listen,
  type ConnectionStats,
  type HttpServerSettings,
} from '../common/http-server.js'
import { createAdapterApp } from './api/adapter-app.js'
import { errorAnswer } from './api/error-answer.js'
import { DEFAULT_LIMITS, limitsProblem, type AdapterLimits } from './api/limits.js'
import { AdapterError } from './application/adapter-error.js'
import { Dispatcher, type Ordering } from './application/dispatcher.js'
import type { CaGateway, Clock, DeliveryOutcome, ProvisioningStore } from './application/ports.js'
import type { ProvisioningRequest } from './domain/provisioning-request.js'
import { ProvisioningService } from './application/provisioning-service.js'
import { UtilityService } from './application/utility-service.js'
import type { CaReader, RunStore } from './application/runs/run-ports.js'
import { RunService } from './application/runs/run-service.js'
import { classifiedReader } from './infrastructure/conax/card-read-failure.js'
import { createFastCaReader } from './infrastructure/conax/fast-reader.js'
import { gatewayCaReader } from './infrastructure/conax/gateway-reader.js'
import { createAdapterMetrics } from './infrastructure/metrics/adapter-metrics.js'
import { LowdbRunStore } from './infrastructure/runs/lowdb-run-store.js'
import { MemoryRunStore } from './infrastructure/runs/memory-run-store.js'
import { loadProvider } from './config/load-provider.js'
import type { ProvisioningProvider } from './domain/crm.js'
import { createConaxClient } from './infrastructure/conax/conax-client.js'
import { PostgresProvisioningStore } from './infrastructure/postgres/pg-provisioning-store.js'
import { PostgresRunStore } from './infrastructure/postgres/pg-run-store.js'
import type { FsyncMode } from './infrastructure/store/durable-files.js'
import { FileProvisioningStore } from './infrastructure/store/file-provisioning-store.js'
import { MemoryProvisioningStore } from './infrastructure/store/memory-provisioning-store.js'
import { StoreError } from './infrastructure/store/store-error.js'

/** How to start the adapter; the defaults suit a test (in memory, port 0, delivering in the background). */
export interface AdapterOptions {
  /** The provisioning provider, or the path of its YAML/JSON file. */
  readonly provider: ProvisioningProvider | string
  /**
   * The file store of subscriptions and provisioning requests (a snapshot, with its log and archive
   * files in `<dataFile>.d/`); in memory when absent. A store of the earlier lowdb layout is
   * converted once.
   */
  readonly dataFile?: string
  /**
   * `group` (default): every group commit of the file stores is fsynced before it is acknowledged;
   * `never`: left to the operating system (survives a killed process, not a power cut).
   */
  readonly fsync?: FsyncMode
  /**
   * Create the folder of `dataFile` when it is missing (default false: refused with
   * STORE_FOLDER_MISSING, since a missing folder usually means a mistyped path).
   */
  readonly createDataFolder?: boolean
  /**
   * A PostgreSQL database (`postgres://user:password@host:5432/name`) for subscriptions, requests,
   * runs and communications, shared by any number of adapter instances (docs/decisions/0017);
   * wins over `dataFile`. Its schema is brought up to date at start.
   */
  readonly databaseUrl?: string
  /** This instance's name among those sharing a database (default: host, process id and a random part). */
  readonly instanceId?: string
  /**
   * How long an instance's claim on a request it sends holds (default 60 s): an instance that dies
   * mid-send frees its requests after this. Keep it above the provider's `connection.timeoutMs`.
   */
  readonly leaseMs?: number
  /**
   * How long an instance holds a run execution it runs without renewing it (default: `leaseMs`);
   * once it runs out (the instance died) another instance may resume the execution.
   */
  readonly runLeaseMs?: number
  /** Another store; wins over `dataFile` and `databaseUrl`. */
  readonly store?: ProvisioningStore
  /**
   * A conax-sim tenant to provision (`/t/<name>/` in front of the provider's endpoint path), so
   * that parallel pipelines sharing one simulator do not see each other.
   */
  readonly tenant?: string
  /** Another CA gateway (the default is the SOAP client built from the provider's connection). */
  readonly gateway?: CaGateway
  readonly clock?: Clock
  /** HTTP API port (0 picks a free one); no HTTP server when null. */
  readonly port?: number | null
  readonly host?: string
  /** Deliver PENDING requests in the background (default true); false leaves it to `deliverDue()`. */
  readonly autoDeliver?: boolean
  /** Requests in flight at once (default 8). */
  readonly concurrency?: number
  /**
   * Which order delivery keeps: `per-action` (default; each action's planned order across its
   * devices) or `per-device` (each device's order only, as before issue 10, for comparisons).
   */
  readonly ordering?: Ordering
  /** Run definitions, executions and communications: another store (default: beside `dataFile`, or in memory). */
  readonly runStore?: RunStore
  /**
   * How runs read cards from the CA: `fast` (default, a lean client for the two query operations,
   * built for reset runs over whole subscriber bases), `gateway` (the Conax client that delivers requests), or a reader.
   */
  readonly reader?: 'fast' | 'gateway' | CaReader
  /** Subscriptions per run batch (default 500) and cards read at once (default 64). */
  readonly runPageSize?: number
  readonly readConcurrency?: number
  readonly logger?: Logger | 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'silent'
  /**
   * The bearer token of the HTTP API (`Authorization: Bearer <token>` on every path but
   * `/healthz` and `/openapi.json`); a random one when absent ({@link Adapter.apiToken}).
   * Required to listen on a non-loopback host.
   */
  readonly apiToken?: string
  /** Host names (or `name:port`) accepted in the Host header besides the loopback names. */
  readonly allowedHosts?: readonly string[]
  /** Exact origins (`https://crm.example`) allowed to call cross-origin, with CORS answers (none by default). */
  readonly allowedOrigins?: readonly string[]
  /** JSON body limit in bytes (default 1 MiB); larger bodies get 413 PAYLOAD_TOO_LARGE. */
  readonly bodyLimitBytes?: number
  /** Items per action, per call and per page (see {@link DEFAULT_LIMITS}); more gets 422 LIMIT_EXCEEDED. */
  readonly limits?: Partial<AdapterLimits>
  /** Connection cap and timeouts (default {@link HTTP_DEFAULTS}). */
  readonly http?: Partial<HttpServerSettings>
}

const DEFAULT_BODY_LIMIT = 1024 * 1024

/** A running adapter. */
export interface Adapter {
  /** Base URL of the HTTP API, or null without one. */
  readonly url: string | null
  readonly provider: ProvisioningProvider
  readonly service: ProvisioningService
  /** The single-subscription utilities (messages, fingerprints, pairing, PIN, Conax information). */
  readonly utilities: UtilityService
  /** The batch runs (reset, mail and bark messages, fingerprinting) and reset single subscription. */
  readonly runs: RunService
  readonly store: ProvisioningStore
  readonly dispatcher: Dispatcher
  /** The HTTP API's bearer token: the configured one, or the one generated at start. */
  readonly apiToken: string
  /** Whether {@link apiToken} was generated (no `apiToken` option). */
  readonly apiTokenGenerated: boolean
  /** Connections of the HTTP API open now, evicted, refused and timed out (zeros without one). */
  connectionStats(): ConnectionStats
  /** Sends every request that is due now and resolves when none is left. */
  deliverDue(): ReturnType<Dispatcher['deliverDue']>
  /** Stops delivery, the HTTP server and the store (pending requests stay PENDING for the next start). */
  close(): Promise<void>
}

const systemClock: Clock = { now: () => new Date() }

/** One log line per delivery attempt, saying what really happened to the request. */
function logOutcome(
  logger: Logger,
  request: ProvisioningRequest,
  outcome: DeliveryOutcome,
  parts: readonly ProvisioningRequest[],
): void {
  const fields = {
    number: request.number,
    type: request.type,
    state: request.lifeCycleState,
    attempts: request.attempts,
    referenceNumber: request.referenceNumber,
    errorCode: request.errorCode,
    errorClass: request.errorClass,
  }
  switch (outcome.kind) {
    case 'COMPLETED':
      logger.info(fields, 'provisioning request completed')
      return
    case 'REJECTED':
      logger.warn(
        parts.length > 0 ? { ...fields, splitInto: parts.map((part) => part.number) } : fields,
        parts.length > 0
          ? 'provisioning request rejected for some of its cards; the others were sent again'
          : 'provisioning request rejected',
      )
      return
    case 'TRANSIENT':
      logger.warn(
        {
          ...fields,
          nextAttemptAt: request.nextAttemptAt,
          errorDescription: request.errorDescription,
        },
        'provisioning request not delivered; it stays PENDING and will be retried',
      )
      return
  }
}

/** A data file must go into a folder that exists: a missing one is refused, never created. */
async function refuseMissingFolder(dataFile: string): Promise<void> {
  const folder = dirname(resolve(dataFile))
  const isFolder = await stat(folder).then(
    (info) => info.isDirectory(),
    () => false,
  )
  if (!isFolder) {
    throw new StoreError(
      'STORE_FOLDER_MISSING',
      `Failed to open the provisioning store ${resolve(dataFile)}: its folder ${folder} does not exist. Create it (mkdir -p ${folder}) or pass --create-data-dir; nothing was written.`,
    )
  }
}

/** The run service with its store (beside the data file, or in memory) and its CA reader. */
async function createRuns(
  options: AdapterOptions,
  parts: {
    readonly provider: ProvisioningProvider
    readonly store: ProvisioningStore
    readonly service: ProvisioningService
    readonly gateway: CaGateway
    readonly clock: Clock
    readonly logger: Logger
    readonly instanceId: string
  },
): Promise<{ runs: RunService; runStore: RunStore; reader: CaReader }> {
  const { provider, logger } = parts
  const runStore =
    options.runStore ??
    (parts.store instanceof PostgresProvisioningStore
      ? new PostgresRunStore(parts.store.database)
      : options.dataFile
        ? await LowdbRunStore.open(`${options.dataFile.replace(/\.json$/, '')}.runs.json`, {
            fsync: options.fsync ?? 'group',
          })
        : new MemoryRunStore())
  // Every reader's rejections are classified for the runs: a card fails, or the run stops.
  const reader: CaReader = classifiedReader(
    typeof options.reader === 'object'
      ? options.reader
      : options.reader === 'gateway' || options.gateway
        ? gatewayCaReader(parts.gateway)
        : createFastCaReader(provider.connection),
  )
  const runs = new RunService({
    provider,
    store: parts.store,
    runs: runStore,
    provisioning: parts.service,
    reader,
    clock: parts.clock,
    ...(options.runPageSize ? { pageSize: options.runPageSize } : {}),
    ...(options.readConcurrency ? { readConcurrency: options.readConcurrency } : {}),
    owner: parts.instanceId,
    // Only a shared database has other instances to keep out of a running execution.
    leaseMs:
      parts.store instanceof PostgresProvisioningStore
        ? (options.runLeaseMs ?? options.leaseMs ?? 60_000)
        : 0,
    onError: (error, execution) =>
      logger.error(
        { err: error, execution: execution.id },
        'run failed; resume it when the cause is fixed',
      ),
  })
  return { runs, runStore, reader }
}

/** Checks the HTTP options before anything is opened; a non-loopback host needs a configured token. */
function checkHttpOptions(options: AdapterOptions): void {
  const bodyLimit = options.bodyLimitBytes
  const problem =
    guardOptionsProblem({
      token: options.apiToken,
      allowedHosts: options.allowedHosts,
      allowedOrigins: options.allowedOrigins,
    })?.replace(/^The token/, 'apiToken') ??
    httpSettingsProblem(options.http, HTTP_DEFAULTS) ??
    limitsProblem(options.limits) ??
    (bodyLimit !== undefined && (!Number.isInteger(bodyLimit) || bodyLimit < 1)
      ? `bodyLimitBytes must be a positive integer, not ${bodyLimit}.`
      : null)
  if (problem) {
    throw new AdapterError('INVALID_OPTION', problem)
  }
  const host = options.host ?? '127.0.0.1'
  if (options.port !== null && !isLoopbackAddress(host) && options.apiToken === undefined) {
    throw new AdapterError(
      'INSECURE_BIND',
      `Refusing to listen on ${host} without a configured API token: anyone who reaches that interface could provision through the API. Set CONAX_ADAPTER_API_TOKEN (or --api-token) to a long random secret (e.g. openssl rand -base64 32) and put a TLS proxy in front, since the token crosses the network; or listen on 127.0.0.1.`,
    )
  }
}

/** Paths the API serves without a token. */
const OPEN_PATHS = new Set(['/healthz', '/openapi.json'])

/** The HTTP API: the guard (Host, origin, token) in front of the express app, with the connection cap. */
async function serveApi(
  options: AdapterOptions,
  app: ReturnType<typeof createAdapterApp>,
  apiToken: string,
): Promise<{ server: Server; url: string; connections: ConnectionGuard }> {
  const guard = new RequestGuard({
    token: apiToken,
    scheme: 'http',
    ...(options.allowedHosts ? { allowedHosts: options.allowedHosts } : {}),
    ...(options.allowedOrigins ? { allowedOrigins: options.allowedOrigins } : {}),
    realm: 'conax-adapter API',
    tokenHint:
      options.apiToken === undefined
        ? "printed once by conax-adapter at start (in-process: the adapter's apiToken); set CONAX_ADAPTER_API_TOKEN to choose it"
        : 'the one the adapter was started with (CONAX_ADAPTER_API_TOKEN, --api-token or the apiToken option)',
    jsonError: (code, message) => errorAnswer(new AdapterError(code, message)),
  })
  const consoleFiles = new ConsoleFiles('src/console')
  const settings = { ...HTTP_DEFAULTS, ...options.http }
  const server = createServer(httpServerOptions(settings))
  // Before the request handler, so that it sees each request start.
  const connections = new ConnectionGuard(server, settings)
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const url = req.url ?? '/'
    const queryAt = url.indexOf('?')
    const path = queryAt === -1 ? url : url.slice(0, queryAt)
    if (isConsolePath(path)) {
      // The console's files are public; its calls to the API carry the token like any client's.
      if (guard.admit(req, res, { token: false, format: 'json' })) {
        consoleFiles.handle(req, res, path)
      }
      return
    }
    if (guard.admit(req, res, { token: !OPEN_PATHS.has(path), format: 'json' })) {
      void app(req, res)
    }
  })
  const host = options.host ?? '127.0.0.1'
  let address: AddressInfo
  try {
    address = await listen(server, options.port ?? 0, host)
  } catch (error) {
    if (error instanceof ListenError) {
      throw new AdapterError(error.code, error.message, { cause: error })
    }
    throw error
  }
  guard.listening(address.address, address.port)
  const url = `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`
  return { server, url, connections }
}

/** The provider with its endpoint moved into a conax-sim tenant: `/t/<name>` before its path. */
function inTenant(
  provider: ProvisioningProvider,
  tenant: string | undefined,
): ProvisioningProvider {
  if (tenant === undefined) {
    return provider
  }
  if (!TENANT_NAME.test(tenant)) {
    throw new AdapterError(
      'INVALID_OPTION',
      `Option tenant '${tenant.slice(0, 80)}' is not a tenant name: use ${TENANT_NAME_RULE}.`,
    )
  }
  const endpoint = new URL(provider.connection.endpoint)
  endpoint.pathname = `/t/${tenant}${endpoint.pathname}`
  return { ...provider, connection: { ...provider.connection, endpoint: endpoint.toString() } }
}

/** The store the options name: the given one, a file store (its folder must exist), or memory. */
async function openStore(options: AdapterOptions, logger: Logger): Promise<ProvisioningStore> {
  if (options.store) {
    return options.store
  }
  if (options.databaseUrl !== undefined) {
    return PostgresProvisioningStore.open(options.databaseUrl)
  }
  if (options.dataFile === undefined) {
    return new MemoryProvisioningStore()
  }
  if (options.createDataFolder !== true) {
    await refuseMissingFolder(options.dataFile)
  }
  return FileProvisioningStore.open(options.dataFile, {
    fsync: options.fsync ?? 'group',
    onWarning: (message) => logger.warn({ store: options.dataFile }, message),
  })
}

/**
 * Starts the provisioning adapter: provider, store, Conax client, delivery and the HTTP API.
 *
 * @example
 * const adapter = await startAdapter({ provider: 'fixtures/scenarios/providers/conax-ws.yaml', port: 0 })
 * await adapter.service.applyAction({ action: 'ACTIVATE', subscriptionId: 'S1' })
 * await adapter.close()
 */
export async function startAdapter(options: AdapterOptions): Promise<Adapter> {
  checkHttpOptions(options)
  const limits: AdapterLimits = { ...DEFAULT_LIMITS, ...options.limits }
  const provider = inTenant(
    typeof options.provider === 'string' ? await loadProvider(options.provider) : options.provider,
    options.tenant,
  )
  const logger =
    typeof options.logger === 'object'
      ? options.logger
      : pino({ level: options.logger ?? 'silent' })
  const clock = options.clock ?? systemClock
  const instanceId =
    options.instanceId ?? `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`
  const store = await openStore(options, logger)
  const client = options.gateway ? null : await createConaxClient(provider.connection)
  let runService: RunService | null = null
  const metrics = createAdapterMetrics({ store, runs: () => runService })
  const gateway: CaGateway = metrics.metered(options.gateway ?? (client as CaGateway))
  const dispatcher = new Dispatcher({
    store,
    gateway,
    clock,
    concurrency: options.concurrency ?? 8,
    retryInitialDelayMs: provider.delivery.retryInitialDelayMs,
    retryMaxDelayMs: provider.delivery.retryMaxDelayMs,
    enabled: () => provider.lifeCycleState === 'EFFECTIVE',
    onError: (error) =>
      logger.error({ err: error }, 'delivery pass failed; retrying after the next wait'),
    splitMode: provider.delivery.splitRefusedBatches,
    ...(options.ordering ? { ordering: options.ordering } : {}),
    owner: instanceId,
    // A write to PostgreSQL is a round trip: the next request goes to the CA meanwhile.
    overlapStoring: store instanceof PostgresProvisioningStore,
    ...(options.leaseMs === undefined ? {} : { leaseMs: options.leaseMs }),
    onOutcome: (request, outcome, parts) => logOutcome(logger, request, outcome, parts),
  })
  const service = new ProvisioningService({
    provider,
    store,
    dispatcher,
    clock,
    onDeliveryError: (error) => logger.error({ err: error }, 'delivery pass failed'),
    maxRequestsPerAction: limits.requestsPerAction,
  })
  const utilities = new UtilityService({ service, store, clock })
  const { runs, runStore, reader } = await createRuns(options, {
    provider,
    store,
    service,
    gateway,
    clock,
    logger,
    instanceId,
  })
  runService = runs
  const interrupted = await runs.recover()
  if (interrupted > 0) {
    logger.warn({ interrupted }, 'run executions were interrupted by the last stop; resume them')
  }
  // Every step runs even if an earlier one fails, so a failed close never leaves the process
  // serving; the first error is reported.
  const closeParts = async (server: Server | null): Promise<void> => {
    const steps: (() => Promise<void>)[] = [
      // Runs first: they finish their current batch (its requests stored) and save their cursor.
      () => runs.close(),
      () => dispatcher.stop(),
      () =>
        server
          ? new Promise<void>((resolve) => {
              server.close(() => resolve())
              server.closeAllConnections()
            })
          : Promise.resolve(),
      () => client?.close() ?? Promise.resolve(),
      () => reader.close(),
      () => runStore.close(),
      () => store.close(),
    ]
    const errors: unknown[] = []
    for (const step of steps) {
      await step().catch((error: unknown) => errors.push(error))
    }
    if (errors.length > 0) {
      throw errors[0]
    }
  }
  const apiToken = options.apiToken ?? generateToken()
  let api: Awaited<ReturnType<typeof serveApi>> | null = null
  if (options.port !== null) {
    const app = createAdapterApp({
      service,
      utilities,
      runs,
      store,
      limits,
      bodyLimitBytes: options.bodyLimitBytes ?? DEFAULT_BODY_LIMIT,
      metrics,
    })
    // A port in use must not leave the store and the clients open behind the error.
    api = await serveApi(options, app, apiToken).catch(async (error: unknown) => {
      await closeParts(null).catch(() => undefined)
      throw error
    })
  }
  if (options.autoDeliver ?? true) {
    dispatcher.start()
    // Other instances' new requests and outcomes wake delivery here (LISTEN/NOTIFY on PostgreSQL).
    store.watch?.(() => dispatcher.wake())
  }
  let closing: Promise<void> | null = null
  return {
    url: api?.url ?? null,
    provider,
    service,
    utilities,
    runs,
    store,
    dispatcher,
    apiToken,
    apiTokenGenerated: options.apiToken === undefined,
    connectionStats: () =>
      api?.connections.stats() ?? { open: 0, idle: 0, evicted: 0, refused: 0, timedOut: 0 },
    deliverDue: () => dispatcher.deliverDue(),
    close: () => (closing ??= closeParts(api?.server ?? null)),
  }
}
