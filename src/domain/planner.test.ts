import { describe, expect, it } from 'vitest'
import type { ConaxCommand } from './commands.js'
import type { ProvisioningProvider, Subscription } from './crm.js'
import { testProvider } from '../test-support/test-provider.js'
import { planAction, type CrmAction, type ItemInput, type Plan } from './planner.js'

const NOW = '2026-11-26T10:00:00.000Z'

const PROVIDER: ProvisioningProvider = testProvider()

const CARD = (n: number): string => `0145025331${n}`
const STB = (n: number): string => `100000000${n}`
const card = (n: number, distributor: string | null = 'Main'): ItemInput => ({
  serialNumber: `SC${n}`,
  product: 'SC-CONAX',
  caId: CARD(n),
  distributor,
})
const stb = (n: number, distributor: string | null = 'Main'): ItemInput => ({
  serialNumber: `STB${n}`,
  product: 'STB-HD',
  caId: STB(n),
  distributor,
})

function plan(action: CrmAction, current: Subscription | null = null, provider = PROVIDER): Plan {
  const result = planAction(provider, current, action, NOW)
  if (!result.ok) {
    throw new Error(`${result.error.code}: ${result.error.message}`)
  }
  return result.value
}

function refusal(action: CrmAction, current: Subscription | null): string {
  const result = planAction(PROVIDER, current, action, NOW)
  return result.ok ? 'planned' : result.error.code
}

/** Commands in a compact, readable form: `ADD 01450253311 GFA1 @Main`. */
function brief(commands: readonly ConaxCommand[]): string[] {
  return commands.map((c) => {
    const at = `@${c.distributor ?? ''}`
    if (c.type === 'ADD_SUBSCRIPTIONS') {
      return `ADD ${c.smartcardCaId} ${c.serviceCaId} ${at}`
    }
    if (c.type === 'CANCEL_SUBSCRIPTIONS') {
      return `CANCEL ${c.smartcardCaId} ${c.serviceCaId} ${at}`
    }
    if (c.type === 'CREATE_PAIRING') {
      return `PAIR ${c.smartcardCaIds.join(',')} + ${c.stbCaIds.join(',')} ${at}`
    }
    // The planner sends no other type; any other shows as its name.
    return c.type
  })
}

/** Flexible Bundle A on one card and box at Main (the seed's Scenario 2). */
const bundleA = (): Plan =>
  plan({
    action: 'BECOME_SUBSCRIBER',
    subscriptionId: 'S1',
    services: [
      { service: 'GEOLOGICAL', distributor: 'Main' },
      { service: 'ENTERTAIN', distributor: 'Main' },
    ],
    installedItems: [card(1), stb(1)],
  })

describe('business examples of the seed (Scenario 2)', () => {
  it('Example 1: provisioning Flexible Bundle A pairs first, then one add per channel', () => {
    const result = bundleA()
    expect(brief(result.commands)).toEqual([
      `PAIR ${CARD(1)} + ${STB(1)} @Main`,
      `ADD ${CARD(1)} GFA1 @Main`,
      `ADD ${CARD(1)} EFA2 @Main`,
    ])
    expect(result.subscription).toMatchObject({ id: 'S1', state: 'EFFECTIVE', createdAt: NOW })
  })

  it('Example 2: swapping Bundle A to Agriculture adds AF1, then cancels GFA1 and EFA2', () => {
    const swapped = plan(
      {
        action: 'SWAP_SERVICE',
        subscriptionId: 'S1',
        from: ['GEOLOGICAL', 'ENTERTAIN'],
        to: ['AGRICULTURE'],
      },
      bundleA().subscription,
    )
    expect(brief(swapped.commands)).toEqual([
      `ADD ${CARD(1)} AF1 @Main`,
      `CANCEL ${CARD(1)} GFA1 @Main`,
      `CANCEL ${CARD(1)} EFA2 @Main`,
    ])
  })

  it('Example 3: upgrading Bundle A to Bundle B adds RFB1 and BFB2, then cancels GFA1 and EFA2', () => {
    const upgraded = plan(
      {
        action: 'SWAP_SERVICE',
        subscriptionId: 'S1',
        from: ['GEOLOGICAL', 'ENTERTAIN'],
        to: ['RELIGION', 'BABY_CHANNEL'],
      },
      bundleA().subscription,
    )
    expect(brief(upgraded.commands)).toEqual([
      `ADD ${CARD(1)} RFB1 @Main`,
      `ADD ${CARD(1)} BFB2 @Main`,
      `CANCEL ${CARD(1)} GFA1 @Main`,
      `CANCEL ${CARD(1)} EFA2 @Main`,
    ])
  })

  it('regret (swap) undoes the last swap: the old services go back on before the new ones go off', () => {
    const swapped = plan(
      { action: 'SWAP_SERVICE', subscriptionId: 'S1', from: ['ENTERTAIN'], to: ['AGRICULTURE'] },
      bundleA().subscription,
    )
    const regretted = plan({ action: 'REGRET_SWAP', subscriptionId: 'S1' }, swapped.subscription)
    expect(brief(regretted.commands)).toEqual([
      `ADD ${CARD(1)} EFA2 @Main`,
      `CANCEL ${CARD(1)} AF1 @Main`,
    ])
    expect(regretted.subscription.swaps).toEqual([])
    expect(refusal({ action: 'REGRET_SWAP', subscriptionId: 'S1' }, regretted.subscription)).toBe(
      'NO_SWAP_TO_REGRET',
    )
  })
})

