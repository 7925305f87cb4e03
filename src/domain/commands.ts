/**
 * The 13 Conax command types of CRM.COM's "Conax Contego Web Services" module (docs/domain.md
 * §2.5) and their parameters. A command is what the planner emits and the Conax client sends;
 * a provisioning request wraps one command with its life cycle.
 */
export const REQUEST_TYPES = [
  'ADD_SUBSCRIPTIONS',
  'CANCEL_SUBSCRIPTIONS',
  'GET_ACTIVE_SUBSCRIPTIONS',
  'CREATE_PAIRING',
  'ADD_TO_EXISTING_PAIRING',
  'GET_PAIRING_STATUS_FOR_CARD',
  'GET_PAIRING_STATUS_FOR_PAIRING_MODULE',
  'DISPLAY_FINGERPRINT',
  'UPDATE_CA_PIN_TO_DEFAULT_VALUE',
  'UPDATE_CA_PIN_TO_GIVEN_VALUE',
  'SEND_MAIL_MESSAGE_TO_CLIENT',
  'SEND_BARK_MESSAGE_TO_CLIENT',
  'SEND_REPEATING_BARK_MESSAGE_TO_CLIENT',
] as const

export type RequestType = (typeof REQUEST_TYPES)[number]

/** True for the three query types, which change nothing in the CA. */
export function isQuery(type: RequestType): boolean {
  return type.startsWith('GET_')
}

/** `null` distributor means "not distributed" (CRM.COM's "None"). */
type Distributor = string | null

export interface AddSubscriptionsCommand {
  readonly type: 'ADD_SUBSCRIPTIONS'
  readonly smartcardCaId: string
  readonly serviceCaId: string
  readonly distributor: Distributor
  readonly startDate?: string
  readonly endDate?: string
}

export interface CancelSubscriptionsCommand {
  readonly type: 'CANCEL_SUBSCRIPTIONS'
  readonly smartcardCaId: string
  readonly serviceCaId: string
  readonly distributor: Distributor
}

export interface CreatePairingCommand {
  readonly type: 'CREATE_PAIRING'
  readonly smartcardCaIds: readonly string[]
  readonly stbCaIds: readonly string[]
  readonly distributor: Distributor
}

export interface AddToExistingPairingCommand {
  readonly type: 'ADD_TO_EXISTING_PAIRING'
  readonly pairedSmartcardCaId: string
  readonly smartcardCaIds: readonly string[]
  readonly stbCaIds: readonly string[]
  readonly distributor: Distributor
}

export interface GetActiveSubscriptionsCommand {
  readonly type: 'GET_ACTIVE_SUBSCRIPTIONS'
  readonly smartcardCaId: string
  readonly distributor: Distributor
}

export interface GetPairingStatusForCardCommand {
  readonly type: 'GET_PAIRING_STATUS_FOR_CARD'
  readonly smartcardCaId: string
  readonly distributor: Distributor
}

export interface GetPairingStatusForPairingModuleCommand {
  readonly type: 'GET_PAIRING_STATUS_FOR_PAIRING_MODULE'
  readonly stbCaId: string
  readonly distributor: Distributor
}

interface MessageFields {
  readonly smartcardCaIds: readonly string[]
  readonly message: string
  readonly startIndicationTime: string | null
  readonly distributor: Distributor
  /** The communication queue entry a message run processed (absent for the utility). */
  readonly communicationQueueNumber?: string
}

export interface SendMailCommand extends MessageFields {
  readonly type: 'SEND_MAIL_MESSAGE_TO_CLIENT'
}

export interface SendBarkCommand extends MessageFields {
  readonly type: 'SEND_BARK_MESSAGE_TO_CLIENT'
  readonly displayDurationInSeconds: number
}

export interface SendRepeatingBarkCommand extends MessageFields {
  readonly type: 'SEND_REPEATING_BARK_MESSAGE_TO_CLIENT'
  readonly displayDurationInSeconds: number
  readonly repetitionCount: number
  readonly repetitionIntervalInSeconds: number
}

