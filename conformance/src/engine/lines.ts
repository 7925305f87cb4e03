import type { ConaxCommand, ProvisioningRequest } from '../../../src/index.js'
import type { ExpectedRequest } from '../scenario/schema.js'
import { commandFields } from './wire-types.js'

/**
 * One-line renderings of provisioning requests (CRM.COM's type and parameters_set, with the final
 * life cycle state), so that an expected and an actual sequence can be compared and shown side by
 * side. SOAP calls have their own rendering in wire.ts.
 */

/** What an expected request says besides its command. */
export interface RequestExpectation {
  readonly command: ConaxCommand
  readonly state: 'COMPLETED' | 'REJECTED' | 'PENDING'
  readonly processName: string | null
  readonly errorCode: string | null
  readonly result: unknown
  /** Delivery attempts and the class of the last failure, checked when given. */
  readonly attempts: number | null
  readonly errorClass: 'RETRY' | 'REJECT' | null
}

const PARAMETER_ORDER: readonly string[] = [
  'smartcardCaId',
  'pairedSmartcardCaId',
  'smartcardCaIds',
  'stbCaId',
  'stbCaIds',
  'serviceCaId',
  'pin',
  'message',
  'startIndicationTime',
  'displayDurationInSeconds',
  'repetitionCount',
  'repetitionIntervalInSeconds',
  'displayTime',
  'durationInSeconds',
  'positionX',
  'positionY',
  'height',
  'slot',
  'startDate',
  'endDate',
  'distributor',
  'communicationQueueNumber',
]

const EXPECTATION_KEYS = new Set([
  'type',
  'state',
  'processName',
  'errorCode',
  'result',
  'attempts',
  'errorClass',
])
const DATE_KEYS = new Set(['startIndicationTime', 'displayTime', 'startDate', 'endDate'])

/** The command an expected request names, with the seed's defaults filled in. */
export function expectationOf(expected: ExpectedRequest): RequestExpectation {
  const fields: Record<string, unknown> = { type: expected.type, distributor: null }
  for (const [key, value] of Object.entries(expected)) {
    if (!EXPECTATION_KEYS.has(key) && value !== undefined) {
      fields[key] = DATE_KEYS.has(key) && typeof value === 'string' ? isoOf(value) : value
    }
  }
  if (expected.type.startsWith('SEND_')) {
    fields.startIndicationTime ??= null
  }
  if (expected.type === 'DISPLAY_FINGERPRINT') {
    fields.displayTime ??= null
    fields.positionX ??= null
    fields.positionY ??= null
  }
  return {
    command: fields as unknown as ConaxCommand,
    state: expected.state ?? 'COMPLETED',
    processName: expected.processName ?? null,
    errorCode: expected.errorCode ?? null,
    result: expected.result,
    attempts: expected.attempts ?? null,
    errorClass: expected.errorClass ?? null,
  }
}

function isoOf(value: string): string {
  const millis = Date.parse(value)
  return Number.isNaN(millis) ? value : new Date(millis).toISOString()
}

function formatValue(value: unknown): string {
  if (Array.isArray(value)) {
    return value.map((v) => formatValue(v)).join(',')
  }
  if (typeof value === 'string') {
    return /^[\w.:+,-]+$/.test(value) ? value : JSON.stringify(value)
  }
  return String(value)
}

/** `ADD_SUBSCRIPTIONS smartcardCaId=01450250001 serviceCaId=GFA1 distributor=Main`. */
export function commandLine(command: ConaxCommand): string {
  const fields = commandFields(command)
  const parts: string[] = [command.type]
  for (const key of PARAMETER_ORDER) {
    const value = fields[key]
    if (value !== undefined && value !== null) {
      parts.push(
        `${key}=${formatValue(DATE_KEYS.has(key) && typeof value === 'string' ? isoOf(value) : value)}`,
      )
    }
  }
  return parts.join(' ')
}

/** An expected request's line: command and final state (with the error code of a rejection). */
export function expectedLine(expected: RequestExpectation): string {
  return withState(commandLine(expected.command), expected.state, expected.errorCode)
}

/** An actual provisioning request's line, shown the same way as the expectation. */
export function actualLine(request: ProvisioningRequest): string {
  return withState(commandLine(request.command), request.lifeCycleState, request.errorCode)
}

function withState(line: string, state: string, errorCode: string | null): string {
  return `${line} → ${state}${state === 'REJECTED' && errorCode ? ` (${errorCode})` : ''}`
}