describe('multiple viewing points (Scenario 1)', () => {
  const fourRooms = (): Plan =>
    plan({
      action: 'BECOME_SUBSCRIBER',
      subscriptionId: 'S4',
      services: [
        { service: 'GEOLOGICAL', distributor: 'Main' },
        { service: 'ENTERTAIN', distributor: 'Main' },
        { service: 'GEOLOGICAL', distributor: 'TWIN1' },
        { service: 'AGRICULTURE', distributor: 'TWIN2' },
        { service: 'GEOLOGICAL', distributor: 'TWIN3' },
      ],
      installedItems: [
        card(1),
        stb(1),
        card(2, 'TWIN1'),
        stb(2, 'TWIN1'),
        card(3, 'TWIN2'),
        stb(3, 'TWIN2'),
        card(4, 'TWIN3'),
        stb(4, 'TWIN3'),
      ],
    })

  it('pairs each room and activates its own channels on its own card', () => {
    expect(brief(fourRooms().commands)).toEqual([
      `PAIR ${CARD(1)} + ${STB(1)} @Main`,
      `PAIR ${CARD(2)} + ${STB(2)} @TWIN1`,
      `PAIR ${CARD(3)} + ${STB(3)} @TWIN2`,
      `PAIR ${CARD(4)} + ${STB(4)} @TWIN3`,
      `ADD ${CARD(1)} GFA1 @Main`,
      `ADD ${CARD(1)} EFA2 @Main`,
      `ADD ${CARD(2)} GFA1 @TWIN1`,
      `ADD ${CARD(3)} AF1 @TWIN2`,
      `ADD ${CARD(4)} GFA1 @TWIN3`,
    ])
  })

  it('refuses a fifth viewing point and a service the distributor does not allow', () => {
    const four = fourRooms().subscription
    expect(
      refusal({ action: 'ADD_INSTALLED_ITEM', subscriptionId: 'S4', item: card(5, 'TWIN4') }, four),
    ).toBe('TOO_MANY_VIEWING_POINTS')
    expect(
      refusal(
        { action: 'ADD_SERVICE', subscriptionId: 'S4', service: 'ENTERTAIN', distributor: 'TWIN3' },
        four,
      ),
    ).toBe('SERVICE_NOT_ALLOWED')
    expect(
      refusal(
        {
          action: 'ADD_SERVICE',
          subscriptionId: 'S4',
          service: 'ENTERTAIN',
          distributor: 'LIVINGROOM',
        },
        four,
      ),
    ).toBe('DISTRIBUTOR_UNKNOWN')
  })
})

