import type { ScenarioData } from '../scenario/schema.js'
import type { JournalEntryLike } from './wire-types.js'

/**
 * Which journal entries count as calls the CA applied, for comparing a journal with a scenario's
 * expected sequence. A scenario with faults (or the CA down) makes the CA fail calls that are
 * then sent again: the failed calls changed nothing and the repeats may be answered as replays,
 * so neither is part of the expected sequence (`then.soapCalls` and `expect.journal` are where a
 * scenario pins every call).
 */

/** StatusCodes of calls that changed nothing and are sent again: a fault, the CA down. */
export const TRANSIENT_STATUS = /^(SYSTEM_ERROR|FAULT:Server|RESET|HTTP_\d+)$/

/** Whether the scenario makes the CA fail calls (then failed calls and their replays are expected). */
export function hasFaults(data: ScenarioData): boolean {
  return data.when.some(
    (step) =>
      'ca' in step &&
      (typeof step.ca === 'string' || 'fault' in step.ca || 'clearFaults' in step.ca),
  )
}

/**
 * The entries to compare with the expected sequence: all of them, or, when the scenario has
 * faults, those neither answered with a transient StatusCode nor answered as a replay.
 */
export function effectiveEntries<T extends JournalEntryLike>(
  data: ScenarioData,
  entries: readonly T[],
): T[] {
  if (!hasFaults(data)) {
    return [...entries]
  }
  return entries.filter(
    (entry) => entry.replay !== true && !TRANSIENT_STATUS.test(entry.statusCode),
  )
}
