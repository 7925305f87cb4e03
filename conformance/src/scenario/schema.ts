import { z } from 'zod'
import {
  communicationsSchema,
  crmActionSchema,
  runDefinitionSchema,
  SUBSCRIPTION_STATES,
  utilityRequestSchema,
} from '../../../src/index.js'

/**
 * The scenario file format (YAML), as a zod schema: the single source of the checks the loader
 * runs and of `conformance/scenario.schema.json`, which editors use for completion.
 */

const text = z.string().trim().min(1, 'must not be empty')
const cardId = z.string().regex(/^\d{11}$/, 'must be an 11-digit smartcard CA ID (CaClientId)')
const stbId = z
  .string()
  .regex(/^\d{1,20}$/, 'must be an STB CA ID (PairingModuleId): 1 to 20 digits')
const distributor = z.string().min(1).max(32).nullable()
const isoDate = z.iso.datetime({
  offset: true,
  message: 'must be an ISO-8601 date-time with a zone',
})

const stateFields = {
  /** The request's final life cycle state (default COMPLETED). */
  state: z.enum(['COMPLETED', 'REJECTED', 'PENDING']).optional(),
  processName: text.optional(),
  /** The CA's status code of a REJECTED request. */
  errorCode: text.optional(),
  /** What a query returned, matched partially (only the keys listed). */
  result: z.unknown().optional(),
}

const messageFields = {
  smartcardCaIds: z.array(cardId).min(1),
  message: z.string().min(1),
  startIndicationTime: isoDate.nullable().optional(),
  distributor: distributor.optional(),
  communicationQueueNumber: text.optional(),
}

/** One expected provisioning request: the command's parameters as CRM.COM's parameters_set names them. */
const expectedRequestVariants = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('ADD_SUBSCRIPTIONS'),
    smartcardCaId: cardId,
    serviceCaId: text,
    distributor: distributor.optional(),
    startDate: isoDate.optional(),
    endDate: isoDate.optional(),
    ...stateFields,
  }),
  z.strictObject({
    type: z.literal('CANCEL_SUBSCRIPTIONS'),
    smartcardCaId: cardId,
    serviceCaId: text,
    distributor: distributor.optional(),
    ...stateFields,
  }),
  z.strictObject({
    type: z.literal('CREATE_PAIRING'),
    smartcardCaIds: z.array(cardId).min(1),
    stbCaIds: z.array(stbId).min(1),
    distributor: distributor.optional(),
    ...stateFields,
  }),
  z.strictObject({
    type: z.literal('ADD_TO_EXISTING_PAIRING'),
    pairedSmartcardCaId: cardId,
    smartcardCaIds: z.array(cardId).default([]),
    stbCaIds: z.array(stbId).default([]),
    distributor: distributor.optional(),
    ...stateFields,
  }),
  z.strictObject({
    type: z.literal('GET_ACTIVE_SUBSCRIPTIONS'),
    smartcardCaId: cardId,
    distributor: distributor.optional(),
    ...stateFields,
  }),
  z.strictObject({
    type: z.literal('GET_PAIRING_STATUS_FOR_CARD'),
    smartcardCaId: cardId,
    distributor: distributor.optional(),
    ...stateFields,
  }),
  z.strictObject({
    type: z.literal('GET_PAIRING_STATUS_FOR_PAIRING_MODULE'),
    stbCaId: stbId,
    distributor: distributor.optional(),
    ...stateFields,
  }),
  z.strictObject({
    type: z.literal('SEND_MAIL_MESSAGE_TO_CLIENT'),
    ...messageFields,
    ...stateFields,
  }),
  z.strictObject({
    type: z.literal('SEND_BARK_MESSAGE_TO_CLIENT'),
    ...messageFields,
    displayDurationInSeconds: z.number().int().min(1).default(20),
    ...stateFields,
  }),
  z.strictObject({
    type: z.literal('SEND_REPEATING_BARK_MESSAGE_TO_CLIENT'),
    ...messageFields,
    displayDurationInSeconds: z.number().int().min(1).default(20),
    repetitionCount: z.number().int().min(1),
    repetitionIntervalInSeconds: z.number().int().min(1),
    ...stateFields,
  }),
  z.strictObject({
    type: z.literal('DISPLAY_FINGERPRINT'),
    smartcardCaIds: z.array(cardId).min(1),
    displayTime: isoDate.nullable().optional(),
    durationInSeconds: z.number().int().min(1).default(10),
    positionX: z.number().int().min(0).nullable().optional(),
    positionY: z.number().int().min(0).nullable().optional(),
    height: z.number().int().min(1).default(12),
    slot: z.enum(['A', 'B']).default('A'),
    distributor: distributor.optional(),
    ...stateFields,
  }),
  z.strictObject({
    type: z.literal('UPDATE_CA_PIN_TO_DEFAULT_VALUE'),
    smartcardCaId: cardId,
    distributor: distributor.optional(),
    ...stateFields,
  }),
  z.strictObject({
    type: z.literal('UPDATE_CA_PIN_TO_GIVEN_VALUE'),
    smartcardCaId: cardId,
    pin: z.string().regex(/^\d{4}$/, 'must be 4 digits'),
    distributor: distributor.optional(),
    ...stateFields,
  }),
])