describe('subscription life cycle', () => {
  const effective = (): Subscription => bundleA().subscription
  const cancels = [`CANCEL ${CARD(1)} GFA1 @Main`, `CANCEL ${CARD(1)} EFA2 @Main`]
  const activation = [
    `PAIR ${CARD(1)} + ${STB(1)} @Main`,
    `ADD ${CARD(1)} GFA1 @Main`,
    `ADD ${CARD(1)} EFA2 @Main`,
  ]

  it.each([
    ['DEACTIVATE', 'NOT_EFFECTIVE'],
    ['TERMINATE', 'TERMINATED'],
    ['REST', 'IN_RESTING'],
    ['SHORT_TERM_DEACTIVATION', 'SHORT_TERM_NOT_EFFECTIVE'],
  ] as const)('%s cancels every active service and leaves %s', (action, state) => {
    const result = plan({ action, subscriptionId: 'S1' }, effective())
    expect(brief(result.commands)).toEqual(cancels)
    expect(result.subscription.state).toBe(state)
  })

  it.each([
    ['DEACTIVATE', 'ACTIVATE', 'EFFECTIVE'],
    ['REST', 'END_RESTING', 'EFFECTIVE'],
    ['SHORT_TERM_DEACTIVATION', 'END_SHORT_TERM_DEACTIVATION', 'EFFECTIVE'],
    ['DEACTIVATE', 'SHORT_TERM_ACTIVATION', 'SHORT_TERM_EFFECTIVE'],
  ] as const)('after %s, %s pairs again and adds every service (%s)', (off, on, state) => {
    const inactive = plan({ action: off, subscriptionId: 'S1' }, effective()).subscription
    const result = plan({ action: on, subscriptionId: 'S1' }, inactive)
    expect(brief(result.commands)).toEqual(activation)
    expect(result.subscription.state).toBe(state)
  })

  it('END_SHORT_TERM_ACTIVATION cancels what the short term activation added', () => {
    const inactive = plan({ action: 'DEACTIVATE', subscriptionId: 'S1' }, effective()).subscription
    const shortTerm = plan(
      { action: 'SHORT_TERM_ACTIVATION', subscriptionId: 'S1' },
      inactive,
    ).subscription
    expect(
      brief(
        plan({ action: 'END_SHORT_TERM_ACTIVATION', subscriptionId: 'S1' }, shortTerm).commands,
      ),
    ).toEqual(cancels)
  })

  it('refuses actions the state forbids, and any action on a terminated or unknown subscription', () => {
    expect(refusal({ action: 'ACTIVATE', subscriptionId: 'S1' }, effective())).toBe(
      'ACTION_NOT_ALLOWED',
    )
    expect(refusal({ action: 'END_RESTING', subscriptionId: 'S1' }, effective())).toBe(
      'ACTION_NOT_ALLOWED',
    )
    const terminated = plan({ action: 'TERMINATE', subscriptionId: 'S1' }, effective()).subscription
    expect(refusal({ action: 'ACTIVATE', subscriptionId: 'S1' }, terminated)).toBe(
      'ACTION_NOT_ALLOWED',
    )
    expect(refusal({ action: 'ACTIVATE', subscriptionId: 'S9' }, null)).toBe(
      'SUBSCRIPTION_NOT_FOUND',
    )
    expect(
      refusal(
        { action: 'BECOME_SUBSCRIBER', subscriptionId: 'S1', services: [], installedItems: [] },
        effective(),
      ),
    ).toBe('SUBSCRIPTION_EXISTS')
  })

  it('refuses an action it does not know, from a caller outside the types, changing nothing', () => {
    // A method parameter is bivariant: this is how a JavaScript caller reaches planAction.
    const untyped: {
      plan(provider: ProvisioningProvider, current: null, action: object, now: string): unknown
    } = { plan: planAction }
    expect(untyped.plan(PROVIDER, null, { action: 'DESTROY', subscriptionId: 'S1' }, NOW)).toEqual({
      ok: false,
      error: {
        code: 'ACTION_NOT_ALLOWED',
        message: "'DESTROY' is not a CRM action; see src/README.md for the actions.",
      },
    })
  })

  it('sends nothing when an inactive subscription is deactivated further', () => {
    const resting = plan({ action: 'REST', subscriptionId: 'S1' }, effective()).subscription
    expect(plan({ action: 'DEACTIVATE', subscriptionId: 'S1' }, resting).commands).toEqual([])
  })
})

