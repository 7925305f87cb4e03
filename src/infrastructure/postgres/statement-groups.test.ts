import { describe, expect, it } from 'vitest'
import { StatementGroups, type CallOutcome } from './statement-groups.js'

interface ManualRun<Call, Answer> {
  readonly calls: readonly Call[]
  readonly settle: (outcomes: readonly CallOutcome<Answer>[]) => void
  readonly fail: (error: Error) => void
}

/** A statement the test answers by hand; `started(i)` resolves when the i-th statement runs. */
function manualStatements<Call, Answer>() {
  const runs: ManualRun<Call, Answer>[] = []
  const waiters = new Map<number, (run: ManualRun<Call, Answer>) => void>()
  const run = (calls: readonly Call[]) =>
    new Promise<readonly CallOutcome<Answer>[]>((settle, fail) => {
      const started = { calls, settle, fail }
      runs.push(started)
      waiters.get(runs.length - 1)?.(started)
    })
  const started = (index: number): Promise<ManualRun<Call, Answer>> => {
    const run = runs[index]
    return run !== undefined
      ? Promise.resolve(run)
      : new Promise((resolve) => waiters.set(index, resolve))
  }
  return { runs, run, started }
}

describe('StatementGroups', () => {
  it('sends the calls made while a statement runs together in the next one, and answers each its own', async () => {
    const { runs, run, started } = manualStatements<string, string>()
    const groups = new StatementGroups({ max: 10, run })

    const first = groups.call('a')
    const later = [groups.call('b'), groups.call('c')]
    expect(runs.map((r) => r.calls)).toEqual([['a']])
    runs[0]?.settle([{ ok: true, answer: 'A' }])
    expect(await first).toBe('A')
    expect((await started(1)).calls).toEqual(['b', 'c'])
    runs[1]?.settle([
      { ok: false, error: new Error('refused') },
      { ok: true, answer: 'C' },
    ])

    await expect(later[0]).rejects.toThrow('refused')
    expect(await later[1]).toBe('C')
  })

  it('keeps two calls with one key out of one statement, and at most max calls in it', async () => {
    const { runs, run, started } = manualStatements<{ id: string }, string>()
    const groups = new StatementGroups({ max: 2, key: (call) => call.id, run })

    const answers = [
      groups.call({ id: 'x' }),
      groups.call({ id: 'x' }),
      groups.call({ id: 'y' }),
      groups.call({ id: 'z' }),
    ]
    runs[0]?.settle([{ ok: true, answer: '1' }])
    expect((await started(1)).calls.map((c) => c.id)).toEqual(['x', 'y'])
    expect(runs[0]?.calls.map((c) => c.id)).toEqual(['x'])
    runs[1]?.settle([
      { ok: true, answer: '2' },
      { ok: true, answer: '3' },
    ])
    expect((await started(2)).calls.map((c) => c.id)).toEqual(['z'])
    runs[2]?.settle([{ ok: true, answer: '4' }])
    expect(await Promise.all(answers)).toEqual(['1', '2', '3', '4'])
  })

  it('rejects every call of a failed statement with its error, and goes on with the next group', async () => {
    const { runs, run, started } = manualStatements<string, string>()
    const groups = new StatementGroups({ max: 10, run })

    const first = groups.call('a')
    const second = groups.call('b')
    runs[0]?.fail(new Error('connection lost'))
    await expect(first).rejects.toThrow('connection lost')
    const next = await started(1)
    next.settle([{ ok: true, answer: 'B' }])
    expect(await second).toBe('B')
  })

  it('treats a run that throws at once as a failed statement, not a group left running', async () => {
    let calls = 0
    const groups = new StatementGroups<string, string>({
      max: 10,
      run: (group) => {
        calls++
        if (calls === 1) {
          throw new Error('bad arguments')
        }
        return Promise.resolve(
          group.map((call) => ({ ok: true as const, answer: call.toUpperCase() })),
        )
      },
    })

    await expect(groups.call('a')).rejects.toThrow('bad arguments')
    expect(await groups.call('b')).toBe('B')
  })
})
