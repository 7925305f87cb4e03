import type { ConaxCommand } from './commands.js'
import type {
  InstalledItem,
  ItemKind,
  ProvisioningProvider,
  Subscription,
  SubscriptionService,
  SubscriptionState,
} from './crm.js'
import { diffCaState, distributorsOf, expectedCaState } from './expected-ca-state.js'
import { err, ok, type Result } from './result.js'

/** An installed item as a CRM action names it: its kind comes from the provider's physical goods. */
export interface ItemInput {
  readonly serialNumber: string
  readonly product: string
  readonly caId: string
  readonly distributor: string | null
}

export interface ServiceInput {
  readonly service: string
  readonly distributor: string | null
}

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

/** A move of a service or an installed item to another distributor (null removes its distribution). */
export type DistributionMove =
  | { readonly service: string; readonly from: string | null; readonly to: string | null }
  | { readonly serialNumber: string; readonly to: string | null }

/** Every CRM action that can change what Conax should hold. */
export type CrmAction =
  | {
      readonly action: 'BECOME_SUBSCRIBER'
      readonly subscriptionId: string
      readonly type?: string | null
      readonly services: readonly ServiceInput[]
      readonly installedItems: readonly ItemInput[]
    }
  | { readonly action: LifeCycleAction; readonly subscriptionId: string }
  | {
      readonly action: 'CHANGE_DISTRIBUTION'
      readonly subscriptionId: string
      readonly moves: readonly DistributionMove[]
    }
  | {
      readonly action: 'ADD_SERVICE'
      readonly subscriptionId: string
      readonly service: string
      readonly distributor: string | null
    }
  | {
      readonly action: 'REMOVE_SERVICE' | 'START_SERVICE' | 'STOP_SERVICE'
      readonly subscriptionId: string
      readonly service: string
      readonly distributor?: string | null
    }
  | {
      readonly action: 'SWAP_SERVICE'
      readonly subscriptionId: string
      readonly from: readonly string[]
      readonly to: readonly string[]
      readonly distributor?: string | null
    }
  | {
      readonly action: 'REGRET_SWAP'
      readonly subscriptionId: string
      readonly distributor?: string | null
    }
  | {
      readonly action: 'ADD_INSTALLED_ITEM'
      readonly subscriptionId: string
      readonly item: ItemInput
    }
  | {
      readonly action: 'REMOVE_INSTALLED_ITEM'
      readonly subscriptionId: string
      readonly serialNumber: string
    }
  | {
      readonly action: 'SWAP_INSTALLED_ITEM'
      readonly subscriptionId: string
      readonly serialNumber: string
      readonly item: Omit<ItemInput, 'distributor'> & { readonly distributor?: string | null }
    }

export type CrmActionName = CrmAction['action']

/** Why an action was refused; nothing changes and no request is created. */
export const PLAN_ERROR_CODES = [
  'SUBSCRIPTION_NOT_FOUND',
  'SUBSCRIPTION_EXISTS',
  'ACTION_NOT_ALLOWED',
  'SERVICE_NOT_MAPPED',
  'SERVICE_NOT_ALLOWED',
  'SERVICE_NOT_FOUND',
  'SERVICE_EXISTS',
  'SERVICE_AMBIGUOUS',
  'DISTRIBUTOR_UNKNOWN',
  'TOO_MANY_VIEWING_POINTS',
  'PHYSICAL_GOOD_NOT_MAPPED',
  'ITEM_NOT_FOUND',
  'ITEM_EXISTS',
  'ITEM_KIND_MISMATCH',
  'INVALID_CA_ID',
  'NO_SWAP_TO_REGRET',
] as const
export type PlanErrorCode = (typeof PLAN_ERROR_CODES)[number]

export interface PlanRejection {
  readonly code: PlanErrorCode
  readonly message: string
}

export interface Plan {
  /** The subscription after the action. */
  readonly subscription: Subscription
  /** The Conax commands, in sending order. */
  readonly commands: readonly ConaxCommand[]
}

type Step = Result<Subscription, PlanRejection>

const refuse = (code: PlanErrorCode, message: string): Result<never, PlanRejection> =>
  err({ code, message })

function isLifeCycleAction(
  action: CrmAction,
): action is Extract<CrmAction, { action: LifeCycleAction }> {
  return (LIFE_CYCLE_ACTIONS as readonly string[]).includes(action.action)
}

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

