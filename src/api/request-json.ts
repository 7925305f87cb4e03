import { parametersSet, type ProvisioningRequest } from '../domain/provisioning-request.js'

/** A request as CRM.COM's API shows it (snake_case, docs/domain.md §2.6). */
export function requestJson(request: ProvisioningRequest): Record<string, unknown> {
  return {
    id: request.id,
    number: request.number,
    type: request.type,
    sequence_number: request.sequenceNumber,
    scheduled_date: request.scheduledDate,
    executed_date: request.executedDate,
    priority: request.priority,
    process_immediately: request.processImmediately,
    life_cycle_state: request.lifeCycleState,
    request: request.request,
    response: request.response,
    reference_number: request.referenceNumber,
    error_code: request.errorCode,
    error_description: request.errorDescription,
    process_name: request.processName,
    process_id: request.processId,
    subscription: request.subscriptionId === null ? null : { id: request.subscriptionId },
    parameters_set: parametersSet(request.command),
    result: request.result,
    attempts: request.attempts,
    next_attempt_at: request.nextAttemptAt,
    error_class: request.errorClass,
    split_from: request.splitFrom,
    split_into: request.splitInto,
    action_id: request.actionId,
    log_information: { created_date: request.createdAt, updated_date: request.updatedAt },
  }
}
