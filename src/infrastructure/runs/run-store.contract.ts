import { describe, expect, it, onTestFinished } from 'vitest'
import type {
  Communication,
  CommunicationInput,
  RunExecution,
  RunStore,
} from '../../application/runs/run-ports.js'
import { ZERO_COUNTS } from '../../application/runs/run-strategy.js'
import type { RunDefinition } from '../../domain/runs.js'
import { StoreError } from '../store/store-error.js'

/** What a contract run gets from an implementation: a fresh store, and a way to reopen it if durable. */
export interface RunStoreUnderTest {
  readonly store: RunStore
  /** Opens the same storage again after `store.close()`; absent for stores that keep nothing. */
  readonly reopen?: () => Promise<RunStore>
}

const T0 = '2025-03-01T10:00:00.000Z'
const T1 = '2025-03-01T11:00:00.000Z'

/** A reset run definition (other kinds through `overrides`). */
export function aDefinition(id: string, overrides: Partial<RunDefinition> = {}): RunDefinition {
  return {
    id,
    name: `Run ${id}`,
    alternativeCode: `CODE-${id}`,
    createdAt: T0,
    kind: 'RESET_SUBSCRIPTION',
    criteria: { createdFrom: '2025-01-01T00:00:00.000Z', types: ['RESIDENTIAL'] },
    ...overrides,
  } as RunDefinition
}

/** A message run definition sending the pending communications of `externalSystem`. */
export function aMessageDefinition(id: string, externalSystem = 'SMS'): RunDefinition {
  return {
    id,
    name: `Messages ${id}`,
    alternativeCode: `MSG-${id}`,
    createdAt: T0,
    kind: 'MAIL_BARK_MESSAGE',
    messageType: 'MAIL',
    externalSystem,
    startIndicationDateTime: null,
  }
}

/** A RUNNING execution of `runId` with nothing done yet. */
export function anExecution(
  id: string,
  runId: string,
  overrides: Partial<RunExecution> = {},
): RunExecution {
  return {
    id,
    runId,
    kind: 'RESET_SUBSCRIPTION',
    processName: 'RESET_SUBSCRIPTION_RUN',
    state: 'RUNNING',
    startedAt: T0,
    updatedAt: T0,
    finishedAt: null,
    activeMs: 0,
    total: null,
    cursor: { offset: 0, communication: null },
    counts: ZERO_COUNTS,
    lastError: null,
    ...overrides,
  }
}

/** A communication for named subscriptions. */
export function aCommunication(
  externalSystem = 'SMS',
  subscriptionIds: readonly string[] = ['S1'],
): CommunicationInput {
  return {
    externalSystem,
    message: `Hello from ${externalSystem}`,
    recipients: { subscriptionIds },
  }
}

const numbersOf = (communications: readonly Communication[]): string[] =>
  communications.map((c) => c.number)

/** Tries to change a record handed out; a frozen record refuses (strict mode throws). */
function tamper(record: object): void {
  try {
    Object.assign(record, { state: 'FAILED', name: 'tampered', message: 'tampered' })
  } catch {
    // A frozen record: exactly what the contract allows.
  }
}

/**
 * The RunStore contract: every implementation's test calls this with a factory of fresh stores.
 * Durability checks run when the factory also gives `reopen`.
 */
