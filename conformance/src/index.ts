/**
 * The conformance harness's public surface: run scenario files against a target, and explore
 * random CRM histories for broken invariants.
 * @module
 */
export { describeTarget, runScenario, runScenarioFile, runScenarios } from './runner.js'
export type { RunOptions, Target } from './runner.js'
export { explore, EXPLORER_PROVIDER_FILE } from './explore/explore.js'
export type {
  ExploreFailure,
  ExploreOptions,
  ExploreProgress,
  ExploreResult,
} from './explore/explore.js'
export { INVARIANTS } from './explore/invariants.js'
export type { InvariantName, Violation } from './explore/invariants.js'
export { exitCodeOf, summaryOf } from './result.js'
export type {
  CheckFailure,
  CheckResult,
  CheckSide,
  RunResult,
  ScenarioErrorInfo,
  ScenarioResult,
  SequenceDiff,
  Verdict,
} from './result.js'
export { renderHtml } from './report/html.js'
export { renderJunit } from './report/junit.js'
export { shippedScenarioFolder } from './cli/package-root.js'
