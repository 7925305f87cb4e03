import { diffSequences, sequenceFailed } from '../compare.js'
import type { SequenceDiff } from '../result.js'
import type { ConaxCommand, JournalEntryLike } from './wire-types.js'

/**
 * SOAP calls as one-line renderings (`AddSubscriptions card=01450250001 product=GFA1
 * distributor=Main → OK`), built either from a command (what the CA should receive) or from a
 * simulator journal entry (what it did receive). The contract's defaults are filled in on both
 * sides, so a CRM that leaves out `Height` and one that sends `Height=12` look the same.
 * AddSubscriptions and CancelSubscriptions become one line per subscription item, so a CRM that
 * batches items and one that sends them one by one compare equal item for item.
 */

type Fields = [string, unknown][]

function render(operation: string, fields: Fields, status: string): string {
  const parts = [operation]
  for (const [key, value] of fields) {
    if (value === undefined || value === null || (Array.isArray(value) && value.length === 0)) {
      continue
    }
    parts.push(`${key}=${format(value)}`)
  }
  return `${parts.join(' ')} → ${status}`
}

function format(value: unknown): string {
  if (Array.isArray(value)) {
    return value.map((v) => format(v)).join(',')
  }
  if (typeof value === 'string') {
    return /^[\w.:+,-]+$/.test(value) ? value : JSON.stringify(value)
  }
  return String(value)
}

function iso(value: unknown): string | null {
  if (typeof value !== 'string') {
    return null
  }
  const millis = Date.parse(value)
  return Number.isNaN(millis) ? value : new Date(millis).toISOString()
}

/** The SOAP call(s) a command becomes, expected to be answered with `status`. */
export function wireLinesOfCommand(command: ConaxCommand, status: string): string[] {
  switch (command.type) {
    case 'ADD_SUBSCRIPTIONS':
      return [
        render(
          'AddSubscriptions',
          [
            ['card', command.smartcardCaId],
            ['product', command.serviceCaId],
            ['distributor', command.distributor],
            ['start', iso(command.startDate)],
            ['end', iso(command.endDate)],
          ],
          status,
        ),
      ]
    case 'CANCEL_SUBSCRIPTIONS':
      return [
        render(
          'CancelSubscriptions',
          [
            ['card', command.smartcardCaId],
            ['product', command.serviceCaId],
            ['distributor', command.distributor],
          ],
          status,
        ),
      ]
    case 'CREATE_PAIRING':
      return [
        render(
          'CreatePairing',
          [
            ['cards', command.smartcardCaIds],
            ['stbs', command.stbCaIds],
            ['distributor', command.distributor],
          ],
          status,
        ),
      ]
    case 'ADD_TO_EXISTING_PAIRING':
      return [
        render(
          'AddToExistingPairing',
          [
            ['paired', command.pairedSmartcardCaId],
            ['cards', command.smartcardCaIds],
            ['stbs', command.stbCaIds],
          ],
          status,
        ),
      ]
    case 'GET_ACTIVE_SUBSCRIPTIONS':
      return [render('GetActiveSubscriptions', [['card', command.smartcardCaId]], status)]
    case 'GET_PAIRING_STATUS_FOR_CARD':
      return [render('GetPairingStatusForCard', [['card', command.smartcardCaId]], status)]
    case 'GET_PAIRING_STATUS_FOR_PAIRING_MODULE':
      return [render('GetPairingStatusForPairingModule', [['stb', command.stbCaId]], status)]
    case 'SEND_MAIL_MESSAGE_TO_CLIENT':
      return [render('SendMailMessageToClients', messageFields(command), status)]
    case 'SEND_BARK_MESSAGE_TO_CLIENT':
      return [
        render(
          'SendBarkMessageToClients',
          [...messageFields(command), ['duration', command.displayDurationInSeconds]],
          status,
        ),
      ]
    case 'SEND_REPEATING_BARK_MESSAGE_TO_CLIENT':
      return [
        render(
          'SendRepeatingBarkMessageToClients',
          [
            ...messageFields(command),
            ['duration', command.displayDurationInSeconds],
            ['count', command.repetitionCount],
            ['interval', command.repetitionIntervalInSeconds],
          ],
          status,
        ),
      ]
    case 'DISPLAY_FINGERPRINT':
      return [
        render(
          'DisplayFingerprint',
          [
            ['cards', command.smartcardCaIds],
            ['time', iso(command.displayTime)],
            ['duration', command.durationInSeconds],
            ['x', command.positionX],
            ['y', command.positionY],
            ['height', command.height],
            ['slot', command.slot],
          ],
          status,
        ),
      ]
    case 'UPDATE_CA_PIN_TO_DEFAULT_VALUE':
      return [render('UpdateCaPinToDefaultValue', [['card', command.smartcardCaId]], status)]
    case 'UPDATE_CA_PIN_TO_GIVEN_VALUE':
      return [
        render(
          'UpdateCaPinToGivenValue',
          [
            ['card', command.smartcardCaId],
            ['pin', command.pin],
          ],
          status,
        ),
      ]
  }
}

