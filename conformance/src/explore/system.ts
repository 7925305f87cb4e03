import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
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

  private constructor(parts: {
    sim: Simulator
    clock: ScenarioClock
    context: StepContext
    adapterOptions: AdapterOptions
    folder: string | null
  }) {
    this.sim = parts.sim
    this.clock = parts.clock
    this.context = parts.context
    this.adapterOptions = parts.adapterOptions
    this.folder = parts.folder
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
    const folder = options.durable ? await mkdtemp(join(tmpdir(), 'conax-explore-')) : null
    const adapterOptions: AdapterOptions = {
      ...options.adapterOptions,
      provider: { ...provider, connection: { ...provider.connection, endpoint } },
      clock,
      port: null,
      autoDeliver: false,
      logger: 'silent',
      ...(folder ? { dataFile: join(folder, 'adapter.json') } : {}),
    }
    try {
      const adapter = await startAdapter(adapterOptions)
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
      return new ExplorerSystem({ sim, clock, context, adapterOptions, folder })
    } catch (error) {
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
    const adapter = await startAdapter(this.adapterOptions)
    this.context = { ...this.context, adapter }
  }

  /** Closes everything and removes the store folder. */
  async close(): Promise<void> {
    const steps = [
      () => this.context.adapter.close(),
      () => this.context.client.close(),
      () => this.sim.close(),
      () => (this.folder ? rm(this.folder, { recursive: true, force: true }) : Promise.resolve()),
    ]
    for (const step of steps) {
      await step().catch(() => undefined)
    }
  }
}
