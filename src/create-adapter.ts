import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { pino, type Logger } from 'pino'
import { createAdapterApp } from './api/adapter-app.js'
import { AdapterError } from './application/adapter-error.js'
import { Dispatcher } from './application/dispatcher.js'
import type { CaGateway, Clock, ProvisioningStore } from './application/ports.js'
import { ProvisioningService } from './application/provisioning-service.js'
import { UtilityService } from './application/utility-service.js'
import { loadProvider } from './config/load-provider.js'
import type { ProvisioningProvider } from './domain/crm.js'
import { createConaxClient } from './infrastructure/conax/conax-client.js'
import { LowdbProvisioningStore } from './infrastructure/store/lowdb-provisioning-store.js'
import { MemoryProvisioningStore } from './infrastructure/store/memory-provisioning-store.js'

/** How to start the adapter; the defaults suit a test (in memory, port 0, delivering in the background). */
export interface AdapterOptions {
  /** The provisioning provider, or the path of its YAML/JSON file. */
  readonly provider: ProvisioningProvider | string
  /** A lowdb file for subscriptions and provisioning requests; in memory when absent. */
  readonly dataFile?: string
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
  readonly store: ProvisioningStore
  readonly dispatcher: Dispatcher
  /** Sends every request that is due now and resolves when none is left. */
  deliverDue(): ReturnType<Dispatcher['deliverDue']>
  /** Stops delivery, the HTTP server and the store (pending requests stay PENDING for the next start). */
  close(): Promise<void>
}

const systemClock: Clock = { now: () => new Date() }

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
  let server: Server | null = null
  let url: string | null = null
  if (options.port !== null) {
    server = createServer(createAdapterApp({ service, utilities, store }))
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
    store,
    dispatcher,
    deliverDue: () => dispatcher.deliverDue(),
    close: () =>
      (closing ??= (async () => {
        // Every step runs even if an earlier one fails, so a failed close never leaves the
        // process serving; the first error is reported.
        const steps: (() => Promise<void>)[] = [
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
