import { stat } from 'node:fs/promises'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { dirname, resolve } from 'node:path'
import { pino, type Logger } from 'pino'
import { createAdapterApp } from './api/adapter-app.js'
import { AdapterError } from './application/adapter-error.js'
import { Dispatcher } from './application/dispatcher.js'
import type { CaGateway, Clock, ProvisioningStore } from './application/ports.js'
import { ProvisioningService } from './application/provisioning-service.js'
import { UtilityService } from './application/utility-service.js'
import type { CaReader, RunStore } from './application/runs/run-ports.js'
import { RunService } from './application/runs/run-service.js'
import { createFastCaReader } from './infrastructure/conax/fast-reader.js'
import { gatewayCaReader } from './infrastructure/conax/gateway-reader.js'
import { LowdbRunStore } from './infrastructure/runs/lowdb-run-store.js'
import { MemoryRunStore } from './infrastructure/runs/memory-run-store.js'
import { loadProvider } from './config/load-provider.js'
import type { ProvisioningProvider } from './domain/crm.js'
import { createConaxClient } from './infrastructure/conax/conax-client.js'
import { LowdbProvisioningStore } from './infrastructure/store/lowdb-provisioning-store.js'
import { MemoryProvisioningStore } from './infrastructure/store/memory-provisioning-store.js'
import { StoreError } from './infrastructure/store/store-error.js'

/** How to start the adapter; the defaults suit a test (in memory, port 0, delivering in the background). */
export interface AdapterOptions {
  /** The provisioning provider, or the path of its YAML/JSON file. */
  readonly provider: ProvisioningProvider | string
  /** A lowdb file for subscriptions and provisioning requests; in memory when absent. */
  readonly dataFile?: string
  /**
   * Create the folder of `dataFile` when it is missing (default false: refused with
   * STORE_FOLDER_MISSING, since a missing folder usually means a mistyped path).
   */
  readonly createDataFolder?: boolean
  /** Another store; wins over `dataFile`. */
  readonly store?: ProvisioningStore
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
  /** Run definitions, executions and communications: another store (default: beside `dataFile`, or in memory). */
  readonly runStore?: RunStore
  /**
   * How runs read cards from the CA: `fast` (default, a lean client for the two query operations,
   * built for reset runs over whole subscriber bases), `gateway` (the WSDL-built client), or a reader.
   */
  readonly reader?: 'fast' | 'gateway' | CaReader
  /** Subscriptions per run batch (default 500) and cards read at once (default 64). */
  readonly runPageSize?: number
  readonly readConcurrency?: number
  readonly logger?: Logger | 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'silent'
}

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
  /** Sends every request that is due now and resolves when none is left. */
  deliverDue(): ReturnType<Dispatcher['deliverDue']>
  /** Stops delivery, the HTTP server and the store (pending requests stay PENDING for the next start). */
  close(): Promise<void>
}

const systemClock: Clock = { now: () => new Date() }

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
  },
): Promise<{ runs: RunService; runStore: RunStore; reader: CaReader }> {
  const { provider, logger } = parts
  const runStore =
    options.runStore ??
    (options.dataFile
      ? await LowdbRunStore.open(`${options.dataFile.replace(/\.json$/, '')}.runs.json`)
      : new MemoryRunStore())
  const reader: CaReader =
    typeof options.reader === 'object'
      ? options.reader
      : options.reader === 'gateway' || options.gateway
        ? gatewayCaReader(parts.gateway)
        : createFastCaReader(provider.connection)
  const runs = new RunService({
    provider,
    store: parts.store,
    runs: runStore,
    provisioning: parts.service,
    reader,
    clock: parts.clock,
    ...(options.runPageSize ? { pageSize: options.runPageSize } : {}),
    ...(options.readConcurrency ? { readConcurrency: options.readConcurrency } : {}),
    onError: (error, execution) =>
      logger.error(
        { err: error, execution: execution.id },
        'run failed; resume it when the cause is fixed',
      ),
  })
  return { runs, runStore, reader }
}

/**
 * Starts the provisioning adapter: provider, store, Conax client, delivery and the HTTP API.
 *
 * @example
 * const adapter = await startAdapter({ provider: 'fixtures/providers/conax-ws.yaml', port: 0 })
 * await adapter.service.applyAction({ action: 'ACTIVATE', subscriptionId: 'S1' })
 * await adapter.close()
 */
export async function startAdapter(options: AdapterOptions): Promise<Adapter> {
  const provider =
    typeof options.provider === 'string' ? await loadProvider(options.provider) : options.provider
  const logger =
    typeof options.logger === 'object'
      ? options.logger
      : pino({ level: options.logger ?? 'silent' })
  const clock = options.clock ?? systemClock
  if (options.dataFile !== undefined && options.createDataFolder !== true) {
    await refuseMissingFolder(options.dataFile)
  }
  const store =
    options.store ??
    (options.dataFile
      ? await LowdbProvisioningStore.open(options.dataFile)
      : new MemoryProvisioningStore())
  const client = options.gateway ? null : await createConaxClient(provider.connection)
  const gateway: CaGateway = options.gateway ?? (client as CaGateway)
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
    onOutcome: (request, outcome) => {
      const level = outcome.kind === 'COMPLETED' ? 'info' : 'warn'
      logger[level](
        {
          number: request.number,
          type: request.type,
          state: request.lifeCycleState,
          attempts: request.attempts,
          referenceNumber: request.referenceNumber,
          errorCode: request.errorCode,
        },
        'provisioning request delivered',
      )
    },
  })
  const service = new ProvisioningService({
    provider,
    store,
    dispatcher,
    clock,
    onDeliveryError: (error) => logger.error({ err: error }, 'delivery pass failed'),
  })
  const utilities = new UtilityService({ service, store, clock })
  const { runs, runStore, reader } = await createRuns(options, {
    provider,
    store,
    service,
    gateway,
    clock,
    logger,
  })
  const interrupted = await runs.recover()
  if (interrupted > 0) {
    logger.warn({ interrupted }, 'run executions were interrupted by the last stop; resume them')
  }
  let server: Server | null = null
  let url: string | null = null
  if (options.port !== null) {
    server = createServer(createAdapterApp({ service, utilities, runs, store }))
    const address = await new Promise<AddressInfo>((resolve, reject) => {
      const target = server as Server
      target.once('error', (error) =>
        reject(
          new AdapterError(
            'INVALID_REQUEST',
            `Failed to listen on ${options.host ?? '127.0.0.1'}:${options.port ?? 0}: ${error.message}. Choose another port.`,
          ),
        ),
      )
      target.listen(options.port ?? 0, options.host ?? '127.0.0.1', () =>
        resolve(target.address() as AddressInfo),
      )
    })
    url = `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`
  }
  if (options.autoDeliver ?? true) {
    dispatcher.start()
  }
  let closing: Promise<void> | null = null
  return {
    url,
    provider,
    service,
    utilities,
    runs,
    store,
    dispatcher,
    deliverDue: () => dispatcher.deliverDue(),
    close: () =>
      (closing ??= (async () => {
        // Every step runs even if an earlier one fails, so a failed close never leaves the
        // process serving; the first error is reported.
        const steps: (() => Promise<void>)[] = [
          // Runs first: they finish their current batch (its requests stored) and save their cursor.
          () => runs.close(),
          () => dispatcher.stop(),
          () =>
            server
              ? new Promise<void>((resolve) => {
                  const target = server
                  target.close(() => resolve())
                  target.closeAllConnections()
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
      })()),
  }
}
