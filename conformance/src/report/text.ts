/** Text helpers and the order of checks, which the three reports share. */
import type { CheckResult } from '../result.js'

// C0, DEL and C1 controls: in a terminal they move the cursor or start escape sequences, in XML
// most are illegal, in HTML they are invisible. Scenario text may carry any of them.
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g

const NAMED_CONTROLS: Readonly<Record<string, string>> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' }

/** `text` on one line with every control character shown as an escape (`\n`, `\u0007`). */
export function visible(text: string): string {
  return text.replace(
    CONTROL,
    (char) => NAMED_CONTROLS[char] ?? `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`,
  )
}

/** The lines of a possibly multi-line text, each made visible. */
export function visibleLines(text: string): string[] {
  return text.split(/\r\n|\n|\r/).map(visible)
}

/** Length in code points, so an emoji or an astral character counts once. */
export function displayLength(text: string): number {
  return Array.from(text).length
}

/** `text` cut to `width` code points, the last one replaced by `…` when something was cut. */
export function truncate(text: string, width: number): string {
  const chars = Array.from(text)
  return chars.length <= width ? text : `${chars.slice(0, width - 1).join('')}…`
}

/** `text` padded with spaces on the right to `width` code points. */
export function padEnd(text: string, width: number): string {
  return text + ' '.repeat(Math.max(0, width - displayLength(text)))
}

/** `35 ms` under a second, `1.2 s` above. */
export function formatDuration(ms: number): string {
  const safe = finiteNonNegative(ms)
  return safe < 1000 ? `${Math.round(safe)} ms` : `${(safe / 1000).toFixed(1)} s`
}

/** Milliseconds as seconds with three decimals (JUnit `time`). */
export function seconds(ms: number): string {
  return (finiteNonNegative(ms) / 1000).toFixed(3)
}

/** A value as compact JSON, or a readable stand-in for what JSON cannot hold. */
export function compactJson(value: unknown): string {
  if (value === undefined) {
    return 'undefined'
  }
  try {
    const json = JSON.stringify(value, (_key, item: unknown) =>
      typeof item === 'bigint' ? `${item}n` : item,
    ) as string | undefined
    // Functions and symbols stringify to undefined: they are no JSON but still worth naming.
    return json ?? standIn(value)
  } catch {
    return '[value that cannot be shown as JSON]'
  }
}

function finiteNonNegative(ms: number): number {
  return Number.isFinite(ms) && ms > 0 ? ms : 0
}

function standIn(value: unknown): string {
  if (typeof value === 'function') {
    return `[function ${value.name}]`
  }
  return typeof value === 'symbol' ? value.toString() : `[${typeof value}]`
}

/** The checks of one step's `expect` (`step` set), or the checks of the whole scenario (`step` null). */
export interface CheckGroup {
  readonly step: { readonly index: number; readonly label: string } | null
  readonly checks: readonly CheckResult[]
}

/**
 * Checks in reading order: one group per step that has checks, in `when` order, then one group of
 * the checks of the whole scenario (`then`, the replay to a fresh CA). Within a group, checks keep
 * the order the run made them in.
 */
export function groupChecks(checks: readonly CheckResult[]): CheckGroup[] {
  const steps = new Map<number, { step: CheckGroup['step']; checks: CheckResult[] }>()
  const whole: CheckResult[] = []
  for (const check of checks) {
    if (check.step === undefined) {
      whole.push(check)
      continue
    }
    const group = steps.get(check.step.index)
    if (group === undefined) {
      steps.set(check.step.index, { step: check.step, checks: [check] })
    } else {
      group.checks.push(check)
    }
  }
  const groups: CheckGroup[] = [...steps.entries()]
    .sort(([a], [b]) => a - b)
    .map(([, group]) => group)
  return whole.length === 0 ? groups : [...groups, { step: null, checks: whole }]
}

/** The checks in the order {@link groupChecks} gives them. */
export function orderedChecks(checks: readonly CheckResult[]): CheckResult[] {
  return groupChecks(checks).flatMap((group) => group.checks)
}

/**
 * A check's name with its step label in front (`step 3 (advance 90s): adapter: requests`); a step
 * check named after its step (as the engine names them) is just the label.
 */
export function checkTitle(check: CheckResult): string {
  if (check.step === undefined || check.name === check.step.label) {
    return check.name
  }
  return check.name.startsWith(`${check.step.label}:`)
    ? check.name
    : `${check.step.label}: ${check.name}`
}
