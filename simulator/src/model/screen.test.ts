import { describe, expect, it } from 'vitest'
import { screenAt } from './screen.js'
import type { Fingerprint, ScreenMessage } from './types.js'

const bark = (changes: Partial<ScreenMessage> = {}): ScreenMessage => ({
  kind: 'BARK',
  message: 'Hello',
  displayDurationInSeconds: 20,
  startIndicationTime: null,
  repetitionCount: null,
  repetitionIntervalInSeconds: null,
  receivedAt: '2026-11-26T10:00:00.000Z',
  transactionId: 't1',
  sequenceNumber: null,
  ...changes,
})

const fingerprint = (changes: Partial<Fingerprint> = {}): Fingerprint => ({
  displayTime: '2026-11-26T10:01:00.000Z',
  durationInSeconds: 30,
  positionX: 10,
  positionY: 20,
  height: 40,
  slot: 'B',
  receivedAt: '2026-11-26T10:00:00.000Z',
  transactionId: 'f1',
  sequenceNumber: null,
  ...changes,
})

const on = (screen: ScreenMessage[], at: string, fingerprints: Fingerprint[] = []) =>
  screenAt({ screen, fingerprints }, at)

describe('screenAt', () => {
  it('shows a bark from its arrival for its display duration, then nothing', () => {
    expect(on([bark()], '2026-11-26T10:00:19.999Z')).toMatchObject({
      barks: [{ message: 'Hello', show: 1, shows: 1, until: '2026-11-26T10:00:20.000Z' }],
      nextChangeAt: '2026-11-26T10:00:20.000Z',
    })
    expect(on([bark()], '2026-11-26T10:00:20.000Z')).toEqual({
      at: '2026-11-26T10:00:20.000Z',
      barks: [],
      fingerprints: [],
      nextChangeAt: null,
    })
  })

  it('waits for a StartIndicationTime', () => {
    const later = bark({ startIndicationTime: '2026-11-26T11:00:00.000Z' })
    expect(on([later], '2026-11-26T10:30:00.000Z')).toMatchObject({
      barks: [],
      nextChangeAt: '2026-11-26T11:00:00.000Z',
    })
    expect(on([later], '2026-11-26T11:00:05.000Z').barks).toHaveLength(1)
  })

  it('repeats a repeating bark RepetitionCount times, every RepetitionIntervalInSeconds', () => {
    const repeating = bark({
      kind: 'REPEATING_BARK',
      displayDurationInSeconds: 5,
      repetitionCount: 3,
      repetitionIntervalInSeconds: 60,
    })
    expect(on([repeating], '2026-11-26T10:01:02.000Z').barks).toMatchObject([
      { kind: 'REPEATING_BARK', show: 2, shows: 3, from: '2026-11-26T10:01:00.000Z' },
    ])
    expect(on([repeating], '2026-11-26T10:01:30.000Z')).toMatchObject({
      barks: [],
      nextChangeAt: '2026-11-26T10:02:00.000Z',
    })
    expect(on([repeating], '2026-11-26T10:03:00.000Z')).toMatchObject({
      barks: [],
      nextChangeAt: null,
    })
  })

  it('shows a fingerprint at its position, height and slot during its window', () => {
    expect(on([], '2026-11-26T10:01:10.000Z', [fingerprint()]).fingerprints).toEqual([
      {
        slot: 'B',
        positionX: 10,
        positionY: 20,
        height: 40,
        transactionId: 'f1',
        from: '2026-11-26T10:01:00.000Z',
        until: '2026-11-26T10:01:30.000Z',
      },
    ])
    expect(on([], '2026-11-26T10:01:30.000Z', [fingerprint()]).fingerprints).toEqual([])
  })
})
