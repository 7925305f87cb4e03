import { z } from 'zod'
import { checkWith } from '../../../common/zod-issues.js'
import type { InventoryInput } from '../model/inventory.js'
import { SimulatorError } from '../runtime/simulator-error.js'

/**
 * What the admin API takes, as zod schemas: the JSON bodies and the query parameters of its
 * routes. A refusal is a coded error whose message names the field; nothing is changed by it.
 */

/** A JSON text cut to a length a message can carry. */
export const shown = (value: unknown): string => {
  const text = JSON.stringify(value) ?? String(value)
  return text.length > 60 ? `${text.slice(0, 60)}…` : text
}

/** An object body that takes only `shape`'s fields, so a misspelt field is never silently dropped. */
function strictBody<Shape extends z.core.$ZodLooseShape>(shape: Shape) {
  const fields = Object.keys(shape).join(', ')
  return z.strictObject(shape, {
    error: (issue) =>
      issue.code === 'invalid_type'
        ? `must be a JSON object, not ${shown(issue.input)}`
        : issue.code === 'unrecognized_keys'
          ? `has unknown field(s) ${issue.keys.map((key) => shown(key)).join(', ')}; it takes ${fields}`
          : undefined,
  })
}

/** Reads an optional JSON object body (absent is `{}`); throws INVALID_REQUEST naming the field. */
function readBody<T>(schema: z.ZodType<T>, body: unknown, what: string): T {
  const checked = checkWith(schema, body ?? {}, { root: `The body of ${what}` })
  if (!checked.ok) {
    throw new SimulatorError('INVALID_REQUEST', `${checked.problem}. Nothing was changed.`)
  }
  return checked.value
}

const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/

/** An ISO-8601 date-time with a zone, answered in UTC (`...Z`); null or absent is null. */
const dateTime = z
  .custom<string>(
    (value) =>
      typeof value === 'string' && ISO_DATE_TIME.test(value) && !Number.isNaN(Date.parse(value)),
    'must be an ISO-8601 date-time with a zone, e.g. 2026-11-26T10:00:00Z',
  )
  // What the OpenAPI document shows of the check, which JSON Schema cannot express.
  .meta({ type: 'string', format: 'date-time' })
  .transform((value) => new Date(Date.parse(value)).toISOString())
  .nullish()
  .transform((value) => value ?? null)

const activationSchema = strictBody({
  distributor: z
    .string({ error: 'must be a string when given' })
    .nullish()
    .transform((value) => value ?? null),
  startDate: dateTime,
  endDate: dateTime,
})

/** `PUT /admin/cards/:id/subscriptions/:productId`: who sold it and when it runs (dates default later). */
export function readActivation(body: unknown): z.output<typeof activationSchema> {
  return readBody(activationSchema, body, 'a direct activation')
}

const resetSchema = strictBody({
  keepInventory: z
    .boolean({ error: (issue) => `must be true or false, not ${shown(issue.input)}` })
    .optional(),
})

/** `POST /admin/reset`: whether cards, STBs and products stay. */
export function readReset(body: unknown): boolean {
  return readBody(resetSchema, body, 'a reset').keepInventory === true
}

const clockSchema = z.strictObject({ advanceMs: z.number().int().min(0) })

/** `POST /admin/clock`: how far to move the clock forward, in ms. */
export function readClockAdvance(body: unknown): number {
  const checked = checkWith(clockSchema, body ?? {})
  if (!checked.ok) {
    throw new SimulatorError(
      'INVALID_REQUEST',
      'The clock takes {"advanceMs": n} with n a whole number of milliseconds of at least 0: it only moves forward.',
    )
  }
  return checked.value.advanceMs
}

const registration = {
  /** The SMS user it belongs to; null or absent: see InventoryInput. */
  sms: z.string({ error: 'must be a string when given' }).nullish(),
}

