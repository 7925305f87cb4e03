import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Simulator } from '../simulator/src/index.js'
import type { Adapter } from './create-adapter.js'
import type { CrmAction } from './domain/planner.js'
import type { ProvisioningRequest } from './domain/provisioning-request.js'
import {
  card,
  cardItem,
  startTestAdapter,
  startTestCa,
  stb,
  stbItem,
} from './test-support/adapter-harness.js'

// Every CRM action of the seed's command mapping table, delivered to the simulator: the exact
// request sequence it creates and the CA state it leaves. Each case runs on its own subscription
// and cards (n, n+1), so the cases share one simulator and one adapter.

interface Case {
  readonly name: string
  /** Actions that set the scene (delivered first). */
  readonly given: (id: string, n: number) => CrmAction[]
  readonly when: (id: string, n: number) => CrmAction
  /** The requests `when` creates, as `TYPE card product` / `CREATE_PAIRING cards stbs`. */
  readonly requests: (n: number) => string[]
  /** Products active afterwards on card n (and n+1 when given). */
  readonly products: (n: number) => Record<string, string[]>
  /** STBs card n is paired with afterwards (omit to skip the check). */
  readonly pairedWith?: (n: number) => string[]
}

const services = [
  { service: 'GEOLOGICAL', distributor: 'Main' },
  { service: 'ENTERTAIN', distributor: 'Main' },
]
const subscribe = (id: string, n: number): CrmAction => ({
  action: 'BECOME_SUBSCRIBER',
  subscriptionId: id,
  services,
  installedItems: [cardItem(n), stbItem(n)],
})
const life =
  (action: CrmAction['action']) =>
  (id: string): CrmAction =>
    ({ action, subscriptionId: id }) as CrmAction
const pair = (n: number, stbs = [n]): string =>
  `CREATE_PAIRING ${card(n)} ${stbs.map(stb).join(',')}`
const add = (n: number, product: string): string => `ADD_SUBSCRIPTIONS ${card(n)} ${product}`
const cancel = (n: number, product: string): string => `CANCEL_SUBSCRIPTIONS ${card(n)} ${product}`
const both = ['EFA2', 'GFA1']

