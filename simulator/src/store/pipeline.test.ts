import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it, onTestFinished } from 'vitest'
import { startSimulator, type Simulator } from '../create-simulator.js'
import type { ModelSnapshot } from '../model/ca-state.js'
import {
  CARD_A,
  CARD_B,
  CARD_C,
  callSoap,
  startTestSimulator,
  type CallResult,
} from '../test-support/soap.js'
import type { AppendFile } from './log-store.js'

/**
 * The log store's pipelined group commit (docs/decisions/0013): a group is written while the one
 * before it is still being flushed, and acknowledged only once it and every earlier group are
 * durable. The log segment is wrapped (the store's `appendFile` seam, no module mocking) so a test
 * holds each flush until it lets it succeed or fail, and makes a write fail.
 */

interface HeldSync {
  /** Runs the real flush; resolves once the store has been told it succeeded. */
  succeed(): Promise<void>
  fail(): void
}

/** Wraps the segments the store appends to: flushes held on demand, writes failed on demand. */
function controlledDisk() {
  const held: HeldSync[] = []
  const waiters: ((sync: HeldSync) => void)[] = []
  let holdSyncs = false
  let failWrites = 0
  const wrap = (file: AppendFile): AppendFile => ({
    write: (buffer, offset, length, position) => {
      if (failWrites > 0) {
        failWrites--
        return Promise.reject(new Error('disk full (write)'))
      }
      return file.write(buffer, offset, length, position)
    },
    datasync: () => {
      if (!holdSyncs) {
        return file.datasync()
      }
      return new Promise<void>((resolve, reject) => {
        const sync: HeldSync = {
          succeed: async () => {
            await file.datasync()
            resolve()
          },
          fail: () => reject(new Error('disk full (flush)')),
        }
        const waiter = waiters.shift()
        if (waiter) {
          waiter(sync)
        } else {
          held.push(sync)
        }
      })
    },
    truncate: (length) => file.truncate(length),
    close: () => file.close(),
  })
  return {
    wrap,
    holdSyncs(hold: boolean) {
      holdSyncs = hold
    },
    failNextWrite() {
      failWrites = 1
    },
    /** The next held flush (already waiting, or the next one to come). */
    nextSync(): Promise<HeldSync> {
      const sync = held.shift()
      return sync ? Promise.resolve(sync) : new Promise((resolve) => waiters.push(resolve))
    },
  }
}

async function durableSimulator(disk: ReturnType<typeof controlledDisk>) {
  const dir = mkdtempSync(join(tmpdir(), 'conax-pipeline-'))
  const file = join(dir, 'sim.json')
  let sim = await startTestSimulator({ dataFile: file, appendFile: disk.wrap })
  onTestFinished(async () => {
    disk.holdSyncs(false)
    await sim.close()
    rmSync(dir, { recursive: true, force: true })
  })
  return {
    sim: () => sim,
    segment: `${file}.000000000001.log`,
    /** Closes the simulator and starts a new one on the same files. */
    async restart(): Promise<Simulator> {
      await sim.close()
      sim = await startSimulator({ dataFile: file, users: { sms: 'sms' }, appendFile: disk.wrap })
      return sim
    },
  }
}

const add = (sim: Simulator, card: string, product: string, sequence?: number) =>
  callSoap(sim, 'subscription', 'AddSubscriptions', {
    Subscriptions: { Subscription: [{ CaClientId: card, ProductId: product }] },
    ...(sequence === undefined ? {} : { SequenceNumber: sequence }),
  })

const mail = (sim: Simulator, message: string) =>
  callSoap(sim, 'user-text-messaging', 'SendMailMessageToClients', {
    CaClientIds: { CaClientId: [CARD_A] },
    Message: message,
  })

const productsOf = (model: ModelSnapshot, card: string): string[] =>
  model.cards.find((c) => c.caClientId === card)?.products.map((p) => p.productId) ?? []

const productsOfABC = (sim: Simulator): string[][] =>
  [CARD_A, CARD_B, CARD_C].map((card) => productsOf(sim.model.toSnapshot(), card))

/** Waits (on the event loop, not the clock) until the journal holds `count` entries. */
async function journalReaches(sim: Simulator, count: number): Promise<void> {
  for (let turn = 0; turn < 100_000 && sim.journal.lastSeq() < count; turn++) {
    await new Promise((resolve) => setImmediate(resolve))
  }
  expect(sim.journal.lastSeq()).toBe(count)
}

/** Tracks whether a promise has settled, without waiting for it. */
function watch<T>(promise: Promise<T>): { settled: () => boolean } {
  let settled = false
  promise.then(
    () => (settled = true),
    () => (settled = true),
  )
  return { settled: () => settled }
}

function expectNotStored(answer: CallResult, reason: string): void {
  expect(answer.statusCode).toBe('SYSTEM_ERROR')
  expect(answer.message).toContain(reason)
  expect(answer.message).toContain('nothing was changed')
}

