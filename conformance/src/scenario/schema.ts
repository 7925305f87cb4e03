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
  state: z
    .enum(['COMPLETED', 'REJECTED', 'PENDING'])
    .optional()
    .describe(
      'life cycle state: COMPLETED (default), REJECTED (give errorCode) or PENDING (not sent yet, or being retried)',
    ),
  processName: text
    .optional()
    .describe('checked when given, e.g. PROVISIONING_REQUEST_PROCESSING, RESET_SUBSCRIPTION_RUN'),
  /** The CA's status code of a REJECTED request (or the last failure of a PENDING one). */
  errorCode: text
    .optional()
    .describe(
      "the CA's status of a REJECTED request, or of the last failure of a PENDING one (CONNECTION_RESET, SYSTEM_ERROR, HTTP_503...)",
    ),
  /** What a query returned, matched partially (only the keys listed). */
  result: z
    .unknown()
    .optional()
    .describe('what a query returned, matched partially (only the keys listed)'),
  /** Delivery attempts so far (checked when given): a PENDING request retried twice has 2. */
  attempts: z
    .number()
    .int()
    .min(0)
    .optional()
    .describe('delivery attempts so far, checked when given: e.g. 1 after one failed attempt'),
  /** What the last failure means (checked when given): RETRY (it goes again) or REJECT (final). */
  errorClass: z
    .enum(['RETRY', 'REJECT'])
    .optional()
    .describe(
      'class of the last failure, checked when given: RETRY (goes again) or REJECT (final)',
    ),
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
export const soapCallSchema = z
  .strictObject({
    operation: text.describe('the SOAP operation, e.g. AddSubscriptions, CreatePairing'),
    /** The StatusCode answered: OK (default), a business code, FAULT:Client, HTTP_401, RESET... */
    status: text
      .describe(
        'the StatusCode answered: OK (default), a business code, FAULT:Server, HTTP_503, RESET (no answer)...',
      )
      .default('OK'),
    /** The smartcards of the call (CaClientIds, or the cards of its subscription items), in order. */
    cards: z
      .array(cardId)
      .optional()
      .describe(
        "the call's smartcards in order (its CaClientIds, or its subscription items' cards)",
      ),
    /** The products of its subscription items, in order. */
    products: z
      .array(text)
      .optional()
      .describe("the products of the call's subscription items, in order"),
    /** The STBs of a pairing call (PairingModuleIds), in order. */
    stbs: z.array(stbId).optional().describe("a pairing call's STBs (PairingModuleIds), in order"),
    /** The Distributor of the call (of its subscription items, all the same). */
    distributor: distributor
      .optional()
      .describe('the Distributor of the call (of its subscription items, all the same)'),
    /** True: answered as a replay of an earlier write (same SequenceNumber and payload). */
    replay: z
      .boolean()
      .optional()
      .describe('true: answered as a replay of an earlier write (same SequenceNumber and payload)'),
  })
  .describe(
    'one SOAP call; only the fields given are compared, e.g. { operation: CancelSubscriptions, cards: [...], products: [GFA1] }',
  )

/** Calls in order, or `{ order: any, list }` when order does not matter. */
const soapCallList = z.union([
  z.array(soapCallSchema),
  z.strictObject({ order, list: z.array(soapCallSchema) }),
])

/** A refusal code, or a list of codes any of which is accepted. */
const refusal = z
  .union([text, z.array(text).min(1)])
  .describe(
    'the code the step must be refused with, or a list of codes any of which will do, e.g. [TOO_MANY_VIEWING_POINTS, DISTRIBUTOR_UNKNOWN]',
  )

/** A card's expected CA state after a step or at the end (only the keys given are checked). */
const cardExpectations = z.strictObject({
  cards: z
    .record(
      cardId,
      z.lazy(() => expectedCardState),
    )
    .describe(
      "per smartcard CA ID, the keys to check: products, pairedWith, pin, inbox, screen, fingerprints, e.g. '01450250001': { products: [GFA1] }",
    ),
})

