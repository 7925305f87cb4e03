import {
  createConaxClient,
  expectedCaState,
  type Adapter,
  type ConaxCommand,
  type ProvisioningProvider,
  type Subscription,
} from '../../../src/index.js'
import type { InventoryInput } from '../../../simulator/src/index.js'
import type { Scenario } from '../scenario/load.js'
import type { GivenSubscription, WhenStep } from '../scenario/schema.js'
import { commandLine } from './lines.js'
import { ScenarioRunError } from './run-error.js'

/*
 * Stage 1 of a scenario run: what `given` sets up before the steps. The CA's inventory and state
 * (sent over the wire, so a real CA gets the same set-up), the harness's own SOAP client and
 * SequenceNumbers, and the adapter's CRM state.
 */

/** A card's CA state before the steps run: what `given` sets up over the wire. */
export interface CardSetup {
  readonly products: Map<string, string | null>
  pairing: { readonly stbs: readonly string[]; readonly distributor: string | null } | null
  pin: string | null
}

/** A given subscription as the adapter keeps it (the item kinds come from the provider's goods). */
export function subscriptionOf(
  given: GivenSubscription,
  provider: ProvisioningProvider,
  now: string,
): Subscription {
  const kinds = new Map(provider.physicalGoods.map((good) => [good.product, good.kind]))
  return {
    id: given.id,
    type: given.type ?? null,
    state: given.state,
    services: given.services.map((s) => ({ ...s })),
    installedItems: given.installedItems.map((item) => ({
      ...item,
      kind: kinds.get(item.product) ?? 'SMARTCARD',
    })),
    swaps: [],
    createdAt: now,
    updatedAt: now,
  }
}

const STB_DEFAULTS = {
  serialNumber: 'SCENARIO-STB',
  productCode: 'KSTB5043',
  productDescription: 'Kaon KSTB5043 HD Conax Zapper',
}

/**
 * The CA inventory a scenario needs: what `given.ca` lists, every device of the given
 * subscriptions and of the CRM steps, and every product the provider maps. Devices named only in
 * expectations or direct CA calls are not added, so a scenario can test an unknown card.
 */
export function inventoryOf(scenario: Scenario): InventoryInput {
  const { data, provider } = scenario
  const kinds = new Map(provider.physicalGoods.map((good) => [good.product, good.kind]))
  const cards = new Map<string, { caClientId: string; sms?: string }>()
  const stbs = new Map<string, typeof STB_DEFAULTS & { pairingModuleId: string }>()
  for (const card of data.given.ca.smartcards) {
    const entry = typeof card === 'string' ? { caClientId: card } : card
    cards.set(
      entry.caClientId,
      entry.sms
        ? { caClientId: entry.caClientId, sms: entry.sms }
        : { caClientId: entry.caClientId },
    )
  }
  for (const stb of data.given.ca.stbs) {
    const entry = typeof stb === 'string' ? { pairingModuleId: stb } : stb
    stbs.set(entry.pairingModuleId, {
      pairingModuleId: entry.pairingModuleId,
      serialNumber: entry.serialNumber ?? `SN-${entry.pairingModuleId}`,
      productCode: entry.productCode ?? STB_DEFAULTS.productCode,
      productDescription: entry.productDescription ?? STB_DEFAULTS.productDescription,
    })
  }
  const addItem = (item: { product: string; caId: string }): void => {
    if (kinds.get(item.product) === 'STB') {
      if (!stbs.has(item.caId)) {
        stbs.set(item.caId, {
          ...STB_DEFAULTS,
          serialNumber: `SN-${item.caId}`,
          pairingModuleId: item.caId,
        })
      }
    } else if (/^\d{11}$/.test(item.caId) && !cards.has(item.caId)) {
      cards.set(item.caId, { caClientId: item.caId })
    }
  }
  data.given.crm.subscriptions.forEach((s) => s.installedItems.forEach(addItem))
  for (const step of data.when) {
    stepItems(step).forEach(addItem)
  }
  const products = new Set([...provider.services.map((s) => s.caId), ...data.given.ca.products])
  const unknown = new Set(data.given.ca.unknownDevices)
  return {
    smartcards: [...cards.values()].filter((card) => !unknown.has(card.caClientId)),
    pairingModules: [...stbs.values()].filter((stb) => !unknown.has(stb.pairingModuleId)),
    products: [...products].map((productId) => ({ productId })),
  }
}

