import type { ScenarioData } from '../scenario/schema.js'
import type { JournalEntryLike } from './wire-types.js'
import { wireLinesOfJournal } from './wire.js'

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

/** Whether the scenario makes the adapter read cards: a reset run, a preview checking cards, a reset. */
export function readsCards(data: ScenarioData): boolean {
  return data.when.some(
    (step) =>
      ('run' in step &&
        (step.run.definition?.kind === 'RESET_SUBSCRIPTION' || step.run.checkCards === true)) ||
      'reset' in step,
  )
}

/**
 * The journal's calls as wire lines to compare with the `expected` ones: the effective entries,
 * without the card reads of a reset (they create no provisioning request, so no expected line
 * stands for them) unless the expected sequence itself has calls of that operation.
 */
export function comparableLines(
  data: ScenarioData,
  expected: readonly string[],
  entries: readonly JournalEntryLike[],
): string[] {
  const resetReads = readsCards(data)
  const isRead = (line: string): boolean => {
    const operation = line.split(' ')[0] ?? ''
    return (
      resetReads &&
      (operation === 'GetActiveSubscriptions' || operation === 'GetPairingStatusForCard') &&
      !expected.some((e) => e.startsWith(`${operation} `))
    )
  }
  return effectiveEntries(data, entries)
    .flatMap(wireLinesOfJournal)
    .filter((line) => !isRead(line))
}
