import { afterAll, describe, expect, it, onTestFinished } from 'vitest'
import pg from 'pg'
import { freshTestDatabase } from '../../test-support/postgres.js'
import { anExecution, describeRunStoreContract } from '../runs/run-store.contract.js'
import {
  aNewRequest,
  aSubscription,
  describeProvisioningStoreContract,
} from '../store/provisioning-store.contract.js'
import { migrations } from './pg-database.js'
import { PostgresProvisioningStore } from './pg-provisioning-store.js'
import { PostgresRunStore } from './pg-run-store.js'

// Every store this file opens, ended after its tests (a run store borrows its store's pool).
const opened: PostgresProvisioningStore[] = []
afterAll(async () => {
  await Promise.all(opened.map((store) => store.close()))
})

async function open(url: string): Promise<PostgresProvisioningStore> {
  const store = await PostgresProvisioningStore.open(url, { max: 4 })
  opened.push(store)
  return store
}

describeProvisioningStoreContract(
  'PostgresProvisioningStore',
  async () => {
    const url = await freshTestDatabase()
    const store = await open(url)
    const runs = new PostgresRunStore(store.database)
    return {
      store,
      reopen: () => open(url),
      ownExecution: async (id, owner) => {
        await runs.saveExecution(anExecution(id, 'R1', { owner }))
      },
    }
  },
  { durable: true },
)

describeRunStoreContract('PostgresRunStore', async () => {
  const url = await freshTestDatabase()
  const store = new PostgresRunStore((await open(url)).database)
  return { store, reopen: async () => new PostgresRunStore((await open(url)).database) }
})

describe('PostgresProvisioningStore', () => {
  it('applies its migrations once, whatever number of instances open the database together', async () => {
    const url = await freshTestDatabase()
    const stores = await Promise.all([open(url), open(url), open(url)])
    const client = new pg.Client({ connectionString: url })
    await client.connect()
    onTestFinished(() => client.end())
    const applied = await client.query<{ version: number }>(
      'SELECT version FROM schema_migrations ORDER BY version',
    )
    expect(applied.rows.map((row) => row.version)).toEqual(migrations().map((m) => m.version))
    // One sequence for all of them: numbers and SequenceNumbers never repeat across instances.
    const created = (
      await Promise.all(
        stores.flatMap((store, i) =>
          Array.from({ length: 20 }, (_, j) =>
            store.commit({ requests: [aNewRequest(String(i * 100 + j))] }, '2026-01-01T00:00:00Z'),
          ),
        ),
      )
    ).flat()
    expect(new Set(created.map((r) => r.number)).size).toBe(60)
    expect(new Set(created.map((r) => r.sequenceNumber)).size).toBe(60)
  })

  it('starts the SequenceNumbers of a new database at a random origin in [1, 2^30]', async () => {
    const firsts = await Promise.all(
      [1, 2, 3].map(async () => {
        const store = await open(await freshTestDatabase())
        const [request] = await store.commit({ requests: [aNewRequest()] }, '2026-01-01T00:00:00Z')
        return request!.sequenceNumber
      }),
    )
    expect(new Set(firsts).size).toBe(3)
    for (const first of firsts) {
      expect(first).toBeGreaterThanOrEqual(1)
      expect(first).toBeLessThanOrEqual(2 ** 30)
    }
  })

  it('refuses a commit that would pass the largest xs:int, storing nothing', async () => {
    const url = await freshTestDatabase()
    const store = await open(url)
    const client = new pg.Client({ connectionString: url })
    await client.connect()
    onTestFinished(() => client.end())
    await client.query("SELECT setval('conax_sequence_number', 2147483646, false)")
    await store.commit({ requests: [aNewRequest()] }, '2026-01-01T00:00:00Z')
    await expect(
      store.commit({ requests: [aNewRequest(), aNewRequest()] }, '2026-01-01T00:00:00Z'),
    ).rejects.toMatchObject({ code: 'SEQUENCE_NUMBERS_EXHAUSTED' })
    expect((await store.listRequests({})).total).toBe(1)
  })

  it('hands delivery the head of a long queue in sending order, a split part in its batch place', async () => {
    const url = await freshTestDatabase()
    const store = await PostgresProvisioningStore.open(url, { max: 2, pendingWindow: 3 })
    opened.push(store)
    const [a, b, c] = await store.commit(
      { requests: [aNewRequest('1'), aNewRequest('2'), aNewRequest('3'), aNewRequest('4')] },
      '2026-01-01T00:00:00Z',
    )
    const { children } = await store.splitRequest(
      a!.id,
      { errorCode: 'X' },
      [aNewRequest('1')],
      '2026-01-01T00:00:01Z',
    )
    // Sending order: the part (its batch's precedence), then 2, 3, 4; the first three of it.
    expect((await store.pendingRequests()).map((r) => r.id)).toEqual([
      b!.id,
      c!.id,
      children[0]!.id,
    ])
  })

  it('refuses to open a database it cannot reach with STORE_UNREADABLE naming it', async () => {
    await expect(
      PostgresProvisioningStore.open('postgres://nobody:secret@127.0.0.1:1/none'),
    ).rejects.toMatchObject({
      code: 'STORE_UNREADABLE',
      message: expect.stringMatching(/127\.0\.0\.1:1\/none.*--database-url/s),
    })
  })

  it("wakes the watchers of other instances when requests are created, not the instance's own", async () => {
    const url = await freshTestDatabase()
    const [a, b] = await Promise.all([open(url), open(url)])
    let ownWakes = 0
    let heard = false
    onTestFinished(a.watch(() => ownWakes++))
    const wake = new Promise<void>((resolve) => b.watch(resolve)).then(() => (heard = true))
    // LISTEN starts in the background: commit until B hears one (each commit notifies).
    for (let n = 1; !heard; n++) {
      await a.commit({ requests: [aNewRequest(String(n))] }, '2026-01-01T00:00:00Z')
      await Promise.race([wake, new Promise((resolve) => setImmediate(resolve))])
    }

    expect(heard).toBe(true)
    expect(ownWakes).toBe(0)
  })

  it('commits concurrent actions in groups, a refused one failing alone', async () => {
    const store = await open(await freshTestDatabase())
    const at = '2026-01-01T00:00:00Z'
    await store.commit({ subscription: aSubscription('S10'), requests: [] }, at)
    // Twenty actions at once: all but the first wait together for the next group; S10's plan
    // read nothing, but S10 exists.
    const outcomes = await Promise.allSettled(
      Array.from({ length: 20 }, (_, n) =>
        store.commit(
          {
            subscription: aSubscription(`S${n}`),
            basedOn: null,
            requests: [aNewRequest(String(n), { subscriptionId: `S${n}` })],
          },
          at,
        ),
      ),
    )

    expect(outcomes[10]).toMatchObject({
      status: 'rejected',
      reason: { code: 'SUBSCRIPTION_CHANGED' },
    })
    expect(outcomes.filter((outcome) => outcome.status === 'fulfilled')).toHaveLength(19)
    const listed = await store.listRequests({})
    expect(listed.total).toBe(19)
    expect(listed.items.some((request) => request.subscriptionId === 'S10')).toBe(false)
    expect((await store.listSubscriptions({})).total).toBe(20)
  })
})