function messageFields(command: {
  readonly smartcardCaIds: readonly string[]
  readonly message: string
  readonly startIndicationTime: string | null
}): Fields {
  return [
    ['cards', command.smartcardCaIds],
    ['message', command.message],
    ['start', iso(command.startIndicationTime)],
  ]
}

function record(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : {}
}

/** A repeated child (`CaClientIds/CaClientId+`) as a list of strings, whatever the reader made of it. */
function list(wrapper: unknown, child: string): string[] {
  const value = record(wrapper)[child]
  if (value === undefined || value === null) {
    return []
  }
  return (Array.isArray(value) ? value : [value]).map((v) => text(v) ?? '')
}

/** A scalar read from XML as text; an element with children (not expected here) as JSON. */
function text(value: unknown): string | null {
  if (value === undefined || value === null) {
    return null
  }
  if (typeof value === 'string') {
    return value
  }
  return typeof value === 'number' || typeof value === 'boolean'
    ? `${value}`
    : JSON.stringify(value)
}

function numberOr(value: unknown, fallback: number | null): number | null {
  if (value === undefined || value === null || value === '') {
    return fallback
  }
  const n = Number(value)
  return Number.isNaN(n) ? fallback : n
}

/**
 * The SOAP call(s) a journal entry records. Entries without an operation (an HTTP 401, a body that
 * was not a SOAP envelope) render as `<service> → <status>` so that they show up in a diff.
 */
export function wireLinesOfJournal(entry: JournalEntryLike): string[] {
  const status = entry.statusCode
  const r = record(entry.request)
  switch (entry.operation) {
    case 'AddSubscriptions':
    case 'CancelSubscriptions': {
      const items = record(r.Subscriptions).Subscription
      const subscriptions = (Array.isArray(items) ? items : items ? [items] : []).map(record)
      if (subscriptions.length === 0) {
        return [render(entry.operation, [], status)]
      }
      return subscriptions.map((s) =>
        render(
          entry.operation as string,
          [
            ['card', text(s.CaClientId)],
            ['product', text(s.ProductId)],
            ['distributor', text(s.Distributor)],
            ...(entry.operation === 'AddSubscriptions'
              ? ([
                  ['start', iso(s.StartDate)],
                  ['end', iso(s.EndDate)],
                ] as Fields)
              : []),
          ],
          status,
        ),
      )
    }
    case 'CreatePairing':
      return [
        render(
          'CreatePairing',
          [
            ['cards', list(r.CaClientIds, 'CaClientId')],
            ['stbs', list(r.PairingModuleIds, 'PairingModuleId')],
            ['distributor', text(r.Distributor)],
          ],
          status,
        ),
      ]
    case 'AddToExistingPairing':
      return [
        render(
          'AddToExistingPairing',
          [
            ['paired', text(r.PairedCaClientId)],
            ['cards', list(r.CaClientIds, 'CaClientId')],
            ['stbs', list(r.PairingModuleIds, 'PairingModuleId')],
          ],
          status,
        ),
      ]
    case 'GetActiveSubscriptions':
    case 'GetPairingStatusForCard':
    case 'UpdateCaPinToDefaultValue':
      return [render(entry.operation, [['card', text(r.CaClientId)]], status)]
    case 'GetPairingStatusForPairingModule':
      return [render(entry.operation, [['stb', text(r.PairingModuleId)]], status)]
    case 'UpdateCaPinToGivenValue':
      return [
        render(
          entry.operation,
          [
            ['card', text(r.CaClientId)],
            ['pin', text(r.Pin)],
          ],
          status,
        ),
      ]
    case 'SendMailMessageToClients':
    case 'SendBarkMessageToClients':
    case 'SendRepeatingBarkMessageToClients':
      return [render(entry.operation, journalMessageFields(entry.operation, r), status)]
    case 'DisplayFingerprint':
      return [
        render(
          'DisplayFingerprint',
          [
            ['cards', list(r.CaClientIds, 'CaClientId')],
            ['time', iso(r.DisplayTime)],
            ['duration', numberOr(r.DurationInSeconds, 10)],
            ['x', numberOr(r.PositionX, null)],
            ['y', numberOr(r.PositionY, null)],
            ['height', numberOr(r.Height, 12)],
            ['slot', text(r.Slot) ?? 'A'],
          ],
          status,
        ),
      ]
    case null:
    default:
      return [render(entry.operation ?? `(${entry.service})`, [], status)]
  }
}