/**
 * Plans one CRM action: the subscription it leaves and the Conax commands that bring the CA in
 * line, derived as the difference between the CA state the subscription should have before and
 * after (see {@link diffCaState} for the order). Pure: no I/O, no clock (`now` is passed in).
 * Refusals (a fifth viewing point, a service a distributor does not allow, an action the state
 * forbids...) are values, and leave everything as it was.
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
  const next = applyAction(provider, current, action, now)
  if (!next.ok) {
    return next
  }
  const invalid = checkSubscription(provider, next.value)
  if (invalid) {
    return err(invalid)
  }
  const after = expectedCaState(provider, next.value)
  let commands = diffCaState(expectedCaState(provider, current), after)
  if (action.action === 'CHANGE_DISTRIBUTION') {
    commands = withPairingOfReceivers(commands, after)
  }
  if (action.action === 'ADD_INSTALLED_ITEM' && !provider.activateServicesOnNewSmartcard) {
    commands = commands.filter(
      (c) => c.type !== 'ADD_SUBSCRIPTIONS' || c.smartcardCaId !== action.item.caId,
    )
  }
  return ok({ subscription: next.value, commands })
}

/**
 * The seed's mapping lists "Change subscription distribution (services added to new distributor)"
 * under CREATE_PAIRING as well as ADD_SUBSCRIPTIONS, like the activating actions: a distributor
 * that receives services gets its cards and STBs paired again before the additions, even when the
 * pairing itself did not change.
 */
function withPairingOfReceivers(
  commands: ConaxCommand[],
  after: ReturnType<typeof expectedCaState>,
): ConaxCommand[] {
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

function applyAction(
  provider: ProvisioningProvider,
  current: Subscription | null,
  action: CrmAction,
  now: string,
): Step {
  if (action.action === 'BECOME_SUBSCRIBER') {
    return becomeSubscriber(provider, current, action, now)
  }
  if (!current) {
    return refuse(
      'SUBSCRIPTION_NOT_FOUND',
      `Subscription '${action.subscriptionId}' does not exist. Create it with BECOME_SUBSCRIBER.`,
    )
  }
  if (current.state === 'TERMINATED') {
    return refuse(
      'ACTION_NOT_ALLOWED',
      `Subscription '${current.id}' is TERMINATED; no action can change it.`,
    )
  }
  const touch = (changes: Partial<Subscription>): Step =>
    ok({ ...current, ...changes, updatedAt: now })
  if (isLifeCycleAction(action)) {
    const transition = TRANSITIONS[action.action]
    if (!transition.from.includes(current.state)) {
      return refuse(
        'ACTION_NOT_ALLOWED',
        `${action.action} is not allowed on subscription '${current.id}' in state ${current.state}; it needs ${transition.from.join(' or ')}.`,
      )
    }
    return touch({ state: transition.to })
  }
  switch (action.action) {
    case 'ADD_SERVICE':
      return addService(provider, current, action, touch)
    case 'REMOVE_SERVICE':
    case 'START_SERVICE':
    case 'STOP_SERVICE':
      return changeService(current, action, touch)
    case 'SWAP_SERVICE':
      return swapServices(current, action, touch)
    case 'REGRET_SWAP':
      return regretSwap(current, action.distributor, touch)
    case 'CHANGE_DISTRIBUTION':
      return changeDistribution(current, action.moves, touch)
    case 'ADD_INSTALLED_ITEM':
      return addItem(provider, current, action.item, touch)
    case 'REMOVE_INSTALLED_ITEM':
      return removeItem(current, action.serialNumber, touch)
    case 'SWAP_INSTALLED_ITEM':
      return swapItem(provider, current, action, touch)
  }
}

function becomeSubscriber(
  provider: ProvisioningProvider,
  current: Subscription | null,
  action: Extract<CrmAction, { action: 'BECOME_SUBSCRIBER' }>,
  now: string,
): Step {
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
}

type Touch = (changes: Partial<Subscription>) => Step

function addService(
  provider: ProvisioningProvider,
  current: Subscription,
  { service, distributor }: { readonly service: string; readonly distributor: string | null },
  touch: Touch,
): Step {
  if (!provider.services.some((m) => m.service === service)) {
    return refuse(
      'SERVICE_NOT_MAPPED',
      `Service '${service}' has no CA ID mapping in provider '${provider.name}'.`,
    )
  }
  return touch({ services: [...current.services, { service, distributor, state: 'EFFECTIVE' }] })
}

/** The one service entry an action names: by code, and by distributor when the code is on several. */
function findService(
  current: Subscription,
  service: string,
  distributor: string | null | undefined,
): Result<number, PlanRejection> {
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
  return ok(first.index)
}

function changeService(
  current: Subscription,
  action: Extract<CrmAction, { action: 'REMOVE_SERVICE' | 'START_SERVICE' | 'STOP_SERVICE' }>,
  touch: Touch,
): Step {
  const found = findService(current, action.service, action.distributor)
  if (!found.ok) {
    return found
  }
  const entry = current.services[found.value] as SubscriptionService
  if (action.action === 'REMOVE_SERVICE') {
    return touch({ services: current.services.filter((_, index) => index !== found.value) })
  }
  const wanted = action.action === 'START_SERVICE' ? 'EFFECTIVE' : 'NOT_EFFECTIVE'
  if (entry.state === wanted) {
    return refuse(
      'ACTION_NOT_ALLOWED',
      `Service '${entry.service}' of subscription '${current.id}' is already ${wanted}.`,
    )
  }
  return touch({
    services: current.services.map((s, index) =>
      index === found.value ? { ...s, state: wanted } : s,
    ),
  })
}

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
    const entry = current.services[found.value] as SubscriptionService
    if (swapDistributor !== undefined && entry.distributor !== swapDistributor) {
      return refuse(
        'SERVICE_AMBIGUOUS',
        `The services swapped out are on different distributors; swap them one distributor at a time.`,
      )
    }
    swapDistributor = entry.distributor
    removed.add(found.value)
  }
  const target = swapDistributor ?? null
  const kept = current.services.filter((_, index) => !removed.has(index))
  const added = to.map((service) => ({ service, distributor: target, state: 'EFFECTIVE' as const }))
  return touch({
    services: [...kept, ...added],
    swaps: [...current.swaps, { from: [...from], to: [...to], distributor: target }],
  })
}

