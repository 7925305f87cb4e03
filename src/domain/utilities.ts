import type { ConaxCommand } from './commands.js'
import type { ProvisioningProvider, Subscription } from './crm.js'
import type { ProcessName } from './provisioning-request.js'
import { ok, type Result } from './result.js'
import { planInformation, type ConaxInformationRequest } from './utility-cards.js'
import {
  planFingerprint,
  planMessage,
  type DisplayFingerprintRequest,
  type SendMessageRequest,
} from './utility-messages.js'
import { planPairing, type PairDevicesRequest } from './utility-pairing.js'
import { planPin, type ResetPinRequest } from './utility-pin.js'
import type { UtilityRejection } from './utility-rules.js'

/**
 * The single-subscription utilities of CRM.COM's Conax module (docs/domain.md §2.8): send a
 * message, show a fingerprint, pair devices, reset a PIN, ask Conax what it holds. Pure: the
 * caller loads the subscription and passes the time. Each utility's fields and rules are in the
 * file of its concept: utility-messages.ts (messages and fingerprints), utility-pairing.ts,
 * utility-pin.ts, utility-cards.ts (cards and products: devices, Conax information); the rules
 * they share are in utility-rules.ts.
 */
export const UTILITY_NAMES = [
  'SEND_MESSAGE',
  'DISPLAY_FINGERPRINT',
  'PAIR_DEVICES',
  'RESET_PIN',
  'GET_CONAX_INFORMATION',
] as const
export type UtilityName = (typeof UTILITY_NAMES)[number]

export { MESSAGE_MAX_LENGTH, MESSAGE_TYPES, UTILITY_DEFAULTS } from './utility-messages.js'
export type {
  DisplayFingerprintRequest,
  MessageType,
  SendMessageRequest,
} from './utility-messages.js'
export type { PairDevicesRequest } from './utility-pairing.js'
export type { ResetPinRequest } from './utility-pin.js'
export type { ConaxInformationRequest } from './utility-cards.js'
export { UTILITY_ERROR_CODES, UTILITY_LIMITS, utcInstant } from './utility-rules.js'
export type { UtilityErrorCode, UtilityRejection } from './utility-rules.js'

/** What a utility asks for; a field left out takes the default of src/README.md ("Utilities"). */
export type UtilityRequest =
  | SendMessageRequest
  | DisplayFingerprintRequest
  | PairDevicesRequest
  | ResetPinRequest
  | ConaxInformationRequest

/** The process name and the commands of a utility. */
export interface UtilityPlan {
  readonly processName: ProcessName
  /** The Conax commands, in sending order. */
  readonly commands: readonly ConaxCommand[]
}

/** CRM.COM's process name of each utility (the fingerprint's double I is the vendor's, §4.2). */
export const UTILITY_PROCESS_NAMES: Readonly<Record<UtilityName, ProcessName>> = {
  SEND_MESSAGE: 'MAIL_BARK_MESSAGE_UTILITY',
  DISPLAY_FINGERPRINT: 'FIINGERPRINTING_UTILITY',
  PAIR_DEVICES: 'PAIRING_UTILITY',
  RESET_PIN: 'RESET_PIN',
  GET_CONAX_INFORMATION: 'CONAX_INFORMATION_UTILITY',
}

/**
 * Plans one utility: every field is checked before anything is sent, and the answer is the
 * process name and the Conax commands, or a rejection naming the field at fault. Messages and
 * fingerprints become one command per distributor and per `delivery.maxCardsPerRequest` cards.
 *
 * @example
 * planUtility(provider, subscription, { utility: 'SEND_MESSAGE', subscriptionId: 'S1',
 *   messageType: 'MAIL', message: 'Your bill is ready' }, '2026-11-26T10:00:00.000Z')
 */
export function planUtility(
  provider: ProvisioningProvider,
  subscription: Subscription | null,
  request: UtilityRequest,
  now: string,
): Result<UtilityPlan, UtilityRejection> {
  const commands = commandsOf(provider, subscription, request, now)
  return commands.ok
    ? ok({ processName: UTILITY_PROCESS_NAMES[request.utility], commands: commands.value })
    : commands
}

function commandsOf(
  provider: ProvisioningProvider,
  subscription: Subscription | null,
  request: UtilityRequest,
  now: string,
): Result<readonly ConaxCommand[], UtilityRejection> {
  switch (request.utility) {
    case 'SEND_MESSAGE':
      return planMessage(provider, subscription, request)
    case 'DISPLAY_FINGERPRINT':
      return planFingerprint(provider, subscription, request, now)
    case 'PAIR_DEVICES':
      return planPairing(provider, subscription, request)
    case 'RESET_PIN':
      return planPin(subscription, request)
    case 'GET_CONAX_INFORMATION':
      return planInformation(subscription, request)
  }
}
