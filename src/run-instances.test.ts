import { pino } from 'pino'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { Simulator } from '../simulator/src/index.js'
import { CardReadError, type CaReader } from './application/runs/run-ports.js'
import type { Adapter } from './create-adapter.js'
import {
  cardItem,
  ManualClock,
  startTestAdapter,
  startTestCa,
  stbItem,
} from './test-support/adapter-harness.js'
import { freshTestDatabase } from './test-support/postgres.js'

// Run executions across two adapter instances sharing one PostgreSQL database: a stop through
// the other instance, a resume on it, and a takeover once the owner's lease has run out.

const LEASE_MS = 60_000

/** A reader that finds every card empty (so each subscription gets its repair requests), and
 * whose reads can be held at a gate: the test decides when a batch ends. */
class GatedReader {
  private gate: Promise<void> = Promise.resolve()
  private open: (() => void) | null = null
  private failure: CardReadError | null = null
  /** Resolves the first time a read waits at the closed gate. */
  waiting: Promise<void> = Promise.resolve()
  private onWait: (() => void) | null = null

  shut(): void {
    this.gate = new Promise((resolve) => (this.open = resolve))
    this.waiting = new Promise((resolve) => (this.onWait = resolve))
  }

  /** Opens the gate; with `failure`, the waiting reads (and all later ones) reject with it. */
  release(failure?: CardReadError): void {
    this.failure = failure ?? null
    this.open?.()
  }

  async readCard(): Promise<{ known: true; products: []; pairedStbs: [] }> {
    this.onWait?.()
    await this.gate
    if (this.failure) {
      throw this.failure
    }
    return { known: true, products: [], pairedStbs: [] }
  }
}

function readerOf(gated: GatedReader): CaReader {
  return { readCard: () => gated.readCard(), close: () => Promise.resolve() }
}

let sim: Simulator
let a: Adapter
let b: Adapter
let gateA: GatedReader
let bClock: ManualClock
/** What instance A logged (its run errors among them). */
let aLog: { msg: string; err?: { code?: string; message?: string } }[]

beforeEach(async () => {
  sim = await startTestCa(221)
  const databaseUrl = await freshTestDatabase()
  gateA = new GatedReader()
  bClock = new ManualClock()
  const common = { databaseUrl, runPageSize: 2, runLeaseMs: LEASE_MS }
  aLog = []
  a = await startTestAdapter(sim, {
    ...common,
    instanceId: 'A',
    logger: pino({ level: 'warn' }, { write: (line: string) => aLog.push(JSON.parse(line)) }),
    clock: new ManualClock(),
    reader: readerOf(gateA),
  })
  b = await startTestAdapter(sim, {
    ...common,
    instanceId: 'B',
    clock: bClock,
    reader: readerOf(new GatedReader()),
  })
  for (let n = 1; n <= 5; n++) {
    await a.service.applyAction({
      action: 'BECOME_SUBSCRIBER',
      subscriptionId: `S${n}`,
      type: 'RESIDENTIAL',
      services: [{ service: 'GEOLOGICAL', distributor: 'Main' }],
      installedItems: [cardItem(n), stbItem(n)],
    })
  }
  await a.deliverDue()
  await a.runs.define({
    name: 'Reset',
    alternativeCode: 'R',
    kind: 'RESET_SUBSCRIPTION',
    criteria: {},
  })
})

afterEach(async () => {
  gateA.release()
  await Promise.allSettled([a.close(), b.close()])
  await sim.close()
})

/** Every subscription's requests of the execution, created exactly once each. */
async function expectEachOnce(adapter: Adapter, executionId: string): Promise<void> {
  const created = await adapter.runs.requests(executionId, { limit: 1000 })
  const keys = created.items.map((r) => `${r.subscriptionId}|${JSON.stringify(r.command)}`)
  expect(new Set(keys).size).toBe(keys.length)
  expect([...new Set(created.items.map((r) => r.subscriptionId))].sort()).toEqual([
    'S1',
    'S2',
    'S3',
    'S4',
    'S5',
  ])
}

