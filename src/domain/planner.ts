import type { ConaxCommand } from './commands.js'
import type { ProvisioningProvider, Subscription } from './crm.js'
import { diffCaState, distributorsOf, expectedCaState } from './expected-ca-state.js'
import { err, ok, type Result } from './result.js'
import { refuse, type PlanRejection } from './actions/action-definition.js'
import { definitionOf, type CrmAction } from './actions/crm-actions.js'

export {
  PLAN_ERROR_CODES,
  type ItemInput,
  type PlanErrorCode,
  type PlanRejection,
  type ServiceInput,
} from './actions/action-definition.js'
export { CRM_ACTIONS, type CrmAction, type CrmActionName } from './actions/crm-actions.js'
export { LIFE_CYCLE_ACTIONS, type LifeCycleAction } from './actions/life-cycle-actions.js'

/** What an action leads to. */
export interface Plan {
  /** The subscription after the action. */
  readonly subscription: Subscription
  /** The Conax commands, in sending order. */
  readonly commands: readonly ConaxCommand[]
}

/**
 * Plans one CRM action: the subscription it leaves and the Conax commands that bring the CA in
 * line, derived as the difference between the CA state the subscription should have before and
 * after (see {@link diffCaState} for the order), as the action's definition adjusts them
 * (actions/). Pure: no I/O, no clock (`now` is passed in). Refusals (a fifth viewing point, a
 * service a distributor does not allow, an action the state forbids...) are values, and leave
 * everything as it was.
 *
 * @example
 * const plan = planAction(provider, null, { action: 'BECOME_SUBSCRIBER', subscriptionId: 'S1',
 *   services: [{ service: 'GEOLOGICAL', distributor: 'Main' }],
 *   installedItems: [{ serialNumber: 'SC1', product: 'SC-CONAX', caId: '01450253313', distributor: 'Main' }] },
 *   '2026-11-26T10:00:00Z')
 */
export function planAction(
  provider: ProvisioningProvider,
  current: Subscription | null,
  action: CrmAction,
  now: string,
): Result<Plan, PlanRejection> {
  const definition = definitionOf(action)
  const next = definition?.step(provider, current, action, now) ?? null
  if (definition === undefined || next === null) {
    return unknownAction(action)
  }
  if (!next.ok) {
    return next
  }
  const invalid = checkSubscription(provider, next.value)
  if (invalid) {
    return err(invalid)
  }
  const after = expectedCaState(provider, next.value)
  const commands = definition.adjust(
    diffCaState(expectedCaState(provider, current), after),
    { provider, after },
    action,
  )
  return ok({ subscription: next.value, commands })
}

/** An action no definition takes: only a caller outside the types can send one. */
function unknownAction(action: { readonly action: string }): Result<never, PlanRejection> {
  return refuse(
    'ACTION_NOT_ALLOWED',
    `'${action.action}' is not a CRM action; see src/README.md for the actions.`,
  )
}

/** The invariants every subscription must keep, checked after each action. */
export function checkSubscription(
  provider: ProvisioningProvider,
  subscription: Subscription,
): PlanRejection | null {
  const distributors = new Map(provider.distributors.map((d) => [d.name, d]))
  for (const name of distributorsOf(subscription)) {
    if (!distributors.has(name)) {
      return {
        code: 'DISTRIBUTOR_UNKNOWN',
        message: `Distributor '${name}' is not defined in provider '${provider.name}'; defined: ${[...distributors.keys()].join(', ')}.`,
      }
    }
  }
  const viewingPoints = distributorsOf(subscription).length
  if (viewingPoints > provider.maxViewingPoints) {
    return {
      code: 'TOO_MANY_VIEWING_POINTS',
      message: `Subscription '${subscription.id}' would use ${viewingPoints} viewing points (distributors); at most ${provider.maxViewingPoints} are allowed.`,
    }
  }
  return checkServices(provider, subscription, distributors) ?? checkItems(subscription)
}

function checkServices(
  provider: ProvisioningProvider,
  subscription: Subscription,
  distributors: ReadonlyMap<string, ProvisioningProvider['distributors'][number]>,
): PlanRejection | null {
  const seen = new Set<string>()
  for (const entry of subscription.services) {
    if (!provider.services.some((m) => m.service === entry.service)) {
      return {
        code: 'SERVICE_NOT_MAPPED',
        message: `Service '${entry.service}' has no CA ID mapping in provider '${provider.name}'.`,
      }
    }
    const allowed =
      entry.distributor === null ? 'ALL' : distributors.get(entry.distributor)?.allowedServices
    if (allowed !== 'ALL' && !allowed?.includes(entry.service)) {
      return {
        code: 'SERVICE_NOT_ALLOWED',
        message: `Distributor '${entry.distributor ?? ''}' does not allow service '${entry.service}'; it allows ${(allowed ?? []).join(', ')}.`,
      }
    }
    const key = `${entry.service} ${entry.distributor ?? ''}`
    if (seen.has(key)) {
      return {
        code: 'SERVICE_EXISTS',
        message: `Service '${entry.service}' is already on distributor '${entry.distributor ?? 'none'}' of subscription '${subscription.id}'.`,
      }
    }
    seen.add(key)
  }
  return null
}

function checkItems(subscription: Subscription): PlanRejection | null {
  const serials = new Set<string>()
  const caIds = new Set<string>()
  for (const item of subscription.installedItems) {
    if (serials.has(item.serialNumber) || caIds.has(item.caId)) {
      return {
        code: 'ITEM_EXISTS',
        message: `Installed item '${item.serialNumber}' (CA ID ${item.caId}) is already on subscription '${subscription.id}'.`,
      }
    }
    serials.add(item.serialNumber)
    caIds.add(item.caId)
  }
  return null
}
