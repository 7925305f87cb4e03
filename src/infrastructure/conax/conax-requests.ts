import type { CommandOf, ConaxCommand, RequestType } from '../../domain/commands.js'
import { readActiveSubscriptions, readPairingStatus } from './conax-answers.js'
import type { ActiveSubscriptionsResult, PairingStatusResult } from './conax-outcome.js'

/** The five services of the wire contract; each is served at `<endpoint>/<service>`. */
export const CONAX_SERVICES = [
  'subscription',
  'pairing',
  'user-text-messaging',
  'fingerprint',
  'ca-pin',
] as const
/** One of the five services. */
export type ConaxService = (typeof CONAX_SERVICES)[number]

/** The children of `<OpRequest>`: strings, numbers and nested lists, in the XSD's sequence order. */
export type RequestValue =
  string | number | readonly string[] | RequestObject | readonly RequestObject[]
/** An element's children by name. */
export interface RequestObject {
  readonly [element: string]: RequestValue
}

/** What the answer to a query carries. */
export type QueryResult = ActiveSubscriptionsResult | PairingStatusResult

/** How the commands of one type go on the wire (docs/contract.md §2). */
export interface WireOperation<C extends ConaxCommand> {
  readonly service: ConaxService
  /** The operation's name; the request is `<{operation}Request>`, the answer `<{operation}Response>`. */
  readonly operation: string
  /**
   * The children of `<OpRequest>`, in the XSD's order (a strict server may insist on it). A write
   * ends with `write`, its `SequenceNumber`, so that a retry is a replay at the CA and changes
   * nothing twice; a query has no such element. Null optionals are left out.
   */
  children(command: C, write: RequestObject): RequestObject
  /** What an OK answer carries: a query's result, null for a write, undefined when malformed. */
  payload(result: unknown): QueryResult | null | undefined
}

/** One operation for each command type. */
type WireTable = { readonly [T in RequestType]: WireOperation<CommandOf<T>> }

/** A write's OK answer carries nothing but its TransactionStatus. */
const nothing = (): null => null

/** `{ Element: value }` when the value is there, `{}` when it is null (the element is omitted). */
function optional(element: string, value: string | number | null | undefined): RequestObject {
  return value === null || value === undefined ? {} : { [element]: value }
}

type MessageCommand = Extract<ConaxCommand, { readonly message: string }>

/** The three message operations share their elements; keys are listed in the XSD's order. */
function messageChildren(command: MessageCommand, write: RequestObject): RequestObject {
  return {
    CaClientIds: { CaClientId: command.smartcardCaIds },
    Message: command.message,
    ...('displayDurationInSeconds' in command
      ? { DisplayDurationInSeconds: command.displayDurationInSeconds }
      : {}),
    ...optional('StartIndicationTime', command.startIndicationTime),
    ...('repetitionCount' in command
      ? {
          RepetitionCount: command.repetitionCount,
          RepetitionIntervalInSeconds: command.repetitionIntervalInSeconds,
        }
      : {}),
    ...write,
  }
}

/**
 * Where each command type goes (its service and operation), the children of its request and what
 * its answer carries. Distributors are sent only where the contract has a `Distributor` element
 * (AddSubscriptions, CancelSubscriptions, CreatePairing). A command type without its entry here
 * does not compile.
 */
export const OPERATION_OF = {
  ADD_SUBSCRIPTIONS: {
    service: 'subscription',
    operation: 'AddSubscriptions',
    children: (command, write) => ({
      Subscriptions: {
        Subscription: [
          {
            CaClientId: command.smartcardCaId,
            ProductId: command.serviceCaId,
            ...optional('Distributor', command.distributor),
            ...optional('StartDate', command.startDate),
            ...optional('EndDate', command.endDate),
          },
        ],
      },
      ...write,
    }),
    payload: nothing,
  },
  CANCEL_SUBSCRIPTIONS: {
    service: 'subscription',
    operation: 'CancelSubscriptions',
    children: (command, write) => ({
      Subscriptions: {
        Subscription: [
          {
            CaClientId: command.smartcardCaId,
            ProductId: command.serviceCaId,
            ...optional('Distributor', command.distributor),
          },
        ],
      },
      ...write,
    }),
    payload: nothing,
  },
  GET_ACTIVE_SUBSCRIPTIONS: {
    service: 'subscription',
    operation: 'GetActiveSubscriptions',
    children: (command) => ({ CaClientId: command.smartcardCaId }),
    payload: (result) => readActiveSubscriptions(result) ?? undefined,
  },
  CREATE_PAIRING: {
    service: 'pairing',
    operation: 'CreatePairing',
    children: (command, write) => ({
      CaClientIds: { CaClientId: command.smartcardCaIds },
      PairingModuleIds: { PairingModuleId: command.stbCaIds },
      ...optional('Distributor', command.distributor),
      ...write,
    }),
    payload: nothing,
  },
  ADD_TO_EXISTING_PAIRING: {
    service: 'pairing',
    operation: 'AddToExistingPairing',
    // Empty lists are left out (both are optional); the CA refuses a request with neither.
    children: (command, write) => ({
      PairedCaClientId: command.pairedSmartcardCaId,
      ...(command.smartcardCaIds.length > 0
        ? { CaClientIds: { CaClientId: command.smartcardCaIds } }
        : {}),
      ...(command.stbCaIds.length > 0
        ? { PairingModuleIds: { PairingModuleId: command.stbCaIds } }
        : {}),
      ...write,
    }),
    payload: nothing,
  },
  GET_PAIRING_STATUS_FOR_CARD: {
    service: 'pairing',
    operation: 'GetPairingStatusForCard',
    children: (command) => ({ CaClientId: command.smartcardCaId }),
    payload: (result) => readPairingStatus(result) ?? undefined,
  },
  GET_PAIRING_STATUS_FOR_PAIRING_MODULE: {
    service: 'pairing',
    operation: 'GetPairingStatusForPairingModule',
    children: (command) => ({ PairingModuleId: command.stbCaId }),
    payload: (result) => readPairingStatus(result) ?? undefined,
  },
  DISPLAY_FINGERPRINT: {
    service: 'fingerprint',
    operation: 'DisplayFingerprint',
    children: (command, write) => ({
      CaClientIds: { CaClientId: command.smartcardCaIds },
      ...optional('DisplayTime', command.displayTime),
      DurationInSeconds: command.durationInSeconds,
      ...optional('PositionX', command.positionX),
      ...optional('PositionY', command.positionY),
      Height: command.height,
      Slot: command.slot,
      ...write,
    }),
    payload: nothing,
  },
  UPDATE_CA_PIN_TO_DEFAULT_VALUE: {
    service: 'ca-pin',
    operation: 'UpdateCaPinToDefaultValue',
    children: (command, write) => ({ CaClientId: command.smartcardCaId, ...write }),
    payload: nothing,
  },
  UPDATE_CA_PIN_TO_GIVEN_VALUE: {
    service: 'ca-pin',
    operation: 'UpdateCaPinToGivenValue',
    children: (command, write) => ({
      CaClientId: command.smartcardCaId,
      Pin: command.pin,
      ...write,
    }),
    payload: nothing,
  },
  SEND_MAIL_MESSAGE_TO_CLIENT: {
    service: 'user-text-messaging',
    operation: 'SendMailMessageToClients',
    children: messageChildren,
    payload: nothing,
  },
  SEND_BARK_MESSAGE_TO_CLIENT: {
    service: 'user-text-messaging',
    operation: 'SendBarkMessageToClients',
    children: messageChildren,
    payload: nothing,
  },
  SEND_REPEATING_BARK_MESSAGE_TO_CLIENT: {
    service: 'user-text-messaging',
    operation: 'SendRepeatingBarkMessageToClients',
    children: messageChildren,
    payload: nothing,
  },
} as const satisfies WireTable

