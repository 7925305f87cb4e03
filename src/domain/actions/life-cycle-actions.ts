import { z } from 'zod'
import type { InstalledItem, SubscriptionState } from '../crm.js'
import { ok } from '../result.js'
import {
  defineAction,
  defineCreation,
  itemInputSchema,
  refuse,
  serviceInputSchema,
} from './action-definition.js'
import { toItem } from './item-actions.js'

/**
 * The subscription life cycle actions of the seed's mapping table: becoming a subscriber, and
 * the moves between states. The CA difference pairs and activates what becomes active
 * (EFFECTIVE, SHORT_TERM_EFFECTIVE) and cancels what stops being.
 * @module
 */

/** BECOME_SUBSCRIBER: a new EFFECTIVE subscription with its services and installed items. */
export const becomeSubscriber = defineCreation({
  action: z.literal('BECOME_SUBSCRIBER'),
  fields: {
    type: z.string().nullable().optional(),
    services: z.array(serviceInputSchema),
    installedItems: z.array(itemInputSchema),
  },
  apply: ({ provider, current, now }, action) => {
    if (current) {
      return refuse(
        'SUBSCRIPTION_EXISTS',
        `Subscription '${current.id}' already exists; use its actions instead.`,
      )
    }
    const items: InstalledItem[] = []
    for (const input of action.installedItems) {
      const item = toItem(provider, input)
      if (!item.ok) {
        return item
      }
      items.push(item.value)
    }
    return ok({
      id: action.subscriptionId,
      type: action.type ?? null,
      state: 'EFFECTIVE',
      services: action.services.map((s) => ({
        service: s.service,
        distributor: s.distributor,
        state: 'EFFECTIVE' as const,
      })),
      installedItems: items,
      swaps: [],
      createdAt: now,
      updatedAt: now,
    })
  },
})

/** The subscription life cycle actions of the seed's command mapping table. */
export const LIFE_CYCLE_ACTIONS = [
  'ACTIVATE',
  'DEACTIVATE',
  'TERMINATE',
  'REST',
  'END_RESTING',
  'SHORT_TERM_ACTIVATION',
  'END_SHORT_TERM_ACTIVATION',
  'SHORT_TERM_DEACTIVATION',
  'END_SHORT_TERM_DEACTIVATION',
] as const
export type LifeCycleAction = (typeof LIFE_CYCLE_ACTIONS)[number]

/** Which states each life cycle action starts from, and where it leads. */
const TRANSITIONS: Readonly<
  Record<LifeCycleAction, { from: readonly SubscriptionState[]; to: SubscriptionState }>
> = {
  ACTIVATE: { from: ['NOT_EFFECTIVE'], to: 'EFFECTIVE' },
  DEACTIVATE: {
    from: ['EFFECTIVE', 'IN_RESTING', 'SHORT_TERM_NOT_EFFECTIVE'],
    to: 'NOT_EFFECTIVE',
  },
  TERMINATE: {
    from: [
      'EFFECTIVE',
      'NOT_EFFECTIVE',
      'IN_RESTING',
      'SHORT_TERM_EFFECTIVE',
      'SHORT_TERM_NOT_EFFECTIVE',
    ],
    to: 'TERMINATED',
  },
  REST: { from: ['EFFECTIVE'], to: 'IN_RESTING' },
  END_RESTING: { from: ['IN_RESTING'], to: 'EFFECTIVE' },
  SHORT_TERM_ACTIVATION: { from: ['NOT_EFFECTIVE'], to: 'SHORT_TERM_EFFECTIVE' },
  END_SHORT_TERM_ACTIVATION: { from: ['SHORT_TERM_EFFECTIVE'], to: 'NOT_EFFECTIVE' },
  SHORT_TERM_DEACTIVATION: { from: ['EFFECTIVE'], to: 'SHORT_TERM_NOT_EFFECTIVE' },
  END_SHORT_TERM_DEACTIVATION: { from: ['SHORT_TERM_NOT_EFFECTIVE'], to: 'EFFECTIVE' },
}

/** A life cycle action: the move of TRANSITIONS, from one of its states. */
export const changeLifeCycle = defineAction({
  action: z.enum(LIFE_CYCLE_ACTIONS),
  fields: {},
  apply: ({ current, touch }, { action }) => {
    const transition = TRANSITIONS[action]
    if (!transition.from.includes(current.state)) {
      return refuse(
        'ACTION_NOT_ALLOWED',
        `${action} is not allowed on subscription '${current.id}' in state ${current.state}; it needs ${transition.from.join(' or ')}.`,
      )
    }
    return touch({ state: transition.to })
  },
})

/** The life cycle actions, in the order the API lists them. */
export const SUBSCRIPTION_ACTIONS = [becomeSubscriber, changeLifeCycle] as const