function stepItems(step: WhenStep): { product: string; caId: string }[] {
  if (!('crm' in step)) {
    return []
  }
  const action = step.crm
  if (action.action === 'BECOME_SUBSCRIBER') {
    return [...action.installedItems]
  }
  // ADD_INSTALLED_ITEM, SWAP_INSTALLED_ITEM, and any later action that brings a device.
  return 'item' in action ? [action.item] : []
}

/** The CA state before the steps: the given subscriptions' (when `caInSync`), then `given.ca.cards` on top. */
export function preStateOf(scenario: Scenario, now: string): Map<string, CardSetup> {
  const { data, provider } = scenario
  const cards = new Map<string, CardSetup>()
  const cardOf = (id: string): CardSetup => {
    let card = cards.get(id)
    if (!card) {
      card = { products: new Map(), pairing: null, pin: null }
      cards.set(id, card)
    }
    return card
  }
  if (data.given.crm.caInSync) {
    for (const given of data.given.crm.subscriptions) {
      applyExpected(cardOf, expectedCaState(provider, subscriptionOf(given, provider, now)))
    }
  }
  // The CA cannot hold state for a device it does not know.
  const unknown = new Set(data.given.ca.unknownDevices)
  for (const id of unknown) {
    cards.delete(id)
  }
  for (const card of cards.values()) {
    if (card.pairing?.stbs.some((stb) => unknown.has(stb))) {
      card.pairing = null
    }
  }
  for (const [id, state] of Object.entries(data.given.ca.cards)) {
    const card = cardOf(id)
    const distributor = state.distributor ?? null
    if (state.products) {
      card.products.clear()
      state.products.forEach((product) => card.products.set(product, distributor))
    }
    if (state.pairedWith) {
      card.pairing = state.pairedWith.length > 0 ? { stbs: state.pairedWith, distributor } : null
    }
    if (state.pin) {
      card.pin = state.pin
    }
  }
  return cards
}

/** Adds what one subscription should hold in the CA to the cards. */
function applyExpected(
  cardOf: (id: string) => CardSetup,
  expected: ReturnType<typeof expectedCaState>,
): void {
  for (const pairing of expected.pairings.values()) {
    for (const id of pairing.smartcardCaIds) {
      cardOf(id).pairing = { stbs: pairing.stbCaIds, distributor: pairing.distributor }
    }
  }
  for (const entitlement of expected.entitlements.values()) {
    cardOf(entitlement.smartcardCaId).products.set(entitlement.serviceCaId, entitlement.distributor)
  }
}

/** The commands that build a pre-state on a CA that knows the inventory (pairings first). */
export function setupCommands(pre: ReadonlyMap<string, CardSetup>): ConaxCommand[] {
  const pairings = new Map<
    string,
    { cards: string[]; stbs: readonly string[]; distributor: string | null }
  >()
  for (const [id, card] of pre) {
    if (card.pairing) {
      const key = `${card.pairing.stbs.join(',')}|${card.pairing.distributor ?? ''}`
      const group = pairings.get(key) ?? {
        cards: [],
        stbs: card.pairing.stbs,
        distributor: card.pairing.distributor,
      }
      group.cards.push(id)
      pairings.set(key, group)
    }
  }
  const commands: ConaxCommand[] = [...pairings.values()].map((group) => ({
    type: 'CREATE_PAIRING',
    smartcardCaIds: group.cards,
    stbCaIds: group.stbs,
    distributor: group.distributor,
  }))
  for (const [id, card] of pre) {
    for (const [product, distributor] of card.products) {
      commands.push({
        type: 'ADD_SUBSCRIPTIONS',
        smartcardCaId: id,
        serviceCaId: product,
        distributor,
      })
    }
    if (card.pin) {
      commands.push({
        type: 'UPDATE_CA_PIN_TO_GIVEN_VALUE',
        smartcardCaId: id,
        pin: card.pin,
        distributor: null,
      })
    }
  }
  return commands
}

