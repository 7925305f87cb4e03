import { mkdir, writeFile } from 'node:fs/promises'
import { join, relative, resolve } from 'node:path'
import { performance } from 'node:perf_hooks'
import fc from 'fast-check'
import { Document, isScalar, isSeq, visit } from 'yaml'
import {
  loadProvider,
  type AdapterOptions,
  type ProvisioningProvider,
  type ProvisioningRequest,
  type Subscription,
} from '../../../src/index.js'
import type { JournalEntry } from '../../../simulator/src/index.js'
import { packageRoot } from '../cli/package-root.js'
import { runScenario } from '../runner.js'
import { parseScenario } from '../scenario/load.js'
import { historyArbitrary, isRestart } from './commands.js'
import {
  caStateMatches,
  everyRequestFinal,
  expectedCards,
  noRejectionWithoutCause,
  nothingAppliedTwice,
  nothingLost,
  perActionOrder,
  type InvariantName,
  type Violation,
} from './invariants.js'
import { cardId, emptyModel, stbId, type ExplorerModel } from './model.js'
import { failureScenario, type FailedHistory } from './scenario-writer.js'
import { ExplorerSystem, StepRefused } from './system.js'

/**
 * The model-based explorer (issue 10): generates random valid CRM histories with faults and time
 * advances, drives the adapter and a simulator in this process, checks invariants once each
 * history is quiescent, and on a failure shrinks it (fast-check), prints the seed and path, and
 * writes the shrunk history as a scenario file that fails the same way.
 */

/** The provider the explorer provisions with (one constant: the fixture may move). */
export const EXPLORER_PROVIDER_FILE = join(
  packageRoot(),
  'fixtures',
  'scenarios',
  'providers',
  'conax-ws.yaml',
)

/** Options of {@link explore}. */
export interface ExploreOptions {
  /** The seed of the first history (default: one drawn now, printed in the result). */
  readonly seed?: number
  /** Commands per history, at most (default 200). */
  readonly actions?: number
  /** Probability that a command is a fault (default 0.1). */
  readonly faults?: number
  /** Histories, with seeds seed, seed+1, ... (default 1). */
  readonly runs?: number
  /** Folder for failure scenarios (default `explore-failures/`). */
  readonly out?: string
  /** A fast-check path printed with a failure: replays that shrunk history of `seed` only. */
  readonly path?: string
  /** Passed to `startAdapter` (e.g. `{ ordering: 'per-device' }` to plant the old order). */
  readonly adapterOptions?: Partial<AdapterOptions>
  /** The provider file (default {@link EXPLORER_PROVIDER_FILE}). */
  readonly providerFile?: string
  /**
   * Several adapter instances on PostgreSQL: each history gets a fresh database on the server of
   * `databaseUrl` (created and dropped by the explorer), shared by `instances` adapters (1 to 4)
   * that take the history's steps in turn. Without it: one adapter, in memory or on a file.
   */
  readonly database?: { readonly databaseUrl: string; readonly instances: number }
  /** Told as each history ends and while a failure shrinks. */
  readonly onProgress?: (event: ExploreProgress) => void
}

/** Progress of an exploration. */
export type ExploreProgress =
  | {
      readonly kind: 'history'
      readonly index: number
      readonly of: number
      readonly seed: number
      readonly passed: boolean
      /** Steps the history ran: its commands' steps, the automatic `ca: up` and the quiescence steps. */
      readonly steps: number
      readonly faults: Readonly<Record<string, number>>
      readonly durationMs: number
    }
  | { readonly kind: 'shrinking'; readonly seed: number; readonly commands: number }

/** A failure: where it came from, how to replay it, and the scenario file that reproduces it. */
export interface ExploreFailure {
  readonly seed: number
  /** The fast-check path of the shrunk history (`--seed <seed> --path <path>` replays it). */
  readonly path: string
  /** The shrunk history, one step a line, as the scenario file spells it. */
  readonly counterexample: readonly string[]
  readonly scenarioFile: string
  readonly invariant: InvariantName
  readonly message: string
  /** Whether the scenario file fails when run in-process with the explorer's adapter options. */
  readonly reproduces: boolean
  /** With adapter options: whether the file passes on an adapter started without them. */
  readonly passesWithoutAdapterOptions?: boolean
}

/** What an exploration found. */
export interface ExploreResult {
  readonly passed: boolean
  /** Histories explored (the failing one included). */
  readonly histories: number
  /** Steps the histories ran (see {@link ExploreProgress}; shrinking not counted). */
  readonly steps: number
  /** Faults injected, by kind (shrinking not counted). */
  readonly faults: Readonly<Record<string, number>>
  readonly durationMs: number
  readonly failure?: ExploreFailure
}