function journalMessageFields(operation: string, r: Record<string, unknown>): Fields {
  const fields: Fields = [
    ['cards', list(r.CaClientIds, 'CaClientId')],
    ['message', text(r.Message)],
    ['start', iso(r.StartIndicationTime)],
  ]
  if (operation !== 'SendMailMessageToClients') {
    fields.push(['duration', numberOr(r.DisplayDurationInSeconds, 20)])
  }
  if (operation === 'SendRepeatingBarkMessageToClients') {
    fields.push(['count', numberOr(r.RepetitionCount, null)])
    fields.push(['interval', numberOr(r.RepetitionIntervalInSeconds, null)])
  }
  return fields
}

/** Smartcard and STB CA IDs a journal entry mentions (to pick a scenario's calls out of a shared journal). */
export function devicesOfJournal(entry: JournalEntryLike): string[] {
  const found: string[] = []
  const walk = (value: unknown, key: string): void => {
    if (Array.isArray(value)) {
      value.forEach((v) => walk(v, key))
    } else if (typeof value === 'object' && value !== null) {
      for (const [k, v] of Object.entries(value)) {
        walk(v, k)
      }
    } else if (
      (key === 'CaClientId' || key === 'PairedCaClientId' || key === 'PairingModuleId') &&
      value !== undefined &&
      value !== null
    ) {
      found.push(text(value) ?? '')
    }
  }
  walk(entry.request, '')
  return found
}

/** The StatusCode a CA answers an expectation with (a PENDING request was never answered OK). */
export function statusOf(expectation: {
  readonly state: string
  readonly errorCode: string | null
}): string {
  if (expectation.state === 'REJECTED') {
    return expectation.errorCode ?? 'REJECTED'
  }
  return expectation.state === 'PENDING' ? 'PENDING' : 'OK'
}

const DEVICE_FIELD = /(?:^| )(?:card|cards|paired|stb|stbs)=([\d,]+)/g

/** The smartcard and STB CA IDs a SOAP-call line names. */
function devicesOfLine(line: string): string[] {
  return [...line.matchAll(DEVICE_FIELD)].flatMap((match) => (match[1] ?? '').split(','))
}

function perDevice(lines: readonly string[]): Map<string, string[]> {
  const byDevice = new Map<string, string[]>()
  for (const line of lines) {
    for (const device of devicesOfLine(line)) {
      byDevice.set(device, [...(byDevice.get(device) ?? []), line])
    }
  }
  return byDevice
}

/**
 * Whether the SOAP calls a CA received agree with the expected ones. Calls for different devices
 * may arrive in any order (a CRM keeps order per smartcard, as CRM.COM's delivery does, and sends
 * different cards in parallel), so `ordered` means: the same calls, and for each smartcard and STB
 * its own calls in the expected order. Returns the diff to show, or null when they agree.
 */
export function compareCalls(
  expected: readonly string[],
  actual: readonly string[],
  ordered: boolean,
): SequenceDiff | null {
  const unordered = diffSequences(expected, actual, false)
  if (sequenceFailed(unordered)) {
    return diffSequences(expected, actual, ordered)
  }
  if (!ordered) {
    return null
  }
  const want = perDevice(expected)
  const got = perDevice(actual)
  for (const [device, lines] of want) {
    if (JSON.stringify(lines) !== JSON.stringify(got.get(device) ?? [])) {
      return diffSequences(expected, actual, true)
    }
  }
  return null
}
