import { Agent, request as httpRequest } from 'node:http'
// The locale-free build, as the simulator's fixtures use: these generators need no locale data.
import { faker } from '@faker-js/faker/locale/base'
import {
  SERVICE_BASE_PATH,
  generateInventory,
  loadCatalogue,
  serviceNamespace,
  type InventoryInput,
  type ServiceName,
} from '../../simulator/src/index.js'
import type { ProvisioningProvider, Subscription } from '../index.js'
import type { InstalledItem, SubscriptionService } from '../domain/crm.js'
import { planReset, type ObservedCard } from '../domain/runs.js'

/**
 * The workload of `npm run bench:runs`: N subscriptions with two viewing points (Main and TWIN1,
 * one smartcard and one STB each) and three services drawn with faker from the provider's
 * services (two on Main, one on TWIN1); the CA state that matches them, except for a share of
 * subscriptions drifted on purpose (a missing product, a stray product, a product on the wrong
 * distributor, a missing pairing); and a lean SOAP client that puts that state into the simulator.
 */

/** The faker seed of the workload (the simulator's own inventory generator has its own). */
export const WORKLOAD_SEED = 20_261_201

export const DRIFT_KINDS = [
  'MISSING_PRODUCT',
  'STRAY_PRODUCT',
  'WRONG_DISTRIBUTOR',
  'MISSING_PAIRING',
] as const
export type DriftKind = (typeof DRIFT_KINDS)[number]

const SUBSCRIPTION_TYPES = [
  { value: 'RESIDENTIAL', weight: 70 },
  { value: 'BUSINESS', weight: 15 },
  { value: 'HOSPITALITY', weight: 10 },
  { value: 'VIP', weight: 5 },
]

/** The two viewing points of every subscription. */
export const MAIN = 'Main'
export const TWIN = 'TWIN1'

/** One smartcard as the CA should hold it (after the drift). */
export interface CaCard {
  readonly caId: string
  readonly stb: string
  readonly distributor: string
  readonly products: { productId: string; distributor: string }[]
  paired: boolean
}

export interface Workload {
  readonly subscriptions: readonly Subscription[]
  /** Two per subscription, Main card first. */
  readonly cards: readonly CaCard[]
  /** The drifted subscriptions and how. */
  readonly drift: ReadonlyMap<string, DriftKind>
  readonly inventory: InventoryInput
}

/** What {@link verifyWorkload} found: out-of-sync subscriptions by comparing with the CA state built. */
export interface WorkloadCheck {
  readonly outOfSync: number
  readonly commands: number
  readonly byKind: Readonly<Record<DriftKind, number>>
  readonly problems: readonly string[]
}

function serviceItem(service: string, distributor: string): SubscriptionService {
  return { service, distributor, state: 'EFFECTIVE' }
}

function item(
  kind: InstalledItem['kind'],
  caId: string,
  serialNumber: string,
  distributor: string,
): InstalledItem {
  return {
    serialNumber,
    product: kind === 'SMARTCARD' ? 'SC-CONAX' : 'STB-HD',
    kind,
    caId,
    distributor,
  }
}

/** Changes one subscription's CA cards the way `kind` says (faker picks the product or card). */
function applyDrift(
  kind: DriftKind,
  cards: readonly [CaCard, CaCard],
  unused: readonly string[],
): void {
  const card = faker.helpers.arrayElement(cards)
  switch (kind) {
    case 'MISSING_PRODUCT': {
      const owner = faker.helpers.arrayElement(cards.filter((c) => c.products.length > 0))
      owner.products.splice(faker.number.int({ max: owner.products.length - 1 }), 1)
      return
    }
    case 'STRAY_PRODUCT':
      card.products.push({
        productId: faker.helpers.arrayElement(unused),
        distributor: card.distributor,
      })
      return
    case 'WRONG_DISTRIBUTOR': {
      const owner = faker.helpers.arrayElement(cards.filter((c) => c.products.length > 0))
      const product = faker.helpers.arrayElement(owner.products)
      product.distributor = product.distributor === MAIN ? TWIN : MAIN
      return
    }
    case 'MISSING_PAIRING':
      card.paired = false
      return
  }
}