const CASES: readonly Case[] = [
  {
    name: 'become subscriber',
    given: () => [],
    when: subscribe,
    requests: (n) => [pair(n), add(n, 'GFA1'), add(n, 'EFA2')],
    products: (n) => ({ [card(n)]: both }),
    pairedWith: (n) => [stb(n)],
  },
  {
    name: 'deactivate subscription',
    given: (id, n) => [subscribe(id, n)],
    when: life('DEACTIVATE'),
    requests: (n) => [cancel(n, 'GFA1'), cancel(n, 'EFA2')],
    products: (n) => ({ [card(n)]: [] }),
  },
  {
    name: 'activate subscription',
    given: (id, n) => [subscribe(id, n), life('DEACTIVATE')(id)],
    when: life('ACTIVATE'),
    requests: (n) => [pair(n), add(n, 'GFA1'), add(n, 'EFA2')],
    products: (n) => ({ [card(n)]: both }),
    pairedWith: (n) => [stb(n)],
  },
  {
    name: 'terminate subscription',
    given: (id, n) => [subscribe(id, n)],
    when: life('TERMINATE'),
    requests: (n) => [cancel(n, 'GFA1'), cancel(n, 'EFA2')],
    products: (n) => ({ [card(n)]: [] }),
  },
  {
    name: 'rest subscription',
    given: (id, n) => [subscribe(id, n)],
    when: life('REST'),
    requests: (n) => [cancel(n, 'GFA1'), cancel(n, 'EFA2')],
    products: (n) => ({ [card(n)]: [] }),
  },
  {
    name: 'end subscription resting',
    given: (id, n) => [subscribe(id, n), life('REST')(id)],
    when: life('END_RESTING'),
    requests: (n) => [pair(n), add(n, 'GFA1'), add(n, 'EFA2')],
    products: (n) => ({ [card(n)]: both }),
  },
  {
    name: 'short term activation',
    given: (id, n) => [subscribe(id, n), life('DEACTIVATE')(id)],
    when: life('SHORT_TERM_ACTIVATION'),
    requests: (n) => [pair(n), add(n, 'GFA1'), add(n, 'EFA2')],
    products: (n) => ({ [card(n)]: both }),
  },
  {
    name: 'end short term activation',
    given: (id, n) => [subscribe(id, n), life('DEACTIVATE')(id), life('SHORT_TERM_ACTIVATION')(id)],
    when: life('END_SHORT_TERM_ACTIVATION'),
    requests: (n) => [cancel(n, 'GFA1'), cancel(n, 'EFA2')],
    products: (n) => ({ [card(n)]: [] }),
  },
  {
    name: 'short term deactivation',
    given: (id, n) => [subscribe(id, n)],
    when: life('SHORT_TERM_DEACTIVATION'),
    requests: (n) => [cancel(n, 'GFA1'), cancel(n, 'EFA2')],
    products: (n) => ({ [card(n)]: [] }),
  },
  {
    name: 'end short term deactivation',
    given: (id, n) => [subscribe(id, n), life('SHORT_TERM_DEACTIVATION')(id)],
    when: life('END_SHORT_TERM_DEACTIVATION'),
    requests: (n) => [pair(n), add(n, 'GFA1'), add(n, 'EFA2')],
    products: (n) => ({ [card(n)]: both }),
  },
  {
    name: 'change subscription distribution (card, box and service to TWIN1)',
    given: (id, n) => [subscribe(id, n)],
    when: (id) => ({
      action: 'CHANGE_DISTRIBUTION',
      subscriptionId: id,
      moves: [
        { serialNumber: `SC${id.slice(1)}`, to: 'TWIN1' },
        { serialNumber: `STB${id.slice(1)}`, to: 'TWIN1' },
        { service: 'GEOLOGICAL', from: 'Main', to: 'TWIN1' },
      ],
    }),
    requests: (n) => [`CREATE_PAIRING ${card(n)} ${stb(n)}`, add(n, 'GFA1'), cancel(n, 'EFA2')],
    products: (n) => ({ [card(n)]: ['GFA1'] }),
  },
  {
    name: 'add service',
    given: (id, n) => [subscribe(id, n)],
    when: (id) => ({
      action: 'ADD_SERVICE',
      subscriptionId: id,
      service: 'AGRICULTURE',
      distributor: 'Main',
    }),
    requests: (n) => [add(n, 'AF1')],
    products: (n) => ({ [card(n)]: ['AF1', ...both] }),
  },
  {
    name: 'remove service',
    given: (id, n) => [subscribe(id, n)],
    when: (id) => ({ action: 'REMOVE_SERVICE', subscriptionId: id, service: 'ENTERTAIN' }),
    requests: (n) => [cancel(n, 'EFA2')],
    products: (n) => ({ [card(n)]: ['GFA1'] }),
  },
  {
    name: 'stop service',
    given: (id, n) => [subscribe(id, n)],
    when: (id) => ({ action: 'STOP_SERVICE', subscriptionId: id, service: 'GEOLOGICAL' }),
    requests: (n) => [cancel(n, 'GFA1')],
    products: (n) => ({ [card(n)]: ['EFA2'] }),
  },
  {
    name: 'start service',
    given: (id, n) => [
      subscribe(id, n),
      { action: 'STOP_SERVICE', subscriptionId: id, service: 'GEOLOGICAL' },
    ],
    when: (id) => ({ action: 'START_SERVICE', subscriptionId: id, service: 'GEOLOGICAL' }),
    requests: (n) => [add(n, 'GFA1')],
    products: (n) => ({ [card(n)]: both }),
  },
  {
    name: 'swap service (Example 2, bundle A to Agriculture)',
    given: (id, n) => [subscribe(id, n)],
    when: (id) => ({
      action: 'SWAP_SERVICE',
      subscriptionId: id,
      from: ['GEOLOGICAL', 'ENTERTAIN'],
      to: ['AGRICULTURE'],
    }),
    requests: (n) => [add(n, 'AF1'), cancel(n, 'GFA1'), cancel(n, 'EFA2')],
    products: (n) => ({ [card(n)]: ['AF1'] }),
  },
  {
    name: 'regret (swap)',
    given: (id, n) => [
      subscribe(id, n),
      { action: 'SWAP_SERVICE', subscriptionId: id, from: ['ENTERTAIN'], to: ['AGRICULTURE'] },
    ],
    when: (id) => ({ action: 'REGRET_SWAP', subscriptionId: id }),
    requests: (n) => [add(n, 'EFA2'), cancel(n, 'AF1')],
    products: (n) => ({ [card(n)]: both }),
  },
  {
    name: 'add installed item (a box)',
    given: (id, n) => [{ ...subscribe(id, n), installedItems: [cardItem(n)] } as CrmAction],
    when: (id, n) => ({ action: 'ADD_INSTALLED_ITEM', subscriptionId: id, item: stbItem(n) }),
    requests: (n) => [pair(n)],
    products: (n) => ({ [card(n)]: both }),
    pairedWith: (n) => [stb(n)],
  },
  {
    name: 'remove installed item (the card)',
    given: (id, n) => [subscribe(id, n)],
    when: (id) => ({
      action: 'REMOVE_INSTALLED_ITEM',
      subscriptionId: id,
      serialNumber: `SC${id.slice(1)}`,
    }),
    requests: (n) => [cancel(n, 'GFA1'), cancel(n, 'EFA2')],
    products: (n) => ({ [card(n)]: [] }),
  },
  {
    name: 'swap installed item (card n for card n+1)',
    given: (id, n) => [subscribe(id, n)],
    when: (id, n) => ({
      action: 'SWAP_INSTALLED_ITEM',
      subscriptionId: id,
      serialNumber: `SC${id.slice(1)}`,
      item: { serialNumber: `SC${n + 1}`, product: 'SC-CONAX', caId: card(n + 1) },
    }),
    requests: (n) => [
      `CREATE_PAIRING ${card(n + 1)} ${stb(n)}`,
      add(n + 1, 'GFA1'),
      add(n + 1, 'EFA2'),
      cancel(n, 'GFA1'),
      cancel(n, 'EFA2'),
    ],
    products: (n) => ({ [card(n)]: [], [card(n + 1)]: both }),
  },
]