/** What went wrong with one item of a run, matched partially (only the keys given). */
const failureExpectation = z
  .strictObject({
    subscriptionId: text.optional(),
    card: cardId.optional(),
    communication: text.optional().describe('the communication queue number, e.g. "1"'),
    code: text.optional().describe("the CA's status or the run's code, e.g. CLIENT_NOT_FOUND"),
  })
  .describe('one failure of the run, matched on the keys given')

/** A run execution's verdict (`run` steps): its state, counts (only those given) and failures. */
const runExpectation = z.strictObject({
  state: z
    .enum(['RUNNING', 'STOPPING', 'STOPPED', 'DELIVERING', 'COMPLETED', 'FAILED'])
    .optional()
    .describe('DELIVERING while its requests wait for the CA, COMPLETED once all are final'),
  counts: z
    .record(z.string(), z.number().int().min(0))
    .optional()
    .describe(
      'only the counts given are checked, e.g. { sent: 3, failed: 1 } or { inSync: 1, repaired: 2 }',
    ),
  /** Every failure listed, in any order (an empty list: none). */
  failures: z
    .array(failureExpectation)
    .optional()
    .describe('every failure of the run, in any order; [] means none'),
})

/** A communication of the queue after the step, by queue number (`1`, `2`...). */
const communicationExpectation = z
  .strictObject({
    number: text.describe('the queue number: "1" for the first given communication'),
    state: z.enum(['PENDING', 'SENDING', 'PROCESSED', 'FAILED']).optional(),
    /** Cards the CA accepted and refused for it. */
    sent: z.number().int().min(0).optional().describe('cards the CA accepted for it'),
    failed: z.number().int().min(0).optional().describe('cards the CA refused for it'),
  })
  .describe(
    "a communication of the queue, e.g. { number: '1', state: PROCESSED, sent: 3, failed: 1 }",
  )

/**
 * What a step must have done, checked right after it (and after the delivery that follows it).
 * Every key is optional; the ones given are checked.
 */
const stepExpectation = z
  .strictObject({
    /** The requests this step created, in order (or `{ order: any, list }`). */
    requests: requestList
      .optional()
      .describe(
        'the requests this step created, in order (or { order: any, list }), each in its state after the step',
      ),
    /** The code of the refusal the step must meet, or a list of codes any of which will do. */
    refusal: refusal.optional(),
    /** Every request of the scenario so far, in creation order, in its state now. */
    allRequests: requestList
      .optional()
      .describe(
        'every request of the scenario so far, in creation order, in its state now; the last one gives side B its sequence',
      ),
    /** The SOAP calls the CA received during this step (and its delivery), in order. */
    journal: soapCallList
      .optional()
      .describe(
        'the SOAP calls the CA received during this step and its delivery, in order (or { order: any, list }); [] means none',
      ),
    /** The CA state now, per smartcard. */
    ca: cardExpectations.optional().describe('the CA state right after this step, per smartcard'),
    /** `run` steps: what the execution came to. */
    run: runExpectation
      .optional()
      .describe(
        'the latest run execution: state, counts, failures, e.g. { state: COMPLETED, counts: { sent: 3, failed: 1 } }',
      ),
    /** Preview steps (`run` with `preview: true`, `reset` with `preview: true`): the answer, matched partially. */
    preview: z
      .record(z.string(), z.unknown())
      .optional()
      .describe(
        "a preview step's answer, matched partially, e.g. { checked: 2, outOfSync: 1 } or { inSync: false, differences: [...] }",
      ),
    /** The communication queue after the step. */
    communications: z
      .array(communicationExpectation)
      .optional()
      .describe('the communication queue after the step, by number'),
  })
  .describe(
    'what the step must have done, checked right after it and its delivery; only the keys given are checked',
  )

const stepFields = {
  comment: z.string().optional().describe('free text for the reader; not checked'),
  expect: stepExpectation.optional(),
}

const crmStep = z.strictObject({
  /** A CRM action, as `POST /crm/actions` takes it. */
  crm: crmActionSchema.describe(
    'a CRM action as POST /crm/actions takes it, with optional priority, processImmediately, scheduledDate, e.g. { action: ADD_SERVICE, subscriptionId: ZX-1001, service: AGRICULTURE, distributor: Main }',
  ),
  ...stepFields,
})

