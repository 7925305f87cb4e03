import { CodedError } from '../../../common/coded-error.js'

/** Stable codes of unusable scenario input (exit code 2). */
export type ScenarioErrorCode =
  | 'SCENARIO_NOT_FOUND'
  | 'SCENARIO_UNREADABLE'
  | 'SCENARIO_YAML'
  | 'SCENARIO_INVALID'
  | 'PROVIDER_INVALID'

/** One problem in a scenario file, located as precisely as the parser allows. */
export interface ScenarioIssue {
  /** Dotted path of the field (`when[2].crm.services[0].service`); '' for the whole file. */
  readonly path: string
  readonly reason: string
  /** 1-based line and column in the file, when known. */
  readonly line: number | null
  readonly column: number | null
}

/**
 * A scenario file that cannot be run. Its message names the file, each issue's line, column and
 * field, and the rule, so a QA engineer can fix it without reading a stack trace.
 */
export class ScenarioError extends CodedError<ScenarioErrorCode> {
  override readonly name = 'ScenarioError'
  readonly file: string
  readonly issues: readonly ScenarioIssue[]

  constructor(code: ScenarioErrorCode, file: string, issues: readonly ScenarioIssue[]) {
    super(code, code === 'SCENARIO_NOT_FOUND' ? 404 : 400, describe(file, issues))
    this.file = file
    this.issues = issues
  }

  /** `file:line:column` of the first issue (or just the file). */
  get location(): string {
    const first = this.issues[0]
    return first?.line ? `${this.file}:${first.line}:${first.column ?? 1}` : this.file
  }
}

function describe(file: string, issues: readonly ScenarioIssue[]): string {
  const lines = issues.map((issue) => {
    const at = issue.line ? `${file}:${issue.line}:${issue.column ?? 1}` : file
    return `  ${at}${issue.path ? ` ${issue.path}` : ''}: ${issue.reason}`
  })
  return `Scenario file ${file} cannot be used (${issues.length} problem${issues.length === 1 ? '' : 's'}). Fix the lines below and run again.\n${lines.join('\n')}`
}
