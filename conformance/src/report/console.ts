/** The console report: one line per scenario, details under those that did not pass. */
import type {
  CheckFailure,
  CheckResult,
  RunResult,
  ScenarioErrorInfo,
  ScenarioResult,
  SequenceDiff,
  Verdict,
} from '../result.js'
import { summaryOf } from '../result.js'
import {
  checkTitle,
  compactJson,
  displayLength,
  formatDuration,
  groupChecks,
  orderedChecks,
  padEnd,
  truncate,
  visible,
  visibleLines,
} from './text.js'

/** How the console report is rendered. */
export interface ConsoleOptions {
  /** ANSI colours; false for a pipe, a file, or `NO_COLOR`. */
  readonly color: boolean
  /**
   * Columns a side-by-side diff row may take (default {@link DEFAULT_WIDTH}, what a CI log or a
   * common terminal shows without wrapping; the CLI passes a terminal's own width).
   */
  readonly width?: number
}

/** The width of a side-by-side diff row when none is given. */
export const DEFAULT_WIDTH = 120
/** Narrowest a side-by-side column gets, however narrow the terminal. */
const MIN_COLUMN = 30
const INDENT_CHECK = '  '
const INDENT_FAILURE = '    '
const INDENT_DETAIL = '      '

// Each style closes with its own code so that styles can nest.
const ANSI = {
  bold: [1, 22],
  dim: [2, 22],
  red: [31, 39],
  green: [32, 39],
  yellow: [33, 39],
} as const

type Style = keyof typeof ANSI
type Paint = (style: Style, text: string) => string

const MARKS: Readonly<Record<Verdict, { readonly mark: string; readonly style: Style }>> = {
  passed: { mark: '✓', style: 'green' },
  failed: { mark: '✗', style: 'red' },
  error: { mark: '!', style: 'yellow' },
}

/** The whole run as terminal text, ending with a newline. */
export function renderConsole(run: RunResult, options: ConsoleOptions): string {
  const paint = painter(options.color)
  const lines = [paint('dim', `target: ${visible(run.target)}`), '']
  for (const scenario of run.scenarios) {
    lines.push(...scenarioLines(scenario, paint, widthOf(options)))
  }
  if (lines.at(-1) !== '') {
    lines.push('')
  }
  lines.push(summaryLine(run, paint))
  return `${lines.join('\n')}\n`
}

/** One scenario as renderConsole shows it, ending with a newline: for streaming results as they come. */
export function renderConsoleScenario(scenario: ScenarioResult, options: ConsoleOptions): string {
  return `${scenarioLines(scenario, painter(options.color), widthOf(options)).join('\n')}\n`
}

/** The closing `N scenarios: P passed, F failed, E errors (12.3 s)` line, without a newline. */
export function renderConsoleSummary(run: RunResult, options: ConsoleOptions): string {
  return summaryLine(run, painter(options.color))
}

/**
 * The failed checks of one scenario (failures, diffs, skipped items), without the header line:
 * those of the steps in step order, each named with its step label, then those of the whole scenario.
 */
export function renderFailedChecks(scenario: ScenarioResult, options: ConsoleOptions): string {
  const paint = painter(options.color)
  return orderedChecks(scenario.checks)
    .filter((check) => !check.passed)
    .flatMap((check) => checkLines(check, paint, widthOf(options)))
    .join('\n')
}

/**
 * Every check of one scenario grouped by step, in `when` order, then the checks of the whole
 * scenario under `whole scenario:`: one `step 3 (advance 90s): FAILED` line per check, followed
 * (with `details`) by its failures and diffs; skipped items always.
 */
export function renderCheckList(
  scenario: ScenarioResult,
  options: ConsoleOptions & { readonly details: boolean },
): string {
  const paint = painter(options.color)
  const groups = groupChecks(scenario.checks)
  const titled = groups.some((group) => group.step !== null)
  const lines: string[] = []
  for (const group of groups) {
    // Step checks carry their label; the others are told apart by a heading, when steps came first.
    const indent = group.step === null && titled ? INDENT_CHECK : ''
    if (indent !== '') {
      lines.push('whole scenario:')
    }
    for (const check of group.checks) {
      const status = check.passed ? 'passed' : paint('red', 'FAILED')
      lines.push(`${indent}${visible(checkTitle(check))}: ${status}`)
      if (options.details) {
        lines.push(...check.failures.flatMap((f) => failureLines(f, paint, widthOf(options))))
      }
      lines.push(...skippedLines(check, paint))
    }
  }
  return lines.join('\n')
}