describe('service actions', () => {
  it('adds, stops, starts and removes a service on every card of its distributor', () => {
    const added = plan(
      { action: 'ADD_SERVICE', subscriptionId: 'S1', service: 'AGRICULTURE', distributor: 'Main' },
      bundleA().subscription,
    )
    expect(brief(added.commands)).toEqual([`ADD ${CARD(1)} AF1 @Main`])
    const stopped = plan(
      { action: 'STOP_SERVICE', subscriptionId: 'S1', service: 'AGRICULTURE' },
      added.subscription,
    )
    expect(brief(stopped.commands)).toEqual([`CANCEL ${CARD(1)} AF1 @Main`])
    const started = plan(
      { action: 'START_SERVICE', subscriptionId: 'S1', service: 'AGRICULTURE' },
      stopped.subscription,
    )
    expect(brief(started.commands)).toEqual([`ADD ${CARD(1)} AF1 @Main`])
    const removed = plan(
      { action: 'REMOVE_SERVICE', subscriptionId: 'S1', service: 'AGRICULTURE' },
      started.subscription,
    )
    expect(brief(removed.commands)).toEqual([`CANCEL ${CARD(1)} AF1 @Main`])
  })

  it('refuses unmapped, duplicate, unknown and ambiguous services', () => {
    const s = bundleA().subscription
    expect(
      refusal(
        { action: 'ADD_SERVICE', subscriptionId: 'S1', service: 'SPORTS', distributor: 'Main' },
        s,
      ),
    ).toBe('SERVICE_NOT_MAPPED')
    expect(
      refusal(
        { action: 'ADD_SERVICE', subscriptionId: 'S1', service: 'GEOLOGICAL', distributor: 'Main' },
        s,
      ),
    ).toBe('SERVICE_EXISTS')
    expect(refusal({ action: 'STOP_SERVICE', subscriptionId: 'S1', service: 'RELIGION' }, s)).toBe(
      'SERVICE_NOT_FOUND',
    )
    expect(
      refusal({ action: 'START_SERVICE', subscriptionId: 'S1', service: 'GEOLOGICAL' }, s),
    ).toBe('ACTION_NOT_ALLOWED')
    const twice = plan(
      { action: 'ADD_SERVICE', subscriptionId: 'S1', service: 'GEOLOGICAL', distributor: 'TWIN1' },
      s,
    ).subscription
    expect(
      refusal({ action: 'REMOVE_SERVICE', subscriptionId: 'S1', service: 'GEOLOGICAL' }, twice),
    ).toBe('SERVICE_AMBIGUOUS')
  })

  it('sends nothing for service changes while the subscription is not active', () => {
    const resting = plan(
      { action: 'REST', subscriptionId: 'S1' },
      bundleA().subscription,
    ).subscription
    expect(
      plan(
        {
          action: 'ADD_SERVICE',
          subscriptionId: 'S1',
          service: 'AGRICULTURE',
          distributor: 'Main',
        },
        resting,
      ).commands,
    ).toEqual([])
  })
})

describe('installed item actions', () => {
  it('adding a box to a viewing point pairs it; adding a card there also activates its services', () => {
    const s = plan({
      action: 'BECOME_SUBSCRIBER',
      subscriptionId: 'S2',
      services: [{ service: 'GEOLOGICAL', distributor: 'TWIN1' }],
      installedItems: [card(2, 'TWIN1')],
    })
    expect(brief(s.commands)).toEqual([`ADD ${CARD(2)} GFA1 @TWIN1`])
    const box = plan(
      { action: 'ADD_INSTALLED_ITEM', subscriptionId: 'S2', item: stb(2, 'TWIN1') },
      s.subscription,
    )
    expect(brief(box.commands)).toEqual([`PAIR ${CARD(2)} + ${STB(2)} @TWIN1`])
    const second = plan(
      { action: 'ADD_INSTALLED_ITEM', subscriptionId: 'S2', item: card(3, 'TWIN1') },
      box.subscription,
    )
    expect(brief(second.commands)).toEqual([
      `PAIR ${CARD(2)},${CARD(3)} + ${STB(2)} @TWIN1`,
      `ADD ${CARD(3)} GFA1 @TWIN1`,
    ])
  })

  it('follows the mapping table literally when activateServicesOnNewSmartcard is off', () => {
    const literal = { ...PROVIDER, activateServicesOnNewSmartcard: false }
    const s = bundleA().subscription
    const result = plan(
      { action: 'ADD_INSTALLED_ITEM', subscriptionId: 'S1', item: card(2) },
      s,
      literal,
    )
    expect(brief(result.commands)).toEqual([`PAIR ${CARD(1)},${CARD(2)} + ${STB(1)} @Main`])
  })

  it('removing a card cancels its services; swapping one pairs the new card, adds to it, then cancels on the old', () => {
    const removed = plan(
      { action: 'REMOVE_INSTALLED_ITEM', subscriptionId: 'S1', serialNumber: 'SC1' },
      bundleA().subscription,
    )
    expect(brief(removed.commands)).toEqual([
      `CANCEL ${CARD(1)} GFA1 @Main`,
      `CANCEL ${CARD(1)} EFA2 @Main`,
    ])
    const swapped = plan(
      {
        action: 'SWAP_INSTALLED_ITEM',
        subscriptionId: 'S1',
        serialNumber: 'SC1',
        item: { serialNumber: 'SC9', product: 'SC-CONAX', caId: CARD(9) },
      },
      bundleA().subscription,
    )
    expect(brief(swapped.commands)).toEqual([
      `PAIR ${CARD(9)} + ${STB(1)} @Main`,
      `ADD ${CARD(9)} GFA1 @Main`,
      `ADD ${CARD(9)} EFA2 @Main`,
      `CANCEL ${CARD(1)} GFA1 @Main`,
      `CANCEL ${CARD(1)} EFA2 @Main`,
    ])
  })

  it('refuses unmapped goods, bad CA IDs, duplicates, unknown items and kind changes', () => {
    const s = bundleA().subscription
    expect(
      refusal(
        {
          action: 'ADD_INSTALLED_ITEM',
          subscriptionId: 'S1',
          item: { ...card(2), product: 'REMOTE' },
        },
        s,
      ),
    ).toBe('PHYSICAL_GOOD_NOT_MAPPED')
    expect(
      refusal(
        {
          action: 'ADD_INSTALLED_ITEM',
          subscriptionId: 'S1',
          item: { ...card(2), caId: '1450253312' },
        },
        s,
      ),
    ).toBe('INVALID_CA_ID')
    expect(refusal({ action: 'ADD_INSTALLED_ITEM', subscriptionId: 'S1', item: card(1) }, s)).toBe(
      'ITEM_EXISTS',
    )
    expect(
      refusal({ action: 'REMOVE_INSTALLED_ITEM', subscriptionId: 'S1', serialNumber: 'NOPE' }, s),
    ).toBe('ITEM_NOT_FOUND')
    expect(
      refusal(
        {
          action: 'SWAP_INSTALLED_ITEM',
          subscriptionId: 'S1',
          serialNumber: 'SC1',
          item: { serialNumber: 'B9', product: 'STB-HD', caId: STB(9) },
        },
        s,
      ),
    ).toBe('ITEM_KIND_MISMATCH')
  })
})