const utilityStep = crmStep.omit({ crm: true }).extend({
  /** A single-subscription utility, as `POST /crm/utilities` takes it. */
  utility: utilityRequestSchema.describe(
    'a utility as POST /crm/utilities takes it, e.g. { utility: RESET_PIN, smartcard: "01450250001", pin: "4321" }',
  ),
})

const apiStep = crmStep.omit({ crm: true }).extend({
  /** A Conax Contego Web API method of the adapter, with its JSON body. */
  api: z
    .strictObject({
      method: z.enum(['add_subscriptions', 'cancel_subscriptions', 'create_pairing']),
      body: z.record(z.string(), z.unknown()).describe("the method's CRM.COM JSON body"),
    })
    .describe('a Conax Contego Web API method of the adapter, sent over its HTTP API'),
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
      definition: runDefinitionSchema
        .optional()
        .describe('a new run definition, as POST /runs takes it (kind, alternativeCode...)'),
      code: text
        .optional()
        .describe('the alternativeCode of a run defined in an earlier step, e.g. NIGHTLY'),
      communications: communicationsSchema.shape.communications
        .optional()
        .describe('communications to enqueue before the run (message runs)'),
      preview: z
        .boolean()
        .optional()
        .describe(
          'true: only preview the run (nothing is sent); check the answer with expect.preview',
        ),
      checkCards: z
        .boolean()
        .optional()
        .describe('with preview: ask the CA about every card, to name those it would refuse'),
    })
    .refine((run) => (run.definition === undefined) !== (run.code === undefined), {
      message: 'give the run either a definition or the code of one defined in an earlier step',
    })
    .describe(
      'a batch run: started, delivered and awaited (check it with expect.run), or previewed; e.g. { definition: { name: Nightly, alternativeCode: NIGHTLY, kind: RESET_SUBSCRIPTION }, preview: true } then { code: NIGHTLY }',
    ),
})

const resetStep = crmStep.omit({ crm: true }).extend({
  /** Reset single subscription: compares it with the CA and repairs it (or only says, `preview: true`). */
  reset: z
    .strictObject({
      subscriptionId: text,
      preview: z
        .boolean()
        .describe('true: only say what it would send (check with expect.preview)')
        .default(false),
    })
    .describe(
      'reset single subscription: read its cards from the CA and send the difference, e.g. { subscriptionId: ZX-1001, preview: true }',
    ),
})

/** A fault the CA is to answer with (the simulator's fault rules; a real CA cannot take them). */
export const faultSchema = z
  .strictObject({
    kind: z
      .enum(FAULT_KINDS)
      .describe(
        'SYSTEM_ERROR (a status), SOAP_FAULT (HTTP 500), HTTP_STATUS, RESET (no answer), DELAY (then normal), RESET_AFTER_APPLY (applied, answer lost)',
      ),
    operation: z
      .enum(OPERATION_NAMES)
      .optional()
      .describe('only calls of this operation (default: any)'),
    service: z
      .enum(SERVICE_NAMES)
      .optional()
      .describe('only calls to this service, e.g. subscription (default: any)'),
    /** Calls to hit (default 1); null: every call until `ca: up` or `ca: { clearFaults: true }`. */
    times: z
      .number()
      .int()
      .min(1)
      .nullable()
      .optional()
      .describe('calls to hit (default 1); null: every call until ca: { clearFaults: true }'),
    httpStatus: z
      .number()
      .int()
      .min(400)
      .max(599)
      .optional()
      .describe('HTTP_STATUS: the status (default 503)'),
    delayMs: z
      .number()
      .int()
      .min(1)
      .max(60_000)
      .optional()
      .describe('DELAY: how long the CA waits before answering'),
    message: z.string().optional().describe("the fault's text"),
  })
  .describe(
    'a fault the simulated CA answers with, e.g. { kind: SYSTEM_ERROR, operation: AddSubscriptions, times: 1 }',
  )

