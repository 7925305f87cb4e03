/**
 * What a conformance run found: one result per scenario, each made of checks (the adapter's
 * emitted sequence, the CA's answers, the CA state...). Reports (console, JUnit, HTML) render these
 * plain values and nothing else.
 */

/** passed: every check held; failed: a check did not; error: the scenario could not be run. */
export type Verdict = 'passed' | 'failed' | 'error'

/** Which side a check looked at. */
export type CheckSide = 'adapter' | 'ca' | 'journal'

/**
 * Two sequences side by side. Lines are one-line renderings of requests or SOAP calls
 * (`ADD_SUBSCRIPTIONS card=01450250001 service=GFA1 distributor=Main`).
 */
export interface SequenceDiff {
  readonly expected: readonly string[]
  readonly actual: readonly string[]
  /** Index of the first row where the two differ; null when they agree. */
  readonly firstDivergence: number | null
  /** False when the scenario said order does not matter (then only missing/unexpected count). */
  readonly ordered: boolean
  /** Expected lines with no actual counterpart, and actual lines nobody expected. */
  readonly missing: readonly string[]
  readonly unexpected: readonly string[]
}

/** One thing that did not hold. */
export interface CheckFailure {
  /** What differs, in words: `card 01450250001: products` or `request 2: lifeCycleState`. */
  readonly message: string
  /** Where it comes from in the scenario file (`then.ca.cards.01450250001.products`), if known. */
  readonly path?: string
  readonly expected?: unknown
  readonly actual?: unknown
  readonly diff?: SequenceDiff
}

/** One check of one scenario. */
export interface CheckResult {
  /** `adapter: requests`, `ca: answers`, `ca: state`, `journal: calls`... */
  readonly name: string
  /**
   * The step whose `expect` this check comes from (`index` 0-based into `when`, `label` such as
   * `step 3 (advance 90s)`); absent for the checks of the whole scenario (`then`, the replay).
   */
  readonly step?: { readonly index: number; readonly label: string }
  readonly side: CheckSide
  readonly passed: boolean
  readonly failures: readonly CheckFailure[]
  /** Things the target cannot show (a real CA's PIN), reported but not failed. */
  readonly skipped?: readonly string[]
}

/** Why a scenario could not be run at all (bad file, unreachable CA...). */
export interface ScenarioErrorInfo {
  readonly code: string
  readonly message: string
  /** `file:line:column` when the error is located in the scenario file. */
  readonly location?: string
}

export interface ScenarioResult {
  /** The scenario file, relative to the working directory. */
  readonly file: string
  readonly name: string
  /** Where in the seed document the scenario comes from. */
  readonly source: string | null
  readonly verdict: Verdict
  readonly durationMs: number
  readonly checks: readonly CheckResult[]
  readonly error?: ScenarioErrorInfo
}

/** The whole run. */
export interface RunResult {
  /** What was checked: `in-process adapter + simulator`, `CA at http://...`, `journal of http://...`. */
  readonly target: string
  readonly startedAt: string
  readonly durationMs: number
  readonly scenarios: readonly ScenarioResult[]
}

/** 0 when every scenario passed, 1 when one failed, 2 when one could not be run (unusable input). */
export function exitCodeOf(run: RunResult): 0 | 1 | 2 {
  if (run.scenarios.some((s) => s.verdict === 'error')) {
    return 2
  }
  return run.scenarios.some((s) => s.verdict === 'failed') ? 1 : 0
}

/** Counts by verdict. */
export function summaryOf(run: RunResult): {
  total: number
  passed: number
  failed: number
  errors: number
} {
  const count = (verdict: Verdict): number =>
    run.scenarios.filter((s) => s.verdict === verdict).length
  return {
    total: run.scenarios.length,
    passed: count('passed'),
    failed: count('failed'),
    errors: count('error'),
  }
}
