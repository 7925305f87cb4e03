import { describe, expect, it } from 'vitest'
import { WriteCoalescer } from './simulator-store.js'

/**
 * The write coalescer's pipeline on its own, with writes the test finishes by hand: which write
 * starts when, what each one is told it covers, and in what order requests are answered.
 */

interface HeldWrite {
  readonly from: number
  succeed(): void
  fail(error: Error): void
}

function heldWrites() {
  const writes: HeldWrite[] = []
  const write = (from: number): Promise<void> =>
    new Promise<void>((resolve, reject) => writes.push({ from, succeed: resolve, fail: reject }))
  return { writes, write }
}

/** An undo log whose position the test moves (one record per change). */
function countingUndo() {
  const log = { position: 0, committed: [] as number[], rolledBack: 0 }
  return {
    log,
    undo: {
      undoPosition: () => log.position,
      commitUndo: (position: number) => {
        log.committed.push(position)
        log.position -= position
      },
      rollback: () => {
        log.rolledBack++
        log.position = 0
      },
    },
  }
}

/** Lets every settled promise's callbacks run (event-loop turns, not the clock). */
const settle = () => new Promise((resolve) => setImmediate(resolve))

describe('the write coalescer', () => {
  it('starts a second write only for a batch as big as the one in flight, and answers in order', async () => {
    const { writes, write } = heldWrites()
    const { log, undo } = countingUndo()
    const coalescer = new WriteCoalescer(write, () => undefined, undo, 2)
    const answered: string[] = []
    const ask = (name: string) => {
      log.position++
      return coalescer.request().then(() => answered.push(name))
    }

    const a = ask('a')
    const b = ask('b')
    // a's write runs; b (one request, as many as a's) is written beside it, after a's records.
    expect(writes.map((w) => w.from)).toEqual([0, 1])
    const c = [ask('c1'), ask('c2')]
    const d = ask('d')
    expect(writes).toHaveLength(2)

    writes[1]?.succeed()
    await settle()
    expect(answered).toEqual([])
    writes[0]?.succeed()
    await b
    expect(answered).toEqual(['a', 'b'])
    expect(log.committed).toEqual([1, 1])
    // c1, c2 and d wait as one batch of three, written once a and b are done.
    expect(writes).toHaveLength(3)
    const e = ask('e')
    await settle()
    // e alone is smaller than the batch in flight: it waits for that batch instead of joining it.
    expect(writes).toHaveLength(3)
    writes[2]?.succeed()
    await Promise.all([...c, d, a])
    await settle()
    expect(writes).toHaveLength(4)
    writes[3]?.succeed()
    await e
    expect(answered).toEqual(['a', 'b', 'c1', 'c2', 'd', 'e'])
  })

  it('fails the write after a failed one and the batch waiting, and rolls back once both settled', async () => {
    const { writes, write } = heldWrites()
    const { log, undo } = countingUndo()
    const errors: unknown[] = []
    const coalescer = new WriteCoalescer(write, (error) => errors.push(error), undo, 2)
    const ask = () => {
      log.position++
      return coalescer.request().then(
        () => 'ok',
        (error: Error) => error.message,
      )
    }

    const first = ask()
    const second = ask()
    const third = ask()
    writes[0]?.fail(new Error('disk full'))
    await settle()
    // The second write has not settled yet: nothing is rolled back while it may still land.
    expect(log.rolledBack).toBe(0)
    writes[1]?.fail(new Error('cut off'))

    for (const answer of await Promise.all([first, second, third])) {
      expect(answer).toContain('disk full')
    }
    expect(log.rolledBack).toBe(1)
    expect(errors).toHaveLength(1)
    const fourth = ask()
    expect(writes.map((w) => w.from)).toEqual([0, 1, 0])
    writes[2]?.succeed()
    expect(await fourth).toBe('ok')
  })
})
