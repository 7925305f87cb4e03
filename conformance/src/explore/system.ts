import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import {
  startAdapter,
  type Adapter,
  type AdapterOptions,
  type ProvisioningProvider,
} from '../../../src/index.js'
import {
  SERVICE_BASE_PATH,
  startSimulator,
  type InventoryInput,
  type Simulator,
} from '../../../simulator/src/index.js'
import { clientFor, SequenceSource } from '../engine/given.js'
import { runStep, ScenarioClock, type StepContext, type StepRecord } from '../engine/steps.js'
import type { WhenStep } from '../scenario/schema.js'
import { cardId, INVENTORY, stbId } from './model.js'

/**
 * The system under exploration: a simulator and an adapter in this process, on one manual clock,
 * driven through the scenario engine's own steps (`runStep`), so that the steps a history ran are
 * exactly the `when` of the scenario file written for it.
 */

/** The clock every history starts at (the scenario format's default `now`). */
export const EXPLORER_NOW = '2026-11-26T10:00:00.000Z'

/** One entry of what a history did: a scenario step, or an adapter restart (not a v2 step). */
export type LoggedStep =
  | { readonly kind: 'step'; readonly step: WhenStep; readonly label: string }
  | { readonly kind: 'restart'; readonly label: string }

/** A step the adapter refused although the model held it valid. */
export class StepRefused extends Error {
  override readonly name = 'StepRefused'
  readonly code: string
  constructor(code: string, message: string) {
    super(message)
    this.code = code
  }
}

/** The explorer's CA: every device a history may use, and the provider's products. */
export function explorerInventory(provider: ProvisioningProvider): InventoryInput {
  return {
    smartcards: Array.from({ length: INVENTORY.cards }, (_, i) => ({ caClientId: cardId(i + 1) })),
    pairingModules: Array.from({ length: INVENTORY.stbs }, (_, i) => ({
      pairingModuleId: stbId(i + 1),
      serialNumber: `SN-${stbId(i + 1)}`,
      productCode: 'KSTB5043',
      productDescription: 'Kaon KSTB5043 HD Conax Zapper',
    })),
    products: [...new Set(provider.services.map((s) => s.caId))].map((productId) => ({
      productId,
    })),
  }
}

/** One history's simulator, adapter and clock. */
export class ExplorerSystem {
  readonly sim: Simulator
  readonly clock: ScenarioClock
  readonly log: LoggedStep[] = []
  /** Run executions the history started, for the quiescence check. */
  readonly executions: string[] = []
  /** Fault steps by kind (`down`, `DELAY`, `RESET_AFTER_APPLY`, `restart`...), for the soak's figures. */
  readonly faults = new Map<string, number>()
  private context: StepContext
  private readonly adapterOptions: AdapterOptions
  private readonly folder: string | null
  /** Every adapter instance (one, or several on one PostgreSQL database), in turn per step. */
  private readonly adapters: Adapter[]
  private turn = 0
  private readonly database: TemporaryDatabase | null

  private constructor(parts: {
    sim: Simulator
    clock: ScenarioClock
    context: StepContext
    adapterOptions: AdapterOptions
    folder: string | null
    adapters: Adapter[]
    database: TemporaryDatabase | null
  }) {
    this.sim = parts.sim
    this.clock = parts.clock
    this.context = parts.context
    this.adapterOptions = parts.adapterOptions
    this.folder = parts.folder
    this.adapters = parts.adapters
    this.database = parts.database
  }

  /**
   * Starts a simulator and an adapter on one clock. `durable`: the adapter keeps its store in a
   * file of a fresh temporary folder, so that {@link restart} finds its queue again; otherwise in
   * memory (faster).
   */
  static async start(options: {
    readonly provider: ProvisioningProvider
    readonly durable: boolean
    readonly adapterOptions?: Partial<AdapterOptions>
    /**
     * A PostgreSQL server: the history gets a fresh database there (dropped at close), shared by
     * `instances` adapters (distinct instance ids) that take the history's steps in turn.
     */
    readonly database?: { readonly serverUrl: string; readonly instances: number }
  }): Promise<ExplorerSystem> {
    const { provider } = options
    const clock = new ScenarioClock(EXPLORER_NOW)
    const sim = await startSimulator({
      inventory: explorerInventory(provider),
      users: { [provider.connection.username]: provider.connection.password },
      logger: 'silent',
      journalLimit: 1_000_000,
      now: () => clock.now(),
    })
    const endpoint = `${sim.url}${SERVICE_BASE_PATH.replace(/\/$/, '')}`
    const database = options.database
      ? await TemporaryDatabase.create(options.database.serverUrl)
      : null
    const folder =
      options.durable && !database ? await mkdtemp(join(tmpdir(), 'conax-explore-')) : null
    const adapterOptions: AdapterOptions = {
      ...options.adapterOptions,
      provider: { ...provider, connection: { ...provider.connection, endpoint } },
      clock,
      port: null,
      autoDeliver: false,
      logger: 'silent',
      ...(folder ? { dataFile: join(folder, 'adapter.json') } : {}),
      ...(database ? { databaseUrl: database.url } : {}),
    }
    const adapters: Adapter[] = []
    try {
      // One after the other: the first brings the database's schema up to date.
      for (let n = 1; n <= (options.database?.instances ?? 1); n++) {
        adapters.push(
          await startAdapter(
            database ? { ...adapterOptions, instanceId: `explorer-${n}` } : adapterOptions,
          ),
        )
      }
      const adapter = adapters[0] as Adapter
      const client = await clientFor(provider, endpoint)
      const context: StepContext = {
        adapter,
        sim,
        client,
        sequence: new SequenceSource(),
        clock,
        downRules: [],
        lastExecution: null,
      }
      return new ExplorerSystem({ sim, clock, context, adapterOptions, folder, adapters, database })
    } catch (error) {
      await Promise.allSettled(adapters.map((adapter) => adapter.close()))
      await database?.drop()
      await sim.close()
      if (folder) {
        await rm(folder, { recursive: true, force: true })
      }
      throw error
    }
  }