function brief(requests: readonly ProvisioningRequest[]): string[] {
  return requests.map((r) => {
    const c = r.command
    if (c.type === 'CREATE_PAIRING') {
      return `${c.type} ${c.smartcardCaIds.join(',')} ${c.stbCaIds.join(',')}`
    }
    return c.type === 'ADD_SUBSCRIPTIONS' || c.type === 'CANCEL_SUBSCRIPTIONS'
      ? `${c.type} ${c.smartcardCaId} ${c.serviceCaId}`
      : c.type
  })
}

describe('every action of the command mapping table, delivered to the simulator', () => {
  let sim: Simulator
  let adapter: Adapter
  beforeAll(async () => {
    sim = await startTestCa(CASES.length * 2 + 2)
    adapter = await startTestAdapter(sim)
  })
  afterAll(async () => {
    await adapter.close()
    await sim.close()
  })

  it.each(CASES.map((c, index) => [c.name, c, index * 2 + 1] as const))(
    '%s',
    async (_name, scenario, n) => {
      const id = `S${n}`
      for (const action of scenario.given(id, n)) {
        await adapter.service.applyAction(action)
      }
      await adapter.deliverDue()
      const outcome = await adapter.service.applyAction(scenario.when(id, n))
      expect(brief(outcome.requests)).toEqual(scenario.requests(n))
      await adapter.deliverDue()
      const stored = await Promise.all(outcome.requests.map((r) => adapter.store.getRequest(r.id)))
      expect(stored.map((r) => r?.lifeCycleState)).toEqual(outcome.requests.map(() => 'COMPLETED'))
      for (const [caId, products] of Object.entries(scenario.products(n))) {
        expect({
          caId,
          products: (sim.model.card(caId)?.subscriptions ?? []).map((s) => s.productId).sort(),
        }).toEqual({ caId, products: [...products].sort() })
      }
      if (scenario.pairedWith) {
        expect(sim.model.card(card(n))?.pairing?.pairingModuleIds).toEqual(scenario.pairedWith(n))
      }
    },
  )
})
