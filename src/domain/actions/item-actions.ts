import { z } from 'zod'
import type { InstalledItem, ItemKind, ProvisioningProvider, Subscription } from '../crm.js'
import { ok, type Result } from '../result.js'
import {
  defineAction,
  distributorField,
  itemInputSchema,
  nonEmpty,
  refuse,
  type ItemInput,
  type PlanRejection,
  type Step,
} from './action-definition.js'

/**
 * The installed item actions of the seed's mapping table: a smartcard or STB added, removed or
 * swapped for another. The CA difference pairs the viewing point again (CREATE_PAIRING), gives a
 * new card its viewing point's services and cancels those of a card that leaves.
 * @module
 */

/** The CA ID rule of each kind (INVALID_CA_ID). */
const CA_ID_RULES: Readonly<Record<ItemKind, { pattern: RegExp; text: string }>> = {
  SMARTCARD: { pattern: /^\d{11}$/, text: 'exactly 11 digits' },
  STB: { pattern: /^\d{1,20}$/, text: '1 to 20 digits' },
}

/** The installed item an input names: its kind from the provider's physical goods, its CA ID checked. */
export function toItem(
  provider: ProvisioningProvider,
  input: ItemInput,
): Result<InstalledItem, PlanRejection> {
  const good = provider.physicalGoods.find((g) => g.product === input.product)
  if (!good) {
    return refuse(
      'PHYSICAL_GOOD_NOT_MAPPED',
      `Physical good '${input.product}' of item '${input.serialNumber}' is not mapped to a smartcard or STB in provider '${provider.name}'.`,
    )
  }
  const rule = CA_ID_RULES[good.kind]
  if (!rule.pattern.test(input.caId)) {
    return refuse(
      'INVALID_CA_ID',
      `CA ID '${input.caId}' of ${good.kind} '${input.serialNumber}' must be ${rule.text}.`,
    )
  }
  return ok({ ...input, kind: good.kind })
}

function itemNotFound(current: Subscription, serialNumber: string): Step {
  return refuse(
    'ITEM_NOT_FOUND',
    `Subscription '${current.id}' has no installed item '${serialNumber}'.`,
  )
}

/**
 * ADD_INSTALLED_ITEM: pairs the viewing point again and, with `activateServicesOnNewSmartcard`
 * (default), gives a new card the services of its viewing point.
 */
export const addInstalledItem = defineAction({
  action: z.literal('ADD_INSTALLED_ITEM'),
  fields: { item: itemInputSchema },
  apply: ({ provider, current, touch }, { item: input }) => {
    const item = toItem(provider, input)
    return item.ok ? touch({ installedItems: [...current.installedItems, item.value] }) : item
  },
  // The table lists only CREATE_PAIRING for "add installed item" (src/README.md, "Choices").
  adjust: (commands, { provider }, action) =>
    provider.activateServicesOnNewSmartcard
      ? commands
      : commands.filter(
          (c) => c.type !== 'ADD_SUBSCRIPTIONS' || c.smartcardCaId !== action.item.caId,
        ),
})

/** REMOVE_INSTALLED_ITEM: cancels a removed card's services; re-pairs a viewing point that keeps a card and an STB. */
export const removeInstalledItem = defineAction({
  action: z.literal('REMOVE_INSTALLED_ITEM'),
  fields: { serialNumber: nonEmpty },
  apply: ({ current, touch }, { serialNumber }) =>
    current.installedItems.some((item) => item.serialNumber === serialNumber)
      ? touch({
          installedItems: current.installedItems.filter(
            (item) => item.serialNumber !== serialNumber,
          ),
        })
      : itemNotFound(current, serialNumber),
})

/** SWAP_INSTALLED_ITEM: the new device of the same kind takes the old one's place (and distributor, unless named). */
export const swapInstalledItem = defineAction({
  action: z.literal('SWAP_INSTALLED_ITEM'),
  fields: {
    serialNumber: nonEmpty,
    item: itemInputSchema.extend({ distributor: distributorField.optional() }),
  },
  apply: ({ provider, current, touch }, { serialNumber, item: input }) => {
    const old = current.installedItems.find((item) => item.serialNumber === serialNumber)
    if (!old) {
      return itemNotFound(current, serialNumber)
    }
    const item = toItem(provider, {
      ...input,
      distributor: input.distributor === undefined ? old.distributor : input.distributor,
    })
    if (!item.ok) {
      return item
    }
    if (item.value.kind !== old.kind) {
      return refuse(
        'ITEM_KIND_MISMATCH',
        `Item '${serialNumber}' is a ${old.kind}; it can only be swapped for another ${old.kind}, not a ${item.value.kind}.`,
      )
    }
    return touch({
      installedItems: current.installedItems.map((i) =>
        i.serialNumber === serialNumber ? item.value : i,
      ),
    })
  },
})

/** The installed item actions, in the order the API lists them. */
export const ITEM_ACTIONS = [addInstalledItem, removeInstalledItem, swapInstalledItem] as const
