import { z } from 'zod'
import { COMMUNICATION_STATES } from '../application/runs/run-ports.js'
import { distributorField as distributor, nonEmpty } from '../domain/actions/action-definition.js'
import { crmActionSchemaWith } from '../domain/actions/crm-actions.js'
import { LIFE_CYCLE_STATES, PRIORITIES, PROCESS_NAMES } from '../domain/provisioning-request.js'
import { REQUEST_TYPES } from '../domain/commands.js'
import { MESSAGE_TYPES } from '../domain/utilities.js'

/** JSON bodies and queries of the adapter's HTTP API, validated at the edge. */
const isoDate = z.iso.datetime({
  offset: true,
  local: true,
  message: 'must be an ISO-8601 date-time',
})

const sendOptions = {
  priority: z.enum(PRIORITIES).optional(),
  processImmediately: z.boolean().optional(),
  scheduledDate: isoDate.nullable().optional(),
}

/**
 * A CRM action with its send options (camelCase). The actions' own fields are declared with their
 * planning in domain/actions/ (the domain's CrmAction is inferred from the same schemas).
 */
export const crmActionSchema = crmActionSchemaWith(sendOptions)

/** CRM.COM send options in snake_case. */
const crmSend = {
  process_immediately: z.union([z.boolean(), z.literal(1), z.literal(0)]).optional(),
  scheduled_date: isoDate.nullable().optional(),
  priority: z.enum(PRIORITIES).optional(),
}

/** An identifier object naming exactly one of its fields (CRM.COM's semi-optional rule). */
function identifier<K extends string>(keys: readonly [K, ...K[]]) {
  const shape = Object.fromEntries(keys.map((key) => [key, nonEmpty.optional()])) as Record<
    K,
    z.ZodOptional<typeof nonEmpty>
  >
  return z
    .strictObject(shape)
    .refine((value) => Object.values(value).filter((v) => v !== undefined).length === 1, {
      message: `must name exactly one of ${keys.join(', ')}`,
    })
}

/** POST conax_web_services/provisioning_requests/add_subscriptions and cancel_subscriptions. */
export const subscriptionRequestSchema = z.strictObject({
  subscription_identifier: identifier(['id']),
  service_identifier: identifier(['code', 'ca_id']),
  smartcard_identifier: identifier(['serial_number', 'ca_id']),
  start_date: isoDate.optional(),
  ...crmSend,
})

/** POST conax_web_services/provisioning_requests/create_pairing. */
export const createPairingSchema = z.strictObject({
  subscription_identifier: identifier(['id']).optional(),
  smartcard_set: z
    .array(
      z.strictObject({
        smartcard_ca_id: z.string().regex(/^\d{11}$/, 'must be exactly 11 digits'),
      }),
    )
    .min(1)
    .max(500, 'must name at most 500 smartcards (the CA limit per request)'),
  stb_set: z
    .array(z.strictObject({ stb_ca_id: z.string().regex(/^\d{1,20}$/, 'must be 1 to 20 digits') }))
    .min(1),
  distributor: distributor.optional(),
  ...crmSend,
})

/** GET conax_web_services/provisioning_requests/list. */
export const listQuerySchema = z.strictObject({
  type: z.enum(REQUEST_TYPES).optional(),
  life_cycle_state: z.enum(LIFE_CYCLE_STATES).optional(),
  reference_number: z.string().optional(),
  subscription_id: z.string().optional(),
  process_name: z.enum(PROCESS_NAMES).optional(),
  process_id: z.string().optional(),
  ca_id: z.string().describe('a smartcard or STB CA ID the request names').optional(),
  number_of_results: z.coerce
    .number()
    .int()
    .min(1)
    .describe('default 100; at most limits.pageSize (default 10,000), more is refused with 422')
    .optional(),
  offset: z.coerce.number().int().min(0).optional(),
})

/** GET conax_web_services/provisioning_requests/show. */
export const showQuerySchema = identifier(['id', 'number'])

// The utilities' value rules (lengths, ranges, CA IDs, dates) live in domain/utilities.ts, so a
// caller of the library and of the API meets the same codes (MESSAGE_TOO_LONG, INVALID_FIELD...);
// here only the shape is checked, and the descriptions carry the rules into the OpenAPI document.
const caIds = (what: string) => z.array(z.string()).describe(what)
const utilitySubscription = nonEmpty.nullable().exactOptional()
const smartcardTargets = caIds(
  'smartcard CA IDs (11 digits) installed on the subscription; default: all of its smartcards',
).exactOptional()