describe('run executions on two instances sharing PostgreSQL', () => {
  it('starts on A, stops through B after the current batch, resumes on B to COMPLETED, each item once', async () => {
    gateA.shut()
    const started = await a.runs.start('R')
    await gateA.waiting

    const stopping = await b.runs.stop(started.id)
    expect(stopping.state).toBe('STOPPING')
    expect((await a.runs.get(started.id)).state).toBe('STOPPING')
    gateA.release()
    const stopped = await a.runs.settled(started.id)
    expect(stopped.state).toBe('STOPPED')
    expect(stopped.counts.processed).toBe(2)

    const resumed = await b.runs.resume(started.id)
    expect(resumed).toMatchObject({ state: 'RUNNING', owner: 'B' })
    expect((await b.runs.settled(started.id)).state).toBe('DELIVERING')
    await b.deliverDue()
    const done = await b.runs.finished(started.id)
    expect(done.state).toBe('COMPLETED')
    expect(done.counts.processed).toBe(5)
    await expectEachOnce(b, started.id)
  })

  it('refuses a resume on B while A runs it under a live lease, naming A', async () => {
    gateA.shut()
    const started = await a.runs.start('R')
    await gateA.waiting

    await expect(b.runs.resume(started.id)).rejects.toMatchObject({
      code: 'RUN_OWNED',
      message: expect.stringContaining("instance 'A'") as unknown,
    })
    gateA.release()
    expect((await a.runs.settled(started.id)).state).toBe('DELIVERING')
  })

  it('takes over on B once the lease of a dead A has run out, from its cursor, each item once', async () => {
    gateA.shut()
    const started = await a.runs.start('R')
    await gateA.waiting
    // A is now "dead" mid-batch: it never answers again and renews nothing B can see as live.
    await expect(b.runs.resume(started.id)).rejects.toMatchObject({ code: 'RUN_OWNED' })
    bClock.advance(LEASE_MS + 1)

    const resumed = await b.runs.resume(started.id)
    expect(resumed).toMatchObject({ state: 'RUNNING', owner: 'B' })
    expect((await b.runs.settled(started.id)).state).toBe('DELIVERING')
    await b.deliverDue()
    const done = await b.runs.finished(started.id)
    expect(done).toMatchObject({ state: 'COMPLETED', owner: 'B' })
    expect(done.counts.processed).toBe(5)
    await expectEachOnce(b, started.id)

    // The old owner wakes up to a failing CA: it must not overwrite B's verdict.
    gateA.release(
      new CardReadError({ code: 'TIMEOUT', scope: 'CA', card: 'x', message: 'CA timed out.' }),
    )
    expect((await a.runs.settled(started.id)).state).toBe('COMPLETED')
    expect((await b.runs.get(started.id)).state).toBe('COMPLETED')
  })

  it('refuses the batch of a paused A whose execution B took over: nothing stored, each item sent once', async () => {
    gateA.shut()
    const started = await a.runs.start('R')
    // A is paused (not dead) in the middle of its first batch, past its lease.
    await gateA.waiting
    bClock.advance(LEASE_MS + 1)
    const sentBefore = sim.journal.list().length

    expect(await b.runs.resume(started.id)).toMatchObject({ state: 'RUNNING', owner: 'B' })
    expect((await b.runs.settled(started.id)).state).toBe('DELIVERING')
    await b.deliverDue()
    expect(await b.runs.finished(started.id)).toMatchObject({ state: 'COMPLETED', owner: 'B' })
    const created = await b.runs.requests(started.id, { limit: 1000 })

    // A wakes up, reads its cards and commits its batch's requests: refused, as B owns it now.
    gateA.release()
    expect(await a.runs.settled(started.id)).toMatchObject({ state: 'COMPLETED', owner: 'B' })
    expect(aLog.map((line) => line.err?.code)).toContain('RUN_OWNED')
    expect(aLog.find((line) => line.err?.code === 'RUN_OWNED')?.err?.message).toMatch(
      /instance 'B' took it over.*Nothing was stored/,
    )
    const after = await b.runs.requests(started.id, { limit: 1000 })
    expect(after.items.map((r) => r.id)).toEqual(created.items.map((r) => r.id))
    await expectEachOnce(b, started.id)
    expect(await b.store.countPending(started.id)).toBe(0)
    await Promise.all([a.deliverDue(), b.deliverDue()])

    // The CA got each request of the run once, and nothing else.
    const sent = sim.journal
      .list()
      .slice(sentBefore)
      .map((entry) => Number(entry.request?.SequenceNumber))
    expect(sent.sort((x, y) => x - y)).toEqual(
      created.items.map((r) => r.sequenceNumber).sort((x, y) => x - y),
    )
    expect((await b.runs.get(started.id)).state).toBe('COMPLETED')
  })

  it("keeps B's execution when a paused A ends a batch that created no request", async () => {
    gateA.shut()
    const started = await a.runs.start('R')
    await gateA.waiting
    bClock.advance(LEASE_MS + 1)
    await b.runs.resume(started.id)
    expect((await b.runs.settled(started.id)).state).toBe('DELIVERING')
    await b.deliverDue()
    const done = await b.runs.finished(started.id)
    expect(done).toMatchObject({ state: 'COMPLETED', owner: 'B' })

    // A's cards cannot be read: its batch has failures and no request to commit, only a save.
    gateA.release(
      new CardReadError({ code: 'UNKNOWN_CARD', scope: 'CARD', card: 'x', message: 'Unknown.' }),
    )
    expect(await a.runs.settled(started.id)).toMatchObject({ state: 'COMPLETED', owner: 'B' })
    expect(await b.runs.get(started.id)).toMatchObject({
      state: 'COMPLETED',
      owner: 'B',
      counts: done.counts,
      cursor: done.cursor,
    })
  })
})