/** The CA client the harness sends with (the adapter's SOAP client, used as a plain client). */
export type HarnessClient = Awaited<ReturnType<typeof createConaxClient>>
export type Outcome = Awaited<ReturnType<HarnessClient['send']>>

/** The harness's SequenceNumbers lie in [FLOOR, FLOOR + SPAN), below xs:int's 2,147,483,647. */
const SEQUENCE_FLOOR = 1_500_000_000
const SEQUENCE_SPAN = 600_000_000

/**
 * SequenceNumbers for the harness's own writes. A CA answers a write that repeats an earlier
 * write's SequenceNumber and payload as a replay and changes nothing, and scenarios repeat the
 * same writes (AddSubscriptions GFA1 on 01450250001...) over and over, so no two writes of the
 * harness may share a number:
 * - within a process, every source continues from the last number any source handed out (each
 *   scenario has its own source, and scenarios follow each other within milliseconds);
 * - across runs, a source starts from the clock in milliseconds, faster than a run uses numbers,
 *   so a run starts above the numbers of any run before it (the span wraps every 6.9 days).
 * They lie above the adapter's: a new adapter store starts at a random origin of at most 2^30
 * (1,073,741,824; docs/decisions/0004) and would need 400 million requests to reach this range.
 */
export class SequenceSource {
  /** The last number handed out in this process, by any source. */
  private static last = 0
  private value: number
  constructor(now = Date.now()) {
    const fromClock = SEQUENCE_FLOOR + ((now - Date.UTC(2024, 0, 1)) % SEQUENCE_SPAN)
    this.value = Math.max(fromClock, SequenceSource.last)
  }
  next(): number {
    const next = Math.max(this.value, SequenceSource.last) + 1
    this.value = next >= SEQUENCE_FLOOR + SEQUENCE_SPAN ? SEQUENCE_FLOOR : next
    SequenceSource.last = this.value
    return this.value
  }
}

/** A client for `endpoint` with the provider's credentials and character set. */
export function clientFor(
  provider: ProvisioningProvider,
  endpoint: string,
  credentials?: { username: string; password: string },
): Promise<HarnessClient> {
  return createConaxClient({
    endpoint,
    username: credentials?.username ?? provider.connection.username,
    password: credentials?.password ?? provider.connection.password,
    characterSet: provider.connection.characterSet,
    timeoutMs: Math.max(provider.connection.timeoutMs, 5000),
  })
}

/** Sends the `given` CA state; any answer but OK stops the scenario (its premise does not hold). */
export async function setUpCa(
  client: HarnessClient,
  pre: ReadonlyMap<string, CardSetup>,
  sequence: SequenceSource,
): Promise<void> {
  for (const command of setupCommands(pre)) {
    await sendOrFail(client, command, sequence, 'set up the given CA state')
  }
}

/** Sends one command and throws a {@link ScenarioRunError} unless the CA answers OK. */
export async function sendOrFail(
  client: HarnessClient,
  command: ConaxCommand,
  sequence: SequenceSource,
  purpose: string,
): Promise<Extract<Outcome, { kind: 'COMPLETED' }>> {
  const outcome = await client.send(command, sequence.next())
  if (outcome.kind !== 'COMPLETED') {
    throw new ScenarioRunError(
      outcome.kind === 'TRANSIENT' ? 'CA_UNREACHABLE' : 'CA_SETUP_REFUSED',
      `Failed to ${purpose}: ${commandLine(command)} was answered ${outcome.errorCode} (${outcome.errorDescription}). ${
        outcome.kind === 'TRANSIENT'
          ? 'Check that the CA is running and reachable, and the credentials.'
          : 'Check that the CA knows every smartcard, STB and product the scenario names (given.ca).'
      }`,
    )
  }
  return outcome
}

/** The CRM state before the steps: subscriptions, and the communication queue. */
export async function givenCrm(scenario: Scenario, adapter: Adapter, now: string): Promise<void> {
  for (const given of scenario.data.given.crm.subscriptions) {
    await adapter.store.commit(
      { subscription: subscriptionOf(given, scenario.provider, now), requests: [] },
      now,
    )
  }
  if (scenario.data.given.crm.communications.length > 0) {
    await adapter.runs.enqueue(scenario.data.given.crm.communications)
  }
}