/** The fingerprint fields the utility and the fingerprinting run share (rules checked in the domain). */
const fingerprintFields = {
  displayDurationInSeconds: z
    .number()
    .describe('integer of at least 1, default 10')
    .exactOptional(),
  positionX: z
    .number()
    .nullable()
    .describe('integer of at least 0; default null (the CA places it)')
    .exactOptional(),
  positionY: z
    .number()
    .nullable()
    .describe('integer of at least 0; default null (the CA places it)')
    .exactOptional(),
  height: z.number().describe('integer 1 to 255, default 12').exactOptional(),
  slot: z.enum(['A', 'B']).describe('default A').exactOptional(),
}

/**
 * The bark fields the utility and the message run share (rules checked in the domain). Made
 * afresh for each: shared instances would become references in the conformance JSON Schema.
 */
const barkFields = () => ({
  displayDurationInSeconds: z
    .number()
    .describe('BARK and REPEATING_BARK: integer of at least 1, default 20')
    .exactOptional(),
  repetitionCount: z
    .number()
    .describe('REPEATING_BARK, required: integer 1 to 255')
    .exactOptional(),
  repetitionIntervalInSeconds: z
    .number()
    .describe('REPEATING_BARK, required: 10 to 2550 in steps of 10')
    .exactOptional(),
})

/** POST /crm/utilities: one single-subscription utility (camelCase, as the domain's UtilityRequest). */
export const utilityRequestSchema = z.discriminatedUnion('utility', [
  z.strictObject({
    utility: z.literal('SEND_MESSAGE'),
    subscriptionId: nonEmpty,
    messageType: z.enum(MESSAGE_TYPES),
    message: z.string().describe('MAIL at most 141 characters, BARK and REPEATING_BARK 129'),
    smartcards: smartcardTargets,
    startIndicationDateTime: z
      .string()
      .nullable()
      .describe('ISO-8601 date-time; default null (show at once)')
      .exactOptional(),
    ...barkFields(),
  }),
  z.strictObject({
    utility: z.literal('DISPLAY_FINGERPRINT'),
    subscriptionId: nonEmpty,
    smartcards: smartcardTargets,
    displayDateTime: z
      .string()
      .nullable()
      .describe('ISO-8601 date-time; default now')
      .exactOptional(),
    ...fingerprintFields,
  }),
  z.strictObject({
    utility: z.literal('PAIR_DEVICES'),
    mode: z.enum(['NEW', 'UPDATE']),
    subscriptionId: utilitySubscription,
    pairedSmartcard: z
      .string()
      .describe('UPDATE only, required: the smartcard of the existing pair')
      .exactOptional(),
    smartcards: caIds('smartcard CA IDs (11 digits); NEW needs at least one'),
    stbs: caIds('STB CA IDs (1 to 20 digits); NEW needs at least one'),
  }),
  z.strictObject({
    utility: z.literal('RESET_PIN'),
    smartcard: z.string().describe('smartcard CA ID (11 digits)'),
    subscriptionId: utilitySubscription,
    pin: z.string().describe('4 digits; default: reset to the default PIN').exactOptional(),
  }),
  z.strictObject({
    utility: z.literal('GET_CONAX_INFORMATION'),
    query: z.enum(['ACTIVE_SUBSCRIPTIONS', 'SMARTCARD_PAIRING', 'STB_PAIRING']),
    smartcard: z
      .string()
      .describe('ACTIVE_SUBSCRIPTIONS and SMARTCARD_PAIRING: smartcard CA ID')
      .exactOptional(),
    stb: z.string().describe('STB_PAIRING: STB CA ID').exactOptional(),
    subscriptionId: utilitySubscription,
  }),
])

// ----- runs and communications ------------------------------------------------------------
// As for the utilities, the value rules (dates, lengths, ranges) are the domain's
// (checkRunDefinition, the run service), so the API and a caller of the library meet the same
// codes naming the same fields; here the shape is checked.

const instant = (what: string) =>
  z.string().nullable().describe(`${what}: ISO-8601 date-time`).exactOptional()

