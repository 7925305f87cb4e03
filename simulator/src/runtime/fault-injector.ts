import { z } from 'zod'
import { checkWith, type Checked } from '../../../common/zod-issues.js'
import { SERVICE_NAMES, type ServiceName } from '../contract/namespaces.js'
import { OPERATION_NAMES, type OperationName } from '../operations/operation-table.js'

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

/** A fault rule as the admin API takes it (`POST /admin/faults`); defaults fill the rest. */
export type FaultRuleInput = Partial<Omit<FaultRule, 'id' | 'remaining' | 'delayMs'>> & {
  readonly kind: FaultKind
  /** Calls to hit (default 1); null: every call until the rule is removed. */
  readonly times?: number | null
  /** How long a DELAY waits (default 1000 ms, also when null). */
  readonly delayMs?: number | null
}

const RULE_FIELDS = ['kind', 'service', 'operation', 'times', 'httpStatus', 'delayMs', 'message']

const between = (min: number, max: number) => {
  const error = `must be an integer from ${min} to ${max}`
  return z.number({ error }).int({ error }).min(min, { error }).max(max, { error })
}

/** A fault rule as the admin API reads it (`POST /admin/faults`). */
export const faultRuleSchema = z.strictObject(
  {
    kind: z.enum(FAULT_KINDS, { error: `must be one of ${FAULT_KINDS.join(', ')}` }),
    service: z
      .enum(SERVICE_NAMES, { error: `must be one of ${SERVICE_NAMES.join(', ')}` })
      .nullable()
      .exactOptional(),
    operation: z
      .enum(OPERATION_NAMES, {
        error: `must be one of the ${OPERATION_NAMES.length} contract operations`,
      })
      .nullable()
      .exactOptional(),
    times: between(1, 1_000_000).nullable().exactOptional(),
    httpStatus: between(400, 599).exactOptional(),
    delayMs: between(1, 600_000).nullable().exactOptional(),
    message: z.string({ error: 'must be a string' }).exactOptional(),
  },
  {
    error: (issue) =>
      issue.code === 'unrecognized_keys'
        ? `has unknown field(s) ${issue.keys.join(', ')}; a rule may have ${RULE_FIELDS.join(', ')}`
        : issue.code === 'invalid_type'
          ? 'must be a JSON object'
          : undefined,
  },
) satisfies z.ZodType<FaultRuleInput>

/** Reads a fault rule sent to the admin API: the rule, or its first problem naming the field. */
export function parseFaultRule(input: unknown): Checked<FaultRuleInput> {
  return checkWith(faultRuleSchema, input, { root: 'it' })
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
