import type { ConaxCommand } from './commands.js'
import type { Subscription } from './crm.js'
import { ok } from './result.js'
import { namedSubscription, oneDevice } from './utility-cards.js'
import { reject, type Checked } from './utility-rules.js'

/**
 * PIN: the Reset PIN utility sets a smartcard's CA PIN to the CA's default
 * (UPDATE_CA_PIN_TO_DEFAULT_VALUE) or to a given value (UPDATE_CA_PIN_TO_GIVEN_VALUE).
 * @module
 */

/** RESET_PIN: one smartcard's PIN, to the default or to `pin`. */
export interface ResetPinRequest {
  readonly utility: 'RESET_PIN'
  readonly smartcard: string
  readonly subscriptionId?: string | null
  /** absent: reset to the default PIN */
  readonly pin?: string
}

/** RESET_PIN: one UPDATE_CA_PIN_TO_DEFAULT_VALUE, or UPDATE_CA_PIN_TO_GIVEN_VALUE with 4 digits. */
export function planPin(
  current: Subscription | null,
  request: ResetPinRequest,
): Checked<readonly ConaxCommand[]> {
  const subscription = namedSubscription(current, request.subscriptionId)
  if (!subscription.ok) {
    return subscription
  }
  if (request.pin !== undefined && !/^\d{4}$/.test(request.pin)) {
    return reject(
      'INVALID_FIELD',
      'pin',
      'pin: must be exactly 4 digits, or left out to reset the PIN to the default.',
    )
  }
  const distributor = oneDevice(subscription.value, 'SMARTCARD', request.smartcard, 'smartcard')
  if (!distributor.ok) {
    return distributor
  }
  const base = { smartcardCaId: request.smartcard, distributor: distributor.value }
  return ok([
    request.pin === undefined
      ? { type: 'UPDATE_CA_PIN_TO_DEFAULT_VALUE', ...base }
      : { type: 'UPDATE_CA_PIN_TO_GIVEN_VALUE', ...base, pin: request.pin },
  ])
}