describe('the pipelined group commit', () => {
  it('writes the next group while the one before is flushed, and answers both only in order', async () => {
    const disk = controlledDisk()
    const store = await durableSimulator(disk)
    const sim = store.sim()
    const seen: number[] = []
    sim.journal.subscribe((entries) => seen.push(...entries.map((entry) => entry.seq)))
    disk.holdSyncs(true)

    // Both groups change card A: the second group's line holds only what it changed itself.
    const first = mail(sim, 'first')
    const firstSync = await disk.nextSync()
    const second = mail(sim, 'second')
    const secondWatch = watch(second)
    // The second group's line is written and being flushed while the first's flush is held.
    const secondSync = await disk.nextSync()
    await secondSync.succeed()
    await journalReaches(sim, 2)

    expect(secondWatch.settled()).toBe(false)
    expect(sim.journal.durableSeq()).toBe(0)
    expect(seen).toEqual([])
    await firstSync.succeed()

    expect((await first).statusCode).toBe('OK')
    expect((await second).statusCode).toBe('OK')
    expect(seen).toEqual([1, 2])
    const lines = readFileSync(store.segment, 'utf8').trimEnd().split('\n')
    expect(lines.at(-2)).toContain('first')
    expect(lines.at(-1)).toContain('second')
    expect(lines.at(-1)).not.toContain('first')
    const stored = sim.model.toSnapshot()
    expect(stored.cards.find((card) => card.caClientId === CARD_A)?.inbox).toHaveLength(2)
    disk.holdSyncs(false)
    const again = await store.restart()
    expect(again.model.toSnapshot()).toEqual(stored)
    expect(again.journal.list().map((entry) => entry.seq)).toEqual([1, 2])
  })

  it('undoes both groups in flight when the first flush fails, cuts the log back, and stores later groups', async () => {
    const disk = controlledDisk()
    const store = await durableSimulator(disk)
    const sim = store.sim()
    expect((await add(sim, CARD_C, 'AF1')).statusCode).toBe('OK')
    const before = sim.model.toSnapshot()
    const sizeBefore = statSync(store.segment).size
    disk.holdSyncs(true)

    const first = add(sim, CARD_A, 'GFA1', 5)
    const firstSync = await disk.nextSync()
    const second = add(sim, CARD_B, 'EFA2', 6)
    const secondSync = await disk.nextSync()
    // Both lines are in the file; a third write waits behind the full pipeline.
    expect(statSync(store.segment).size).toBeGreaterThan(sizeBefore)
    const third = add(sim, CARD_C, 'RFB1', 7)
    await journalReaches(sim, 4)
    firstSync.fail()
    await secondSync.succeed()

    for (const answer of [await first, await second, await third]) {
      expectNotStored(answer, 'disk full (flush)')
    }
    expect(sim.model.toSnapshot()).toEqual(before)
    expect(statSync(store.segment).size).toBe(sizeBefore)
    expect(
      sim.journal
        .list()
        .slice(-3)
        .map((entry) => entry.statusCode),
    ).toEqual(['SYSTEM_ERROR', 'SYSTEM_ERROR', 'SYSTEM_ERROR'])

    disk.holdSyncs(false)
    expect((await add(sim, CARD_B, 'EFA2', 6)).statusCode).toBe('OK')
    expect((await add(sim, CARD_A, 'BFB2')).statusCode).toBe('OK')
    expect(productsOfABC(sim)).toEqual([['BFB2'], ['EFA2'], ['AF1']])
    const again = await store.restart()
    expect(productsOfABC(again)).toEqual([['BFB2'], ['EFA2'], ['AF1']])
    expect(again.journal.list().map((entry) => entry.statusCode)).toEqual([
      'OK',
      'SYSTEM_ERROR',
      'SYSTEM_ERROR',
      'SYSTEM_ERROR',
      'OK',
      'OK',
    ])
  })

  it('keeps the first group when its flush succeeds and undoes the second, whose write failed', async () => {
    const disk = controlledDisk()
    const store = await durableSimulator(disk)
    const sim = store.sim()
    disk.holdSyncs(true)

    const first = add(sim, CARD_A, 'GFA1')
    const firstSync = await disk.nextSync()
    const sizeAfterFirst = statSync(store.segment).size
    disk.failNextWrite()
    const second = add(sim, CARD_B, 'EFA2')
    await journalReaches(sim, 2)
    const third = add(sim, CARD_C, 'RFB1')
    await journalReaches(sim, 3)
    await firstSync.succeed()

    expect((await first).statusCode).toBe('OK')
    for (const answer of [await second, await third]) {
      expectNotStored(answer, 'disk full (write)')
    }
    expect(productsOfABC(sim)).toEqual([['GFA1'], [], []])
    expect(statSync(store.segment).size).toBe(sizeAfterFirst)

    disk.holdSyncs(false)
    expect((await add(sim, CARD_C, 'RFB1')).statusCode).toBe('OK')
    const again = await store.restart()
    expect(productsOfABC(again)).toEqual([['GFA1'], [], ['RFB1']])
    expect(again.journal.list().map((entry) => entry.statusCode)).toEqual([
      'OK',
      'SYSTEM_ERROR',
      'SYSTEM_ERROR',
      'OK',
    ])
  })
})