/** Why a scenario could not be run: code, location and message. */
export function renderScenarioError(error: ScenarioErrorInfo, options: ConsoleOptions): string {
  return errorLines(error, painter(options.color)).join('\n')
}

function widthOf(options: ConsoleOptions): number {
  const width = options.width
  return width !== undefined && Number.isFinite(width) && width > 0 ? width : DEFAULT_WIDTH
}

function painter(color: boolean): Paint {
  if (!color) {
    return (_style, text) => text
  }
  return (style, text) => {
    const [open, close] = ANSI[style]
    return `\u001b[${open}m${text}\u001b[${close}m`
  }
}

function scenarioHeader(scenario: ScenarioResult, paint: Paint): string {
  const { mark, style } = MARKS[scenario.verdict]
  return [
    paint(style, mark),
    paint('bold', visible(scenario.name)),
    ` ${paint('dim', visible(scenario.file))}`,
    ` ${paint('dim', formatDuration(scenario.durationMs))}`,
  ].join(' ')
}

/** The header line, then the details followed by a blank line when there are any. */
function scenarioLines(scenario: ScenarioResult, paint: Paint, width: number): string[] {
  const details = scenarioDetails(scenario, paint, width)
  return [scenarioHeader(scenario, paint), ...details, ...(details.length > 0 ? [''] : [])]
}

function scenarioDetails(scenario: ScenarioResult, paint: Paint, width: number): string[] {
  const lines: string[] = []
  if (scenario.error !== undefined) {
    lines.push(...errorLines(scenario.error, paint))
  } else if (scenario.verdict === 'error') {
    lines.push(`${INDENT_CHECK}${paint('yellow', 'error')}: the scenario could not be run`)
  }
  // Passed checks stay quiet unless they skipped something the reader should know about.
  for (const check of orderedChecks(scenario.checks)) {
    if (!check.passed || (check.skipped?.length ?? 0) > 0) {
      lines.push(...checkLines(check, paint, width))
    }
  }
  return lines
}

function errorLines(error: ScenarioErrorInfo, paint: Paint): string[] {
  const where = error.location === undefined ? '' : ` at ${visible(error.location)}`
  const [first = '', ...rest] = visibleLines(error.message)
  return [
    `${INDENT_CHECK}${paint('yellow', `error ${visible(error.code)}`)}${where}: ${first}`,
    ...rest.map((line) => `${INDENT_FAILURE}${line}`),
  ]
}

function checkLines(check: CheckResult, paint: Paint, width: number): string[] {
  const mark = check.passed ? paint('green', '✓') : paint('red', '✗')
  const lines = [`${INDENT_CHECK}${mark} ${visible(checkTitle(check))}`]
  // A step check's messages start with the step's label so they stand alone in JUnit and JSON;
  // under the check's own title line the terminal leaves that repetition out.
  const repeated = `${check.name}: `
  for (const failure of check.failures) {
    const message = failure.message.startsWith(repeated)
      ? failure.message.slice(repeated.length)
      : failure.message
    lines.push(...failureLines({ ...failure, message }, paint, width))
  }
  lines.push(...skippedLines(check, paint))
  return lines
}

function skippedLines(check: CheckResult, paint: Paint): string[] {
  return (check.skipped ?? []).map((item) =>
    paint('dim', `${INDENT_FAILURE}skipped: ${visible(item)}`),
  )
}

function failureLines(failure: CheckFailure, paint: Paint, width: number): string[] {
  const [first = '', ...rest] = visibleLines(failure.message)
  const at = failure.path === undefined ? '' : paint('dim', ` (at ${visible(failure.path)})`)
  const lines = [`${INDENT_FAILURE}${first}${at}`, ...rest.map((line) => INDENT_DETAIL + line)]
  if (failure.diff !== undefined) {
    lines.push(...diffLines(failure.diff, paint, width))
  } else if (Object.hasOwn(failure, 'expected') || Object.hasOwn(failure, 'actual')) {
    lines.push(
      `${INDENT_DETAIL}expected: ${paint('green', visible(compactJson(failure.expected)))}`,
      `${INDENT_DETAIL}actual:   ${paint('red', visible(compactJson(failure.actual)))}`,
    )
  }
  return lines
}

function diffLines(diff: SequenceDiff, paint: Paint, width: number): string[] {
  return diff.ordered ? sideBySide(diff, paint, width) : unorderedLines(diff, paint)
}

