import { describe, expect, it, onTestFinished } from 'vitest'
import type { CommitChange, ProvisioningStore } from '../../application/ports.js'
import type { InstalledItem, Subscription } from '../../domain/crm.js'
import type { NewProvisioningRequest } from '../../domain/provisioning-request.js'
import { StoreError } from './store-error.js'

/** What a contract run gets from an implementation: a fresh store, and a way to reopen it if durable. */
export interface ProvisioningStoreUnderTest {
  readonly store: ProvisioningStore
  /** Opens the same storage again after `store.close()`; absent for stores that keep nothing. */
  readonly reopen?: () => Promise<ProvisioningStore>
  /**
   * For stores that check a commit's fence (those several instances share): gives the run
   * execution to `owner` in the run store the fence is checked against, as a takeover does.
   * Absent for single-process stores, which store a fenced commit unchecked.
   */
  readonly ownExecution?: (executionId: string, owner: string) => Promise<void>
}

const T0 = '2025-03-01T10:00:00.000Z'
const T1 = '2025-03-01T11:00:00.000Z'
const T2 = '2025-03-01T12:00:00.000Z'

/** A new ADD_SUBSCRIPTIONS request for `card`, as the planner would emit it. */
export function aNewRequest(
  card = '00000000001',
  overrides: Partial<NewProvisioningRequest> = {},
): NewProvisioningRequest {
  return {
    command: {
      type: 'ADD_SUBSCRIPTIONS',
      smartcardCaId: card,
      serviceCaId: '100',
      distributor: null,
    },
    processName: 'PROVISIONING_REQUEST_PROCESSING',
    ...overrides,
  }
}

/** An EFFECTIVE subscription with one service and one card. */
/** The smartcard `aSubscription(id)` holds (a card is on one subscription only). */
export function cardOf(id: string): InstalledItem {
  return {
    serialNumber: `SN-${id}`,
    product: 'CARD',
    kind: 'SMARTCARD',
    caId: `C-${id}`,
    distributor: null,
  }
}

export function aSubscription(id: string, overrides: Partial<Subscription> = {}): Subscription {
  return {
    id,
    type: 'RESIDENTIAL',
    state: 'EFFECTIVE',
    services: [{ service: 'BASIC', distributor: null, state: 'EFFECTIVE' }],
    installedItems: [cardOf(id)],
    swaps: [],
    createdAt: T0,
    updatedAt: T0,
    ...overrides,
  }
}

/**
 * The ProvisioningStore contract: every implementation's test calls this with a factory of fresh
 * stores. Durability checks run when the factory also gives `reopen`.
 */