/**
 * Builds the workload with faker (fixed seeds): subscriptions, their CA state and the drift of
 * `round(subscriptions * outOfSyncPercent / 100)` subscriptions, each drifted one way.
 */
export function buildWorkload(
  provider: ProvisioningProvider,
  options: { readonly subscriptions: number; readonly outOfSyncPercent: number },
): Workload {
  for (const name of [MAIN, TWIN]) {
    if (!provider.distributors.some((d) => d.name === name && d.allowedServices === 'ALL')) {
      throw new Error(`The provider needs distributor ${name} with allowedServices: ALL.`)
    }
  }
  if (provider.services.length < 4) {
    throw new Error('The provider needs at least 4 services (3 per subscription and a stray one).')
  }
  const count = options.subscriptions
  // The simulator's own generator: 11-digit card ids, chip ids and maker-style STB serial numbers.
  const devices = generateInventory({ size: 2 * count })
  faker.seed(WORKLOAD_SEED)
  const caIdOf = new Map(provider.services.map((s) => [s.service, s.caId]))
  const subscriptions: Subscription[] = []
  const cards: CaCard[] = []
  const unusedOf: string[][] = []
  const start = Date.parse('2021-01-01T00:00:00Z')
  for (let n = 0; n < count; n++) {
    const [mainCard, twinCard] = [devices.smartcards[2 * n], devices.smartcards[2 * n + 1]]
    const [mainStb, twinStb] = [devices.pairingModules[2 * n], devices.pairingModules[2 * n + 1]]
    if (!mainCard || !twinCard || !mainStb || !twinStb) {
      throw new Error(`The inventory has no devices for subscription ${n + 1}.`)
    }
    const chosen = faker.helpers.arrayElements(provider.services, 3)
    const [first, second, third] = chosen.map((s) => s.service) as [string, string, string]
    const createdAt = new Date(start + n * 60_000 + faker.number.int(59_999)).toISOString()
    subscriptions.push({
      id: `BENCH-${String(n + 1).padStart(7, '0')}`,
      type: faker.helpers.weightedArrayElement(SUBSCRIPTION_TYPES),
      state: 'EFFECTIVE',
      services: [serviceItem(first, MAIN), serviceItem(second, MAIN), serviceItem(third, TWIN)],
      installedItems: [
        item('SMARTCARD', mainCard.caClientId, `SC${mainCard.caClientId}`, MAIN),
        item('STB', mainStb.pairingModuleId, mainStb.serialNumber, MAIN),
        item('SMARTCARD', twinCard.caClientId, `SC${twinCard.caClientId}`, TWIN),
        item('STB', twinStb.pairingModuleId, twinStb.serialNumber, TWIN),
      ],
      swaps: [],
      createdAt,
      updatedAt: createdAt,
    })
    const product = (service: string, distributor: string) => ({
      productId: caIdOf.get(service) as string,
      distributor,
    })
    cards.push(
      {
        caId: mainCard.caClientId,
        stb: mainStb.pairingModuleId,
        distributor: MAIN,
        products: [product(first, MAIN), product(second, MAIN)],
        paired: true,
      },
      {
        caId: twinCard.caClientId,
        stb: twinStb.pairingModuleId,
        distributor: TWIN,
        products: [product(third, TWIN)],
        paired: true,
      },
    )
    unusedOf.push(provider.services.filter((s) => !chosen.includes(s)).map((s) => s.caId))
  }
  const drifted = Math.round((count * options.outOfSyncPercent) / 100)
  const drift = new Map<string, DriftKind>()
  const picks = faker.helpers.arrayElements(
    Array.from({ length: count }, (_, n) => n),
    drifted,
  )
  for (const n of picks.sort((a, b) => a - b)) {
    const kind = faker.helpers.arrayElement(DRIFT_KINDS)
    applyDrift(kind, [cards[2 * n], cards[2 * n + 1]] as [CaCard, CaCard], unusedOf[n] ?? [])
    drift.set((subscriptions[n] as Subscription).id, kind)
  }
  return {
    subscriptions,
    cards,
    drift,
    inventory: { ...devices, products: loadCatalogue() },
  }
}

/** What the CA reports for a card of the workload, as the reset run's reader would read it. */
export function observedOf(card: CaCard): ObservedCard {
  return {
    known: true,
    products: card.products.map((p) => ({ ...p })),
    pairedStbs: card.paired ? [card.stb] : [],
  }
}

