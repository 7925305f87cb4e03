import { z } from 'zod'
import { REQUEST_TYPES, conaxCommandSchema } from '../../domain/commands.js'
import { SUBSCRIPTION_STATES } from '../../domain/crm.js'
import {
  ERROR_CLASSES,
  LIFE_CYCLE_STATES,
  PRIORITIES,
  PROCESS_NAMES,
} from '../../domain/provisioning-request.js'

/**
 * The shapes of the records a file store reads back (provisioning requests and subscriptions),
 * checked deeply when a store is opened: a damaged record is refused with its place named, rather
 * than loaded and failing later inside a request.
 */

const text = z.string()
const optionalText = z.string().nullable()
const distributor = { distributor: optionalText }
const cards = z.array(text)

const requestSchema = z
  .object({
    id: text,
    number: z.string().regex(/^[1-9][0-9]*$/, 'must be a request number: 1, 2, ...'),
    type: z.enum(REQUEST_TYPES),
    sequenceNumber: z.number().int(),
    priority: z.enum(PRIORITIES),
    processImmediately: z.boolean(),
    scheduledDate: optionalText,
    executedDate: optionalText,
    lifeCycleState: z.enum(LIFE_CYCLE_STATES),
    // Each command's shape is declared with the command (domain/commands/).
    command: conaxCommandSchema,
    request: optionalText,
    response: optionalText,
    referenceNumber: optionalText,
    errorCode: optionalText,
    errorDescription: optionalText,
    processName: z.enum(PROCESS_NAMES),
    processId: optionalText,
    subscriptionId: optionalText,
    result: z.unknown(),
    attempts: z.number().int().min(0),
    nextAttemptAt: optionalText,
    // Fields added after the first stores were written: optional, defaulted when loaded.
    errorClass: z.enum(ERROR_CLASSES).nullable().optional(),
    precedence: z.number().int().optional(),
    splitFrom: optionalText.optional(),
    splitInto: z.array(text).nullable().optional(),
    actionId: optionalText.optional(),
    createdAt: text,
    updatedAt: text,
  })
  .refine((request) => request.command.type === request.type, {
    message: 'names another command type than its command',
    path: ['type'],
  })

const subscriptionSchema = z.object({
  id: text,
  type: optionalText,
  state: z.enum(SUBSCRIPTION_STATES),
  services: z.array(
    z.object({ service: text, ...distributor, state: z.enum(['EFFECTIVE', 'NOT_EFFECTIVE']) }),
  ),
  installedItems: z.array(
    z.object({
      serialNumber: text,
      product: text,
      kind: z.enum(['SMARTCARD', 'STB']),
      caId: text,
      ...distributor,
    }),
  ),
  swaps: z.array(z.object({ from: cards, to: cards, ...distributor })),
  createdAt: text,
  updatedAt: text,
})

/** `command.smartcardCaIds[2]` from a zod path. */
/** The value at a zod issue's path in the data that was checked. */
function valueAt(data: unknown, path: readonly PropertyKey[]): unknown {
  let value = data
  for (const part of path) {
    value =
      typeof value === 'object' && value !== null
        ? (value as Record<PropertyKey, unknown>)[part]
        : undefined
  }
  return value
}

function pathText(path: readonly PropertyKey[]): string {
  let out = ''
  for (const part of path) {
    out += typeof part === 'number' ? `[${part}]` : `${out === '' ? '' : '.'}${String(part)}`
  }
  return out
}

function problemOf(value: unknown, result: z.ZodSafeParseResult<unknown>): string | null {
  if (result.success) {
    return null
  }
  const issue = result.error.issues[0]
  if (issue === undefined) {
    return 'is not of the right shape'
  }
  const where = pathText(issue.path)
  const what =
    issue.path.length > 0 && valueAt(value, issue.path) === undefined
      ? 'is missing'
      : issue.message.replace(/^Invalid (input|option): /, 'is invalid: ')
  return where === '' ? what : `${where} ${what}`
}

/** Why a stored value is not a provisioning request (one line, naming the field), or null. */
export function requestProblem(value: unknown): string | null {
  return problemOf(value, requestSchema.safeParse(value))
}

/** Why a stored value is not a subscription (one line, naming the field), or null. */
export function subscriptionProblem(value: unknown): string | null {
  return problemOf(value, subscriptionSchema.safeParse(value))
}
