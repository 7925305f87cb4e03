import { describe, expect, it } from 'vitest'
import { GroupCommit } from './group-commit.js'

/** A cycle that records how many changes each write carried and waits until released. */
function recordingCycle() {
  let pending = 0
  const writes: number[] = []
  const releases: (() => void)[] = []
  const group = new GroupCommit(async (durable) => {
    writes.push(pending)
    pending = 0
    await new Promise<void>((resolve) => releases.push(resolve))
    durable()
  })
  return {
    group,
    writes,
    change: () => {
      pending += 1
      return group.request()
    },
    release: async () => {
      while (releases.length === 0) {
        await new Promise((resolve) => setImmediate(resolve))
      }
      releases.shift()?.()
    },
  }
}

describe('GroupCommit', () => {
  it('carries changes requested together in one write', async () => {
    const { writes, change, release } = recordingCycle()

    const all = Promise.all(Array.from({ length: 50 }, change))
    await release()
    await all

    expect(writes).toEqual([50])
  })

  it('runs one write at a time and carries changes made meanwhile in the next one', async () => {
    const { writes, change, release } = recordingCycle()
    let firstDone = false

    const first = change().then(() => (firstDone = true))
    await new Promise((resolve) => setImmediate(resolve))
    const later = Promise.all([change(), change(), change()])
    await new Promise((resolve) => setImmediate(resolve))
    expect(writes).toEqual([1])
    await release()
    await first
    expect(firstDone).toBe(true)
    await release()
    await later

    expect(writes).toEqual([1, 3])
  })

  it('rejects the callers of a failed write and carries on with the next', async () => {
    let fail = true
    const group = new GroupCommit((durable) => {
      if (fail) {
        fail = false
        return Promise.reject(new Error('disk full'))
      }
      durable()
      return Promise.resolve()
    })

    await expect(Promise.all([group.request(), group.request()])).rejects.toThrow('disk full')
    await expect(group.request()).resolves.toBeUndefined()
  })

  it('resolves callers at durable() and lets flush() wait for the rest of the cycle', async () => {
    const steps: string[] = []
    let finish!: () => void
    const group = new GroupCommit(async (durable) => {
      durable()
      await new Promise<void>((resolve) => (finish = resolve))
      steps.push('checkpoint done')
    })

    await group.request()
    steps.push('caller resumed')
    const flushed = group.flush().then(() => steps.push('flushed'))
    finish()
    await flushed

    expect(steps).toEqual(['caller resumed', 'checkpoint done', 'flushed'])
  })
})