/**
 * Counts the out-of-sync subscriptions the workload made, with the adapter's own planner
 * (planReset) over the CA state built: each drifted subscription must need exactly one command,
 * every other none.
 */
export function verifyWorkload(provider: ProvisioningProvider, workload: Workload): WorkloadCheck {
  const byKind = Object.fromEntries(DRIFT_KINDS.map((k) => [k, 0])) as Record<DriftKind, number>
  const problems: string[] = []
  let outOfSync = 0
  let commands = 0
  workload.subscriptions.forEach((subscription, n) => {
    const pair = [workload.cards[2 * n], workload.cards[2 * n + 1]] as [CaCard, CaCard]
    const observed = new Map(pair.map((card) => [card.caId, observedOf(card)]))
    const plan = planReset(provider, subscription, observed)
    const kind = workload.drift.get(subscription.id)
    if (!plan.inSync) {
      outOfSync += 1
      commands += plan.commands.length
    }
    if (kind) {
      byKind[kind] += 1
    }
    if ((kind === undefined) !== plan.inSync || (kind && plan.commands.length !== 1)) {
      problems.push(
        `${subscription.id} (${kind ?? 'in sync'}): ${plan.commands.length} command(s) ${plan.differences.join('; ')}`,
      )
    }
  })
  return { outOfSync, commands, byKind, problems }
}

// ---------------------------------------------------------------------------------------------
// Putting the CA state into the simulator over SOAP (AddSubscriptions in batches, CreatePairing).

const ESCAPES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;' }
const esc = (text: string): string => text.replace(/[&<>]/g, (c) => ESCAPES[c] ?? c)

function envelope(service: ServiceName, operation: string, inner: string): string {
  return (
    '<?xml version="1.0" encoding="UTF-8"?>' +
    '<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>' +
    `<c:${operation} xmlns:c="${serviceNamespace(service)}"><${operation}Request>${inner}` +
    `</${operation}Request></c:${operation}></s:Body></s:Envelope>`
  )
}

/** A keep-alive SOAP poster for set-up calls; answers must carry StatusCode OK. */
export class SoapLoader {
  private readonly agent: Agent
  private readonly base: URL
  private readonly authorization: string
  /** SOAP calls made. */
  calls = 0

