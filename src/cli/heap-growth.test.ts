import { describe, expect, it } from 'vitest'
import { decideHeapGrowth, heapGrowthLine } from './heap-growth.js'

describe('decideHeapGrowth', () => {
  it('sets the growth asked for when Node was given none', () => {
    const decision = decideHeapGrowth(30, ['--enable-source-maps'], '--max-old-space-size=512')

    expect(decision).toEqual({ kind: 'set', percent: 30, flag: '--heap-growing-percent=30' })
    expect(heapGrowthLine(decision)).toContain('grows 30 % past the live heap')
  })

  it("leaves V8's own sizing for 0", () => {
    const decision = decideHeapGrowth(0, [], undefined)

    expect(decision).toEqual({ kind: 'v8-default', reason: 'asked' })
    expect(heapGrowthLine(decision)).toContain("V8's own heap sizing")
  })

  it('keeps a growth given to Node on its command line or in NODE_OPTIONS, in either spelling', () => {
    expect(decideHeapGrowth(30, ['--heap-growing-percent=80'], undefined)).toEqual({
      kind: 'v8-default',
      reason: 'node-flag',
    })
    expect(decideHeapGrowth(30, [], '--trace-gc  --heap_growing_percent=15')).toEqual({
      kind: 'v8-default',
      reason: 'node-flag',
    })
    expect(heapGrowthLine({ kind: 'v8-default', reason: 'node-flag' })).toContain('is kept')
  })
})
