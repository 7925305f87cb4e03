import { z } from 'zod'
import {
  communicationsSchema,
  crmActionSchema,
  runDefinitionSchema,
  SUBSCRIPTION_STATES,
  utilityRequestSchema,
} from '../../../src/index.js'
import { FAULT_KINDS, OPERATION_NAMES, SERVICE_NAMES } from '../../../simulator/src/index.js'

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
  /** The CA's status code of a REJECTED request (or the last failure of a PENDING one). */
  errorCode: text.optional(),
  /** What a query returned, matched partially (only the keys listed). */
  result: z.unknown().optional(),
  /** Delivery attempts so far (checked when given): a PENDING request retried twice has 2. */
  attempts: z.number().int().min(0).optional(),
  /** What the last failure means (checked when given): RETRY (it goes again) or REJECT (final). */
  errorClass: z.enum(['RETRY', 'REJECT']).optional(),
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

/** One SOAP call as the CA answered it; the parameters given are checked, the others are not. */
export const soapCallSchema = z.strictObject({
  operation: text,
  /** The StatusCode answered: OK (default), a business code, FAULT:Client, HTTP_401, RESET... */
  status: text.default('OK'),
  /** The smartcards of the call (CaClientIds, or the cards of its subscription items), in order. */
  cards: z.array(cardId).optional(),
  /** The products of its subscription items, in order. */
  products: z.array(text).optional(),
  /** The STBs of a pairing call (PairingModuleIds), in order. */
  stbs: z.array(stbId).optional(),
  /** The Distributor of the call (of its subscription items, all the same). */
  distributor: distributor.optional(),
  /** True: answered as a replay of an earlier write (same SequenceNumber and payload). */
  replay: z.boolean().optional(),
})

/** Calls in order, or `{ order: any, list }` when order does not matter. */
const soapCallList = z.union([
  z.array(soapCallSchema),
  z.strictObject({ order, list: z.array(soapCallSchema) }),
])

/** A refusal code, or a list of codes any of which is accepted. */
const refusal = z.union([text, z.array(text).min(1)])

/** A card's expected CA state after a step or at the end (only the keys given are checked). */
const cardExpectations = z.strictObject({
  cards: z.record(cardId, z.lazy(() => expectedCardState)),
})

/** What went wrong with one item of a run, matched partially (only the keys given). */
const failureExpectation = z.strictObject({
  subscriptionId: text.optional(),
  card: cardId.optional(),
  communication: text.optional(),
  code: text.optional(),
})

/** A run execution's verdict (`run` steps): its state, counts (only those given) and failures. */
const runExpectation = z.strictObject({
  state: z.enum(['RUNNING', 'STOPPING', 'STOPPED', 'DELIVERING', 'COMPLETED', 'FAILED']).optional(),
  counts: z.record(z.string(), z.number().int().min(0)).optional(),
  /** Every failure listed, in any order (an empty list: none). */
  failures: z.array(failureExpectation).optional(),
})

/** A communication of the queue after the step, by queue number (`1`, `2`...). */
const communicationExpectation = z.strictObject({
  number: text,
  state: z.enum(['PENDING', 'SENDING', 'PROCESSED', 'FAILED']).optional(),
  /** Cards the CA accepted and refused for it. */
  sent: z.number().int().min(0).optional(),
  failed: z.number().int().min(0).optional(),
})

/**
 * What a step must have done, checked right after it (and after the delivery that follows it).
 * Every key is optional; the ones given are checked.
 */
const stepExpectation = z.strictObject({
  /** The requests this step created, in order (or `{ order: any, list }`). */
  requests: requestList.optional(),
  /** The code of the refusal the step must meet, or a list of codes any of which will do. */
  refusal: refusal.optional(),
  /** Every request of the scenario so far, in creation order, in its state now. */
  allRequests: requestList.optional(),
  /** The SOAP calls the CA received during this step (and its delivery), in order. */
  journal: soapCallList.optional(),
  /** The CA state now, per smartcard. */
  ca: cardExpectations.optional(),
  /** `run` steps: what the execution came to. */
  run: runExpectation.optional(),
  /** Preview steps (`run` with `preview: true`, `reset` with `preview: true`): the answer, matched partially. */
  preview: z.record(z.string(), z.unknown()).optional(),
  /** The communication queue after the step. */
  communications: z.array(communicationExpectation).optional(),
})

const stepFields = {
  comment: z.string().optional(),
  expect: stepExpectation.optional(),
}

const crmStep = z.strictObject({
  /** A CRM action, as `POST /crm/actions` takes it. */
  crm: crmActionSchema,
  ...stepFields,
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
   * A batch run of the adapter: a new `definition` (as `POST /runs` takes it) or the `code` of one
   * defined earlier, with communications to enqueue first (message runs). It is started, its
   * requests are delivered and its verdict awaited; with `preview: true` it is only previewed
   * (`checkCards`: the preview asks the CA about every card).
   */
  run: z
    .strictObject({
      definition: runDefinitionSchema.optional(),
      code: text.optional(),
      communications: communicationsSchema.shape.communications.optional(),
      preview: z.boolean().optional(),
      checkCards: z.boolean().optional(),
    })
    .refine((run) => (run.definition === undefined) !== (run.code === undefined), {
      message: 'give the run either a definition or the code of one defined in an earlier step',
    }),
})