/** A history failed: what the last failing run saw (fast-check's last failure is the shrunk one). */
interface Captured {
  readonly violations: Violation[]
  readonly log: ExplorerSystem['log']
  readonly requests: ProvisioningRequest[]
  readonly journal: JournalEntry[]
  readonly expected: FailedHistory['expected']
  readonly cards: string[]
  readonly stbs: string[]
  readonly commands: number
}

class InvariantBroken extends Error {
  override readonly name = 'InvariantBroken'
}

const DEFAULTS = { actions: 200, faults: 0.1, runs: 1, out: 'explore-failures' }

type Settings = Required<Pick<ExploreOptions, 'actions' | 'faults' | 'runs' | 'out'>> & {
  seed: number
}

const between = (value: number, min: number, max: number): boolean =>
  Number.isInteger(value) && value >= min && value <= max

/** What is wrong with the settings, one phrase per problem. */
function problemsOf(settings: Settings, path: string | undefined, seeded: boolean): string[] {
  const { seed, actions, faults, runs } = settings
  return [
    between(seed, 0, 2 ** 31 - 1)
      ? null
      : `seed must be a whole number from 0 to 2147483647, not ${seed}`,
    between(actions, 1, 10_000)
      ? null
      : `actions must be a whole number from 1 to 10000, not ${actions}`,
    Number.isFinite(faults) && faults >= 0 && faults <= 1
      ? null
      : `faults must be a probability from 0 to 1, not ${faults}`,
    between(runs, 1, 1_000_000)
      ? null
      : `runs must be a whole number from 1 to 1000000, not ${runs}`,
    path !== undefined && !/^\d+(:\d+)*(@[A-Za-z0-9+/:]*)?$/.test(path)
      ? `path '${path}' is not a path the explorer printed (like 0:3:1@AB:C)`
      : null,
    path !== undefined && runs !== 1 ? 'path replays one history: leave runs at 1' : null,
    path !== undefined && !seeded ? 'path needs the seed it was printed with (--seed)' : null,
    seed + runs - 1 >= 2 ** 31 ? 'seed + runs - 1 must stay below 2147483648' : null,
  ].filter((p): p is string => p !== null)
}

/** Checks the options; a bad one throws a RangeError that says what to pass instead. */
function checked(options: ExploreOptions): Settings {
  const settings: Settings = {
    seed: options.seed ?? Math.floor(Math.random() * 2 ** 31),
    actions: options.actions ?? DEFAULTS.actions,
    faults: options.faults ?? DEFAULTS.faults,
    runs: options.runs ?? DEFAULTS.runs,
    out: options.out ?? DEFAULTS.out,
  }
  const problems = problemsOf(settings, options.path, options.seed !== undefined)
  if (options.database && !between(options.database.instances, 1, 4)) {
    problems.push(
      `database.instances must be an integer from 1 to 4 (got ${options.database.instances})`,
    )
  }
  if (options.database && !/^postgres(ql)?:\/\//.test(options.database.databaseUrl)) {
    problems.push('database.databaseUrl must be a postgres:// URL')
  }
  if (problems.length > 0) {
    throw new RangeError(`Invalid explore options: ${problems.join('; ')}.`)
  }
  return settings
}