function regretSwap(
  current: Subscription,
  distributor: string | null | undefined,
  touch: Touch,
): Step {
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
}

function changeDistribution(
  current: Subscription,
  moves: readonly DistributionMove[],
  touch: Touch,
): Step {
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
}

function toItem(
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
  const rule: Record<ItemKind, { pattern: RegExp; text: string }> = {
    SMARTCARD: { pattern: /^\d{11}$/, text: 'exactly 11 digits' },
    STB: { pattern: /^\d{1,20}$/, text: '1 to 20 digits' },
  }
  if (!rule[good.kind].pattern.test(input.caId)) {
    return refuse(
      'INVALID_CA_ID',
      `CA ID '${input.caId}' of ${good.kind} '${input.serialNumber}' must be ${rule[good.kind].text}.`,
    )
  }
  return ok({ ...input, kind: good.kind })
}

function addItem(
  provider: ProvisioningProvider,
  current: Subscription,
  input: ItemInput,
  touch: Touch,
): Step {
  const item = toItem(provider, input)
  return item.ok ? touch({ installedItems: [...current.installedItems, item.value] }) : item
}

function removeItem(current: Subscription, serialNumber: string, touch: Touch): Step {
  if (!current.installedItems.some((item) => item.serialNumber === serialNumber)) {
    return refuse(
      'ITEM_NOT_FOUND',
      `Subscription '${current.id}' has no installed item '${serialNumber}'.`,
    )
  }
  return touch({
    installedItems: current.installedItems.filter((item) => item.serialNumber !== serialNumber),
  })
}

function swapItem(
  provider: ProvisioningProvider,
  current: Subscription,
  { serialNumber, item: input }: Extract<CrmAction, { action: 'SWAP_INSTALLED_ITEM' }>,
  touch: Touch,
): Step {
  const old = current.installedItems.find((item) => item.serialNumber === serialNumber)
  if (!old) {
    return refuse(
      'ITEM_NOT_FOUND',
      `Subscription '${current.id}' has no installed item '${serialNumber}'.`,
    )
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
