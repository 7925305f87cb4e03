import type { z } from 'zod'

/**
 * Zod problems as one line that names the field, the way both servers report a stored record, an
 * option or a request body that is not of the right shape: `model.cards[3].pin is invalid:
 * expected string, received number`, `smartcards[0].caClientId is missing`.
 */

/** `model.cards[3].pin` from an issue path; '' for the top level. */
export function issuePath(path: readonly PropertyKey[]): string {
  let out = ''
  for (const part of path) {
    out += typeof part === 'number' ? `[${part}]` : `${out === '' ? '' : '.'}${String(part)}`
  }
  return out
}

/** The value at an issue's path in the data that was checked (undefined: it is not there). */
function valueAt(data: unknown, path: readonly PropertyKey[]): unknown {
  let value = data
  for (const part of path) {
    value =
      typeof value === 'object' && value !== null && Object.hasOwn(value, part)
        ? (value as Record<PropertyKey, unknown>)[part]
        : undefined
  }
  return value
}

/** The name of a value's type as zod's own messages give it (`null`, `array`, `NaN`...). */
function typeName(value: unknown): string {
  if (value === null) {
    return 'null'
  }
  if (Array.isArray(value)) {
    return 'array'
  }
  if (typeof value === 'number' && !Number.isFinite(value)) {
    return String(value)
  }
  return typeof value
}

function shown(value: unknown): string {
  return typeof value === 'bigint' ? `${value}n` : (JSON.stringify(value) ?? String(value))
}

/**
 * The house wording of zod's generic issues, as a per-parse error map: pass it as
 * `schema.safeParse(data, { error: issueWords })`. Messages a schema sets itself take precedence.
 * Issues it does not word keep zod's own message.
 */
export function issueWords(issue: z.core.$ZodRawIssue): string | undefined {
  switch (issue.code) {
    case 'invalid_type':
      return `is invalid: expected ${issue.expected}, received ${typeName(issue.input)}`
    case 'invalid_value':
      return issue.values.length === 1
        ? `is invalid: expected ${shown(issue.values[0])}`
        : `is invalid: expected one of ${issue.values.map(shown).join('|')}`
    case 'unrecognized_keys':
      return `has unknown field(s) ${issue.keys.map((key) => JSON.stringify(key)).join(', ')}`
    case 'too_big':
    case 'too_small':
    case 'invalid_format':
    case 'not_multiple_of':
    case 'invalid_union':
    case 'invalid_key':
    case 'invalid_element':
    case 'custom':
      return undefined
  }
}

/** How {@link formatZodError} names the top level (absent: the line starts with what is wrong). */
export interface FormatOptions {
  /** e.g. `the top level`, `The body of a reset` */
  readonly root?: string
}

/**
 * The first problem of a zod error as one line naming its field: `<path> is missing` when the
 * field is not there, else `<path> <message>` (parse with {@link issueWords} for the house words).
 */
export function formatZodError(
  error: z.ZodError,
  input: unknown,
  options: FormatOptions = {},
): string {
  const issue = error.issues[0]
  const where = issue ? issuePath(issue.path) : ''
  const what =
    issue === undefined
      ? 'is not of the right shape'
      : issue.path.length > 0 && valueAt(input, issue.path) === undefined
        ? 'is missing'
        : issue.message
  const subject = where === '' ? options.root : where
  return subject === undefined ? what : `${subject} ${what}`
}

/** A check's outcome: the parsed value, or the first problem as one line naming its field. */
export type Checked<T> =
  { readonly ok: true; readonly value: T } | { readonly ok: false; readonly problem: string }

/** Parses `input` with `schema` in the house words ({@link issueWords}, {@link formatZodError}). */
export function checkWith<S extends z.ZodType>(
  schema: S,
  input: unknown,
  options: FormatOptions = {},
): Checked<z.output<S>> {
  const parsed = schema.safeParse(input, { error: issueWords })
  return parsed.success
    ? { ok: true, value: parsed.data }
    : { ok: false, problem: formatZodError(parsed.error, input, options) }
}