/** What a `ca` step does to the CA, past the adapter. */
const caAction = z
  .union([
    /** `down`: every call is dropped without an answer (nothing applied) until `up`. */
    z
      .enum(['down', 'up'])
      .describe('down: every call is dropped without an answer (nothing applied) until up'),
    z.strictObject({ fault: faultSchema }),
    z
      .strictObject({ clearFaults: z.literal(true) })
      .describe('removes every fault rule, those of ca: down too'),
    /** Drift: the CA loses a product of a card (through its admin side, or CancelSubscriptions). */
    z
      .strictObject({ removeProduct: z.strictObject({ card: cardId, product: text }) })
      .describe(
        "drift: the CA loses a product of a card behind the CRM's back, e.g. { removeProduct: { card: '01450250001', product: EFA2 } }",
      ),
    /** Drift: the CA gains a product on a card the CRM does not expect. */
    z
      .strictObject({
        addProduct: z.strictObject({
          card: cardId,
          product: text,
          distributor: distributor.optional(),
        }),
      })
      .describe(
        "drift: the CA gains a product the CRM does not expect, e.g. { addProduct: { card: '01450250001', product: AF1, distributor: Main } }",
      ),
    /** Drift: the CA dissolves the pairing of a card (admin side only: the contract cannot unpair). */
    z
      .strictObject({ unpair: cardId })
      .describe(
        "drift: the CA dissolves a card's pairing (simulator admin side only), e.g. { unpair: '01450250001' }",
      ),
    /** A command sent straight to the CA, past the adapter (to put it out of step with the CRM). */
    expectedRequestSchema,
  ])
  .describe(
    'to the CA, past the adapter: down or up, a fault, clearFaults, drift (removeProduct, addProduct, unpair) or a command (type: ...)',
  )

const caStep = z.strictObject({
  ca: caAction,
  ...stepFields,
})

/** `90s`, `5m`, `2h`, `1500ms`, or a number of seconds. */
const duration = z
  .union([
    z.number().int().min(0),
    z
      .string()
      .regex(/^\d+(ms|s|m|h)$/, 'must be a duration: 1500ms, 90s, 5m, 2h or a number of seconds'),
  ])
  .describe(
    "moves the adapter's and the CA's clock together: 1500ms, 90s, 5m, 2h or a number of seconds",
  )
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
  deliver: z
    .enum(['due', 'until-idle'])
    .describe(
      'due: send what is due now; until-idle: send, move the clocks to the next retry or schedule, until nothing is PENDING',
    ),
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

const smartcard = z
  .union([
    cardId,
    z.strictObject({
      caClientId: cardId,
      sms: text.optional().describe('the SMS user that owns the card (default: the provider user)'),
    }),
  ])
  .describe(
    "a smartcard the CA knows: its CA ID, or { caClientId, sms: another-sms } for another SMS's card",
  )
const stb = z
  .union([
    stbId,
    z.strictObject({
      pairingModuleId: stbId,
      serialNumber: text.optional(),
      productCode: text.optional(),
      productDescription: text.optional(),
    }),
  ])
  .describe('an STB the CA knows: its CA ID, or the whole pairing module')

