import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import type { Simulator } from '../simulator/src/index.js'
import type { Adapter } from './create-adapter.js'
import type { CrmAction } from './domain/planner.js'
import {
  card,
  cardItem,
  startTestAdapter,
  startTestCa,
  stbItem,
} from './test-support/adapter-harness.js'

// Issue 9, item 1: the CA takes a write that repeats a SequenceNumber with the same payload as a
// replay and applies nothing. Two fresh stores (a replaced store file, a second adapter) must
// therefore never hand out the same numbers, or the second one's writes are silently lost.

const subscribe = (id: string, n: number): CrmAction => ({
  action: 'BECOME_SUBSCRIBER',
  subscriptionId: id,
  services: [{ service: 'GEOLOGICAL', distributor: 'Main' }],
  installedItems: [cardItem(n), stbItem(n)],
})

let sim: Simulator
const adapters: Adapter[] = []
let dir: string

afterEach(async () => {
  await Promise.all(adapters.splice(0).map((adapter) => adapter.close()))
  await sim.close()
  rmSync(dir, { recursive: true, force: true })
})

describe('two fresh stores against one CA', () => {
  it('never repeat a SequenceNumber, and every write of both is applied', async () => {
    sim = await startTestCa(60)
    dir = mkdtempSync(join(tmpdir(), 'conax-sequence-'))
    // Made one right after the other, as a replaced store and a second adapter would be.
    const first = await startTestAdapter(sim, { concurrency: 16 })
    const second = await startTestAdapter(sim, {
      dataFile: join(dir, 'adapter.json'),
      concurrency: 16,
    })
    adapters.push(first, second)

    // The first store provisions cards 1..15, then terminates them all.
    for (let n = 1; n <= 15; n++) {
      await first.service.applyAction(subscribe(`A${n}`, n))
    }
    await first.deliverDue()
    for (let n = 1; n <= 15; n++) {
      await first.service.applyAction({ action: 'TERMINATE', subscriptionId: `A${n}` })
    }
    await first.deliverDue()
    // Then both at full speed at once: the second store takes over cards 1..15 (the same
    // payloads the first one sent), the first provisions cards 16..45.
    for (let n = 1; n <= 15; n++) {
      await second.service.applyAction(subscribe(`B${n}`, n))
    }
    for (let n = 16; n <= 45; n++) {
      await first.service.applyAction(subscribe(`A${n}`, n))
    }
    await Promise.all([first.deliverDue(), second.deliverDue()])

    const writes = sim.journal
      .list()
      .filter((entry) => entry.request?.SequenceNumber !== undefined)
      .map((entry) => Number(entry.request?.SequenceNumber))
    expect(writes.length).toBeGreaterThan(100)
    expect(new Set(writes).size).toBe(writes.length)
    expect(sim.journal.list().filter((entry) => entry.replay)).toEqual([])
    for (const adapter of [first, second]) {
      const states = (await adapter.store.listRequests({})).items.map((r) => r.lifeCycleState)
      expect(new Set(states)).toEqual(new Set(['COMPLETED']))
    }
    for (let n = 1; n <= 45; n++) {
      expect(
        sim.model.card(card(n))?.subscriptions.map((s) => s.productId),
        `card ${n}`,
      ).toEqual(['GFA1'])
    }
  })

  it('keep counting after a restart of the same store, below the largest xs:int', async () => {
    sim = await startTestCa(4)
    dir = mkdtempSync(join(tmpdir(), 'conax-sequence-'))
    const file = join(dir, 'adapter.json')
    const before = await startTestAdapter(sim, { dataFile: file })
    await before.service.applyAction(subscribe('S1', 1))
    const [last] = (await before.store.listRequests({})).items.slice(-1)
    await before.close()
    const after = await startTestAdapter(sim, { dataFile: file })
    adapters.push(after)

    await after.service.applyAction(subscribe('S2', 2))

    const numbers = (await after.store.listRequests({})).items.map((r) => r.sequenceNumber)
    expect(numbers).toHaveLength(4)
    expect(numbers.slice(2).every((n) => n > (last?.sequenceNumber ?? Infinity))).toBe(true)
    expect(Math.max(...numbers)).toBeLessThan(2 ** 31)
  })
})
