import type { ServiceName } from '../contract/namespaces.js'
import type { OperationSpec as ContractOperation } from '../contract/schema.js'
import type { Operation } from './define-operation.js'
import { MESSAGE_OPERATIONS } from './messages.operations.js'
import { PAIRING_OPERATIONS } from './pairings.operations.js'
import { PIN_OPERATIONS } from './pin.operations.js'
import { SUBSCRIPTION_OPERATIONS } from './subscriptions.operations.js'

/**
 * The operation table: every contract operation, in the order of the contract's table, each
 * defined once in the module of its concept. It drives the request reader (each operation's
 * `request`), dispatch (`handle`), the journal (`name`, `service`, `write`) and the WSDLs.
 */
const TABLE = [
  ...SUBSCRIPTION_OPERATIONS,
  ...PAIRING_OPERATIONS,
  ...MESSAGE_OPERATIONS,
  ...PIN_OPERATIONS,
] as const

/** The name of a contract operation. */
export type OperationName = (typeof TABLE)[number]['name']

/** The contract shape of an operation (what the WSDL declares). */
export type OperationSpec = ContractOperation<OperationName>

/** The contract operations by name, with their handlers. */
export const OPERATION_BY_NAME: ReadonlyMap<OperationName, Operation<OperationName>> = new Map(
  TABLE.map((op) => [op.name, op]),
)

/** The contract operations (shapes only), in contract order. */
export const OPERATIONS: readonly OperationSpec[] = TABLE.map(
  ({ name, service, write, request, response }) => ({ name, service, write, request, response }),
)

/** The names of the contract operations, in contract order. */
export const OPERATION_NAMES: readonly OperationName[] = TABLE.map((op) => op.name)

/** The operations a service endpoint serves, in contract order. */
export function operationsOf(service: ServiceName): readonly OperationSpec[] {
  return OPERATIONS.filter((op) => op.service === service)
}

const NAMES: ReadonlySet<string> = new Set(OPERATION_NAMES)

/** True when `name` is one of the contract operations. */
export function isOperationName(name: string): name is OperationName {
  return NAMES.has(name)
}

/** The operation of a body element name, if it is one. */
export function operationNamed(name: string): Operation<OperationName> | undefined {
  return isOperationName(name) ? OPERATION_BY_NAME.get(name) : undefined
}