describe('change subscription distribution', () => {
  it('moves a card and its service to a new viewing point: pairs there and re-adds the service with its new distributor', () => {
    const s = plan({
      action: 'BECOME_SUBSCRIBER',
      subscriptionId: 'S3',
      services: [{ service: 'GEOLOGICAL', distributor: 'Main' }],
      installedItems: [card(1), stb(1), stb(2, 'TWIN1')],
    }).subscription
    const moved = plan(
      {
        action: 'CHANGE_DISTRIBUTION',
        subscriptionId: 'S3',
        moves: [
          { serialNumber: 'SC1', to: 'TWIN1' },
          { service: 'GEOLOGICAL', from: 'Main', to: 'TWIN1' },
        ],
      },
      s,
    )
    expect(brief(moved.commands)).toEqual([
      `PAIR ${CARD(1)} + ${STB(2)} @TWIN1`,
      `ADD ${CARD(1)} GFA1 @TWIN1`,
    ])
    const undistributed = plan(
      {
        action: 'CHANGE_DISTRIBUTION',
        subscriptionId: 'S3',
        moves: [{ service: 'GEOLOGICAL', from: 'TWIN1', to: null }],
      },
      moved.subscription,
    )
    expect(brief(undistributed.commands)).toEqual([`CANCEL ${CARD(1)} GFA1 @TWIN1`])
  })

  it('re-sends the pairing of a viewing point that receives services, as the mapping lists', () => {
    const s = plan({
      action: 'BECOME_SUBSCRIBER',
      subscriptionId: 'S4',
      services: [
        { service: 'GEOLOGICAL', distributor: 'Main' },
        { service: 'ENTERTAIN', distributor: 'Main' },
      ],
      installedItems: [card(1), stb(1), card(2, 'TWIN1'), stb(2, 'TWIN1')],
    }).subscription
    const moved = plan(
      {
        action: 'CHANGE_DISTRIBUTION',
        subscriptionId: 'S4',
        moves: [{ service: 'ENTERTAIN', from: 'Main', to: 'TWIN1' }],
      },
      s,
    )
    expect(brief(moved.commands)).toEqual([
      `PAIR ${CARD(2)} + ${STB(2)} @TWIN1`,
      `ADD ${CARD(2)} EFA2 @TWIN1`,
      `CANCEL ${CARD(1)} EFA2 @Main`,
    ])
  })
})
