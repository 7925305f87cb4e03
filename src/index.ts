/**
 * The provisioning adapter's public surface: start one, apply CRM actions, read requests.
 * @module
 */
export { startAdapter } from './create-adapter.js'
export type { Adapter, AdapterOptions } from './create-adapter.js'
export { DEFAULT_LIMITS } from './api/limits.js'
export type { AdapterLimits } from './api/limits.js'
export { HTTP_DEFAULTS } from '../common/http-server.js'
export type { ConnectionStats, HttpServerSettings } from '../common/http-server.js'
export { ProvisioningService } from './application/provisioning-service.js'
export type { ProvisioningOutcome, SendOptions } from './application/provisioning-service.js'
export { UtilityService } from './application/utility-service.js'
export type { UtilityOutcome } from './application/utility-service.js'
export { Dispatcher } from './application/dispatcher.js'
export type { PassReport } from './application/dispatcher.js'
export { AdapterError } from './application/adapter-error.js'
export type { AdapterErrorCode } from './application/adapter-error.js'
export type { CaGateway, Clock, DeliveryOutcome, ProvisioningStore } from './application/ports.js'
export { loadProvider, parseProvider } from './config/load-provider.js'
export { ConfigError } from './config/config-error.js'
export { planAction, LIFE_CYCLE_ACTIONS, PLAN_ERROR_CODES } from './domain/planner.js'
export type { CrmAction, CrmActionName, ItemInput, Plan, PlanRejection } from './domain/planner.js'
export { planUtility, UTILITY_NAMES, MESSAGE_TYPES } from './domain/utilities.js'
export type {
  UtilityErrorCode,
  UtilityName,
  UtilityPlan,
  UtilityRejection,
  UtilityRequest,
} from './domain/utilities.js'
export { expectedCaState, diffCaState } from './domain/expected-ca-state.js'
export { REQUEST_TYPES, cardsOf } from './domain/commands.js'
export type { ConaxCommand, RequestType } from './domain/commands.js'
export { parametersSet } from './domain/provisioning-request.js'
export type {
  LifeCycleState,
  Priority,
  ProcessName,
  ProvisioningRequest,
} from './domain/provisioning-request.js'
export { SUBSCRIPTION_STATES } from './domain/crm.js'
export type { ProvisioningProvider, Subscription } from './domain/crm.js'
export { createConaxClient } from './infrastructure/conax/conax-client.js'
export { MemoryProvisioningStore } from './infrastructure/store/memory-provisioning-store.js'
export { FileProvisioningStore } from './infrastructure/store/file-provisioning-store.js'
export type { FileStoreOptions } from './infrastructure/store/file-provisioning-store.js'
export type { FsyncMode } from './infrastructure/store/durable-files.js'
export { requestJson } from './api/adapter-app.js'
export { crmActionSchema, utilityRequestSchema } from './api/schemas.js'
export { RunService } from './application/runs/run-service.js'
export type {
  OutOfSync,
  ResetPreview,
  RunPreview,
  RunServiceOptions,
  RunStatus,
  SendPreview,
} from './application/runs/run-service.js'
export type {
  CaReader,
  Communication,
  CommunicationInput,
  RunCounts,
  RunExecution,
  RunStore,
} from './application/runs/run-ports.js'
export { RUN_KINDS, RUN_PROCESS_NAMES, planReset } from './domain/runs.js'
export type {
  ObservedCard,
  RunDefinition,
  RunDefinitionInput,
  RunKind,
  SubscriptionCriteria,
} from './domain/runs.js'
export { MemoryRunStore } from './infrastructure/runs/memory-run-store.js'
export { LowdbRunStore } from './infrastructure/runs/lowdb-run-store.js'
export {
  CA_READ_ERROR_CODES,
  CaReadError,
  createFastCaReader,
} from './infrastructure/conax/fast-reader.js'
export type { CaReadErrorCode, ReadOperation } from './infrastructure/conax/fast-reader.js'
export { gatewayCaReader } from './infrastructure/conax/gateway-reader.js'
export { communicationsSchema, runDefinitionSchema } from './api/schemas.js'
