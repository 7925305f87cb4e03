import type { CaState } from './ca-state.js'
import { checkCard, fail, invalid } from './checks.js'
import { isPin } from './rules.js'
import type { OperationContext, Outcome } from './types.js'

/**
 * The CA PIN (the `ca-pin` service): the 4-digit PIN each card holds.
 *
 * | operation                 | effect                                            |
 * | ------------------------- | ------------------------------------------------- |
 * | UpdateCaPinToDefaultValue | the PIN becomes the profile's default (`1234`)    |
 * | UpdateCaPinToGivenValue   | the PIN becomes the given value (exactly 4 digits) |
 */

/** UpdateCaPinToDefaultValue / UpdateCaPinToGivenValue (`pin` null means the default). */
export function updatePin(
  state: CaState,
  ctx: OperationContext,
  caClientId: string,
  pin: string | null,
): Outcome<string> {
  const problem =
    (pin !== null && !isPin(pin) ? invalid(`Pin must be exactly 4 digits.`) : null) ??
    checkCard(state, ctx, caClientId, 'CaClientId')
  if (problem) {
    return fail(problem)
  }
  const card = state.existingCard(caClientId)
  state.touchCard(caClientId, card)
  card.pin = pin ?? state.rules.defaultPin
  return {
    ok: true,
    value: card.pin,
    message: pin === null ? 'PIN reset to the default value.' : 'PIN updated.',
  }
}
