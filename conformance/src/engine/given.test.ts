import { describe, expect, it } from 'vitest'
import { SequenceSource } from './given.js'

const XS_INT_MAX = 2_147_483_647

describe('SequenceSource', () => {
  it('never repeats a number across the sources of one process, even made at the same instant', () => {
    // Each scenario has its own source, and scenarios follow each other within milliseconds: a CA
    // would answer a repeated SequenceNumber with the same payload as a replay and change nothing.
    const now = Date.UTC(2026, 10, 26, 10)
    const first = new SequenceSource(now)
    const a = [first.next(), first.next(), first.next()]
    const second = new SequenceSource(now)
    const b = [second.next(), second.next()]
    const all = [...a, ...b, first.next()]
    expect(new Set(all).size).toBe(all.length)
    expect(b[0]).toBeGreaterThan(a[2] as number)
  })

  it('starts a later run above the numbers an earlier run used, and stays an xs:int', () => {
    const start = Date.UTC(2026, 10, 26, 10)
    const run = new SequenceSource(start)
    const used = Array.from({ length: 500 }, () => run.next())
    // A second later (a separate process would start from its clock only).
    const later = new SequenceSource(start + 1000).next()
    expect(later).toBeGreaterThan(Math.max(...used))
    for (const year of [2024, 2030, 2040, 2060]) {
      const value = new SequenceSource(Date.UTC(year, 5, 1)).next()
      expect(value).toBeGreaterThanOrEqual(1_500_000_000)
      expect(value).toBeLessThanOrEqual(XS_INT_MAX)
    }
  })
})
