import type { Logger } from 'pino'
import type { ReadObject } from '../contract/schema.js'
import type { CaState } from '../model/ca-state.js'
import type { ErrorCode } from '../model/types.js'
import type { Operation as AnyOperation, OperationResult } from '../operations/define-operation.js'
import type { OperationName } from '../operations/operation-table.js'
import type { FaultInjector, FaultRule } from '../runtime/fault-injector.js'
import type { Journal } from '../runtime/journal.js'
import { ReplayCache, type ReplayRecord } from '../runtime/replay-cache.js'
import {
  faultAnswer,
  resetAnswer,
  statusAnswer,
  statusOnlyAnswer,
  textAnswer,
  type Answer,
  type Call,
} from './answers.js'
import { boundedAnswer, recordCall } from './call-journal.js'

/**
 * Running an operation that was read: the profile's switched-off operations, injected faults,
 * SequenceNumber replays and reuses, the operation's handler on the CA state, and storing a
 * write before it is answered (a write that cannot be stored is undone and answered
 * SYSTEM_ERROR).
 */

/** What dispatch needs from the simulator around it. */
export interface DispatchDeps {
  readonly state: CaState
  readonly journal: Journal
  readonly replays: ReplayCache
  readonly faults: FaultInjector
  readonly disabledOperations: ReadonlySet<string>
  readonly newTransactionId: () => string
  /**
   * Resolves once the state changed by a write is stored. Rejects when storing failed: the change
   * has then been undone, with `onRollback` undoing what dispatch itself recorded for it.
   */
  readonly persist: (onRollback?: () => void) => Promise<void>
  /** True once the simulator is closing: operations are refused. */
  readonly closing: () => boolean
  /** Waits `ms`, or less when the simulator starts closing. */
  readonly sleep: (ms: number) => Promise<void>
  readonly logger: Logger
}

/** Runs one call of `operation` with its read `request`; resolves with the answer to send. */
export type Dispatch = (call: Call, operation: Operation, request: ReadObject) => Promise<Answer>

type Operation = AnyOperation<OperationName>

const SHUTTING_DOWN = {
  statusCode: 'SYSTEM_ERROR',
  message: 'The simulator is shutting down; nothing was changed. Retry against the next instance.',
} as const