export interface DisplayFingerprintCommand {
  readonly type: 'DISPLAY_FINGERPRINT'
  readonly smartcardCaIds: readonly string[]
  readonly displayTime: string | null
  readonly durationInSeconds: number
  readonly positionX: number | null
  readonly positionY: number | null
  readonly height: number
  readonly slot: 'A' | 'B'
  readonly distributor: Distributor
}

export interface UpdatePinToDefaultCommand {
  readonly type: 'UPDATE_CA_PIN_TO_DEFAULT_VALUE'
  readonly smartcardCaId: string
  readonly distributor: Distributor
}

export interface UpdatePinToGivenCommand {
  readonly type: 'UPDATE_CA_PIN_TO_GIVEN_VALUE'
  readonly smartcardCaId: string
  readonly pin: string
  readonly distributor: Distributor
}

export type ConaxCommand =
  | AddSubscriptionsCommand
  | CancelSubscriptionsCommand
  | CreatePairingCommand
  | AddToExistingPairingCommand
  | GetActiveSubscriptionsCommand
  | GetPairingStatusForCardCommand
  | GetPairingStatusForPairingModuleCommand
  | SendMailCommand
  | SendBarkCommand
  | SendRepeatingBarkCommand
  | DisplayFingerprintCommand
  | UpdatePinToDefaultCommand
  | UpdatePinToGivenCommand

/** Every smartcard CA ID a command touches, in the order it names them (used to keep per-card order). */
export function cardsOf(command: ConaxCommand): readonly string[] {
  switch (command.type) {
    case 'ADD_SUBSCRIPTIONS':
    case 'CANCEL_SUBSCRIPTIONS':
    case 'GET_ACTIVE_SUBSCRIPTIONS':
    case 'GET_PAIRING_STATUS_FOR_CARD':
    case 'UPDATE_CA_PIN_TO_DEFAULT_VALUE':
    case 'UPDATE_CA_PIN_TO_GIVEN_VALUE':
      return [command.smartcardCaId]
    case 'CREATE_PAIRING':
      return command.smartcardCaIds
    case 'ADD_TO_EXISTING_PAIRING':
      return [command.pairedSmartcardCaId, ...command.smartcardCaIds]
    case 'GET_PAIRING_STATUS_FOR_PAIRING_MODULE':
      return []
    case 'SEND_MAIL_MESSAGE_TO_CLIENT':
    case 'SEND_BARK_MESSAGE_TO_CLIENT':
    case 'SEND_REPEATING_BARK_MESSAGE_TO_CLIENT':
    case 'DISPLAY_FINGERPRINT':
      return command.smartcardCaIds
  }
}

/** Every STB CA ID a command touches. */
export function stbsOf(command: ConaxCommand): readonly string[] {
  switch (command.type) {
    case 'CREATE_PAIRING':
    case 'ADD_TO_EXISTING_PAIRING':
      return command.stbCaIds
    case 'GET_PAIRING_STATUS_FOR_PAIRING_MODULE':
      return [command.stbCaId]
    case 'ADD_SUBSCRIPTIONS':
    case 'CANCEL_SUBSCRIPTIONS':
    case 'GET_ACTIVE_SUBSCRIPTIONS':
    case 'GET_PAIRING_STATUS_FOR_CARD':
    case 'DISPLAY_FINGERPRINT':
    case 'UPDATE_CA_PIN_TO_DEFAULT_VALUE':
    case 'UPDATE_CA_PIN_TO_GIVEN_VALUE':
    case 'SEND_MAIL_MESSAGE_TO_CLIENT':
    case 'SEND_BARK_MESSAGE_TO_CLIENT':
    case 'SEND_REPEATING_BARK_MESSAGE_TO_CLIENT':
      return []
  }
}
