/**
 * The comparisons the checks share: two sequences of one-line renderings (requests, SOAP calls),
 * and an expected value against an actual one where the scenario names only what it cares about.
 */
import type { SequenceDiff } from './result.js'

/** One place where an actual value does not match what the scenario expected. */
export interface ValueMismatch {
  path: string
  expected: unknown
  actual: unknown
}

/** Compares two sequences, in order or as multisets, into the diff the reports render. */
export function diffSequences(
  expected: readonly string[],
  actual: readonly string[],
  ordered: boolean,
): SequenceDiff {
  const missing = unmatched(expected, actual)
  const unexpected = unmatched(actual, expected)
  const firstDivergence = ordered
    ? firstOrderedDivergence(expected, actual)
    : (missing[0]?.index ?? (unexpected.length > 0 ? expected.length : null))
  // Copies, so a caller reusing its arrays cannot change a result already recorded.
  return {
    expected: [...expected],
    actual: [...actual],
    firstDivergence,
    ordered,
    missing: missing.map((entry) => entry.line),
    unexpected: unexpected.map((entry) => entry.line),
  }
}

/** True when the diff's sequences disagree under its ordering rule. */
export function sequenceFailed(diff: SequenceDiff): boolean {
  // Judged from the lines themselves: the other fields derive from them, so they cannot outvote them.
  if (diff.ordered) {
    return firstOrderedDivergence(diff.expected, diff.actual) !== null
  }
  return (
    unmatched(diff.expected, diff.actual).length > 0 ||
    unmatched(diff.actual, diff.expected).length > 0
  )
}

/**
 * Where `actual` does not match `expected` partially: objects constrain only the keys they list,
 * arrays match element-wise at the same length, `null` expects nothing (null or undefined), and a
 * number matches a numeric string of the same value.
 */
export function partialMismatches(
  expected: unknown,
  actual: unknown,
  path: string,
): ValueMismatch[] {
  const found: ValueMismatch[] = []
  collect(expected, actual, path, found)
  return found
}

interface IndexedLine {
  readonly index: number
  readonly line: string
}

/** The lines of `lines` left over once each line of `against` has cancelled one equal line. */
function unmatched(lines: readonly string[], against: readonly string[]): IndexedLine[] {
  const available = new Map<string, number>()
  for (const line of against) {
    available.set(line, (available.get(line) ?? 0) + 1)
  }
  const left: IndexedLine[] = []
  lines.forEach((line, index) => {
    const count = available.get(line) ?? 0
    if (count > 0) {
      available.set(line, count - 1)
    } else {
      left.push({ index, line })
    }
  })
  return left
}

function firstOrderedDivergence(
  expected: readonly string[],
  actual: readonly string[],
): number | null {
  const shorter = Math.min(expected.length, actual.length)
  for (let index = 0; index < shorter; index += 1) {
    if (expected[index] !== actual[index]) {
      return index
    }
  }
  return expected.length === actual.length ? null : shorter
}

function collect(expected: unknown, actual: unknown, path: string, found: ValueMismatch[]): void {
  if (Array.isArray(expected)) {
    collectArray(expected, actual, path, found)
  } else if (isPlainObject(expected)) {
    collectObject(expected, actual, path, found)
  } else if (!scalarsMatch(expected, actual)) {
    found.push({ path, expected, actual })
  }
}

function collectArray(
  expected: readonly unknown[],
  actual: unknown,
  path: string,
  found: ValueMismatch[],
): void {
  // A length difference makes element-wise reports misleading (everything after a gap shifts), so
  // the whole array is reported once instead.
  if (!Array.isArray(actual) || actual.length !== expected.length) {
    found.push({ path, expected, actual })
    return
  }
  const items: readonly unknown[] = actual
  expected.forEach((item, index) => {
    collect(item, items[index], `${path}[${index}]`, found)
  })
}

function collectObject(
  expected: Readonly<Record<string, unknown>>,
  actual: unknown,
  path: string,
  found: ValueMismatch[],
): void {
  if (!isPlainObject(actual)) {
    found.push({ path, expected, actual })
    return
  }
  for (const [key, value] of Object.entries(expected)) {
    // hasOwn: an inherited `constructor` or `toString` is not a value the target returned.
    const actualValue = Object.hasOwn(actual, key) ? actual[key] : undefined
    collect(value, actualValue, childPath(path, key), found)
  }
}

function isPlainObject(value: unknown): value is Readonly<Record<string, unknown>> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return false
  }
  // A Date or a Map has no own enumerable keys, so treating it as an object would match anything.
  const prototype: unknown = Object.getPrototypeOf(value)
  return prototype === Object.prototype || prototype === null
}

const NUMERIC = /^\s*[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?\s*$/

function scalarsMatch(expected: unknown, actual: unknown): boolean {
  if (expected === actual || Object.is(expected, actual)) {
    return true
  }
  // YAML gives `~`/`null` for "absent", and the target may leave the field out or send null.
  if (expected === null || expected === undefined) {
    return actual === null || actual === undefined
  }
  // Unquoted YAML numbers (card ids, service ids) meet strings on the wire.
  if (typeof expected === 'number' && typeof actual === 'string') {
    return NUMERIC.test(actual) && Number(actual) === expected
  }
  if (typeof expected === 'string' && typeof actual === 'number') {
    return NUMERIC.test(expected) && Number(expected) === actual
  }
  if (expected instanceof Date) {
    return sameInstant(expected, actual)
  }
  return false
}

function sameInstant(expected: Date, actual: unknown): boolean {
  if (actual instanceof Date) {
    return expected.getTime() === actual.getTime()
  }
  return typeof actual === 'string' && Date.parse(actual) === expected.getTime()
}

const PLAIN_KEY = /^[^.[\]\s"'`]+$/

function childPath(path: string, key: string): string {
  if (PLAIN_KEY.test(key)) {
    return path === '' ? key : `${path}.${key}`
  }
  return `${path}[${JSON.stringify(key)}]`
}