export function describeRunStoreContract(
  name: string,
  create: () => Promise<RunStoreUnderTest>,
): void {
  /** A fresh store, closed when the test finishes (close must be idempotent). */
  async function fresh(): Promise<RunStoreUnderTest> {
    const created = await create()
    onTestFinished(() => created.store.close())
    return created
  }

  /** The store as a reopen gives it back, or the same store for stores that keep nothing. */
  async function reopened(created: RunStoreUnderTest): Promise<RunStore> {
    if (created.reopen === undefined) {
      return created.store
    }
    await created.store.close()
    const store = await created.reopen()
    onTestFinished(() => store.close())
    return store
  }

  describe(`${name} honours the RunStore contract`, () => {
    describe('definitions', () => {
      it('gets a definition by id or by alternative code, and null for neither', async () => {
        const { store } = await fresh()
        const reset = aDefinition('R1')
        const message = aMessageDefinition('M1')

        await store.saveDefinition(reset)
        await store.saveDefinition(message)

        expect(await store.getDefinition('R1')).toEqual(reset)
        expect(await store.getDefinition('CODE-R1')).toEqual(reset)
        expect(await store.getDefinition('MSG-M1')).toEqual(message)
        expect(await store.getDefinition('R9')).toBeNull()
        expect(await store.getDefinition('')).toBeNull()
      })

      it('finds by id before another definition with that alternative code', async () => {
        const { store } = await fresh()
        await store.saveDefinition(aDefinition('A', { alternativeCode: 'B' }))
        await store.saveDefinition(aDefinition('B', { alternativeCode: 'C' }))

        expect((await store.getDefinition('B'))?.id).toBe('B')
        expect((await store.getDefinition('C'))?.id).toBe('B')
      })

      it('replaces a definition saved again with its id, keeping its place in creation order', async () => {
        const { store } = await fresh()
        await store.saveDefinition(aDefinition('R1'))
        await store.saveDefinition(aDefinition('R2'))
        const renamed = aDefinition('R1', { name: 'Renamed', alternativeCode: 'NEW' })

        await store.saveDefinition(renamed)

        expect(await store.listDefinitions()).toEqual([renamed, aDefinition('R2')])
        expect(await store.getDefinition('NEW')).toEqual(renamed)
        expect(await store.getDefinition('CODE-R1')).toBeNull()
      })

      it('lists no definitions in a new store', async () => {
        const { store } = await fresh()

        expect(await store.listDefinitions()).toEqual([])
        expect(await store.listExecutions()).toEqual([])
        expect(await store.listCommunications({})).toEqual([])
      })
    })

    describe('executions', () => {
      it('saves, replaces and gets executions, listed in start order, all or per run', async () => {
        const { store } = await fresh()
        await store.saveExecution(anExecution('E1', 'R1'))
        await store.saveExecution(anExecution('E2', 'R2'))
        await store.saveExecution(anExecution('E3', 'R1'))
        const stopped = anExecution('E1', 'R1', {
          state: 'STOPPED',
          updatedAt: T1,
          activeMs: 1234,
          total: 10,
          cursor: { offset: 4, communication: null },
          counts: { ...anExecution('E1', 'R1').counts, processed: 4, requests: 3 },
          lastError: 'CA unreachable',
        })

        await store.saveExecution(stopped)

        expect(await store.getExecution('E1')).toEqual(stopped)
        expect(await store.getExecution('E9')).toBeNull()
        expect((await store.listExecutions()).map((e) => e.id)).toEqual(['E1', 'E2', 'E3'])
        expect(await store.listExecutions('R1')).toEqual([stopped, anExecution('E3', 'R1')])
        expect(await store.listExecutions('R9')).toEqual([])
      })

      const LATER = '2025-03-01T10:01:00.000Z'
      const take = (owner: string, now = T0, leaseUntil = LATER) => ({ owner, now, leaseUntil })

      it('takes a STOPPED, FAILED or ownerless RUNNING execution: RUNNING, owned, leased, error cleared', async () => {
        const { store } = await fresh()
        await store.saveExecution(anExecution('E1', 'R1', { state: 'STOPPED', lastError: 'x' }))
        await store.saveExecution(anExecution('E2', 'R1', { state: 'FAILED', lastError: 'y' }))
        await store.saveExecution(anExecution('E3', 'R1'))

        for (const id of ['E1', 'E2', 'E3']) {
          const taken = await store.takeExecution(id, take('B', T1))
          expect(taken).toMatchObject({
            id,
            state: 'RUNNING',
            owner: 'B',
            leaseUntil: LATER,
            lastError: null,
            updatedAt: T1,
          })
          expect(await store.getExecution(id)).toEqual(taken)
        }
        expect(await store.takeExecution('E9', take('B'))).toBeNull()
      })

      it('refuses to take a RUNNING execution another owner holds until its lease has run out', async () => {
        const { store } = await fresh()
        await store.saveExecution(anExecution('E1', 'R1', { owner: 'A', leaseUntil: LATER }))

        expect(await store.takeExecution('E1', take('B', T0))).toBeNull()
        expect(await store.getExecution('E1')).toMatchObject({ owner: 'A' })
        // Its own owner takes it again (a restart under the same name).
        expect(await store.takeExecution('E1', take('A', T0))).toMatchObject({ owner: 'A' })
        // Once the lease has run out (A died), B takes it over.
        expect(await store.takeExecution('E1', take('B', LATER, T1))).toMatchObject({
          owner: 'B',
          leaseUntil: T1,
        })
      })

      it('never takes a DELIVERING or COMPLETED execution', async () => {
        const { store } = await fresh()
        await store.saveExecution(anExecution('E1', 'R1', { state: 'DELIVERING' }))
        await store.saveExecution(anExecution('E2', 'R1', { state: 'COMPLETED' }))

        expect(await store.takeExecution('E1', take('B'))).toBeNull()
        expect(await store.takeExecution('E2', take('B'))).toBeNull()
        expect((await store.getExecution('E1'))?.state).toBe('DELIVERING')
      })

      it('of two concurrent takes of one execution, exactly one wins', async () => {
        const { store } = await fresh()
        await store.saveExecution(anExecution('E2', 'R1', { state: 'STOPPED' }))

        const results = await Promise.all([
          store.takeExecution('E2', take('A')),
          store.takeExecution('E2', take('B')),
        ])
        // The first take makes it RUNNING under a live lease: the second sees that and is refused.
        expect(results.filter((r) => r !== null)).toHaveLength(1)
      })

      it("renews only the owner's lease", async () => {
        const { store } = await fresh()
        await store.saveExecution(anExecution('E1', 'R1', { owner: 'A', leaseUntil: T0 }))

        expect(await store.renewExecution('E1', 'B', T1)).toBe(false)
        expect((await store.getExecution('E1'))?.leaseUntil).toBe(T0)
        expect(await store.renewExecution('E1', 'A', T1)).toBe(true)
        expect(await store.getExecution('E1')).toMatchObject({ owner: 'A', leaseUntil: T1 })
        expect(await store.renewExecution('E9', 'A', T1)).toBe(false)
      })

      it('keeps a requested stop through saves of the owner, until the execution is taken again', async () => {
        const { store } = await fresh()
        await store.saveExecution(anExecution('E1', 'R1', { owner: 'A', leaseUntil: LATER }))

        expect(await store.requestStop('E1')).toMatchObject({ id: 'E1', stopRequested: true })
        expect(await store.requestStop('E9')).toBeNull()
        // The owner saves its batch, unaware of the stop: the flag stays.
        await store.saveExecution(
          anExecution('E1', 'R1', { owner: 'A', leaseUntil: LATER, activeMs: 5 }),
        )
        expect(await store.getExecution('E1')).toMatchObject({ activeMs: 5, stopRequested: true })
        await store.saveExecution(anExecution('E1', 'R1', { owner: 'A', state: 'STOPPED' }))

        const taken = await store.takeExecution('E1', take('B'))
        expect(taken?.stopRequested).not.toBe(true)
        expect((await store.getExecution('E1'))?.stopRequested).not.toBe(true)
      })

      it('saves for an owner only while it owns the execution, refusing once it was taken over', async () => {
        const { store } = await fresh()
        // A new execution is saved for its owner; its batches are saved while it owns it.
        expect(await store.saveExecution(anExecution('E1', 'R1', { owner: 'A' }), 'A')).toBe(true)
        expect(
          await store.saveExecution(anExecution('E1', 'R1', { owner: 'A', activeMs: 5 }), 'A'),
        ).toBe(true)
        await store.saveExecution(
          anExecution('E1', 'R1', { owner: 'A', state: 'STOPPED', activeMs: 5 }),
        )
        await store.takeExecution('E1', take('B'))

        // A, paused past its lease, saves its batch: refused, B's execution unchanged.
        expect(
          await store.saveExecution(anExecution('E1', 'R1', { owner: 'A', activeMs: 9 }), 'A'),
        ).toBe(false)
        expect(await store.getExecution('E1')).toMatchObject({ owner: 'B', activeMs: 5 })
        // Without an owner to check, a save is stored (a stop of an execution nothing runs).
        expect(
          await store.saveExecution(anExecution('E1', 'R1', { owner: 'B', activeMs: 7 })),
        ).toBe(true)
        expect(await store.getExecution('E1')).toMatchObject({ owner: 'B', activeMs: 7 })
      })
    })

    describe('records handed out', () => {
      it('cannot change the store: neither the saved object nor what reads return', async () => {
        const { store } = await fresh()
        const definition = { ...aDefinition('R1') }
        const execution = structuredClone(anExecution('E1', 'R1'))
        const input = structuredClone(aCommunication('SMS', ['S1', 'S2']))

        await store.saveDefinition(definition)
        await store.saveExecution(execution)
        const [added] = await store.addCommunications([input], T0)
        Object.assign(definition, { name: 'changed after save' })
        Object.assign(execution.counts, { processed: 99 })
        ;(input.recipients.subscriptionIds as string[]).push('S3')
        tamper(added!)
        tamper((await store.getDefinition('R1'))!)
        tamper((await store.getExecution('E1'))!)
        tamper((await store.listExecutions())[0]!.counts)
        tamper((await store.getCommunication('1'))!)
        const ids = (await store.listCommunications({}))[0]?.recipients.subscriptionIds
        try {
          ;(ids as string[]).push('S4')
        } catch {
          // Frozen: fine.
        }

        expect(await store.getDefinition('R1')).toEqual(aDefinition('R1'))
        expect(await store.getExecution('E1')).toEqual(anExecution('E1', 'R1'))
        expect(await store.getCommunication('1')).toMatchObject({
          state: 'PENDING',
          message: 'Hello from SMS',
          recipients: { subscriptionIds: ['S1', 'S2'] },
        })
        expect(await store.pendingCommunications('SMS', null, 10)).toHaveLength(1)
      })
    })

    describe('addCommunications', () => {
      it('numbers communications "1", "2", ... across calls, PENDING, with nothing processed', async () => {
        const { store } = await fresh()

        const first = await store.addCommunications([aCommunication(), aCommunication('EMAIL')], T0)
        const none = await store.addCommunications([], T0)
        const second = await store.addCommunications([aCommunication()], T1)

        expect(none).toEqual([])
        expect(numbersOf([...first, ...second])).toEqual(['1', '2', '3'])
        expect(second[0]).toEqual({
          ...aCommunication(),
          number: '3',
          state: 'PENDING',
          createdAt: T1,
          processedAt: null,
          error: null,
          processedBy: null,
        })
        expect(await store.getCommunication('2')).toEqual(first[1])
        expect(await store.getCommunication('4')).toBeNull()
        expect(await store.getCommunication('0')).toBeNull()
        expect(await store.getCommunication('x')).toBeNull()
      })

      it('keeps only the input fields, and a segment recipient as its criteria', async () => {
        const { store } = await fresh()
        const segment = { createdFrom: '2025-01-01T00:00:00.000Z', types: ['RESIDENTIAL'] }
        const input = {
          externalSystem: 'SMS',
          message: 'Maintenance tonight',
          recipients: { segment },
          number: '99',
          state: 'PROCESSED',
        } as CommunicationInput

        const [added] = await store.addCommunications([input], T0)

        expect(added).toMatchObject({ number: '1', state: 'PENDING', recipients: { segment } })
        expect(added?.recipients).toEqual({ segment })
      })

      it('numbers 50 concurrent additions consecutively', async () => {
        const { store } = await fresh()

        const results = await Promise.all(
          Array.from({ length: 50 }, (_, i) =>
            store.addCommunications([aCommunication('SMS', [`S${String(i)}`])], T0),
          ),
        )

        const numbers = results.flat().map((c) => Number(c.number))
        expect(numbers.sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1))
        expect(await store.listCommunications({})).toHaveLength(50)
      })

      it('keeps a communication for 100,000 subscriptions whole', async () => {
        const created = await fresh()
        const ids = Array.from({ length: 100_000 }, (_, i) => `SUB-${String(i).padStart(6, '0')}`)

        await created.store.addCommunications([aCommunication('SMS', ids)], T0)
        await created.store.addCommunications([aCommunication('SMS', ['S1'])], T0)
        const store = await reopened(created)

        const [big, small] = await store.pendingCommunications('SMS', null, 10)
        expect(big?.recipients.subscriptionIds).toHaveLength(100_000)
        expect(big?.recipients.subscriptionIds?.[99_999]).toBe('SUB-099999')
        expect(small?.recipients.subscriptionIds).toEqual(['S1'])
      }, 30_000)
    })

    describe('pendingCommunications', () => {
      it('returns the PENDING ones of an external system in number order, after a number compared as an integer, at most limit', async () => {
        const { store } = await fresh()
        // 1..12: SMS on odd numbers, EMAIL on even ones.
        await store.addCommunications(
          Array.from({ length: 12 }, (_, i) => aCommunication(i % 2 === 0 ? 'SMS' : 'EMAIL')),
          T0,
        )
        await store.updateCommunication('3', {
          state: 'PROCESSED',
          processedAt: T1,
          error: null,
          processedBy: 'E1',
        })
        await store.updateCommunication('7', {
          state: 'FAILED',
          processedAt: T1,
          error: 'too long',
          processedBy: 'E1',
        })
        const pending = async (system: string, after: string | null, limit: number) =>
          numbersOf(await store.pendingCommunications(system, after, limit))

        expect(await pending('SMS', null, 100)).toEqual(['1', '5', '9', '11'])
        expect(await pending('EMAIL', null, 100)).toEqual(['2', '4', '6', '8', '10', '12'])
        expect(await pending('SMS', null, 2)).toEqual(['1', '5'])
        expect(await pending('SMS', '5', 2)).toEqual(['9', '11'])
        // "9" < "10" as integers, not as strings.
        expect(await pending('EMAIL', '9', 100)).toEqual(['10', '12'])
        expect(await pending('SMS', '0', 1)).toEqual(['1'])
        expect(await pending('SMS', '11', 100)).toEqual([])
        expect(await pending('SMS', '1000', 100)).toEqual([])
        expect(await pending('SMS', null, 0)).toEqual([])
        expect(await pending('FAX', null, 100)).toEqual([])
      })

      it('rejects an `after` that is not a number, saying so', async () => {
        const { store } = await fresh()
        await store.addCommunications([aCommunication()], T0)

        await expect(store.pendingCommunications('SMS', 'abc', 10)).rejects.toThrow(/"abc"/)
      })
    })

    describe('updateCommunication', () => {
      it('changes the state, processing time, error and execution, and nothing else', async () => {
        const { store } = await fresh()
        const [communication] = await store.addCommunications([aCommunication()], T0)
        const change = {
          state: 'PROCESSED',
          processedAt: T1,
          error: null,
          processedBy: 'E1',
          message: 'not this',
          number: '42',
        } as const

        await store.updateCommunication('1', change)

        const expected = {
          ...communication!,
          state: 'PROCESSED',
          processedAt: T1,
          processedBy: 'E1',
        }
        expect(await store.getCommunication('1')).toEqual(expected)
        expect(await store.getCommunication('42')).toBeNull()
        expect(await store.pendingCommunications('SMS', null, 10)).toEqual([])
        expect(await store.listCommunications({ state: 'PROCESSED' })).toEqual([expected])
      })

      it('puts a communication back to PENDING', async () => {
        const { store } = await fresh()
        await store.addCommunications([aCommunication()], T0)
        await store.updateCommunication('1', {
          state: 'FAILED',
          processedAt: T1,
          error: 'too long',
          processedBy: 'E1',
        })

        await store.updateCommunication('1', {
          state: 'PENDING',
          processedAt: null,
          error: null,
          processedBy: null,
        })

        expect(numbersOf(await store.pendingCommunications('SMS', null, 10))).toEqual(['1'])
      })

      it('rejects an unknown number with a StoreError naming it, changing nothing', async () => {
        const { store } = await fresh()
        const [communication] = await store.addCommunications([aCommunication()], T0)
        const change = {
          state: 'PROCESSED',
          processedAt: T1,
          error: null,
          processedBy: 'E1',
        } as const

        const failure = store.updateCommunication('2', change)

        await expect(failure).rejects.toBeInstanceOf(StoreError)
        await expect(failure).rejects.toMatchObject({ code: 'REQUEST_NOT_FOUND' })
        await expect(failure).rejects.toThrow('communication "2"')
        await expect(store.updateCommunication('01', change)).rejects.toBeInstanceOf(StoreError)
        expect(await store.listCommunications({})).toEqual([communication])
      })
    })

    describe('listCommunications', () => {
      it('filters by external system and state, in number order', async () => {
        const { store } = await fresh()
        await store.addCommunications(
          [aCommunication('SMS'), aCommunication('EMAIL'), aCommunication('SMS')],
          T0,
        )
        await store.updateCommunication('1', {
          state: 'FAILED',
          processedAt: T1,
          error: 'too long',
          processedBy: 'E1',
        })
        const numbers = async (filter: Parameters<RunStore['listCommunications']>[0]) =>
          numbersOf(await store.listCommunications(filter))

        expect(await numbers({})).toEqual(['1', '2', '3'])
        expect(await numbers({ externalSystem: 'SMS' })).toEqual(['1', '3'])
        expect(await numbers({ state: 'PENDING' })).toEqual(['2', '3'])
        expect(await numbers({ externalSystem: 'SMS', state: 'FAILED' })).toEqual(['1'])
        expect(await numbers({ externalSystem: 'EMAIL', state: 'FAILED' })).toEqual([])
      })
    })

    describe('close', () => {
      it('refuses changes once closed, and may be called twice', async () => {
        const { store } = await fresh()
        await store.close()
        await store.close()

        const saving = store.saveDefinition(aDefinition('R1'))
        await expect(saving).rejects.toMatchObject({ code: 'STORE_WRITE_FAILED' })
        await expect(saving).rejects.toThrow('closed')
        await expect(store.addCommunications([aCommunication()], T0)).rejects.toBeInstanceOf(
          StoreError,
        )
      })
    })

    describe('durability', () => {
      it('gives back every definition, execution and communication, and numbers on', async () => {
        const created = await fresh()
        const definitions = [aDefinition('R1'), aMessageDefinition('M1')]
        for (const definition of definitions) {
          await created.store.saveDefinition(definition)
        }
        await created.store.saveExecution(anExecution('E1', 'R1', { state: 'COMPLETED' }))
        await created.store.saveExecution(anExecution('E2', 'M1'))
        await created.store.addCommunications([aCommunication(), aCommunication('EMAIL')], T0)
        await created.store.updateCommunication('1', {
          state: 'PROCESSED',
          processedAt: T1,
          error: null,
          processedBy: 'E2',
        })
        const executions = await created.store.listExecutions()
        const communications = await created.store.listCommunications({})

        const store = await reopened(created)

        expect(await store.listDefinitions()).toEqual(definitions)
        expect(await store.getDefinition('MSG-M1')).toEqual(definitions[1])
        expect(await store.listExecutions()).toEqual(executions)
        expect(await store.listCommunications({})).toEqual(communications)
        expect(numbersOf(await store.pendingCommunications('EMAIL', '1', 10))).toEqual(['2'])
        const [next] = await store.addCommunications([aCommunication()], T1)
        expect(next?.number).toBe('3')
      })
    })
  })
}