/** One expected provisioning request; a REJECTED one names the CA's error code. */
export const expectedRequestSchema = expectedRequestVariants.superRefine((value, ctx) => {
  if (value.state === 'REJECTED' && value.errorCode === undefined) {
    ctx.addIssue({
      code: 'custom',
      path: ['errorCode'],
      message:
        'is required when state is REJECTED (the StatusCode the CA answers, e.g. CLIENT_NOT_FOUND)',
    })
  }
})

const order = z.enum(['strict', 'any']).default('strict')

/** Expected requests: a list in sending order, or `{ order: any, list }` when order does not matter. */
const requestList = z.union([
  z.array(expectedRequestSchema),
  z.strictObject({ order, list: z.array(expectedRequestSchema) }),
])

const crmStep = z.strictObject({
  /** A CRM action, as `POST /crm/actions` takes it. */
  crm: crmActionSchema,
  comment: z.string().optional(),
  /** The requests this step must create, or the code of the refusal it must meet. */
  expect: z
    .strictObject({
      requests: requestList.optional(),
      refusal: text.optional(),
    })
    .optional(),
})

const utilityStep = crmStep.omit({ crm: true }).extend({
  /** A single-subscription utility, as `POST /crm/utilities` takes it. */
  utility: utilityRequestSchema,
})

const apiStep = crmStep.omit({ crm: true }).extend({
  /** A Conax Contego Web API method of the adapter, with its JSON body. */
  api: z.strictObject({
    method: z.enum(['add_subscriptions', 'cancel_subscriptions', 'create_pairing']),
    body: z.record(z.string(), z.unknown()),
  }),
})

const runStep = crmStep.omit({ crm: true }).extend({
  /**
   * A batch run of the adapter, as `POST /runs` takes its definition, with the communications to
   * enqueue first (message runs); it is started and waited for, then its requests are delivered.
   */
  run: z.strictObject({
    definition: runDefinitionSchema,
    communications: communicationsSchema.shape.communications.optional(),
  }),
})

const caStep = z.strictObject({
  /** A command sent straight to the CA, past the adapter (to put it out of step with the CRM). */
  ca: expectedRequestSchema,
  comment: z.string().optional(),
})

export const whenStepSchema = z.union([crmStep, utilityStep, apiStep, runStep, caStep])

const smartcard = z.union([cardId, z.strictObject({ caClientId: cardId, sms: text.optional() })])
const stb = z.union([
  stbId,
  z.strictObject({
    pairingModuleId: stbId,
    serialNumber: text.optional(),
    productCode: text.optional(),
    productDescription: text.optional(),
  }),
])

/** A card's state in the CA: every key is optional, and only the keys given are set or checked. */
const cardState = z.strictObject({
  /** Active product (service CA) IDs, in any order. */
  products: z.array(text).optional(),
  /** STBs the card is paired with; [] means not paired. */
  pairedWith: z.array(stbId).optional(),
  /** The distributor of the products and pairing set up in `given` (default null). */
  distributor: distributor.optional(),
  pin: z
    .string()
    .regex(/^\d{4}$/, 'must be 4 digits')
    .optional(),
  /** Mail texts in the inbox, oldest first. */
  inbox: z.array(z.string()).optional(),
  /** Bark and repeating bark texts on screen, oldest first. */
  screen: z.array(z.string()).optional(),
  /** How many fingerprints were scheduled on the card. */
  fingerprints: z.number().int().min(0).optional(),
})

