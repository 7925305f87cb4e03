import type { z } from 'zod'
import type { ConfigIssue } from './config-error.js'

/** Known field names per object, keyed by path pattern with list items as `[]` (e.g. `services[]`). */
export type FieldNames = Readonly<Record<string, readonly string[]>>

// Words for zod's `expected` names; configuration authors think in YAML, not in JS types.
const EXPECTED: Readonly<Record<string, string>> = {
  string: 'text',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
  object: 'a mapping of fields',
  array: 'a list',
}

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/

function describeValue(value: unknown): string {
  if (value === null) {
    return 'an empty value'
  }
  if (Array.isArray(value)) {
    return 'a list'
  }
  const type = typeof value
  switch (type) {
    case 'string':
      return 'text'
    case 'number':
    case 'bigint':
      return 'a number'
    case 'boolean':
      return value === true ? 'true' : 'false'
    case 'object':
      return 'a mapping of fields'
    case 'undefined':
    case 'function':
    case 'symbol':
      return type
  }
}

function typeRule(expected: string, input: unknown): string {
  if (input === undefined) {
    return 'is required'
  }
  if (input === null) {
    return 'is required but has no value'
  }
  if (expected === 'string' && (typeof input === 'number' || typeof input === 'boolean')) {
    // YAML reads 01450253313 as a number and drops the leading zero: only quotes keep codes intact.
    return `must be text, not ${describeValue(input)}: put it in quotes`
  }
  return `must be ${EXPECTED[expected] ?? expected}, not ${describeValue(input)}`
}

function sizeRule(origin: string, bound: 'at least' | 'at most', limit: number | bigint): string {
  switch (origin) {
    case 'array':
      return `must have ${bound} ${limit} item(s)`
    case 'string':
      return `must be ${bound} ${limit} character(s) long`
    default:
      return `must be ${bound} ${limit}`
  }
}

/**
 * A zod error map that words the generic issues (wrong type, missing, not one of the allowed
 * values) as rules a person can act on. Schema-specific messages take precedence over it.
 */
export function plainWords(issue: z.core.$ZodRawIssue): string | undefined {
  switch (issue.code) {
    case 'invalid_type':
      return typeRule(issue.expected, issue.input)
    case 'invalid_value': {
      const values = issue.values.map(String)
      const allowed = values.length === 1 ? values.join('') : `one of ${values.join(', ')}`
      return issue.input === undefined ? `is required: ${allowed}` : `must be ${allowed}`
    }
    case 'too_small':
      return sizeRule(issue.origin, 'at least', issue.minimum)
    case 'too_big':
      return sizeRule(issue.origin, 'at most', issue.maximum)
    case 'unrecognized_keys':
      return 'is not a known field'
    case 'invalid_union':
      return 'does not match any of the allowed forms'
    // zod's own words for these, or the schema's message.
    case 'invalid_format':
    case 'not_multiple_of':
    case 'invalid_key':
    case 'invalid_element':
    case 'custom':
      return undefined
  }
}

/** A zod issue path as the user reads it: `distributors[1].allowedServices[0]`, `''` for the top level. */
export function formatPath(path: readonly PropertyKey[], listItem?: '[]'): string {
  let text = ''
  for (const part of path) {
    if (typeof part === 'number') {
      text += listItem ?? `[${part}]`
    } else {
      const name = String(part)
      text += IDENTIFIER.test(name)
        ? text === ''
          ? name
          : `.${name}`
        : `[${JSON.stringify(name)}]`
    }
  }
  return text
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, index) => index)
  for (let i = 1; i <= a.length; i++) {
    const current = [i]
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1)
      current[j] = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution)
    }
    previous = current
  }
  return previous[b.length] ?? 0
}

// snake_case and kebab-case spellings are the likeliest slips: CRM.COM's own APIs use snake_case.
function normalise(name: string): string {
  return name.replace(/[-_\s]/g, '').toLowerCase()
}

/** The known field closest to a misspelt one, if any is close enough to be a likely typo. */
export function closestField(name: string, known: readonly string[]): string | undefined {
  const wanted = normalise(name)
  const exact = known.find((field) => normalise(field) === wanted)
  if (exact !== undefined) {
    return exact
  }
  let best: { field: string; distance: number } | undefined
  for (const field of known) {
    const distance = editDistance(wanted, normalise(field))
    if (distance <= 2 && (best === undefined || distance < best.distance)) {
      best = { field, distance }
    }
  }
  return best?.field
}

function unknownFieldRule(name: string, known: readonly string[]): string {
  const suggestion = closestField(name, known)
  if (suggestion !== undefined) {
    return `is not a known field: did you mean ${suggestion}? Fix the spelling or remove it`
  }
  const fields = known.length > 0 ? ` (known fields here: ${known.join(', ')})` : ''
  return `is not a known field: fix the spelling or remove it${fields}`
}

/** Turns zod issues into one {@link ConfigIssue} per failing field, one per unknown key. */
export function toConfigIssues(
  issues: readonly z.core.$ZodIssue[],
  fieldNames: FieldNames,
): ConfigIssue[] {
  return issues.flatMap((issue) => {
    if (issue.code !== 'unrecognized_keys') {
      return [{ path: formatPath(issue.path), rule: issue.message }]
    }
    const known = fieldNames[formatPath(issue.path, '[]')] ?? []
    return issue.keys.map((key) => ({
      path: formatPath([...issue.path, key]),
      rule: unknownFieldRule(key, known),
    }))
  })
}