/** The dispatcher of a simulator. */
export function createDispatch(deps: DispatchDeps): Dispatch {
  /** The answer an injected fault gives instead of running the call; null: run it (after a DELAY, or to drop its answer). */
  async function injected(call: Call, op: Operation, rule: FaultRule): Promise<Answer | null> {
    switch (rule.kind) {
      case 'DELAY':
        await deps.sleep(rule.delayMs)
        return null
      case 'SYSTEM_ERROR':
        return statusOnlyAnswer(
          call,
          op,
          { statusCode: 'SYSTEM_ERROR', message: rule.message },
          deps.newTransactionId(),
        )
      case 'SOAP_FAULT':
        return faultAnswer(call, 'Server', rule.message)
      case 'HTTP_STATUS':
        return textAnswer(rule.httpStatus, rule.message, rule.message)
      case 'RESET':
        return resetAnswer(rule.message)
      case 'RESET_AFTER_APPLY':
        // Applied first: dispatch drops the answer afterwards.
        return null
    }
  }

  /**
   * Runs the operation (or answers a replay or a reused SequenceNumber), storing a write before
   * answering. `dropNote`: the answer will be dropped (fault RESET_AFTER_APPLY), which its journal
   * entry says from the start: a stored entry is never changed afterwards.
   */
  async function apply(
    call: Call,
    op: Operation,
    request: ReadObject,
    dropNote: string | null,
  ): Promise<Answer> {
    if (deps.closing()) {
      return statusOnlyAnswer(call, op, SHUTTING_DOWN, deps.newTransactionId())
    }
    const identity =
      op.write && call.user ? ReplayCache.identify(call.user, op.name, request) : null
    const earlier = identity ? deps.replays.lookup(identity.key) : undefined
    if (earlier && earlier.hash === identity?.hash) {
      const replay = statusOnlyAnswer(
        call,
        op,
        { statusCode: 'OK', message: earlier.message },
        earlier.transactionId,
      )
      // The first answer may still be on its way to the store: a replay is acknowledged no sooner.
      return storeThenAnswer(call, op, { ...replay, replay: true }, { dropNote })
    }
    const reused = deps.state.rules.reusedSequenceNumber
    if (earlier && reused !== 'apply') {
      return statusAnswer(
        call,
        op,
        reusedSequenceNumber(op, request, earlier, reused),
        deps.newTransactionId(),
      )
    }
    const transactionId = deps.newTransactionId()
    const result = run(call, op, request, transactionId)
    const answer = statusAnswer(call, op, result, transactionId)
    if (!op.write || result.statusCode !== 'OK') {
      return answer
    }
    let onRollback: (() => void) | undefined
    if (identity) {
      const remembered = { ...identity, transactionId, message: result.message }
      const replaced = deps.replays.remember(remembered)
      // A write undone because it could not be stored is no replay target: a retry applies it.
      onRollback = () => deps.replays.forget(remembered, replaced)
    }
    return storeThenAnswer(call, op, answer, { dropNote, onRollback })
  }

  /** The operation's handler on the CA state; a throw is undone and answered SYSTEM_ERROR. */
  function run(
    call: Call,
    op: Operation,
    request: ReadObject,
    transactionId: string,
  ): OperationResult {
    const position = deps.state.undoPosition()
    try {
      return op.handle(deps.state, { user: call.user ?? '', now: call.at, transactionId }, request)
    } catch (error) {
      // With a durable store the model recorded what the operation touched before it threw.
      deps.state.rollback(position)
      deps.logger.error({ err: error, operation: op.name }, 'operation failed')
      const message = `Internal simulator error in ${op.name}: ${error instanceof Error ? error.message : String(error)}`
      return { statusCode: 'SYSTEM_ERROR', message, payload: {} }
    }
  }

  /**
   * Journals a write, stores state and journal together, then answers. A failed store undoes the
   * change (and every other change not yet stored) and answers SYSTEM_ERROR.
   */
  async function storeThenAnswer(
    call: Call,
    op: Operation,
    answer: Answer,
    after: { readonly dropNote: string | null; readonly onRollback?: (() => void) | undefined },
  ): Promise<Answer> {
    const { dropNote, onRollback } = after
    const entry = recordCall(deps.journal, deps.logger, call, {
      ...answer,
      message: withNote(answer.message, dropNote),
    })
    try {
      await deps.persist(onRollback)
      return { ...answer, journalled: entry }
    } catch (error) {
      const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error
      const message = `The write was not applied: the simulator could not store it (${cause instanceof Error ? cause.message : String(cause)}), so nothing was changed. Check the simulator's --data file and disk, then send the write again.`
      // Not yet durable: the store write carrying it failed, so the entry can still change.
      const transactionId = answer.transactionId ?? deps.newTransactionId()
      const failed = statusOnlyAnswer(
        call,
        op,
        { statusCode: 'SYSTEM_ERROR', message },
        transactionId,
      )
      deps.journal.amend(
        entry.seq,
        {
          statusCode: 'SYSTEM_ERROR',
          message: dropNote === null ? message : `${message} ${dropNote}`,
        },
        boundedAnswer(failed.body),
      )
      return { ...failed, journalled: entry }
    }
  }

  return async (call, op, request) => {
    if (deps.disabledOperations.has(op.name)) {
      const message = `${op.name} is switched off in this simulator's profile.`
      return statusOnlyAnswer(
        call,
        op,
        { statusCode: 'FEATURE_NOT_AVAILABLE', message },
        deps.newTransactionId(),
      )
    }
    const rule = deps.faults.take(call.service, op.name)
    if (rule) {
      const answer = await injected(call, op, rule)
      if (answer) {
        return answer
      }
    }
    const dropNote =
      rule?.kind === 'RESET_AFTER_APPLY'
        ? `The answer was dropped: ${rule.message} (fault RESET_AFTER_APPLY).`
        : null
    const answer = await apply(call, op, request, dropNote)
    if (dropNote === null) {
      return answer
    }
    return { ...answer, message: withNote(answer.message, dropNote), dropAnswer: true }
  }
}

/** A message with the note of a dropped answer after it. */
function withNote(message: string | null, note: string | null): string | null {
  return note === null ? message : `${message ?? ''} ${note}`
}

/**
 * The answer to a write that reuses the SequenceNumber of an earlier, different write: applying
 * it would make a later replay of either one ambiguous, so it is refused and nothing changes.
 */
function reusedSequenceNumber(
  op: Operation,
  request: ReadObject,
  earlier: ReplayRecord,
  statusCode: ErrorCode,
): OperationResult {
  return {
    statusCode,
    message: `SequenceNumber ${Number(request.SequenceNumber)} of ${op.name} was already used by an earlier write with another payload (TransactionId ${earlier.transactionId}); nothing was changed. Send this write with a new SequenceNumber.`,
    payload: {},
  }
}