/** A card's state in the CA: every key is optional, and only the keys given are set or checked. */
const cardState = z.strictObject({
  /** Active product (service CA) IDs, in any order. */
  products: z.array(text).optional().describe('active product (service CA) IDs, in any order'),
  /** STBs the card is paired with; [] means not paired. */
  pairedWith: z
    .array(stbId)
    .optional()
    .describe('the STBs the card is paired with; [] means not paired'),
  /** The distributor of the products and pairing set up in `given` (default null). */
  distributor: distributor
    .optional()
    .describe('given only: the distributor of the products and pairing set up (default null)'),
  pin: z
    .string()
    .regex(/^\d{4}$/, 'must be 4 digits')
    .optional()
    .describe('the CA PIN, 4 digits'),
  /** Mail texts in the inbox, oldest first. */
  inbox: z.array(z.string()).optional().describe('mail texts in the inbox, oldest first'),
  /** Bark and repeating bark texts on screen, oldest first. */
  screen: z
    .array(z.string())
    .optional()
    .describe('bark and repeating bark texts on screen, oldest first'),
  /** How many fingerprints were scheduled on the card. */
  fingerprints: z
    .number()
    .int()
    .min(0)
    .optional()
    .describe('how many fingerprints were scheduled on the card'),
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
  name: text.describe("the scenario's title in reports"),
  /** Where the scenario comes from in the seed document. */
  source: z.string().optional().describe('where the scenario comes from in the seed document'),
  description: z
    .string()
    .optional()
    .describe('what the scenario shows and why the expectation is right'),
  /** Tags to select scenarios (`--tag`). */
  tags: z.array(text).optional().describe('tags to select scenarios with --tag, e.g. [v2, outage]'),
  /** A provider file (relative to the scenario file) or the provider itself. */
  provider: z
    .union([text, z.record(z.string(), z.unknown())])
    .describe('a provider file (relative to this file) or the provider inline'),
  /** The adapter's clock (default 2026-11-26T10:00:00Z). */
  now: isoDate
    .optional()
    .describe('the clock of the adapter and the CA at the start (default 2026-11-26T10:00:00Z)'),
  given: z
    .strictObject({
      ca: z
        .strictObject({
          smartcards: z.array(smartcard).default([]),
          stbs: z.array(stb).default([]),
          products: z
            .array(text)
            .describe("extra products (the provider's CA IDs are always there)")
            .default([]),
          /**
           * Card and STB ids the CRM holds but the CA does not know: left out of the CA's
           * inventory and of its state before the steps, to stage CLIENT_NOT_FOUND and
           * PAIRING_MODULE_NOT_FOUND answers for devices of the given subscriptions.
           */
          unknownDevices: z
            .array(text)
            .describe(
              'card and STB ids the CRM holds but the CA does not know (left out of its inventory), e.g. [01450251199]',
            )
            .default([]),
          /** CA state already there, per smartcard CA ID. */
          cards: z
            .record(cardId, cardState)
            .describe('CA state on top of what the subscriptions imply, per smartcard CA ID')
            .default({}),
        })
        .describe('the CA before the steps: extra inventory and state')
        .default({ smartcards: [], stbs: [], products: [], unknownDevices: [], cards: {} }),
      crm: z
        .strictObject({
          subscriptions: z
            .array(subscription)
            .describe('subscriptions stored in the adapter before the steps, sending nothing')
            .default([]),
          /** Whether the CA already holds what the subscriptions imply (default true). */
          caInSync: z
            .boolean()
            .describe('whether the CA already holds what the subscriptions imply (default true)')
            .default(true),
          /** The communication queue (numbered 1, 2... in this order) for message runs. */
          communications: communicationsSchema.shape.communications
            .describe('the communication queue before the steps, numbered 1, 2... in this order')
            .default([]),
        })
        .describe('the CRM before the steps: subscriptions and the communication queue')
        .default({ subscriptions: [], caInSync: true, communications: [] }),
    })
    .describe('the state before the steps')
    .default({
      ca: { smartcards: [], stbs: [], products: [], unknownDevices: [], cards: {} },
      crm: { subscriptions: [], caInSync: true, communications: [] },
    }),
  when: z
    .array(whenStepSchema)
    .min(1, 'must list at least one step')
    .describe(
      'the steps, in order: crm, utility, api, run, reset, ca, advance or deliver, each with an optional expect',
    ),
  then: z
    .strictObject({
      /** Every request the steps create, in order (or `{ order: any, list }`). */
      requests: requestList
        .optional()
        .describe(
          'every request the steps create, in creation order (or { order: any, list }), in its final state',
        ),
      /**
       * The SOAP calls the CA received during the steps, in order: operation and StatusCode, and
       * the parameters given (cards, products, stbs, distributor), to pin an order across devices.
       */
      soapCalls: soapCallList
        .optional()
        .describe(
          'every SOAP call the CA received during the steps, in order, with the parameters given (cards, products, stbs, distributor, replay)',
        ),
      ca: cardExpectations.optional().describe('the CA state at the end, per smartcard'),
      /** The communication queue at the end. */
      communications: z
        .array(communicationExpectation)
        .optional()
        .describe('the communication queue at the end, by number'),
    })
    .describe('what must hold after all the steps')
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
