import { afterEach, describe, expect, it } from 'vitest'
import type { Simulator } from '../simulator/src/index.js'
import type { CommitChange, ProvisioningStore } from './application/ports.js'
import type { Adapter } from './create-adapter.js'
import type { CrmAction } from './domain/planner.js'
import { PostgresProvisioningStore } from './infrastructure/postgres/pg-provisioning-store.js'
import {
  card,
  cardItem,
  startTestAdapter,
  startTestCa,
  stbItem,
} from './test-support/adapter-harness.js'
import { freshTestDatabase } from './test-support/postgres.js'

// Two adapter instances on one PostgreSQL database planning actions of the same subscription at
// the same moment (a CRM that does not wait for one action's answer before sending the next to
// another instance): the later commit must not overwrite the earlier one (docs/decisions/0017).

/**
 * A store whose next commits first let `before` run: another instance's action lands between this
 * instance's read of the subscription and its commit, deterministically.
 */
function interleaved(inner: PostgresProvisioningStore): {
  store: ProvisioningStore
  before: (() => Promise<void>)[]
} {
  const before: (() => Promise<void>)[] = []
  const store = new Proxy(inner, {
    get(target, property) {
      if (property === 'commit') {
        return async (change: CommitChange, now: string) => {
          await before.shift()?.()
          return target.commit(change, now)
        }
      }
      const value: unknown = Reflect.get(target, property, target)
      return typeof value === 'function' ? (value as () => unknown).bind(target) : value
    },
  })
  return { store, before }
}

const ID = 'S1'
const subscribe: CrmAction = {
  action: 'BECOME_SUBSCRIBER',
  subscriptionId: ID,
  services: [{ service: 'GEOLOGICAL', distributor: 'Main' }],
  installedItems: [cardItem(1), stbItem(1)],
}
const addService = (service: string): CrmAction => ({
  action: 'ADD_SERVICE',
  subscriptionId: ID,
  service,
  distributor: 'Main',
})

let sim: Simulator
const adapters: Adapter[] = []

afterEach(async () => {
  await Promise.all(adapters.splice(0).map((adapter) => adapter.close()))
  await sim.close()
})

async function twoInstances(): Promise<{
  a: Adapter
  b: Adapter
  before: (() => Promise<void>)[]
}> {
  sim = await startTestCa(2)
  const databaseUrl = await freshTestDatabase()
  const { store, before } = interleaved(await PostgresProvisioningStore.open(databaseUrl))
  const a = await startTestAdapter(sim, { databaseUrl, instanceId: 'A', store })
  const b = await startTestAdapter(sim, { databaseUrl, instanceId: 'B' })
  adapters.push(a, b)
  return { a, b, before }
}

describe('two instances planning the same subscription at once', () => {
  it("plans again on the new state when the other instance committed after this one's read", async () => {
    const { a, b, before } = await twoInstances()
    await a.service.applyAction(subscribe)
    // B adds AGRICULTURE after A has read S1 for its own ADD_SERVICE, before A commits.
    before.push(async () => {
      await b.service.applyAction(addService('AGRICULTURE'))
    })

    const outcome = await a.service.applyAction(addService('ENTERTAIN'))

    expect(before).toHaveLength(0)
    const services = (await b.store.getSubscription(ID))?.services.map((s) => s.service)
    expect(services?.sort()).toEqual(['AGRICULTURE', 'ENTERTAIN', 'GEOLOGICAL'])
    expect(outcome.subscription?.services.map((s) => s.service).sort()).toEqual(services)
    // Each service's product added once, by the instance whose action added it.
    const adds = (await b.store.listRequests({ type: 'ADD_SUBSCRIPTIONS' })).items.map((request) =>
      JSON.stringify(request.command),
    )
    expect(adds).toHaveLength(3)
    expect(adds.filter((command) => command.includes('AF1'))).toHaveLength(1)
    expect(adds.filter((command) => command.includes('EFA2'))).toHaveLength(1)
    expect(adds.every((command) => command.includes(card(1)))).toBe(true)
  })

  it('gives up with SUBSCRIPTION_CHANGED after five plans, each overtaken, storing nothing', async () => {
    const { a, b, before } = await twoInstances()
    await a.service.applyAction(subscribe)
    // B changes the subscription before each of A's commits (the first on A's guess, then five
    // on what A read).
    let overtaken = 0
    for (let i = 0; i < 10; i++) {
      before.push(async () => {
        overtaken++
        await b.service.applyAction({
          action: i % 2 === 0 ? 'STOP_SERVICE' : 'START_SERVICE',
          subscriptionId: ID,
          service: 'GEOLOGICAL',
        })
      })
    }

    await expect(a.service.applyAction(addService('ENTERTAIN'))).rejects.toMatchObject({
      code: 'SUBSCRIPTION_CHANGED',
      httpStatus: 409,
      details: { action: 'ADD_SERVICE', subscriptionId: ID },
    })
    expect(overtaken).toBe(6)
    before.splice(0)
    const stored = await b.store.getSubscription(ID)
    expect(stored?.services.map((s) => s.service)).toEqual(['GEOLOGICAL'])
    const entertain = (await b.store.listRequests({})).items.filter((request) =>
      JSON.stringify(request.command).includes('EFA2'),
    )
    expect(entertain).toEqual([])
  })
})