  get adapter(): Adapter {
    return this.context.adapter
  }

  /** Runs one scenario step as the scenario engine does (the step, then a delivery of what is due). */
  async step(step: WhenStep, label: string): Promise<StepRecord> {
    // Several instances: each step goes to the next one, so one instance's actions, runs and
    // deliveries meet another's on the shared database.
    this.turn = (this.turn + 1) % this.adapters.length
    this.context = { ...this.context, adapter: this.adapters[this.turn] as Adapter }
    this.log.push({ kind: 'step', step, label })
    const record = await runStep(step, this.context)
    if (record.refusal) {
      throw new StepRefused(
        record.refusal.code,
        `The adapter refused "${label}" although the explorer's model held it valid: ${record.refusal.code}: ${record.refusal.message}`,
      )
    }
    if ('run' in step && this.context.lastExecution) {
      this.executions.push(this.context.lastExecution)
    }
    return record
  }

  /** Counts a fault the history injected. */
  countFault(kind: string): void {
    this.faults.set(kind, (this.faults.get(kind) ?? 0) + 1)
  }

  /** Stops the adapter and starts it again on the same store file (its queue survives). */
  async restart(label: string): Promise<void> {
    this.log.push({ kind: 'restart', label })
    await this.context.adapter.close()
    const adapter = await startAdapter(
      this.database
        ? { ...this.adapterOptions, instanceId: `explorer-${this.turn + 1}` }
        : this.adapterOptions,
    )
    this.adapters[this.turn] = adapter
    this.context = { ...this.context, adapter }
  }

  /** Closes everything and removes the store folder. */
  async close(): Promise<void> {
    const steps = [
      ...this.adapters.map((adapter) => () => adapter.close()),
      () => this.context.client.close(),
      () => this.sim.close(),
      () => (this.folder ? rm(this.folder, { recursive: true, force: true }) : Promise.resolve()),
      () => this.database?.drop() ?? Promise.resolve(),
    ]
    for (const step of steps) {
      await step().catch(() => undefined)
    }
  }
}

/** A database of its own on a PostgreSQL server, for one history. */
class TemporaryDatabase {
  readonly url: string
  private readonly serverUrl: string
  private readonly name: string

  private constructor(serverUrl: string, name: string) {
    this.serverUrl = serverUrl
    this.name = name
    const url = new URL(serverUrl)
    url.pathname = `/${name}`
    this.url = url.toString()
  }

  /** Creates a fresh, empty database on the server of `serverUrl`. */
  static async create(serverUrl: string): Promise<TemporaryDatabase> {
    const database = new TemporaryDatabase(
      serverUrl,
      `conax_explore_${randomBytes(6).toString('hex')}`,
    )
    await database.admin(`CREATE DATABASE ${database.name}`)
    return database
  }

  /** Drops the database (the adapters using it must be closed). */
  drop(): Promise<void> {
    return this.admin(`DROP DATABASE IF EXISTS ${this.name}`)
  }

  private async admin(sql: string): Promise<void> {
    const client = new pg.Client({ connectionString: this.serverUrl })
    try {
      await client.connect()
      await client.query(sql)
    } catch (error) {
      throw new Error(
        `The explorer could not run "${sql}" on the PostgreSQL server ${redacted(this.serverUrl)}: ${error instanceof Error ? error.message : String(error)}. Check that the server is up and that its user may create databases.`,
        { cause: error },
      )
    } finally {
      await client.end().catch(() => undefined)
    }
  }
}

/** The URL without its password, for messages. */
function redacted(url: string): string {
  const parsed = new URL(url)
  if (parsed.password !== '') {
    parsed.password = '***'
  }
  return parsed.toString()
}
