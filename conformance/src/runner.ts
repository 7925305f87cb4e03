import { performance } from 'node:perf_hooks'
import type { AdapterOptions } from '../../src/index.js'
import { runInProcess } from './engine/in-process.js'
import { CodedError } from '../../common/coded-error.js'
import { ScenarioRunError } from './engine/run-error.js'
import type { DeviceMap } from './engine/devices.js'
import {
  runAgainstCa,
  verifyJournal,
  type CaTarget,
  type JournalTarget,
  type RemoteContext,
} from './engine/remote.js'
import type { CheckResult, RunResult, ScenarioErrorInfo, ScenarioResult } from './result.js'
import { findScenarioFiles, loadScenario, type Scenario } from './scenario/load.js'
import { ScenarioError } from './scenario/scenario-error.js'

/** What the scenarios are checked against. */
export type Target =
  | {
      readonly kind: 'in-process'
      /** Passed to `startAdapter` (e.g. `{ ordering: 'per-device' }`, to show a scenario fails on it). */
      readonly adapterOptions?: Partial<AdapterOptions>
    }
  | { readonly kind: 'ca'; readonly ca: CaTarget }
  | { readonly kind: 'journal'; readonly journal: JournalTarget }

/** Options of a run. */
export interface RunOptions {
  /** Only scenarios carrying one of these tags. */
  readonly tags?: readonly string[]
  /** Told about each scenario as soon as it is done (the console report streams this way). */
  readonly onResult?: (result: ScenarioResult) => void
  /**
   * Told about something that may be a mistake but fails nothing (a card `--devices` does not
   * map), once per run for each thing.
   */
  readonly onWarning?: (message: string) => void
}

/** A one-line description of the target, for reports. */
export function describeTarget(target: Target): string {
  switch (target.kind) {
    case 'in-process':
      return 'in-process adapter + simulator'
    case 'ca':
      return `CA at ${target.ca.url}${target.ca.simAdmin ? ' (conax-sim admin API)' : ''}${devicesNote(target.ca.devices)}`
    case 'journal':
      return `journal of ${target.journal.url}${devicesNote(target.journal.devices)}`
  }
}

function devicesNote(devices: DeviceMap | undefined): string {
  if (!devices) {
    return ''
  }
  const { smartcards, stbs } = devices.size
  return `, devices of ${devices.file} (${smartcards} cards, ${stbs} STBs)`
}

function checksFor(
  scenario: Scenario,
  target: Target,
  context: RemoteContext,
): Promise<CheckResult[]> {
  switch (target.kind) {
    case 'in-process':
      return runInProcess(scenario, target.adapterOptions)
    case 'ca':
      return runAgainstCa(scenario, target.ca, context)
    case 'journal':
      return verifyJournal(scenario, target.journal, context)
  }
}

function errorResult(file: string, name: string, started: number, error: unknown): ScenarioResult {
  return {
    file,
    name,
    source: null,
    verdict: 'error',
    durationMs: performance.now() - started,
    checks: [],
    error: errorInfo(error),
  }
}

/** `instanceof` alone narrows to CodedError<any>; this keeps the code a string. */
function isCoded(error: unknown): error is CodedError {
  return error instanceof CodedError
}

function errorInfo(error: unknown): ScenarioErrorInfo {
  if (error instanceof ScenarioError) {
    return { code: error.code, message: error.message, location: error.location }
  }
  if (isCoded(error)) {
    return { code: error.code, message: error.message }
  }
  return {
    code: 'INTERNAL_ERROR',
    message:
      error instanceof Error
        ? `The harness failed on this scenario: ${error.stack ?? error.message}. Please report it with the scenario file.`
        : String(error),
  }
}

/** Loads and runs one scenario file; never throws: problems become a result with verdict `error`. */
export async function runScenarioFile(file: string, target: Target): Promise<ScenarioResult> {
  const started = performance.now()
  let scenario: Scenario
  try {
    scenario = await loadScenario(file)
  } catch (error) {
    return errorResult(file, file, started, error)
  }
  return runScenario(scenario, target, started)
}

