import type { ServiceName } from '../contract/namespaces.js'
import type {
  ElementSpec,
  OperationSpec,
  Read,
  ReadObject,
  Write,
  WriteObject,
} from '../contract/schema.js'
import type { CaState } from '../model/ca-state.js'
import type { OperationContext, Outcome, StatusCode } from '../model/types.js'

/** What an operation answers: the status block's code and message, and the payload after it. */
export interface OperationResult<Payload = WriteObject> {
  readonly statusCode: StatusCode
  readonly message: string
  readonly payload: Payload
}

/**
 * One contract operation, as its concept module writes it down: the name and service, whether
 * it writes, the children of `<OpRequest>` and of `<OpResponse>` (after `TransactionStatus`), the
 * handler that runs it on the CA state with the arguments typed from `request` and answers a
 * payload typed from `response`, and one valid request as an example.
 */
export interface OperationDefinition<
  Name extends string,
  Request extends readonly ElementSpec[],
  Response extends readonly ElementSpec[],
> {
  readonly name: Name
  readonly service: ServiceName
  /** Writes change CA state and take part in SequenceNumber replay detection; the rest only read. */
  readonly write: boolean
  readonly request: Request
  /** All optional, so that an error answer can leave them out. */
  readonly response: Response
  readonly handle: (
    state: CaState,
    ctx: OperationContext,
    args: NoInfer<Read<Request>>,
  ) => OperationResult<NoInfer<Write<Response>>>
  /**
   * A request answered OK by a simulator that holds test-support's TEST_INVENTORY (card
   * 01450253313 and its neighbours, STBs 1000000001-3, products GFA1, EFA2...) with card
   * 01450253313 paired to STB 1000000001 (operation-table.test.ts checks it): documentation,
   * and the sample the generated hostile requests start from.
   */
  readonly example: NoInfer<Read<Request>>
}

/** An operation of the table: its contract shape, its handler and its example, for any operation. */
export interface Operation<Name extends string = string> extends OperationSpec<Name> {
  /** Runs the operation on a request the reader read against {@link OperationSpec.request}. */
  readonly handle: (state: CaState, ctx: OperationContext, request: ReadObject) => OperationResult
  readonly example: ReadObject
}

/** Declares an operation; its handler's arguments and answer are typed from its own schema. */
export function defineOperation<
  const Name extends string,
  const Request extends readonly ElementSpec[],
  const Response extends readonly ElementSpec[],
>(definition: OperationDefinition<Name, Request, Response>): Operation<Name> {
  const { handle, example, ...spec } = definition
  // The one place where the schema meets the types derived from it. Dispatch hands a handler
  // only what the reader read against this operation's own `request`, which Read<Request>
  // describes (as it describes the example); the writer writes the payload by `response`, which
  // Write<Response> describes.
  return {
    ...spec,
    handle: (state, ctx, request) =>
      handle(state, ctx, request as Read<Request>) as OperationResult,
    example: example as ReadObject,
  }
}

/** The answer to a model outcome: OK with the message and the payload made from its value, or its error. */
export function answer<T, Payload>(
  outcome: Outcome<T>,
  payload: (value: T) => Payload,
): OperationResult<Payload | NoPayload> {
  return outcome.ok
    ? { statusCode: 'OK', message: outcome.message, payload: payload(outcome.value) }
    : { statusCode: outcome.code, message: outcome.message, payload: NO_PAYLOAD }
}

/** The payload of an answer that has none besides its status block. */
export type NoPayload = Readonly<Record<string, never>>
export const NO_PAYLOAD: NoPayload = Object.freeze({})

/** No payload on OK either: the status block says it all (every write). */
export const statusOnly = (): NoPayload => NO_PAYLOAD
