/**
 * The Conax Contego simulator's public surface: start one in-process, read its model and journal,
 * and reuse the contract description (operations, namespaces, WSDL).
 * @module
 */
export { SIMULATOR_HTTP_DEFAULTS, startSimulator } from './create-simulator.js'
export type { ConnectionStats, HttpServerSettings } from '../../common/http-server.js'
export type { Simulator, SimulatorOptions, LogLevel, TlsOptions } from './create-simulator.js'
export {
  COMMON_TYPES_NS,
  SERVICE_BASE_PATH,
  SERVICE_NAMES,
  SOAP11_ENV,
  SOAP12_ENV,
  serviceNamespace,
} from './contract/namespaces.js'
export type { ServiceName, SoapVersion } from './contract/namespaces.js'
export { OPERATIONS, OPERATION_NAMES, operationsOf } from './operations/operation-table.js'
export type { OperationName, OperationSpec } from './operations/operation-table.js'
export { wsdlNames } from './contract/wsdl.js'
export { generateWsdl } from './operations/served-wsdl.js'
export { CaModel } from './model/ca-model.js'
export type { ModelSnapshot } from './model/ca-state.js'
export type { CardView, InventoryInput } from './model/inventory.js'
export type { PairingStatus } from './model/pairings.js'
export { DEFAULT_RULES, STATUS_CODES } from './model/types.js'
export type { ModelRules, StatusCode } from './model/types.js'
export {
  DEFAULT_INVENTORY_SEED,
  fixtureInventory,
  generateInventory,
  loadCatalogue,
} from './fixtures/inventory.js'
export { FAULT_KINDS } from './runtime/fault-injector.js'
export type { FaultKind, FaultRule, FaultRuleInput } from './runtime/fault-injector.js'
export type { JournalEntry, JournalQuery } from './runtime/journal.js'
export { SimulatorError } from './runtime/simulator-error.js'
export type { SimulatorErrorCode } from './runtime/simulator-error.js'
export { LowdbFileStore, MemoryStore } from './store/simulator-store.js'
export type {
  LowdbFileStoreOptions,
  SimulatorSnapshot,
  SimulatorStore,
} from './store/simulator-store.js'