/** Runs one history on a fresh system and checks the invariants; throws when one breaks. */
async function runHistory(
  commands: Iterable<fc.AsyncCommand<ExplorerModel, ExplorerSystem>>,
  context: {
    readonly provider: ProvisioningProvider
    readonly adapterOptions: Partial<AdapterOptions> | undefined
    readonly database: ExploreOptions['database']
    readonly record: (system: ExplorerSystem, model: ExplorerModel) => void
    readonly fail: (captured: Captured) => void
  },
): Promise<void> {
  const list = [...commands] as unknown as { cmd: unknown; hasRan: boolean }[]
  const durable = list.some((wrapper) => isRestart(wrapper.cmd))
  const model = emptyModel(durable)
  const system = await ExplorerSystem.start({
    provider: context.provider,
    durable,
    ...(context.adapterOptions ? { adapterOptions: context.adapterOptions } : {}),
    ...(context.database
      ? {
          database: {
            serverUrl: context.database.databaseUrl,
            instances: context.database.instances,
          },
        }
      : {}),
  })
  try {
    let violations: Violation[]
    try {
      await fc.asyncModelRun(() => ({ model, real: system }), commands)
      violations = await quiesceAndCheck(system, model, context.provider)
    } catch (error) {
      violations = [
        {
          invariant: 'step-accepted',
          message:
            error instanceof StepRefused
              ? error.message
              : `a step failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
        },
      ]
    }
    context.record(system, model)
    if (violations.length > 0) {
      const first = violations[0] as Violation
      const finalState = first.invariant !== 'step-accepted'
      context.fail({
        violations,
        log: [...system.log],
        requests: [...(await system.adapter.store.listRequests({})).items],
        journal: system.sim.journal.list(),
        expected: finalState
          ? expectedCards(
              context.provider,
              await subscriptionsOf(system),
              Array.from({ length: model.cardsUsed }, (_, i) => cardId(i + 1)),
            )
          : null,
        cards: Array.from({ length: model.cardsUsed }, (_, i) => cardId(i + 1)),
        stbs: Array.from({ length: model.stbsUsed }, (_, i) => stbId(i + 1)),
        commands: list.filter((w) => w.hasRan).length,
      })
      throw new InvariantBroken(`${first.invariant}: ${first.message}`)
    }
  } finally {
    await system.close()
  }
}

async function subscriptionsOf(system: ExplorerSystem): Promise<Subscription[]> {
  return [...(await system.adapter.store.listSubscriptions({})).items]
}

/**
 * Quiescence (faults cleared, the CA up, delivery until nothing is PENDING, runs ended), then
 * every invariant.
 */
async function quiesceAndCheck(
  system: ExplorerSystem,
  model: ExplorerModel,
  provider: ProvisioningProvider,
): Promise<Violation[]> {
  await system.step({ ca: { clearFaults: true } }, 'quiescence: ca: { clearFaults: true }')
  await system.step({ deliver: 'until-idle' }, 'quiescence: deliver: until-idle')
  const { adapter, sim } = system
  const requests = (await adapter.store.listRequests({})).items
  const journal = sim.journal.list()
  const cards = Array.from({ length: model.cardsUsed }, (_, i) => cardId(i + 1))
  const runs: Violation[] = []
  for (const id of system.executions) {
    const status = await adapter.runs.get(id)
    if (status.state !== 'COMPLETED') {
      runs.push({
        invariant: 'runs-completed',
        message: `run execution ${id} is ${status.state} once every request is final${status.lastError ? ` (${status.lastError})` : ''}`,
      })
    }
  }
  return [
    ...everyRequestFinal(requests),
    ...caStateMatches(expectedCards(provider, await subscriptionsOf(system), cards), (card) =>
      sim.model.card(card),
    ),
    ...nothingAppliedTwice(journal),
    ...nothingLost(requests, journal),
    ...perActionOrder(requests, journal),
    ...noRejectionWithoutCause(requests, journal),
    ...runs,
  ]
}

function merge(into: Record<string, number>, from: ReadonlyMap<string, number>): void {
  for (const [kind, count] of from) {
    into[kind] = (into[kind] ?? 0) + count
  }
}

/** The command line that replays a history. */
function replayCommand(seed: number, options: Settings, path: string): string {
  return `conax-conformance explore --seed ${seed} --actions ${options.actions} --faults ${options.faults} --path '${path}'`
}

/**
 * Explores `runs` histories (seeds seed, seed+1, ...) and stops at the first that breaks an
 * invariant: shrunk, with its seed and path, and written as a scenario file into `out`.
 *
 * @example
 * const result = await explore({ seed: 1, runs: 20 })
 * if (!result.passed) console.log(result.failure?.scenarioFile)
 */
export async function explore(options: ExploreOptions = {}): Promise<ExploreResult> {
  const settings = checked(options)
  const started = performance.now()
  const provider = await loadProvider(options.providerFile ?? EXPLORER_PROVIDER_FILE)
  const totals = { steps: 0, faults: {} as Record<string, number> }
  const summary = (histories: number): Omit<ExploreResult, 'passed'> => ({
    histories,
    steps: totals.steps,
    faults: totals.faults,
    durationMs: performance.now() - started,
  })
  for (let index = 0; index < settings.runs; index++) {
    const seed = settings.seed + index
    const historyStarted = performance.now()
    const outcome = await exploreHistory(seed, settings, provider, options)
    totals.steps += outcome.steps
    merge(totals.faults, outcome.faults)
    options.onProgress?.({
      kind: 'history',
      index: index + 1,
      of: settings.runs,
      seed,
      passed: outcome.failure === null,
      steps: outcome.steps,
      faults: Object.fromEntries(outcome.faults),
      durationMs: performance.now() - historyStarted,
    })
    if (outcome.failure) {
      const failure = await report(outcome.failure.captured, {
        seed,
        path: outcome.failure.path,
        settings,
        adapterOptions: options.adapterOptions,
      })
      return { passed: false, ...summary(index + 1), failure }
    }
  }
  return { passed: true, ...summary(settings.runs) }
}

/** One history (seed), shrunk when it fails: its first run's figures, and the failure. */
async function exploreHistory(
  seed: number,
  settings: Settings,
  provider: ProvisioningProvider,
  options: ExploreOptions,
): Promise<{
  steps: number
  faults: ReadonlyMap<string, number>
  failure: { captured: Captured; path: string } | null
}> {
  const [path, replayPath] = options.path?.split('@') ?? []
  let first: { steps: number; faults: Map<string, number> } | null = null
  let captured: Captured | null = null
  const property = fc.asyncProperty(
    historyArbitrary(settings.actions, settings.faults, replayPath),
    (commands) =>
      runHistory(commands, {
        provider,
        adapterOptions: options.adapterOptions,
        database: options.database,
        record: (system) => {
          first ??= {
            steps: system.log.filter((e) => e.kind === 'step').length,
            faults: new Map(system.faults),
          }
        },
        fail: (failure) => {
          if (captured) {
            options.onProgress?.({ kind: 'shrinking', seed, commands: failure.commands })
          }
          captured = failure
        },
      }),
  )
  const result = await fc.check(property, { seed, numRuns: 1, ...(path ? { path } : {}) })
  const seen = first as { steps: number; faults: Map<string, number> } | null
  const figures = { steps: seen?.steps ?? 0, faults: seen?.faults ?? new Map() }
  if (!result.failed) {
    return { ...figures, failure: null }
  }
  const failed = captured as Captured | null
  if (!failed) {
    throw new Error(
      `The explorer failed on seed ${seed} without a broken invariant: ${String(result.errorInstance)}. Please report it with the seed.`,
    )
  }
  // The commands' own replay path (which of them ran) completes fast-check's path.
  const counterexample = result.counterexample?.[0] as { toString(): string } | undefined
  const replay = /replayPath="([^"]*)"/.exec(counterexample?.toString() ?? '')?.[1]
  return {
    ...figures,
    failure: {
      captured: failed,
      path: `${result.counterexamplePath ?? '0'}${replay ? `@${replay}` : ''}`,
    },
  }
}

/**
 * YAML as the shipped scenarios are written: lists of plain values and small records of plain
 * values on one line (`{ operation: CreatePairing, cards: ['01460000001'] }`), the rest in blocks.
 */
function readableYaml(document: Record<string, unknown>): string {
  const doc = new Document(document)
  const plain = (node: unknown): boolean => isScalar(node) || (isSeq(node) && node.flow === true)
  visit(doc, {
    Seq(_key, node) {
      if (node.items.every((item) => isScalar(item))) {
        node.flow = true
      }
    },
  })
  visit(doc, {
    Map(_key, node) {
      if (node.items.length <= 6 && node.items.every((pair) => plain(pair.value))) {
        node.flow = true
      }
    },
  })
  return doc.toString({ lineWidth: 100, flowCollectionPadding: true })
}

/** Writes the shrunk history as a scenario, checks that the loader takes it and that it fails. */
async function report(
  captured: Captured,
  context: {
    readonly seed: number
    readonly path: string
    readonly settings: Settings
    readonly adapterOptions: Partial<AdapterOptions> | undefined
  },
): Promise<ExploreFailure> {
  const { seed, path, settings } = context
  const folder = resolve(settings.out)
  await mkdir(folder, { recursive: true })
  const file = join(folder, `explore-seed-${seed}.yaml`)
  const schema = join(packageRoot(), 'conformance', 'scenario.schema.json')
  const { header, document } = failureScenario(
    {
      seed,
      path,
      command: replayCommand(seed, settings, path),
      log: captured.log,
      violations: captured.violations,
      requests: captured.requests,
      journal: captured.journal,
      expected: captured.expected,
      cards: captured.cards,
      stbs: captured.stbs,
    },
    { provider: relative(folder, EXPLORER_PROVIDER_FILE), schema: relative(folder, schema) },
  )
  const text = `${header}${readableYaml(document)}`
  // The loader must take the file as it is written: a scenario it refuses reproduces nothing.
  const scenario = await parseScenario(text, file)
  await writeFile(file, text, 'utf8')
  const target = {
    kind: 'in-process' as const,
    ...(context.adapterOptions ? { adapterOptions: context.adapterOptions } : {}),
  }
  const reproduces = (await runScenario(scenario, target)).verdict === 'failed'
  const passesWithout = context.adapterOptions
    ? (await runScenario(scenario, { kind: 'in-process' })).verdict === 'passed'
    : undefined
  const first = captured.violations[0] as Violation
  return {
    seed,
    path,
    counterexample: captured.log.map((entry) => entry.label),
    scenarioFile: file,
    invariant: first.invariant,
    message: first.message,
    reproduces,
    ...(passesWithout === undefined ? {} : { passesWithoutAdapterOptions: passesWithout }),
  }
}
