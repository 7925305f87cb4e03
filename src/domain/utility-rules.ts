import { err, ok, type Result } from './result.js'

/**
 * The field rules every utility shares (docs/domain.md §2.8): how a refusal names its field,
 * whole numbers in a range, ISO-8601 date-times, text length in characters.
 * @module
 */

/** Why a utility request was refused; nothing is sent. */
export const UTILITY_ERROR_CODES = [
  'INVALID_FIELD',
  'INVALID_CA_ID',
  'MESSAGE_TOO_LONG',
  'SUBSCRIPTION_NOT_FOUND',
  'ITEM_NOT_FOUND',
  'NO_SMARTCARD',
] as const
export type UtilityErrorCode = (typeof UTILITY_ERROR_CODES)[number]

/** A refusal naming the field at fault. */
export interface UtilityRejection {
  readonly code: UtilityErrorCode
  /** The request field at fault, e.g. `message`, `smartcards[1]`; null when no one field is. */
  readonly field: string | null
  readonly message: string
}

/** A checked value, or the refusal of the field at fault. */
export type Checked<T> = Result<T, UtilityRejection>

/** The refusal of `field` with `code`. */
export const reject = (
  code: UtilityErrorCode,
  field: string | null,
  message: string,
): Checked<never> => err({ code, field, message })

/** Bounds of the utilities' numeric fields. */
export const UTILITY_LIMITS = {
  repetitionIntervalMin: 10,
  repetitionIntervalMax: 2550,
  repetitionIntervalStep: 10,
  // No source gives a repetition count limit (docs/domain.md §3, a GAP): 255 assumes a one-byte
  // count, as the interval's 2550 = 255 × 10 s suggests. Widen it once the real limit is known.
  repetitionCountMax: 255,
  // A documented choice: the fingerprint height has no known limit either; one byte is assumed.
  heightMax: 255,
  // The wire contract types durations and positions as xs:int.
  xsIntMax: 2_147_483_647,
} as const

/** An integer in [min, max]; `rule` completes "must be ..." when the plain range is not enough. */
export function integerIn(
  field: string,
  value: number,
  [min, max]: readonly [number, number],
  rule = `an integer from ${min} to ${max}`,
): UtilityRejection | null {
  return Number.isInteger(value) && value >= min && value <= max
    ? null
    : { code: 'INVALID_FIELD', field, message: `${field}: ${value} must be ${rule}.` }
}

const ISO_DATE_TIME =
  /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:?\d{2})?$/i

/**
 * An ISO-8601 date-time as a UTC instant; one without a zone is UTC, as scheduled dates are.
 * Components are checked by hand because Date.parse rolls 2026-02-30 over into March.
 */
export function utcInstant(field: string, value: string): Checked<string> {
  const match = ISO_DATE_TIME.exec(value)
  const invalid = reject(
    'INVALID_FIELD',
    field,
    `${field}: '${value}' is not an ISO-8601 date-time such as 2026-11-26T10:00:00Z.`,
  )
  if (!match) {
    return invalid
  }
  const [year, month, day, hour, minute, second] = match
    .slice(1, 7)
    .map((part) => Number(part ?? '0')) as [number, number, number, number, number, number]
  const millis = Math.floor(Number(`0.${match[7] ?? '0'}`) * 1000)
  const zone = (match[8] ?? 'Z').toUpperCase()
  const offsetMinutes =
    zone === 'Z'
      ? 0
      : (zone.startsWith('-') ? -1 : 1) * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(-2)))
  const date = new Date(0)
  date.setUTCFullYear(year, month - 1, day)
  date.setUTCHours(hour, minute, second, millis)
  const valid =
    date.getUTCMonth() === month - 1 &&
    date.getUTCDate() === day &&
    date.getUTCHours() === hour &&
    date.getUTCMinutes() === minute &&
    date.getUTCSeconds() === second &&
    Math.abs(offsetMinutes) < 24 * 60
  return valid ? ok(new Date(date.getTime() - offsetMinutes * 60_000).toISOString()) : invalid
}

/** An optional date-time: absent or null is null, anything else a UTC instant. */
export function optionalInstant(
  field: string,
  value: string | null | undefined,
): Checked<string | null> {
  return value === undefined || value === null ? ok(null) : utcInstant(field, value)
}

/** Length in Unicode code points, so an emoji or a CJK character counts once. */
export function codePoints(text: string): number {
  let count = 0
  for (const _ of text) {
    count++
  }
  return count
}
