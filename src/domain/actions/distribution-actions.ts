import { z } from 'zod'
import type { ConaxCommand } from '../commands.js'
import type { ExpectedCaState } from '../expected-ca-state.js'
import { defineAction, distributorField, nonEmpty, refuse } from './action-definition.js'

/**
 * The distribution action of the seed's mapping table: services and installed items moved to
 * other distributors (viewing points).
 * @module
 */

const moveSchema = z.union([
  z.strictObject({ service: nonEmpty, from: distributorField, to: distributorField }),
  z.strictObject({ serialNumber: nonEmpty, to: distributorField }),
])

/**
 * The seed's mapping lists "Change subscription distribution (services added to new distributor)"
 * under CREATE_PAIRING as well as ADD_SUBSCRIPTIONS, like the activating actions: a distributor
 * that receives services gets its cards and STBs paired again before the additions, even when the
 * pairing itself did not change.
 */
function withPairingOfReceivers(commands: ConaxCommand[], after: ExpectedCaState): ConaxCommand[] {
  const receivers = new Set(
    commands.flatMap((c) =>
      c.type === 'ADD_SUBSCRIPTIONS' && c.distributor ? [c.distributor] : [],
    ),
  )
  const paired = new Set(
    commands.flatMap((c) => (c.type === 'CREATE_PAIRING' && c.distributor ? [c.distributor] : [])),
  )
  const extra: ConaxCommand[] = []
  for (const distributor of receivers) {
    const pairing = after.pairings.get(distributor)
    if (pairing && !paired.has(distributor)) {
      extra.push({
        type: 'CREATE_PAIRING',
        smartcardCaIds: pairing.smartcardCaIds,
        stbCaIds: pairing.stbCaIds,
        distributor,
      })
    }
  }
  const firstNonPairing = commands.findIndex((c) => c.type !== 'CREATE_PAIRING')
  const at = firstNonPairing === -1 ? commands.length : firstNonPairing
  return [...commands.slice(0, at), ...extra, ...commands.slice(at)]
}

/** CHANGE_DISTRIBUTION: each move of a service (from one distributor) or an item to another. */
export const changeDistribution = defineAction({
  action: z.literal('CHANGE_DISTRIBUTION'),
  fields: { moves: z.array(moveSchema).min(1, 'must name at least one move') },
  apply: ({ current, touch }, { moves }) => {
    let services = [...current.services]
    let items = [...current.installedItems]
    for (const move of moves) {
      if ('service' in move) {
        const index = services.findIndex(
          (s) => s.service === move.service && s.distributor === move.from,
        )
        if (index < 0) {
          return refuse(
            'SERVICE_NOT_FOUND',
            `Subscription '${current.id}' has no service '${move.service}' on distributor '${move.from ?? 'none'}'.`,
          )
        }
        services = services.map((s, i) => (i === index ? { ...s, distributor: move.to } : s))
      } else {
        const index = items.findIndex((item) => item.serialNumber === move.serialNumber)
        if (index < 0) {
          return refuse(
            'ITEM_NOT_FOUND',
            `Subscription '${current.id}' has no installed item '${move.serialNumber}'.`,
          )
        }
        items = items.map((item, i) => (i === index ? { ...item, distributor: move.to } : item))
      }
    }
    return touch({ services, installedItems: items })
  },
  adjust: (commands, { after }) => withPairingOfReceivers(commands, after),
})

/** The distribution actions, in the order the API lists them. */
export const DISTRIBUTION_ACTIONS = [changeDistribution] as const
