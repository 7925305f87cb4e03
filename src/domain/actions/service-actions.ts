import { z } from 'zod'
import type { Subscription, SubscriptionService } from '../crm.js'
import { ok, type Result } from '../result.js'
import {
  defineAction,
  distributorField,
  nonEmpty,
  refuse,
  type PlanRejection,
  type Step,
  type Touch,
} from './action-definition.js'

/**
 * The service actions of the seed's mapping table: a service added, removed, stopped or started,
 * swapped for others, and a swap regretted. The CA difference adds (ADD_SUBSCRIPTIONS) on every
 * card of the service's distributor and cancels (CANCEL_SUBSCRIPTIONS) what goes; on an inactive
 * subscription they change the CRM state only.
 * @module
 */

/** The one service entry an action names: by code, and by distributor when the code is on several. */
function findService(
  current: Subscription,
  service: string,
  distributor: string | null | undefined,
): Result<{ readonly index: number; readonly entry: SubscriptionService }, PlanRejection> {
  const matches = current.services
    .map((entry, index) => ({ entry, index }))
    .filter(
      ({ entry }) =>
        entry.service === service &&
        (distributor === undefined || entry.distributor === distributor),
    )
  const first = matches[0]
  if (!first) {
    const where = distributor === undefined ? '' : ` on distributor '${distributor ?? 'none'}'`
    return refuse(
      'SERVICE_NOT_FOUND',
      `Subscription '${current.id}' has no service '${service}'${where}.`,
    )
  }
  if (matches.length > 1) {
    return refuse(
      'SERVICE_AMBIGUOUS',
      `Service '${service}' is on several distributors of subscription '${current.id}'; name the distributor.`,
    )
  }
  return ok(first)
}

/** ADD_SERVICE: a mapped service on a distributor. */
export const addService = defineAction({
  action: z.literal('ADD_SERVICE'),
  fields: { service: nonEmpty, distributor: distributorField },
  apply: ({ provider, current, touch }, { service, distributor }) => {
    if (!provider.services.some((m) => m.service === service)) {
      return refuse(
        'SERVICE_NOT_MAPPED',
        `Service '${service}' has no CA ID mapping in provider '${provider.name}'.`,
      )
    }
    return touch({
      services: [...current.services, { service, distributor, state: 'EFFECTIVE' }],
    })
  },
})

/** REMOVE_SERVICE, START_SERVICE, STOP_SERVICE: one service entry, by code (and distributor). */
export const changeService = defineAction({
  action: z.enum(['REMOVE_SERVICE', 'START_SERVICE', 'STOP_SERVICE']),
  fields: { service: nonEmpty, distributor: distributorField.optional() },
  apply: ({ current, touch }, action) => {
    const found = findService(current, action.service, action.distributor)
    if (!found.ok) {
      return found
    }
    const { index, entry } = found.value
    if (action.action === 'REMOVE_SERVICE') {
      return touch({ services: current.services.filter((_, i) => i !== index) })
    }
    const wanted = action.action === 'START_SERVICE' ? 'EFFECTIVE' : 'NOT_EFFECTIVE'
    if (entry.state === wanted) {
      return refuse(
        'ACTION_NOT_ALLOWED',
        `Service '${entry.service}' of subscription '${current.id}' is already ${wanted}.`,
      )
    }
    return touch({
      services: current.services.map((s, i) => (i === index ? { ...s, state: wanted } : s)),
    })
  },
})

interface SwapSpec {
  readonly from: readonly string[]
  readonly to: readonly string[]
  readonly distributor?: string | null | undefined
}

function swapServices(
  current: Subscription,
  { from, to, distributor }: SwapSpec,
  touch: Touch,
): Step {
  if (from.length === 0 || to.length === 0) {
    return refuse(
      'ACTION_NOT_ALLOWED',
      'A swap names at least one service to leave and one to take.',
    )
  }
  const removed = new Set<number>()
  let swapDistributor: string | null | undefined = distributor
  for (const service of from) {
    const found = findService(current, service, distributor)
    if (!found.ok) {
      return found
    }
    const { index, entry } = found.value
    if (swapDistributor !== undefined && entry.distributor !== swapDistributor) {
      return refuse(
        'SERVICE_AMBIGUOUS',
        `The services swapped out are on different distributors; swap them one distributor at a time.`,
      )
    }
    swapDistributor = entry.distributor
    removed.add(index)
  }
  const target = swapDistributor ?? null
  const kept = current.services.filter((_, index) => !removed.has(index))
  const added = to.map((service) => ({ service, distributor: target, state: 'EFFECTIVE' as const }))
  return touch({
    services: [...kept, ...added],
    swaps: [...current.swaps, { from: [...from], to: [...to], distributor: target }],
  })
}

/** SWAP_SERVICE: some services for others on one distributor, kept so that it can be regretted. */
export const swapService = defineAction({
  action: z.literal('SWAP_SERVICE'),
  fields: {
    from: z.array(nonEmpty).min(1),
    to: z.array(nonEmpty).min(1),
    distributor: distributorField.optional(),
  },
  apply: ({ current, touch }, swap) => swapServices(current, swap, touch),
})

/** REGRET_SWAP: undoes the last swap (of the distributor, if named). */
export const regretSwap = defineAction({
  action: z.literal('REGRET_SWAP'),
  fields: { distributor: distributorField.optional() },
  apply: ({ current, touch }, { distributor }) => {
    const index = current.swaps.findLastIndex(
      (swap) => distributor === undefined || swap.distributor === distributor,
    )
    const swap = current.swaps[index]
    if (!swap) {
      return refuse(
        'NO_SWAP_TO_REGRET',
        `Subscription '${current.id}' has no service swap to regret.`,
      )
    }
    const undone = swapServices(
      current,
      { from: swap.to, to: swap.from, distributor: swap.distributor },
      touch,
    )
    return undone.ok
      ? ok({ ...undone.value, swaps: current.swaps.filter((_, i) => i !== index) })
      : undone
  },
})

/** The service actions, in the order the API lists them. */
export const SERVICE_ACTIONS = [addService, changeService, swapService, regretSwap] as const
