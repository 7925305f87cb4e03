import { isOperationName, type OperationName } from '../contract/schema.js'
import { SERVICE_NAMES, type ServiceName } from '../contract/namespaces.js'

/**
 * Injected failures, for testing how a CRM copes with an unreliable CA:
 * - `SYSTEM_ERROR`: a normal answer with StatusCode SYSTEM_ERROR, nothing applied;
 * - `SOAP_FAULT`: HTTP 500 with a `soap:Server` fault, nothing applied;
 * - `HTTP_STATUS`: a bare HTTP status (e.g. 503) with a text body, nothing applied;
 * - `RESET`: the connection is destroyed without an answer, nothing applied;
 * - `DELAY`: the call waits `delayMs` and then proceeds normally (use it to provoke client timeouts);
 * - `RESET_AFTER_APPLY`: the call is applied and stored as usual, then the connection is destroyed
 *   instead of answering: the client cannot know the write went through, and its retry (same
 *   SequenceNumber and payload) must be answered as a replay, not applied twice.
 */
export const FAULT_KINDS = [
  'SYSTEM_ERROR',
  'SOAP_FAULT',
  'HTTP_STATUS',
  'RESET',
  'DELAY',
  'RESET_AFTER_APPLY',
] as const
export type FaultKind = (typeof FAULT_KINDS)[number]

export interface FaultRule {
  readonly id: number
  readonly kind: FaultKind
  readonly service: ServiceName | null
  readonly operation: OperationName | null
  /** Calls still to hit; null means every call until the rule is removed. */
  remaining: number | null
  readonly httpStatus: number
  readonly delayMs: number
  readonly message: string
}

export type FaultRuleInput = Partial<Omit<FaultRule, 'id' | 'remaining'>> & {
  readonly kind: FaultKind
  readonly times?: number | null
}

const RULE_FIELDS = ['kind', 'service', 'operation', 'times', 'httpStatus', 'delayMs', 'message']

/** Checks a fault rule from the admin API; returns the problem or null. */
export function checkFaultRule(input: unknown): string | null {
  if (typeof input !== 'object' || input === null) {
    return 'a fault rule must be a JSON object'
  }
  const rule = input as Record<string, unknown>
  const unknown = Object.keys(rule).filter((key) => !RULE_FIELDS.includes(key))
  if (unknown.length > 0) {
    return `unknown field(s) ${unknown.join(', ')}; a rule may have ${RULE_FIELDS.join(', ')}`
  }
  if (rule.message !== undefined && typeof rule.message !== 'string') {
    return 'message must be a string'
  }
  if (!FAULT_KINDS.includes(rule.kind as FaultKind)) {
    return `kind must be one of ${FAULT_KINDS.join(', ')}`
  }
  if (
    rule.service !== undefined &&
    rule.service !== null &&
    !SERVICE_NAMES.includes(rule.service as ServiceName)
  ) {
    return `service must be one of ${SERVICE_NAMES.join(', ')}`
  }
  if (
    rule.operation !== undefined &&
    rule.operation !== null &&
    !(typeof rule.operation === 'string' && isOperationName(rule.operation))
  ) {
    return 'operation must be one of the 13 contract operations'
  }
  const positiveInt = (name: string, max: number): string | null => {
    const value = rule[name]
    return value === undefined ||
      value === null ||
      (Number.isInteger(value) && (value as number) >= 1 && (value as number) <= max)
      ? null
      : `${name} must be an integer from 1 to ${max}`
  }
  return (
    positiveInt('times', 1_000_000) ??
    positiveInt('delayMs', 600_000) ??
    (rule.httpStatus !== undefined &&
    !(
      Number.isInteger(rule.httpStatus) &&
      (rule.httpStatus as number) >= 400 &&
      (rule.httpStatus as number) <= 599
    )
      ? 'httpStatus must be an integer from 400 to 599'
      : null)
  )
}

/** The active fault rules; the first matching rule with calls remaining fires. */
export class FaultInjector {
  private rules: FaultRule[] = []
  private nextId = 1

  add(input: FaultRuleInput): FaultRule {
    const rule: FaultRule = {
      id: this.nextId++,
      kind: input.kind,
      service: input.service ?? null,
      operation: input.operation ?? null,
      remaining: input.times === undefined ? 1 : input.times,
      httpStatus: input.httpStatus ?? 503,
      delayMs: input.delayMs ?? 1000,
      message: input.message ?? `Injected ${input.kind}`,
    }
    this.rules.push(rule)
    return rule
  }

  list(): readonly FaultRule[] {
    return this.rules
  }

  remove(id: number): boolean {
    const before = this.rules.length
    this.rules = this.rules.filter((rule) => rule.id !== id)
    return this.rules.length !== before
  }

  clear(): void {
    this.rules = []
  }

  /** The rule that fires for this call, consuming one of its remaining calls; undefined if none. */
  take(service: ServiceName, operation: OperationName): FaultRule | undefined {
    if (this.rules.length === 0) {
      return undefined
    }
    const rule = this.rules.find(
      (r) =>
        (r.service === null || r.service === service) &&
        (r.operation === null || r.operation === operation),
    )
    if (rule && rule.remaining !== null) {
      rule.remaining--
      if (rule.remaining <= 0) {
        this.remove(rule.id)
      }
    }
    return rule
  }
}