  constructor(url: string, user = 'sms', password = 'sms', sockets = 64) {
    this.base = new URL(url)
    this.agent = new Agent({ keepAlive: true, maxSockets: sockets })
    this.authorization = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`
  }

  post(service: ServiceName, operation: string, inner: string): Promise<void> {
    const body = Buffer.from(envelope(service, operation, inner), 'utf8')
    this.calls += 1
    return new Promise((resolve, reject) => {
      const req = httpRequest(
        {
          agent: this.agent,
          hostname: this.base.hostname,
          port: this.base.port,
          path: `${SERVICE_BASE_PATH}${service}`,
          method: 'POST',
          headers: {
            Authorization: this.authorization,
            'Content-Type': 'text/xml; charset=utf-8',
            'Content-Length': body.length,
          },
        },
        (res) => {
          const chunks: Buffer[] = []
          res.on('data', (chunk: Buffer) => chunks.push(chunk))
          res.on('error', reject)
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8')
            const status = /<(?:[\w.-]+:)?StatusCode>([^<]*)</.exec(text)?.[1]
            if (res.statusCode === 200 && status === 'OK') {
              resolve()
            } else {
              reject(new Error(`${operation}: HTTP ${res.statusCode}, ${text.slice(0, 300)}`))
            }
          })
        },
      )
      req.on('error', reject)
      req.end(body)
    })
  }

  close(): void {
    this.agent.destroy()
  }
}

/** Runs `work` for every item, at most `limit` at once. */
export async function eachLimited<T>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      await work(items[next++] as T)
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker))
}

/**
 * Puts the workload's CA state into a simulator that knows its inventory: the products with
 * AddSubscriptions, `cardsPerCall` cards a call (the simulator's default limit is 500), then one
 * CreatePairing per paired card. Answers the SOAP calls made.
 */
export async function loadCaState(
  url: string,
  cards: readonly CaCard[],
  options: { readonly cardsPerCall?: number; readonly concurrency?: number } = {},
): Promise<{ addCalls: number; pairCalls: number; products: number; pairings: number }> {
  const loader = new SoapLoader(url)
  const per = options.cardsPerCall ?? 500
  const batches: string[] = []
  let products = 0
  for (let first = 0; first < cards.length; first += per) {
    let inner = ''
    for (const card of cards.slice(first, first + per)) {
      for (const product of card.products) {
        inner +=
          `<Subscription><CaClientId>${card.caId}</CaClientId><ProductId>${esc(product.productId)}` +
          `</ProductId><Distributor>${esc(product.distributor)}</Distributor></Subscription>`
        products += 1
      }
    }
    if (inner !== '') {
      batches.push(`<Subscriptions>${inner}</Subscriptions>`)
    }
  }
  const paired = cards.filter((card) => card.paired)
  try {
    await eachLimited(batches, 4, (inner) => loader.post('subscription', 'AddSubscriptions', inner))
    await eachLimited(paired, options.concurrency ?? 64, (card) =>
      loader.post(
        'pairing',
        'CreatePairing',
        `<CaClientIds><CaClientId>${card.caId}</CaClientId></CaClientIds>` +
          `<PairingModuleIds><PairingModuleId>${card.stb}</PairingModuleId></PairingModuleIds>` +
          `<Distributor>${esc(card.distributor)}</Distributor>`,
      ),
    )
  } finally {
    loader.close()
  }
  return { addCalls: batches.length, pairCalls: paired.length, products, pairings: paired.length }
}

// ---------------------------------------------------------------------------------------------
// Phase timing: wrappers that time the calls a run makes to the store, the run store and the reader.

/** Time spent in one kind of call. */
export interface PhaseStat {
  calls: number
  /** Synchronous part (until the call returned its promise): CPU on this thread. */
  syncMs: number
  /** Sum of each call's time until it settled. */
  wallMs: number
  /** Wall time with at least one call in flight (overlapping calls counted once). */
  busyMs: number
  inFlight: number
  busySince: number
}

/** Collects {@link PhaseStat}s by name. */
export class Phases {
  private readonly stats = new Map<string, PhaseStat>()

  track<T>(name: string, call: () => Promise<T>): Promise<T> {
    let stat = this.stats.get(name)
    if (!stat) {
      stat = { calls: 0, syncMs: 0, wallMs: 0, busyMs: 0, inFlight: 0, busySince: 0 }
      this.stats.set(name, stat)
    }
    const s = stat
    const began = performance.now()
    if (s.inFlight++ === 0) {
      s.busySince = began
    }
    const settle = (): void => {
      const ended = performance.now()
      s.wallMs += ended - began
      if (--s.inFlight === 0) {
        s.busyMs += ended - s.busySince
      }
    }
    let promise: Promise<T>
    try {
      promise = call()
    } catch (error) {
      settle()
      throw error
    }
    s.calls += 1
    s.syncMs += performance.now() - began
    return promise.finally(settle)
  }

  /** The figures so far, by name; `reset` starts again from zero. */
  snapshot(): Record<string, Omit<PhaseStat, 'inFlight' | 'busySince'>> {
    return Object.fromEntries(
      [...this.stats].map(([name, s]) => [
        name,
        { calls: s.calls, syncMs: s.syncMs, wallMs: s.wallMs, busyMs: s.busyMs },
      ]),
    )
  }

  reset(): void {
    this.stats.clear()
  }
}

/** `target` with `methods` timed under `<prefix>.<method>` (every other member passed through). */
export function instrument<T extends object>(
  target: T,
  prefix: string,
  methods: readonly string[],
  phases: Phases,
): T {
  return new Proxy(target, {
    get(object, property) {
      const value: unknown = Reflect.get(object, property, object)
      if (typeof value !== 'function') {
        return value
      }
      const method = value as (...args: unknown[]) => unknown
      if (typeof property === 'string' && methods.includes(property)) {
        return (...args: unknown[]) =>
          phases.track(
            `${prefix}.${property}`,
            () => method.apply(object, args) as Promise<unknown>,
          )
      }
      return method.bind(object)
    },
  })
}