/**
 * One row's two cells cut to `column` code points. When the lines differ and one does not fit,
 * both show the same window, starting a little before the first character that differs, so the
 * difference stays in view (`…serviceCaId=BFB3 distributor=Main → COMPLETED`).
 */
function cells(expected: string, actual: string, column: number): [string, string] {
  const left = Array.from(expected)
  const right = Array.from(actual)
  if ((left.length <= column && right.length <= column) || expected === actual) {
    return [truncate(expected, column), truncate(actual, column)]
  }
  let differs = 0
  while (differs < left.length && differs < right.length && left[differs] === right[differs]) {
    differs += 1
  }
  const start = Math.max(0, differs - Math.floor((column * 2) / 5))
  const window = (chars: string[]): string => {
    if (chars.length <= column || start === 0) {
      return truncate(chars.join(''), column)
    }
    return truncate(`…${chars.slice(start + 1).join('')}`, column)
  }
  return [window(left), window(right)]
}

function sideBySide(diff: SequenceDiff, paint: Paint, width: number): string[] {
  const rows = Math.max(diff.expected.length, diff.actual.length)
  const numberWidth = String(rows).length
  // The row: indent, marker, number, two columns and the separator between them.
  const gutter = INDENT_DETAIL.length + 2 + 1 + numberWidth + 2 + 3
  const column = Math.max(MIN_COLUMN, Math.floor((width - gutter) / 2))
  const left: string[] = []
  const right: string[] = []
  for (let index = 0; index < rows; index += 1) {
    const expected = diff.expected[index]
    const actual = diff.actual[index]
    const [l, r] = cells(visible(expected ?? ''), visible(actual ?? ''), column)
    if (expected !== undefined) {
      left.push(l)
    }
    if (actual !== undefined) {
      right.push(r)
    }
  }
  // reduce, not Math.max(...): a spread of a very long sequence would overflow the call stack.
  const leftWidth = left.reduce((widest, line) => Math.max(widest, displayLength(line)), 8)
  const lines = [
    paint(
      'dim',
      `${INDENT_DETAIL}   ${'#'.padStart(numberWidth)}  ${padEnd('expected', leftWidth)} │ actual`,
    ),
  ]
  for (let index = 0; index < rows; index += 1) {
    const differs = diff.expected[index] !== diff.actual[index]
    const marker = index === diff.firstDivergence ? paint('red', '>>') : '  '
    const number = String(index + 1).padStart(numberWidth)
    const expected = padEnd(left[index] ?? '', leftWidth)
    const actual = right[index] ?? ''
    const row = differs
      ? `${paint('green', expected)} │ ${paint('red', actual)}`
      : `${expected} │ ${actual}`
    lines.push(`${INDENT_DETAIL}${marker} ${number}  ${row}`.trimEnd())
  }
  if (diff.firstDivergence !== null) {
    const row = diff.firstDivergence
    lines.push(`${INDENT_DETAIL}first divergence at row ${row + 1}:`)
    // The columns may cut the very part that differs: the diverging row is shown whole.
    lines.push(
      paint('green', `${INDENT_DETAIL}  expected: ${visible(diff.expected[row] ?? '(nothing)')}`),
    )
    lines.push(
      paint('red', `${INDENT_DETAIL}  actual:   ${visible(diff.actual[row] ?? '(nothing)')}`),
    )
  }
  return lines
}

function unorderedLines(diff: SequenceDiff, paint: Paint): string[] {
  if (diff.missing.length === 0 && diff.unexpected.length === 0) {
    return [paint('dim', `${INDENT_DETAIL}order not checked: the same lines`)]
  }
  return [
    paint(
      'dim',
      `${INDENT_DETAIL}order not checked: ${diff.missing.length} missing, ${diff.unexpected.length} unexpected`,
    ),
    ...diff.missing.map((line) => paint('green', `${INDENT_DETAIL}- ${visible(line)}`)),
    ...diff.unexpected.map((line) => paint('red', `${INDENT_DETAIL}+ ${visible(line)}`)),
  ]
}

function summaryLine(run: RunResult, paint: Paint): string {
  const { total, passed, failed, errors } = summaryOf(run)
  const count = (n: number, label: string, style: Style): string =>
    n > 0 ? paint(style, `${n} ${label}`) : `${n} ${label}`
  const duration = (
    Number.isFinite(run.durationMs) ? Math.max(0, run.durationMs) / 1000 : 0
  ).toFixed(1)
  return `${total} scenarios: ${count(passed, 'passed', 'green')}, ${count(failed, 'failed', 'red')}, ${count(errors, 'errors', 'yellow')} (${duration} s)`
}
