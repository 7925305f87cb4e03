import type { ConaxCommand, RequestType } from '../../domain/commands.js'

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

/** Where each command type goes: its service and operation (docs/contract.md §2). */
export const OPERATION_OF = {
  ADD_SUBSCRIPTIONS: { service: 'subscription', operation: 'AddSubscriptions' },
  CANCEL_SUBSCRIPTIONS: { service: 'subscription', operation: 'CancelSubscriptions' },
  GET_ACTIVE_SUBSCRIPTIONS: { service: 'subscription', operation: 'GetActiveSubscriptions' },
  CREATE_PAIRING: { service: 'pairing', operation: 'CreatePairing' },
  ADD_TO_EXISTING_PAIRING: { service: 'pairing', operation: 'AddToExistingPairing' },
  GET_PAIRING_STATUS_FOR_CARD: { service: 'pairing', operation: 'GetPairingStatusForCard' },
  GET_PAIRING_STATUS_FOR_PAIRING_MODULE: {
    service: 'pairing',
    operation: 'GetPairingStatusForPairingModule',
  },
  SEND_MAIL_MESSAGE_TO_CLIENT: {
    service: 'user-text-messaging',
    operation: 'SendMailMessageToClients',
  },
  SEND_BARK_MESSAGE_TO_CLIENT: {
    service: 'user-text-messaging',
    operation: 'SendBarkMessageToClients',
  },
  SEND_REPEATING_BARK_MESSAGE_TO_CLIENT: {
    service: 'user-text-messaging',
    operation: 'SendRepeatingBarkMessageToClients',
  },
  DISPLAY_FINGERPRINT: { service: 'fingerprint', operation: 'DisplayFingerprint' },
  UPDATE_CA_PIN_TO_DEFAULT_VALUE: { service: 'ca-pin', operation: 'UpdateCaPinToDefaultValue' },
  UPDATE_CA_PIN_TO_GIVEN_VALUE: { service: 'ca-pin', operation: 'UpdateCaPinToGivenValue' },
} as const satisfies Record<RequestType, { service: ConaxService; operation: string }>

/** The 13 operation names of the contract. */
export type ConaxOperation = (typeof OPERATION_OF)[RequestType]['operation']

/** The children of `<OpRequest>`: strings, numbers and nested lists, in the XSD's sequence order. */
export type RequestValue =
  string | number | readonly string[] | RequestObject | readonly RequestObject[]
/** An element's children by name. */
export interface RequestObject {
  readonly [element: string]: RequestValue
}

/** One call: which service and operation, and the children of its `<OpRequest>`. */
export interface ConaxRequest {
  readonly service: ConaxService
  readonly operation: ConaxOperation
  readonly children: RequestObject
}

const INT_MAX = 2_147_483_647

/** `{ Element: value }` when the value is there, `{}` when it is null (the element is omitted). */
function optional(element: string, value: string | number | null | undefined): RequestObject {
  return value === null || value === undefined ? {} : { [element]: value }
}

/**
 * The request a command is sent as. Writes carry `SequenceNumber`, so that a retry is a replay at
 * the CA and changes nothing twice; queries carry none (the contract has no such element there).
 * Elements come in the XSD's order, which a strict server may insist on. Distributors are sent
 * only where the contract has a `Distributor` element (AddSubscriptions, CancelSubscriptions,
 * CreatePairing).
 */
export function toConaxRequest(command: ConaxCommand, sequenceNumber: number): ConaxRequest {
  if (!Number.isInteger(sequenceNumber) || sequenceNumber < 0 || sequenceNumber > INT_MAX) {
    throw new RangeError(
      `Failed to build the ${command.type} request: SequenceNumber ${sequenceNumber} is not an xs:int from 0 to ${INT_MAX}.`,
    )
  }
  const { service, operation } = OPERATION_OF[command.type]
  const write = { SequenceNumber: sequenceNumber }
  return { service, operation, children: childrenOf(command, write) }
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

function childrenOf(command: ConaxCommand, write: RequestObject): RequestObject {
  switch (command.type) {
    case 'ADD_SUBSCRIPTIONS':
      return {
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
      }
    case 'CANCEL_SUBSCRIPTIONS':
      return {
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
      }
    case 'GET_ACTIVE_SUBSCRIPTIONS':
    case 'GET_PAIRING_STATUS_FOR_CARD':
      return { CaClientId: command.smartcardCaId }
    case 'GET_PAIRING_STATUS_FOR_PAIRING_MODULE':
      return { PairingModuleId: command.stbCaId }
    case 'CREATE_PAIRING':
      return {
        CaClientIds: { CaClientId: command.smartcardCaIds },
        PairingModuleIds: { PairingModuleId: command.stbCaIds },
        ...optional('Distributor', command.distributor),
        ...write,
      }
    case 'ADD_TO_EXISTING_PAIRING':
      // Empty lists are left out (both are optional); the CA refuses a request with neither.
      return {
        PairedCaClientId: command.pairedSmartcardCaId,
        ...(command.smartcardCaIds.length > 0
          ? { CaClientIds: { CaClientId: command.smartcardCaIds } }
          : {}),
        ...(command.stbCaIds.length > 0
          ? { PairingModuleIds: { PairingModuleId: command.stbCaIds } }
          : {}),
        ...write,
      }
    case 'SEND_MAIL_MESSAGE_TO_CLIENT':
    case 'SEND_BARK_MESSAGE_TO_CLIENT':
    case 'SEND_REPEATING_BARK_MESSAGE_TO_CLIENT':
      return messageChildren(command, write)
    case 'DISPLAY_FINGERPRINT':
      return {
        CaClientIds: { CaClientId: command.smartcardCaIds },
        ...optional('DisplayTime', command.displayTime),
        DurationInSeconds: command.durationInSeconds,
        ...optional('PositionX', command.positionX),
        ...optional('PositionY', command.positionY),
        Height: command.height,
        Slot: command.slot,
        ...write,
      }
    case 'UPDATE_CA_PIN_TO_DEFAULT_VALUE':
      return { CaClientId: command.smartcardCaId, ...write }
    case 'UPDATE_CA_PIN_TO_GIVEN_VALUE':
      return { CaClientId: command.smartcardCaId, Pin: command.pin, ...write }
  }
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

const CDATA_LOOKALIKE = /^<!\[CDATA\[[\s\S]*\]\]>$/

/**
 * The children as node-soap must be given them. node-soap sends a text that starts with
 * `<![CDATA[` and ends with `]]>` unescaped (utils.js `xmlEscape`), so the CA would get it
 * changed; such a text is wrapped in a real CDATA section that carries it exactly.
 */
export function toSoapArgs(children: RequestObject): RequestObject {
  return mapTexts(children, (text) =>
    CDATA_LOOKALIKE.test(text) ? `<![CDATA[${text.replaceAll(']]>', ']]]]><![CDATA[>')}]]>` : text,
  )
}