/** Runs one loaded scenario; `context.warn` hears the warnings of a remote target. */
export async function runScenario(
  scenario: Scenario,
  target: Target,
  started = performance.now(),
  context: RemoteContext = {},
): Promise<ScenarioResult> {
  const { data } = scenario
  try {
    const checks = await checksFor(scenario, target, context)
    return {
      file: scenario.file,
      name: data.name,
      source: data.source ?? null,
      verdict: checks.every((check) => check.passed) ? 'passed' : 'failed',
      durationMs: performance.now() - started,
      checks,
    }
  } catch (error) {
    return { ...errorResult(scenario.file, data.name, started, error), source: data.source ?? null }
  }
}

/**
 * Runs every scenario file the paths name (files, or folders searched for .yaml/.yml), one after
 * another, and collects the results. A path that does not exist is an `error` result, not a throw.
 */
export async function runScenarios(
  paths: readonly string[],
  target: Target,
  options: RunOptions = {},
): Promise<RunResult> {
  const startedAt = new Date().toISOString()
  const started = performance.now()
  const scenarios: ScenarioResult[] = []
  const record = (result: ScenarioResult): void => {
    scenarios.push(result)
    options.onResult?.(result)
  }
  let files: string[] = []
  try {
    files = await findScenarioFiles(paths)
  } catch (error) {
    record(
      errorResult(
        error instanceof ScenarioError ? error.file : String(paths),
        'scenario files',
        started,
        error,
      ),
    )
  }
  const warned = new Set<string>()
  const context: RemoteContext = {
    warn: (key, message) => {
      if (!warned.has(key)) {
        warned.add(key)
        options.onWarning?.(message)
      }
    },
  }
  const tags = options.tags ?? []
  // A CA that did not answer one scenario will not answer the next: waiting for each one's
  // timeout would only hold the pipeline (40 scenarios x 10 s).
  let unreachable: { file: string } | null = null
  for (const file of files) {
    const fileStarted = performance.now()
    let scenario: Scenario
    try {
      scenario = await loadScenario(file)
    } catch (error) {
      record(errorResult(file, file, fileStarted, error))
      continue
    }
    if (tags.length > 0 && !(scenario.data.tags ?? []).some((tag) => tags.includes(tag))) {
      continue
    }
    if (unreachable) {
      record(
        errorResult(
          file,
          scenario.data.name,
          fileStarted,
          new ScenarioRunError(
            'CA_UNREACHABLE',
            `Not run: the target did not answer for ${unreachable.file} (its error says why).`,
          ),
        ),
      )
      continue
    }
    const result = await runScenario(scenario, target, fileStarted, context)
    record(result)
    if (target.kind !== 'in-process' && result.error?.code === 'CA_UNREACHABLE') {
      unreachable = { file }
    }
  }
  if (files.length > 0 && scenarios.length === 0 && tags.length > 0) {
    // A tag nobody carries (a typo in a CI job) must not make an empty, green run.
    record(
      errorResult(
        paths.join(', '),
        'scenario files',
        started,
        new ScenarioError('SCENARIO_NOT_FOUND', paths.join(', '), [
          {
            path: '',
            reason: `holds no scenario tagged ${tags.join(' or ')}`,
            line: null,
            column: null,
          },
        ]),
      ),
    )
  }
  if (files.length === 0 && scenarios.length === 0) {
    record(
      errorResult(
        paths.join(', '),
        'scenario files',
        started,
        new ScenarioError('SCENARIO_NOT_FOUND', paths.join(', '), [
          { path: '', reason: 'holds no .yaml or .yml scenario file', line: null, column: null },
        ]),
      ),
    )
  }
  return {
    target: describeTarget(target),
    startedAt,
    durationMs: performance.now() - started,
    scenarios,
  }
}