const inventorySchema = z.strictObject(
  {
    smartcards: z
      .array(z.object({ caClientId: z.string({ error: 'must be a string' }), ...registration }))
      .exactOptional(),
    pairingModules: z
      .array(
        z.object({
          pairingModuleId: z.string({ error: 'must be a string' }),
          serialNumber: z.string({ error: 'must be a string' }),
          productCode: z.string({ error: 'must be a string' }),
          productDescription: z.string({ error: 'must be a string' }),
          ...registration,
        }),
      )
      .exactOptional(),
    products: z
      .array(
        z.object({
          productId: z.string({ error: 'must be a string' }),
          name: z.string({ error: 'must be a string when given' }).nullish(),
        }),
      )
      .exactOptional(),
  },
  {
    error: (issue) =>
      issue.code === 'invalid_type'
        ? 'must be a JSON object with smartcards, pairingModules and/or products arrays'
        : issue.code === 'unrecognized_keys'
          ? `has unknown field(s) ${issue.keys.map((key) => shown(key)).join(', ')}; expected smartcards, pairingModules or products`
          : undefined,
  },
) satisfies z.ZodType<InventoryInput>

/** The `POST /admin/inventory` shape (also a start-up inventory); throws INVALID_INVENTORY naming the item. */
export function checkInventoryShape(body: unknown): InventoryInput {
  const checked = checkWith(inventorySchema, body, { root: 'The inventory' })
  if (!checked.ok) {
    throw new SimulatorError('INVALID_INVENTORY', `${checked.problem}.`)
  }
  return checked.value
}

/** A whole number query parameter of at least `min`, read as `Number()` reads it; absent is undefined. */
const queryInt = (min: number) =>
  z
    .unknown()
    .optional()
    .transform((value, ctx): number | undefined => {
      if (value === undefined) {
        return undefined
      }
      const number = Number(value)
      if (!Number.isInteger(number) || number < min) {
        ctx.addIssue({
          code: 'custom',
          message: `must be an integer of at least ${min}, not ${JSON.stringify(value)}`,
        })
        return z.NEVER
      }
      return number
    })
    .meta({ type: 'integer', minimum: min })

/** A text query parameter; a repeated one (an array) is not a filter and is left out. */
const queryText = z
  .unknown()
  .optional()
  .transform((value) => (typeof value === 'string' ? value : undefined))
  .meta({ type: 'string' })

const cardsQuery = z.object({ offset: queryInt(0), limit: queryInt(1), contains: queryText })
const journalQuery = z.object({
  after: queryInt(0),
  since: queryInt(0),
  limit: queryInt(1),
  operation: queryText,
  service: queryText,
})

function readQuery<T>(schema: z.ZodType<T>, query: unknown): T {
  const checked = checkWith(schema, query)
  if (!checked.ok) {
    throw new SimulatorError('INVALID_REQUEST', `Query parameter ${checked.problem}.`)
  }
  return checked.value
}

/** A page size: refused above the limit rather than cut silently, so a client never misses entries unknowingly. */
function pageSize(limit: number | undefined, max: number): number | undefined {
  if (limit !== undefined && limit > max) {
    throw new SimulatorError(
      'LIMIT_EXCEEDED',
      `Query parameter limit is ${limit}, above the maximum of ${max} per page (adminPageLimit). Ask for at most ${max} and page on with offset (cards) or after (journal).`,
    )
  }
  return limit
}

/** `GET /admin/cards?offset=&limit=&contains=`: offset 0 and 100 cards unless asked, every card unless searched. */
export function readCardsQuery(
  query: unknown,
  maxPage: number,
): { offset: number; limit: number; contains: string | undefined } {
  const { offset, limit, contains } = readQuery(cardsQuery, query)
  return { offset: offset ?? 0, limit: pageSize(limit ?? 100, maxPage) ?? 100, contains }
}

/**
 * `GET /admin/journal?after=&limit=&operation=&service=` (`since` is the older name of `after`):
 * a page of at most `limit` entries, `maxPage` unless asked.
 */
export function readJournalQuery(query: unknown, maxPage: number) {
  const { after, since, ...read } = readQuery(journalQuery, query)
  if (after !== undefined && since !== undefined && after !== since) {
    throw new SimulatorError(
      'INVALID_REQUEST',
      `Query parameters after (${after}) and since (${since}) disagree; since is the older name of after: send one of them.`,
    )
  }
  return { ...read, after: after ?? since, limit: pageSize(read.limit, maxPage) ?? maxPage }
}

/** The schemas the admin API reads its bodies and queries with, for its OpenAPI document. */
export const ADMIN_REQUEST_SCHEMAS = {
  activation: activationSchema,
  reset: resetSchema,
  clock: clockSchema,
  inventory: inventorySchema,
  cardsQuery,
  journalQuery,
} as const