/** The 13 operation names of the contract. */
export type ConaxOperation = (typeof OPERATION_OF)[RequestType]['operation']

/** The table as the generic functions below read it: each type's entry takes its own command. */
const WIRE: WireTable = OPERATION_OF

/** One call: which service and operation, and the children of its `<OpRequest>`. */
export interface ConaxRequest {
  /** The type of the command it sends. */
  readonly type: RequestType
  readonly service: ConaxService
  readonly operation: ConaxOperation
  readonly children: RequestObject
}

const INT_MAX = 2_147_483_647

/** The children of a command of type `type`. */
function childrenOf<T extends RequestType>(
  type: T,
  command: CommandOf<T>,
  write: RequestObject,
): RequestObject {
  return WIRE[type].children(command, write)
}

/** The request a command is sent as (see {@link OPERATION_OF}). */
export function toConaxRequest(command: ConaxCommand, sequenceNumber: number): ConaxRequest {
  if (!Number.isInteger(sequenceNumber) || sequenceNumber < 0 || sequenceNumber > INT_MAX) {
    throw new RangeError(
      `Failed to build the ${command.type} request: SequenceNumber ${sequenceNumber} is not an xs:int from 0 to ${INT_MAX}.`,
    )
  }
  const { service, operation } = OPERATION_OF[command.type]
  const write = { SequenceNumber: sequenceNumber }
  return {
    type: command.type,
    service,
    operation,
    children: childrenOf(command.type, command, write),
  }
}

/** What the OK answer to a request carries: a query's result, null for a write, undefined when malformed. */
export function readPayload(
  request: ConaxRequest,
  result: unknown,
): QueryResult | null | undefined {
  return OPERATION_OF[request.type].payload(result)
}

/** Rebuilds the children with every text passed through `change(text, path)`. */
function mapTexts(
  children: RequestObject,
  change: (text: string, path: string) => string,
  path = '',
): RequestObject {
  const convert = (value: RequestValue, where: string): RequestValue => {
    if (typeof value === 'string') {
      return change(value, where)
    }
    if (typeof value === 'number') {
      return value
    }
    if (Array.isArray(value)) {
      return (value as readonly (string | RequestObject)[]).map((item) =>
        typeof item === 'string' ? change(item, where) : mapTexts(item, change, where),
      ) as readonly string[] | readonly RequestObject[]
    }
    return mapTexts(value as RequestObject, change, where)
  }
  return Object.fromEntries(
    Object.entries(children).map(([element, value]) => [
      element,
      convert(value, path ? `${path}/${element}` : element),
    ]),
  )
}

// XML 1.0 `Char`: anything else cannot be sent at all, not even as a character reference.
const NOT_XML_CHAR = /[^\t\n\r\x20-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u

/**
 * The first text of the request that XML 1.0 cannot carry (e.g. a control character pasted into a
 * message), described, or null. The CA would answer such a body with "Couldn't parse stream.", a
 * server fault that is retried forever, so the client refuses to send it instead.
 */
export function findUnsendableText(children: RequestObject): string | null {
  let problem: string | null = null
  mapTexts(children, (text, path) => {
    const bad = NOT_XML_CHAR.exec(text)?.[0]
    if (bad !== undefined && problem === null) {
      const code = (bad.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')
      problem = `${path} holds U+${code}, a character that XML cannot carry.`
    }
    return text
  })
  return problem
}
