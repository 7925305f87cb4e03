import type { Fingerprint, ScreenMessage } from './types.js'

/**
 * What a card's STB shows at a given moment: the barks whose display window holds that moment and
 * the fingerprints whose window does, worked out from what the card received. The CA model keeps
 * every message as received; whether it is on screen "now" depends only on the moment asked about,
 * so a console can follow the simulator's clock (moved by `POST /admin/clock`).
 *
 * A bark shows from its StartIndicationTime (its arrival when absent) for DisplayDurationInSeconds.
 * A repeating bark shows RepetitionCount times, each show starting RepetitionIntervalInSeconds after
 * the previous one started. A fingerprint shows from its DisplayTime for DurationInSeconds.
 */

/** A bark on screen now, with the window of its current show. */
export interface ShownBark {
  readonly kind: ScreenMessage['kind']
  readonly message: string
  readonly transactionId: string
  /** Which show this is (1 for a plain bark), and of how many. */
  readonly show: number
  readonly shows: number
  readonly from: string
  readonly until: string
}

/** A fingerprint on screen now. */
export interface ShownFingerprint {
  readonly slot: Fingerprint['slot']
  readonly positionX: number | null
  readonly positionY: number | null
  readonly height: number
  readonly transactionId: string
  readonly from: string
  readonly until: string
}

/** The screen of one card at one moment. */
export interface ScreenNow {
  readonly at: string
  readonly barks: readonly ShownBark[]
  readonly fingerprints: readonly ShownFingerprint[]
  /** The next moment something appears or disappears, or null when nothing more will change. */
  readonly nextChangeAt: string | null
}

interface Window {
  readonly from: number
  readonly until: number
}

/** The show windows of one bark, in order. */
function barkWindows(bark: ScreenMessage): Window[] {
  const start = Date.parse(bark.startIndicationTime ?? bark.receivedAt)
  const length = bark.displayDurationInSeconds * 1000
  const shows = bark.kind === 'REPEATING_BARK' ? (bark.repetitionCount ?? 1) : 1
  const interval = (bark.repetitionIntervalInSeconds ?? 0) * 1000
  return Array.from({ length: shows }, (_, index) => ({
    from: start + index * interval,
    until: start + index * interval + length,
  }))
}

/** The earliest of the moments after `now` at which a window opens or closes. */
function nextEdge(windows: readonly Window[], now: number): number | null {
  let next: number | null = null
  for (const window of windows) {
    for (const edge of [window.from, window.until]) {
      if (edge > now && (next === null || edge < next)) {
        next = edge
      }
    }
  }
  return next
}

/** What the STB of a card with these barks and fingerprints shows at `at` (an ISO date-time). */
export function screenAt(
  card: {
    readonly screen: readonly ScreenMessage[]
    readonly fingerprints: readonly Fingerprint[]
  },
  at: string,
): ScreenNow {
  const now = Date.parse(at)
  const iso = (ms: number): string => new Date(ms).toISOString()
  const inside = (window: Window): boolean => window.from <= now && now < window.until
  const every: Window[] = []
  const barks: ShownBark[] = []
  for (const bark of card.screen) {
    const windows = barkWindows(bark)
    every.push(...windows)
    const index = windows.findIndex(inside)
    const window = windows[index]
    if (window) {
      barks.push({
        kind: bark.kind,
        message: bark.message,
        transactionId: bark.transactionId,
        show: index + 1,
        shows: windows.length,
        from: iso(window.from),
        until: iso(window.until),
      })
    }
  }
  const fingerprints: ShownFingerprint[] = []
  for (const fingerprint of card.fingerprints) {
    const from = Date.parse(fingerprint.displayTime)
    const window = { from, until: from + fingerprint.durationInSeconds * 1000 }
    every.push(window)
    if (inside(window)) {
      fingerprints.push({
        slot: fingerprint.slot,
        positionX: fingerprint.positionX,
        positionY: fingerprint.positionY,
        height: fingerprint.height,
        transactionId: fingerprint.transactionId,
        from: iso(window.from),
        until: iso(window.until),
      })
    }
  }
  const next = nextEdge(every, now)
  return { at: iso(now), barks, fingerprints, nextChangeAt: next === null ? null : iso(next) }
}