export function describeProvisioningStoreContract(
  name: string,
  create: () => Promise<ProvisioningStoreUnderTest>,
  options: { readonly durable?: boolean } = {},
): void {
  // Reopen tests exist only for durable stores (a memory store keeps nothing across a reopen).
  const itDurable = options.durable ? it : (): void => undefined
  /** A fresh store, closed when the test finishes (close must be idempotent). */
  async function fresh(): Promise<ProvisioningStoreUnderTest> {
    const created = await create()
    onTestFinished(() => created.store.close())
    return created
  }

  async function reopened(created: ProvisioningStoreUnderTest): Promise<ProvisioningStore> {
    if (created.reopen === undefined) {
      throw new Error('reopened() needs a durable store')
    }
    await created.store.close()
    const store = await created.reopen()
    onTestFinished(() => store.close())
    return store
  }

  describe(`${name} honours the ProvisioningStore contract`, () => {
    describe('commit', () => {
      it('assigns unique 32-hex ids, numbers "1", "2", ... and increasing sequence numbers', async () => {
        const { store } = await fresh()

        const first = await store.commit({ requests: [aNewRequest('1'), aNewRequest('2')] }, T0)
        const second = await store.commit({ requests: [aNewRequest('3')] }, T1)

        const all = [...first, ...second]
        expect(all.map((r) => r.number)).toEqual(['1', '2', '3'])
        for (const request of all) {
          expect(request.id).toMatch(/^[0-9a-f]{32}$/)
        }
        expect(new Set(all.map((r) => r.id)).size).toBe(3)
        const sequence = all.map((r) => r.sequenceNumber)
        expect(sequence).toEqual([...sequence].sort((a, b) => a - b))
        expect(new Set(sequence).size).toBe(3)
      })

      it('numbers 50 concurrent commits consecutively with distinct sequence numbers', async () => {
        const { store } = await fresh()

        const results = await Promise.all(
          Array.from({ length: 50 }, (_, i) =>
            store.commit({ requests: [aNewRequest(String(i))] }, T0),
          ),
        )

        const requests = results.flat()
        const numbers = requests.map((r) => Number(r.number)).sort((a, b) => a - b)
        expect(numbers).toEqual(Array.from({ length: 50 }, (_, i) => i + 1))
        const byNumber = [...requests].sort((a, b) => Number(a.number) - Number(b.number))
        const sequence = byNumber.map((r) => r.sequenceNumber)
        expect(new Set(sequence).size).toBe(50)
        expect(sequence).toEqual([...sequence].sort((a, b) => a - b))
        expect(new Set(requests.map((r) => r.id)).size).toBe(50)
      })

      it('starts a new request PENDING with no delivery data and the defaults', async () => {
        const { store } = await fresh()

        const [request] = await store.commit({ requests: [aNewRequest('00000000001')] }, T0)

        const { id, sequenceNumber, ...rest } = request!
        expect(id).toMatch(/^[0-9a-f]{32}$/)
        expect(Number.isSafeInteger(sequenceNumber)).toBe(true)
        expect(rest).toEqual({
          number: '1',
          type: 'ADD_SUBSCRIPTIONS',
          priority: 'REGULAR',
          processImmediately: false,
          scheduledDate: null,
          executedDate: null,
          lifeCycleState: 'PENDING',
          command: {
            type: 'ADD_SUBSCRIPTIONS',
            smartcardCaId: '00000000001',
            serviceCaId: '100',
            distributor: null,
          },
          request: null,
          response: null,
          referenceNumber: null,
          errorCode: null,
          errorDescription: null,
          processName: 'PROVISIONING_REQUEST_PROCESSING',
          processId: null,
          subscriptionId: null,
          result: null,
          attempts: 0,
          nextAttemptAt: null,
          errorClass: null,
          precedence: sequenceNumber,
          splitFrom: null,
          splitInto: null,
          actionId: null,
          createdAt: T0,
          updatedAt: T0,
        })
        expect(await store.getRequest(request!.id)).toEqual(request)
      })

      it('keeps the priority, scheduling and process fields it is given', async () => {
        const { store } = await fresh()
        const given = aNewRequest('1', {
          priority: 'EXPRESS',
          processImmediately: true,
          scheduledDate: T2,
          processName: 'RESET_SUBSCRIPTION_RUN',
          processId: 'run-7',
          subscriptionId: 'S1',
        })

        const [request] = await store.commit({ requests: [given] }, T0)

        expect(request).toMatchObject({
          priority: 'EXPRESS',
          processImmediately: true,
          scheduledDate: T2,
          processName: 'RESET_SUBSCRIPTION_RUN',
          processId: 'run-7',
          subscriptionId: 'S1',
        })
      })

      it('upserts the subscription together with its requests', async () => {
        const { store } = await fresh()
        const created = aSubscription('S1')
        const suspended = aSubscription('S1', { state: 'IN_RESTING', updatedAt: T1 })

        await store.commit(
          { subscription: created, requests: [aNewRequest('1', { subscriptionId: 'S1' })] },
          T0,
        )
        await store.commit({ subscription: suspended, requests: [] }, T1)
        await store.commit({ subscription: aSubscription('S2'), requests: [] }, T1)

        expect(await store.getSubscription('S1')).toEqual(suspended)
        expect(await store.getSubscription('S3')).toBeNull()
        const page = await store.listSubscriptions({})
        expect(page.total).toBe(2)
        expect(page.items.map((s) => s.id)).toEqual(['S1', 'S2'])
        expect((await store.listRequests({ subscriptionId: 'S1' })).total).toBe(1)
      })

      it('resolves to no requests for a commit with none', async () => {
        const { store } = await fresh()

        expect(await store.commit({ requests: [] }, T0)).toEqual([])
        expect(await store.pendingRequests()).toEqual([])
      })
    })

    describe('updateRequest', () => {
      it('changes only the given fields and updatedAt', async () => {
        const { store } = await fresh()
        const [request] = await store.commit({ requests: [aNewRequest()] }, T0)

        const updated = await store.updateRequest(
          request!.id,
          { lifeCycleState: 'COMPLETED', referenceNumber: '42', result: { services: ['100'] } },
          T1,
        )

        const expected = {
          ...request!,
          lifeCycleState: 'COMPLETED',
          referenceNumber: '42',
          result: { services: ['100'] },
          updatedAt: T1,
        }
        expect(updated).toEqual(expected)
        expect(await store.getRequest(request!.id)).toEqual(expected)
      })

      it('keeps fields it is not given, including ones set by an earlier update', async () => {
        const { store } = await fresh()
        const [request] = await store.commit({ requests: [aNewRequest()] }, T0)

        await store.updateRequest(
          request!.id,
          { attempts: 1, nextAttemptAt: T1, errorCode: 'E1' },
          T1,
        )
        const updated = await store.updateRequest(request!.id, { attempts: 2 }, T2)

        expect(updated).toMatchObject({
          attempts: 2,
          nextAttemptAt: T1,
          errorCode: 'E1',
          updatedAt: T2,
        })
        expect(updated.createdAt).toBe(T0)
      })

      it('rejects an unknown id with REQUEST_NOT_FOUND and changes nothing', async () => {
        const { store } = await fresh()
        const [request] = await store.commit({ requests: [aNewRequest()] }, T0)

        const failure = store.updateRequest('0'.repeat(32), { attempts: 1 }, T1)

        await expect(failure).rejects.toBeInstanceOf(StoreError)
        await expect(failure).rejects.toMatchObject({ code: 'REQUEST_NOT_FOUND' })
        // A number is not an id: updates address requests by id only.
        await expect(store.updateRequest('1', { attempts: 1 }, T1)).rejects.toMatchObject({
          code: 'REQUEST_NOT_FOUND',
        })
        expect(await store.getRequest(request!.id)).toEqual(request)
      })
    })

    describe('splitRequest', () => {
      const barkTo = (cards: string[]): NewProvisioningRequest => ({
        command: {
          type: 'SEND_BARK_MESSAGE_TO_CLIENT',
          smartcardCaIds: cards,
          message: 'hello',
          startIndicationTime: null,
          displayDurationInSeconds: 20,
          distributor: null,
          communicationQueueNumber: '7',
        },
        processName: 'MAIL_BARK_MESSAGE_RUN',
        processId: 'exec-1',
      })

      it('rejects the parent and creates its parts in its place, in one change', async () => {
        const created = await fresh()
        const { store } = created
        const [parent] = await store.commit({ requests: [barkTo(['01', '02', '03'])] }, T0)
        const [later] = await store.commit({ requests: [aNewRequest('02')] }, T0)

        const { parent: rejected, children } = await store.splitRequest(
          parent!.id,
          { errorCode: 'CLIENT_NOT_FOUND', errorDescription: "'03' unknown", errorClass: 'REJECT' },
          [barkTo(['01']), barkTo(['02'])],
          T1,
        )

        expect(rejected).toMatchObject({
          lifeCycleState: 'REJECTED',
          errorCode: 'CLIENT_NOT_FOUND',
          errorClass: 'REJECT',
          splitInto: ['3', '4'],
          updatedAt: T1,
        })
        expect(
          children.map((c) => [c.number, c.splitFrom, c.precedence, c.lifeCycleState]),
        ).toEqual([
          ['3', '1', parent!.sequenceNumber, 'PENDING'],
          ['4', '1', parent!.sequenceNumber, 'PENDING'],
        ])
        const sequence = [parent!, later!, ...children].map((r) => r.sequenceNumber)
        expect(new Set(sequence).size).toBe(4)
        expect((await store.pendingRequests()).map((r) => r.number).sort()).toEqual(['2', '3', '4'])
        expect(
          (await store.listRequests({ processId: 'exec-1' })).items.map((r) => r.number),
        ).toEqual(['1', '3', '4'])
        expect(await store.countPending('exec-1')).toBe(2)
        expect(await store.countPending('nobody')).toBe(0)
        if (created.reopen) {
          const again = await reopened(created)
          expect(await again.getRequest('1')).toEqual(rejected)
          expect(await again.getRequest('4')).toEqual(children[1])
        }
      })

      it('refuses a request that is not PENDING, and an unknown one, changing nothing', async () => {
        const { store } = await fresh()
        const [request] = await store.commit({ requests: [barkTo(['01', '02'])] }, T0)
        await store.updateRequest(request!.id, { lifeCycleState: 'COMPLETED' }, T1)

        await expect(
          store.splitRequest(request!.id, {}, [barkTo(['01'])], T2),
        ).rejects.toMatchObject({ code: 'REQUEST_NOT_PENDING' })
        await expect(
          store.splitRequest('0'.repeat(32), {}, [barkTo(['01'])], T2),
        ).rejects.toMatchObject({ code: 'REQUEST_NOT_FOUND' })
        expect((await store.listRequests({})).total).toBe(1)
        expect(await store.getRequest(request!.id)).toMatchObject({ lifeCycleState: 'COMPLETED' })
      })
    })

    describe('reads', () => {
      it('gets a request by id or by number, and null for neither', async () => {
        const { store } = await fresh()
        const [first, second] = await store.commit(
          { requests: [aNewRequest('1'), aNewRequest('2')] },
          T0,
        )

        expect(await store.getRequest(first!.id)).toEqual(first)
        expect(await store.getRequest('2')).toEqual(second)
        expect(await store.getRequest('3')).toBeNull()
        expect(await store.getRequest('0')).toBeNull()
        expect(await store.getRequest('f'.repeat(32))).toBeNull()
      })

      it('lists requests by type, state, reference number, subscription and process', async () => {
        const { store } = await fresh()
        const [a, b, c, d] = await store.commit(
          {
            requests: [
              aNewRequest('1', { subscriptionId: 'S1' }),
              {
                command: {
                  type: 'GET_ACTIVE_SUBSCRIPTIONS',
                  smartcardCaId: '1',
                  distributor: null,
                },
                processName: 'CONAX_INFORMATION_UTILITY',
                processId: 'P1',
              },
              aNewRequest('2', { subscriptionId: 'S2', processName: 'MANUAL', processId: 'P1' }),
              aNewRequest('3', { subscriptionId: 'S1' }),
            ],
          },
          T0,
        )
        await store.updateRequest(
          a!.id,
          { lifeCycleState: 'COMPLETED', referenceNumber: 'T-1' },
          T1,
        )
        await store.updateRequest(c!.id, { lifeCycleState: 'REJECTED', referenceNumber: 'T-2' }, T1)
        const numbers = async (filter: Parameters<ProvisioningStore['listRequests']>[0]) =>
          (await store.listRequests(filter)).items.map((r) => r.number)

        expect(await numbers({})).toEqual(['1', '2', '3', '4'])
        expect(await numbers({ type: 'GET_ACTIVE_SUBSCRIPTIONS' })).toEqual([b!.number])
        expect(await numbers({ lifeCycleState: 'PENDING' })).toEqual(['2', '4'])
        expect(await numbers({ lifeCycleState: 'COMPLETED' })).toEqual(['1'])
        expect(await numbers({ lifeCycleState: 'REJECTED' })).toEqual(['3'])
        expect(await numbers({ referenceNumber: 'T-2' })).toEqual(['3'])
        expect(await numbers({ subscriptionId: 'S1' })).toEqual(['1', '4'])
        expect(await numbers({ subscriptionId: 'S1', lifeCycleState: 'PENDING' })).toEqual([
          d!.number,
        ])
        expect(await numbers({ processName: 'PROVISIONING_REQUEST_PROCESSING' })).toEqual([
          '1',
          '4',
        ])
        expect(await numbers({ processId: 'P1' })).toEqual(['2', '3'])
        expect(await numbers({ processName: 'MANUAL', processId: 'P1' })).toEqual(['3'])
        expect(await numbers({ subscriptionId: 'S9' })).toEqual([])
      })

      it('pages requests with offset and limit in sequence order and reports the total', async () => {
        const { store } = await fresh()
        for (let i = 0; i < 7; i++) {
          await store.commit({ requests: [aNewRequest(String(i))] }, T0)
        }

        const page = await store.listRequests({ offset: 2, limit: 3 })
        const last = await store.listRequests({ offset: 5, limit: 10 })
        const none = await store.listRequests({ offset: 10 })

        expect(page.total).toBe(7)
        expect(page.items.map((r) => r.number)).toEqual(['3', '4', '5'])
        expect(page.items.map((r) => r.sequenceNumber)).toEqual(
          [...page.items.map((r) => r.sequenceNumber)].sort((a, b) => a - b),
        )
        expect(last.items.map((r) => r.number)).toEqual(['6', '7'])
        expect(none).toEqual({ total: 7, items: [] })
        expect(await store.listRequests({ limit: 0 })).toEqual({ total: 7, items: [] })
      })

      it('returns only PENDING requests from pendingRequests, in sequence order', async () => {
        const { store } = await fresh()
        const created = await store.commit(
          { requests: [aNewRequest('1'), aNewRequest('2'), aNewRequest('3'), aNewRequest('4')] },
          T0,
        )
        const [first, second, third] = created
        await store.updateRequest(first!.id, { lifeCycleState: 'COMPLETED' }, T1)
        await store.updateRequest(third!.id, { lifeCycleState: 'REJECTED' }, T1)
        await store.updateRequest(second!.id, { lifeCycleState: 'COMPLETED' }, T1)
        // Back to PENDING (a manual retry): it keeps its place in sequence order.
        await store.updateRequest(first!.id, { lifeCycleState: 'PENDING' }, T2)

        const pending = await store.pendingRequests()

        expect(pending.map((r) => r.number)).toEqual(['1', '4'])
        expect(pending.every((r) => r.lifeCycleState === 'PENDING')).toBe(true)
        expect((await store.listRequests({ lifeCycleState: 'PENDING' })).items).toEqual(pending)
      })

      it('lists subscriptions by creation range (inclusive), types and ids, paged in creation order', async () => {
        const { store } = await fresh()
        const days = ['2025-01-01', '2025-01-02', '2025-01-03', '2025-01-04', '2025-01-05']
        for (const [i, day] of days.entries()) {
          const createdAt = `${day}T00:00:00.000Z`
          const type = i % 2 === 0 ? 'RESIDENTIAL' : 'BUSINESS'
          await store.commit(
            { subscription: aSubscription(`S${String(i + 1)}`, { type, createdAt }), requests: [] },
            T0,
          )
        }
        await store.commit(
          {
            subscription: aSubscription('S6', {
              type: null,
              createdAt: '2025-01-06T00:00:00.000Z',
            }),
            requests: [],
          },
          T0,
        )
        const ids = async (filter: Parameters<ProvisioningStore['listSubscriptions']>[0]) =>
          (await store.listSubscriptions(filter)).items.map((s) => s.id)

        expect(await ids({})).toEqual(['S1', 'S2', 'S3', 'S4', 'S5', 'S6'])
        expect(
          await ids({
            createdFrom: '2025-01-02T00:00:00.000Z',
            createdTo: '2025-01-04T00:00:00.000Z',
          }),
        ).toEqual(['S2', 'S3', 'S4'])
        expect(await ids({ createdFrom: '2025-01-05T00:00:00Z' })).toEqual(['S5', 'S6'])
        expect(await ids({ types: ['BUSINESS'] })).toEqual(['S2', 'S4'])
        expect(
          await ids({ types: ['BUSINESS', 'RESIDENTIAL'], createdTo: '2025-01-03T00:00:00.000Z' }),
        ).toEqual(['S1', 'S2', 'S3'])
        expect(await ids({ ids: ['S5', 'S1', 'S9'] })).toEqual(['S1', 'S5'])
        // A given list is a constraint: an empty one matches nothing.
        expect(await ids({ ids: [] })).toEqual([])
        expect(await ids({ types: [] })).toEqual([])
        const page = await store.listSubscriptions({ types: ['RESIDENTIAL'], offset: 1, limit: 1 })
        expect(page.total).toBe(3)
        expect(page.items.map((s) => s.id)).toEqual(['S3'])
      })

      it('keeps creation order when a subscription is updated', async () => {
        const { store } = await fresh()
        await store.commit({ subscription: aSubscription('S1'), requests: [] }, T0)
        await store.commit({ subscription: aSubscription('S2'), requests: [] }, T0)
        await store.commit(
          { subscription: aSubscription('S1', { state: 'TERMINATED' }), requests: [] },
          T1,
        )

        const page = await store.listSubscriptions({})

        expect(page.items.map((s) => [s.id, s.state])).toEqual([
          ['S1', 'TERMINATED'],
          ['S2', 'EFFECTIVE'],
        ])
      })

      it('hands out copies: changing what it returns or was given does not change the store', async () => {
        const { store } = await fresh()
        const subscription = aSubscription('S1')
        const given = aNewRequest('1', { subscriptionId: 'S1' })
        const [committed] = await store.commit({ subscription, requests: [given] }, T0)
        const before = await store.getRequest('1')
        const subscriptionBefore = await store.getSubscription('S1')
        const result = { services: ['100'] }
        await store.updateRequest(committed!.id, { result }, T0)
        const afterUpdate = await store.getRequest('1')

        mutate(committed)
        mutate(given.command)
        mutate(subscription.services[0])
        mutate(subscription)
        result.services.push('200')
        mutate(await store.getRequest('1'))
        mutate((await store.listRequests({})).items[0])
        mutate((await store.pendingRequests())[0])
        mutate(await store.getSubscription('S1'))
        mutate((await store.listSubscriptions({})).items[0])

        expect(before).toMatchObject({ lifeCycleState: 'PENDING', result: null })
        expect(await store.getRequest('1')).toEqual(afterUpdate)
        expect(afterUpdate?.result).toEqual({ services: ['100'] })
        expect(await store.getSubscription('S1')).toEqual(subscriptionBefore)
        expect(subscriptionBefore).toEqual(aSubscription('S1'))
      })
    })

    describe('claims', () => {
      it('gives a PENDING request to one owner at a time, until its attempt is stored or released', async () => {
        const { store } = await fresh()
        const [a, b, c] = await store.commit(
          { requests: [aNewRequest('1'), aNewRequest('2'), aNewRequest('3')] },
          T0,
        )
        const ids = [a!.id, b!.id, c!.id]

        expect(await store.claimRequests([a!.id, b!.id], 'one', 60_000)).toEqual([a!.id, b!.id])
        expect(await store.claimRequests(ids, 'two', 60_000)).toEqual([c!.id])
        // Claiming again what one holds is allowed to its owner (a retry of the same pass).
        expect(await store.claimRequests([a!.id], 'one', 60_000)).toEqual([a!.id])

        await store.updateRequest(a!.id, { lifeCycleState: 'COMPLETED' }, T1)
        await store.updateRequest(b!.id, { attempts: 1, nextAttemptAt: T2 }, T1)
        await store.releaseRequests([c!.id], 'one')
        // a is final: nobody gets it; b's attempt is over (still PENDING); c's release by another owner changed nothing.
        expect(await store.claimRequests(ids, 'two', 60_000)).toEqual([b!.id, c!.id])
        await store.releaseRequests([b!.id, c!.id], 'two')
        expect(await store.claimRequests(ids, 'one', 60_000)).toEqual([b!.id, c!.id])
      })

      it('gives a request again once its lease has run out (its owner died)', async () => {
        const { store } = await fresh()
        const [a] = await store.commit({ requests: [aNewRequest('1')] }, T0)
        expect(await store.claimRequests([a!.id], 'dead', 0)).toEqual([a!.id])
        // A lease of 0 ms has run out by the next call, whatever the clock's resolution.
        let taken: readonly string[] = []
        while (taken.length === 0) {
          taken = await store.claimRequests([a!.id], 'alive', 60_000)
        }
        expect(taken).toEqual([a!.id])
        expect(await store.claimRequests([a!.id], 'dead', 60_000)).toEqual([])
      })

      it('ends the claim of a request that is split', async () => {
        const { store } = await fresh()
        const [batch] = await store.commit({ requests: [aNewRequest('1')] }, T0)
        await store.claimRequests([batch!.id], 'one', 60_000)
        const { children } = await store.splitRequest(
          batch!.id,
          { errorCode: 'X' },
          [aNewRequest('1')],
          T1,
        )
        expect(await store.claimRequests([batch!.id, children[0]!.id], 'two', 60_000)).toEqual([
          children[0]!.id,
        ])
      })
    })

    describe('installed items', () => {
      it('knows which subscription holds a CA ID, following moves and removals', async () => {
        const { store } = await fresh()
        await store.commit({ subscription: aSubscription('S1'), requests: [] }, T0)
        expect(await store.subscriptionHolding('C-S1')).toBe('S1')
        expect(await store.subscriptionHolding('09999999999')).toBeNull()
        await store.commit(
          { subscription: aSubscription('S1', { installedItems: [] }), requests: [] },
          T1,
        )
        expect(await store.subscriptionHolding('C-S1')).toBeNull()
        await store.commit(
          { subscription: aSubscription('S2', { installedItems: [cardOf('S1')] }), requests: [] },
          T1,
        )
        expect(await store.subscriptionHolding('C-S1')).toBe('S2')
      })

      it('refuses with ITEM_HELD a planned subscription holding an item another one holds, storing nothing', async () => {
        const { store } = await fresh()
        await store.commit({ subscription: aSubscription('S1'), requests: [] }, T0)
        const taker = aSubscription('S2', { installedItems: [cardOf('S2'), cardOf('S1')] })

        await expect(
          store.commit({ subscription: taker, basedOn: null, requests: [aNewRequest('1')] }, T1),
        ).rejects.toMatchObject({
          code: 'ITEM_HELD',
          details: { caId: 'C-S1', subscriptionId: 'S1' },
        })
        expect(await store.getSubscription('S2')).toBeNull()
        expect(await store.subscriptionHolding('C-S2')).toBeNull()
        expect(await store.subscriptionHolding('C-S1')).toBe('S1')
        expect((await store.listRequests({})).total).toBe(0)
        // A commit that is no plan's (an import, a test's set-up) is taken as it is.
        await store.commit({ subscription: taker, requests: [] }, T1)
        expect(await store.subscriptionHolding('C-S1')).toBe('S2')
      })
    })

    describe('commit checked against the subscription the plan read', () => {
      it('commits when the stored subscription is the one read, or none was and none is', async () => {
        const { store } = await fresh()
        const read = await store.getSubscription('S1')
        await store.commit(
          { subscription: aSubscription('S1'), basedOn: read, requests: [aNewRequest('1')] },
          T0,
        )
        const again = await store.getSubscription('S1')
        await store.commit(
          {
            subscription: aSubscription('S1', { state: 'IN_RESTING' }),
            basedOn: again,
            requests: [aNewRequest('1')],
          },
          T1,
        )
        expect((await store.getSubscription('S1'))?.state).toBe('IN_RESTING')
        expect((await store.listRequests({})).total).toBe(2)
      })

      it('refuses with SUBSCRIPTION_CHANGED a plan read before another commit, storing nothing', async () => {
        const { store } = await fresh()
        const none = await store.getSubscription('S1')
        await store.commit({ subscription: aSubscription('S1'), basedOn: none, requests: [] }, T0)
        const read = await store.getSubscription('S1')
        // Another instance commits the subscription after this plan read it.
        await store.commit(
          {
            subscription: aSubscription('S1', { state: 'IN_RESTING' }),
            basedOn: read,
            requests: [],
          },
          T1,
        )

        await expect(
          store.commit(
            {
              subscription: aSubscription('S1', { state: 'TERMINATED' }),
              basedOn: read,
              requests: [aNewRequest('1')],
            },
            T1,
          ),
        ).rejects.toMatchObject({ code: 'SUBSCRIPTION_CHANGED', details: { subscriptionId: 'S1' } })
        // A plan made when there was none, committed after one was created: refused too.
        await expect(
          store.commit(
            { subscription: aSubscription('S1'), basedOn: none, requests: [aNewRequest('2')] },
            T1,
          ),
        ).rejects.toMatchObject({ code: 'SUBSCRIPTION_CHANGED' })
        expect((await store.getSubscription('S1'))?.state).toBe('IN_RESTING')
        expect((await store.listRequests({})).total).toBe(0)
        // Without basedOn nothing is checked (runs and direct requests commit no plan).
        await store.commit({ subscription: aSubscription('S1'), requests: [] }, T1)
        expect((await store.getSubscription('S1'))?.state).toBe('EFFECTIVE')
      })
    })

    describe("commit fenced with a run execution's owner", () => {
      const fenced = (owner: string, card: string): CommitChange => ({
        requests: [aNewRequest(card, { processName: 'RESET_SUBSCRIPTION_RUN', processId: 'E1' })],
        fence: { executionId: 'E1', owner },
      })

      it('stores the batch of the instance that owns the execution', async () => {
        const { store, ownExecution } = await fresh()
        await ownExecution?.('E1', 'A')
        const created = await store.commit(fenced('A', '1'), T0)
        expect(created.map((r) => r.processId)).toEqual(['E1'])
        expect(await store.countPending('E1')).toBe(1)
      })

      it('refuses with RUN_OWNED, storing nothing, the batch of an owner the execution was taken from', async () => {
        const { store, ownExecution } = await fresh()
        if (ownExecution === undefined) {
          // A single-process store: no other instance can take an execution over, so a fenced
          // batch is stored unchecked.
          await store.commit(fenced('A', '1'), T0)
          expect(await store.countPending('E1')).toBe(1)
          return
        }
        await ownExecution('E1', 'A')
        await store.commit(fenced('A', '1'), T0)
        await ownExecution('E1', 'B')
        // Concurrent: the refused commit fails alone, the others of its group are stored.
        const [refused, other, owners] = await Promise.allSettled([
          store.commit(fenced('A', '2'), T1),
          store.commit({ requests: [aNewRequest('3')] }, T1),
          store.commit(fenced('B', '4'), T1),
        ])
        expect(refused).toMatchObject({
          status: 'rejected',
          reason: {
            code: 'RUN_OWNED',
            details: { executionId: 'E1', owner: 'B' },
            message: expect.stringContaining('Nothing was stored') as unknown,
          },
        })
        expect((refused as PromiseRejectedResult).reason).toBeInstanceOf(StoreError)
        expect(other.status).toBe('fulfilled')
        expect(owners.status).toBe('fulfilled')
        const cards = (await store.listRequests({})).items.map(
          (r) => (r.command as { smartcardCaId: string }).smartcardCaId,
        )
        expect(cards.sort()).toEqual(['1', '3', '4'])
      })

      it('refuses a fenced batch of an execution the run store does not have', async () => {
        const { store, ownExecution } = await fresh()
        if (ownExecution === undefined) {
          expect(await store.commit(fenced('A', '1'), T0)).toHaveLength(1)
          return
        }
        await expect(store.commit(fenced('A', '1'), T0)).rejects.toMatchObject({
          code: 'RUN_OWNED',
          details: { executionId: 'E1', owner: null },
        })
        expect((await store.listRequests({})).total).toBe(0)
      })
    })

    describe('durability', () => {
      it('rejects changes after close', async () => {
        const { store } = await fresh()
        await store.close()

        await expect(store.commit({ requests: [aNewRequest()] }, T0)).rejects.toMatchObject({
          code: 'STORE_WRITE_FAILED',
        })
      })

      itDurable('has everything committed or updated before close() after reopening', async () => {
        const created = await fresh()
        const { store } = created
        const [a, b] = await store.commit(
          {
            subscription: aSubscription('S1'),
            requests: [aNewRequest('1', { subscriptionId: 'S1' }), aNewRequest('2')],
          },
          T0,
        )
        await store.commit(
          { subscription: aSubscription('S1', { state: 'IN_RESTING' }), requests: [] },
          T1,
        )
        await store.updateRequest(
          a!.id,
          { lifeCycleState: 'COMPLETED', response: '<ok/>', result: { x: [1] } },
          T1,
        )
        // Not awaited: close() must wait for it.
        const lastUpdate = store.updateRequest(b!.id, { attempts: 3, nextAttemptAt: T2 }, T2)
        const lastCommit = store.commit(
          { subscription: aSubscription('S2'), requests: [aNewRequest('3')] },
          T2,
        )
        const requestsBefore = await store.listRequests({})
        const subscriptionsBefore = await store.listSubscriptions({})

        const again = await reopened(created)
        await Promise.all([lastUpdate, lastCommit])

        expect(requestsBefore.total).toBe(3)
        expect(await again.listRequests({})).toEqual(requestsBefore)
        expect(await again.listSubscriptions({})).toEqual(subscriptionsBefore)
        expect(await again.getRequest(a!.id)).toMatchObject({
          lifeCycleState: 'COMPLETED',
          result: { x: [1] },
        })
        expect(await again.getRequest('2')).toMatchObject({ attempts: 3, nextAttemptAt: T2 })
        expect((await again.pendingRequests()).map((r) => r.number)).toEqual(['2', '3'])
        expect(await again.getSubscription('S1')).toMatchObject({ state: 'IN_RESTING' })
        expect((await again.listRequests({ subscriptionId: 'S1' })).total).toBe(1)
      })

      itDurable(
        'continues numbers and sequence numbers after reopening, reusing none',
        async () => {
          const created = await fresh()
          const before = await Promise.all(
            Array.from({ length: 20 }, (_, i) =>
              created.store.commit({ requests: [aNewRequest(String(i))] }, T0),
            ),
          )

          const again = await reopened(created)
          const after = await again.commit({ requests: [aNewRequest('x'), aNewRequest('y')] }, T1)

          const maxSequence = Math.max(...before.flat().map((r) => r.sequenceNumber))
          expect(after.map((r) => r.number)).toEqual(['21', '22'])
          expect(after[0]!.sequenceNumber).toBeGreaterThan(maxSequence)
          expect(after[1]!.sequenceNumber).toBeGreaterThan(after[0]!.sequenceNumber)
          const ids = new Set([...before.flat(), ...after].map((r) => r.id))
          expect(ids.size).toBe(22)
        },
      )
    })
  })
}

/** Changes every field of a returned object, as a careless caller might (readonly is only a type). */
/** Tries to change every field; a frozen record refusing the change is as good as a copy. */
function mutate(value: unknown): void {
  if (typeof value !== 'object' || value === null) {
    throw new Error('expected an object to mutate')
  }
  const record = value as Record<string, unknown>
  for (const key of Object.keys(record)) {
    try {
      record[key] = Array.isArray(record[key]) ? ['mutated'] : 'mutated'
    } catch (error) {
      if (!(error instanceof TypeError) || !Object.isFrozen(record)) {
        throw error
      }
    }
  }
}