/**
 * A card's expected CA state (`then.ca.cards`): the keys of {@link cardState} that are checked.
 * `distributor` only says how `given` sets products and pairing up; nothing reads it back, so it
 * is refused here rather than silently never checked.
 */
const expectedCardState = cardState.omit({ distributor: true })

const subscription = z.strictObject({
  id: text,
  type: z.string().nullable().optional(),
  state: z.enum(SUBSCRIPTION_STATES).default('EFFECTIVE'),
  services: z.array(
    z.strictObject({
      service: text,
      distributor,
      state: z.enum(['EFFECTIVE', 'NOT_EFFECTIVE']).default('EFFECTIVE'),
    }),
  ),
  installedItems: z.array(
    z.strictObject({ serialNumber: text, product: text, caId: text, distributor }),
  ),
})

/** A whole scenario file. */
export const scenarioSchema = z.strictObject({
  name: text,
  /** Where the scenario comes from in the seed document. */
  source: z.string().optional(),
  description: z.string().optional(),
  /** Tags to select scenarios (`--tag`). */
  tags: z.array(text).optional(),
  /** A provider file (relative to the scenario file) or the provider itself. */
  provider: z.union([text, z.record(z.string(), z.unknown())]),
  /** The adapter's clock (default 2026-11-26T10:00:00Z). */
  now: isoDate.optional(),
  given: z
    .strictObject({
      ca: z
        .strictObject({
          smartcards: z.array(smartcard).default([]),
          stbs: z.array(stb).default([]),
          products: z.array(text).default([]),
          /** CA state already there, per smartcard CA ID. */
          cards: z.record(cardId, cardState).default({}),
        })
        .default({ smartcards: [], stbs: [], products: [], cards: {} }),
      crm: z
        .strictObject({
          subscriptions: z.array(subscription).default([]),
          /** Whether the CA already holds what the subscriptions imply (default true). */
          caInSync: z.boolean().default(true),
        })
        .default({ subscriptions: [], caInSync: true }),
    })
    .default({
      ca: { smartcards: [], stbs: [], products: [], cards: {} },
      crm: { subscriptions: [], caInSync: true },
    }),
  when: z.array(whenStepSchema).min(1, 'must list at least one step'),
  then: z
    .strictObject({
      /** Every request the steps create, in order (or `{ order: any, list }`). */
      requests: requestList.optional(),
      /**
       * The SOAP calls the CA received during the steps, by operation and StatusCode, in order
       * (their parameters are checked from the expected requests anyway).
       */
      soapCalls: z
        .array(
          z.strictObject({
            operation: text,
            /** The StatusCode answered: OK (default), a business code, FAULT:Client, HTTP_401... */
            status: text.default('OK'),
          }),
        )
        .optional(),
      ca: z.strictObject({ cards: z.record(cardId, expectedCardState) }).optional(),
    })
    .default({}),
})

/**
 * A whole scenario file that expects something: without `then.requests`, `then.soapCalls`,
 * `then.ca` or a step's `expect`, only "no step was refused" would be checked, and a scenario that
 * cannot fail is no test.
 */
export const checkedScenarioSchema = scenarioSchema.superRefine((scenario, ctx) => {
  const { then } = scenario
  const expectsSomething =
    then.requests !== undefined ||
    then.soapCalls !== undefined ||
    then.ca !== undefined ||
    scenario.when.some((step) => !('ca' in step) && step.expect !== undefined)
  if (!expectsSomething) {
    ctx.addIssue({
      code: 'custom',
      path: ['then'],
      message:
        'expects nothing: give then.requests, then.soapCalls, then.ca or a step expect (requests or refusal)',
    })
  }
})

export type ScenarioInput = z.input<typeof scenarioSchema>
export type ScenarioData = z.output<typeof scenarioSchema>
export type ExpectedRequest = z.output<typeof expectedRequestSchema>
export type WhenStep = z.output<typeof whenStepSchema>
export type CardState = z.output<typeof cardState>
export type GivenSubscription = z.output<typeof subscription>