const criteriaShape = {
  createdFrom: instant('subscriptions created at or after'),
  createdTo: instant('subscriptions created at or before'),
  types: z.array(nonEmpty).describe('subscription types (any of them)').exactOptional(),
  ids: z.array(nonEmpty).describe('subscription ids (any of them)').exactOptional(),
}

/** Which subscriptions a reset run or a communication segment takes ({}: every one). */
export const subscriptionCriteriaSchema = z
  .strictObject(criteriaShape)
  .describe('every given field must hold; {} takes every subscription')

const segmentSchema = z.strictObject({ name: nonEmpty, ...criteriaShape })

// GET /runs/executions/:id is routed before /runs/:idOrCode, so a run coded `executions` could
// never be shown: refused here rather than silently shadowed.
const runBase = {
  name: nonEmpty,
  alternativeCode: nonEmpty
    .refine((code) => code !== 'executions', {
      message: "'executions' is reserved by the API (GET /runs/executions); choose another code",
    })
    .describe('unique; names the run in the API and the CLI as well as its id'),
}

/** POST /runs: a run definition, its settings chosen by `kind` (as the domain's RunDefinitionInput). */
export const runDefinitionSchema = z.discriminatedUnion('kind', [
  z.strictObject({
    ...runBase,
    kind: z.literal('RESET_SUBSCRIPTION'),
    criteria: subscriptionCriteriaSchema.default({}),
  }),
  z.strictObject({
    ...runBase,
    kind: z.literal('MAIL_BARK_MESSAGE'),
    messageType: z.enum(MESSAGE_TYPES),
    externalSystem: nonEmpty.describe(
      'the communication queue external system whose PENDING communications the run sends',
    ),
    startIndicationDateTime: instant('when the message shows; default null (at once)'),
    ...barkFields(),
  }),
  z.strictObject({
    ...runBase,
    kind: z.literal('FINGERPRINTING'),
    included: z
      .array(segmentSchema)
      .default([])
      .describe('subscriptions in any of these segments; none listed: every subscription'),
    excluded: z
      .array(segmentSchema)
      .default([])
      .describe('minus the subscriptions in any of these'),
    displayDateTime: instant('when the fingerprint shows; default the start of the execution'),
    ...fingerprintFields,
  }),
])

/** POST /communications: communications to enqueue for the message runs of their external system. */
export const communicationsSchema = z.strictObject({
  communications: z
    .array(
      z.strictObject({
        externalSystem: nonEmpty,
        message: z
          .string()
          .describe(
            "not empty; its length is checked against the run's message type when a run sends it",
          ),
        recipients: z
          .strictObject({
            subscriptionIds: z.array(nonEmpty).exactOptional(),
            segment: subscriptionCriteriaSchema.exactOptional(),
          })
          .describe('exactly one of subscriptionIds or segment (segment: {} for every subscriber)'),
      }),
    )
    .min(1, 'must hold at least one communication'),
})

/** GET /communications. */
export const communicationsQuerySchema = z.strictObject({
  externalSystem: z.string().exactOptional(),
  state: z.enum(COMMUNICATION_STATES).exactOptional(),
})

const count = z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER)
const PAGE_LIMIT = 'at most limits.pageSize (default 10,000), more is refused with 422'

/** POST /runs/:idOrCode/preview. */
export const previewQuerySchema = z.strictObject({
  limit: count
    .describe(`out-of-sync subscriptions and failures listed, default 100; ${PAGE_LIMIT}`)
    .exactOptional(),
  check_cards: z
    .enum(['true', 'false'])
    .transform((value) => value === 'true')
    .describe(
      'message and fingerprinting runs: ask the CA about every card (two reads each) to name those it would refuse; default false',
    )
    .exactOptional(),
})

/** GET /runs/executions/:id/requests. */
export const pageQuerySchema = z.strictObject({
  offset: count.describe('default 0').exactOptional(),
  limit: count.describe(`default 100; ${PAGE_LIMIT}`).exactOptional(),
})

/** GET /runs/executions. */
export const executionsQuerySchema = z.strictObject({
  run: z.string().describe('a run id or alternative code; default every run').exactOptional(),
})

/** POST /crm/subscriptions/:id/reset. */
export const resetQuerySchema = z.strictObject({
  preview: z
    .enum(['true', 'false'])
    .transform((value) => value === 'true')
    .describe('true: compare with the CA and create nothing; default false')
    .exactOptional(),
})
