import { expect } from 'vitest'
import { CaModel } from '../ca-model.js'
import type { CardView, InventoryInput } from '../inventory.js'
import type { BarkInput, FingerprintInput, MessageInput, RepeatingBarkInput } from '../messages.js'
import type { AddSubscriptionItem } from '../subscriptions.js'
import type { ModelRules, OperationContext, Outcome } from '../types.js'

/** The model tests' inventory, context and builders: one small CA with cards of two SMS users. */

export const CARD_A = '01450253313'
export const CARD_B = '01900080207'
export const CARD_C = '01000000003'
export const CARD_OTHER_SMS = '09999999999'
export const CARD_UNKNOWN = '01234567890'
export const STB_1 = '1000000001'
export const STB_2 = '1000000002'
export const STB_3 = '1000000003'

export const NOW = '2026-11-26T10:00:00.000Z'
export const ctx: OperationContext = { user: 'sms', now: NOW, transactionId: 'tx-1' }

export const INVENTORY: InventoryInput = {
  smartcards: [
    { caClientId: CARD_A },
    { caClientId: CARD_B },
    { caClientId: CARD_C },
    { caClientId: CARD_OTHER_SMS, sms: 'other' },
  ],
  pairingModules: [STB_1, STB_2, STB_3].map((id, index) => ({
    pairingModuleId: id,
    serialNumber: `KA2611XB00000${index + 1}`,
    productCode: 'KSTB5043',
    productDescription: 'Kaon KSTB5043 HD Conax Zapper',
  })),
  products: [{ productId: 'GFA1', name: 'Gold' }, { productId: 'EFA2' }, { productId: '1001' }],
}

export function aModel(rules: Partial<ModelRules> = {}): CaModel {
  const model = new CaModel({ defaultSms: 'sms', rules })
  const registered = model.registerInventory(INVENTORY)
  expect(registered.ok).toBe(true)
  return model
}

export function cardOf(model: CaModel, caClientId: string): CardView {
  const view = model.card(caClientId)
  if (!view) {
    throw new Error(`card ${caClientId} is not known to the model`)
  }
  return view
}

export const codeOf = (outcome: Outcome<unknown>): string => (outcome.ok ? 'OK' : outcome.code)

export function valueOf<T>(outcome: Outcome<T>): T {
  if (!outcome.ok) {
    throw new Error(`expected OK, got ${outcome.code}: ${outcome.message}`)
  }
  return outcome.value
}

export const sub = (
  caClientId: string,
  productId: string,
  extra: Partial<AddSubscriptionItem> = {},
): AddSubscriptionItem => ({
  caClientId,
  productId,
  distributor: null,
  startDate: null,
  endDate: null,
  ...extra,
})

export const mail = (message: string, caClientIds: readonly string[] = [CARD_A]): MessageInput => ({
  caClientIds,
  message,
  startIndicationTime: null,
  sequenceNumber: null,
})

export const bark = (message: string, extra: Partial<BarkInput> = {}): BarkInput => ({
  ...mail(message),
  displayDurationInSeconds: null,
  ...extra,
})

export const repeatingBark = (
  repetitionIntervalInSeconds: number,
  repetitionCount = 3,
): RepeatingBarkInput => ({
  ...bark('Pay your bill'),
  repetitionCount,
  repetitionIntervalInSeconds,
})

export const fingerprint = (extra: Partial<FingerprintInput> = {}): FingerprintInput => ({
  caClientIds: [CARD_A],
  displayTime: null,
  durationInSeconds: null,
  positionX: null,
  positionY: null,
  height: null,
  slot: null,
  sequenceNumber: null,
  ...extra,
})

export const pair = (model: CaModel, cards: readonly string[], stbs: readonly string[]): string =>
  valueOf(
    model.createPairing(ctx, { caClientIds: cards, pairingModuleIds: stbs, distributor: null }),
  )

export const pairingOf = (model: CaModel, caClientId: string): CardView['pairing'] =>
  cardOf(model, caClientId).pairing