const resetStep = crmStep.omit({ crm: true }).extend({
  /** Reset single subscription: compares it with the CA and repairs it (or only says, `preview: true`). */
  reset: z.strictObject({ subscriptionId: text, preview: z.boolean().default(false) }),
})

/** A fault the CA is to answer with (the simulator's fault rules; a real CA cannot take them). */
export const faultSchema = z.strictObject({
  kind: z.enum(FAULT_KINDS),
  operation: z.enum(OPERATION_NAMES).optional(),
  service: z.enum(SERVICE_NAMES).optional(),
  /** Calls to hit (default 1); null: every call until `ca: up` or `ca: { clearFaults: true }`. */
  times: z.number().int().min(1).nullable().optional(),
  httpStatus: z.number().int().min(400).max(599).optional(),
  delayMs: z.number().int().min(1).max(60_000).optional(),
  message: z.string().optional(),
})

/** What a `ca` step does to the CA, past the adapter. */
const caAction = z.union([
  /** `down`: every call is dropped without an answer (nothing applied) until `up`. */
  z.enum(['down', 'up']),
  z.strictObject({ fault: faultSchema }),
  z.strictObject({ clearFaults: z.literal(true) }),
  /** Drift: the CA loses a product of a card (through its admin side, or CancelSubscriptions). */
  z.strictObject({ removeProduct: z.strictObject({ card: cardId, product: text }) }),
  /** Drift: the CA gains a product on a card the CRM does not expect. */
  z.strictObject({
    addProduct: z.strictObject({ card: cardId, product: text, distributor: distributor.optional() }),
  }),
  /** Drift: the CA dissolves the pairing of a card (admin side only: the contract cannot unpair). */
  z.strictObject({ unpair: cardId }),
  /** A command sent straight to the CA, past the adapter (to put it out of step with the CRM). */
  expectedRequestSchema,
])

const caStep = z.strictObject({
  ca: caAction,
  ...stepFields,
})

/** `90s`, `5m`, `2h`, `1500ms`, or a number of seconds. */
const duration = z
  .union([
    z.number().int().min(0),
    z.string().regex(/^\d+(ms|s|m|h)$/, 'must be a duration: 1500ms, 90s, 5m, 2h or a number of seconds'),
  ])
  .transform((value) => durationMs(value))

const advanceStep = z.strictObject({
  /** Moves the adapter's clock and the CA's together: retries come due, schedules start. */
  advance: duration,
  ...stepFields,
})

const deliverStep = z.strictObject({
  /**
   * `due` (what every step does after itself): sends what is due now. `until-idle`: sends, then
   * moves the clocks to the next retry or schedule, again and again until nothing is PENDING (at
   * most 100 rounds or 7 days of clock).
   */
  deliver: z.enum(['due', 'until-idle']),
  ...stepFields,
})

export const whenStepSchema = z.union([
  crmStep,
  utilityStep,
  apiStep,
  runStep,
  resetStep,
  caStep,
  advanceStep,
  deliverStep,
])

/** Milliseconds of a duration: a number of seconds, or `<n>ms|s|m|h`. */
export function durationMs(value: number | string): number {
  if (typeof value === 'number') {
    return value * 1000
  }
  const match = /^(\d+)(ms|s|m|h)$/.exec(value)
  const amount = Number(match?.[1] ?? 0)
  const unit = match?.[2] ?? 's'
  return amount * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[unit as 'ms' | 's' | 'm' | 'h']
}

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
          /** The communication queue (numbered 1, 2... in this order) for message runs. */
          communications: communicationsSchema.shape.communications.default([]),
        })
        .default({ subscriptions: [], caInSync: true, communications: [] }),
    })
    .default({
      ca: { smartcards: [], stbs: [], products: [], cards: {} },
      crm: { subscriptions: [], caInSync: true, communications: [] },
    }),
  when: z.array(whenStepSchema).min(1, 'must list at least one step'),
  then: z
    .strictObject({
      /** Every request the steps create, in order (or `{ order: any, list }`). */
      requests: requestList.optional(),
      /**
       * The SOAP calls the CA received during the steps, in order: operation and StatusCode, and
       * the parameters given (cards, products, stbs, distributor), to pin an order across devices.
       */
      soapCalls: soapCallList.optional(),
      ca: cardExpectations.optional(),
      /** The communication queue at the end. */
      communications: z.array(communicationExpectation).optional(),
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
    then.communications !== undefined ||
    // Delivering until idle expects every request to end final.
    scenario.when.some(
      (step) => step.expect !== undefined || ('deliver' in step && step.deliver === 'until-idle'),
    )
  if (!expectsSomething) {
    ctx.addIssue({
      code: 'custom',
      path: ['then'],
      message:
        'expects nothing: give then.requests, then.soapCalls, then.ca, then.communications or a step expect',
    })
  }
})

export type ScenarioInput = z.input<typeof scenarioSchema>
export type ScenarioData = z.output<typeof scenarioSchema>
export type ExpectedRequest = z.output<typeof expectedRequestSchema>
export type WhenStep = z.output<typeof whenStepSchema>
export type CardState = z.output<typeof cardState>
export type SoapCallExpectation = z.output<typeof soapCallSchema>
export type StepExpectation = z.output<typeof stepExpectation>
export type FaultInput = z.output<typeof faultSchema>
export type CaAction = z.output<typeof caAction>
export type GivenSubscription = z.output<typeof subscription>
