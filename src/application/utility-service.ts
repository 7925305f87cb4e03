import type { ProvisioningProvider } from '../domain/crm.js'
import type { ProcessName, ProvisioningRequest } from '../domain/provisioning-request.js'
import { planUtility, type UtilityName, type UtilityRequest } from '../domain/utilities.js'
import { AdapterError } from './adapter-error.js'
import type { Clock, ProvisioningStore } from './ports.js'
import type { ProvisioningService } from './provisioning-service.js'

/** What a utility did: its requests in their final states and, for a query, what Conax answered. */
export interface UtilityOutcome {
  readonly utility: UtilityName
  readonly processName: ProcessName
  readonly requests: readonly ProvisioningRequest[]
  /** GET_CONAX_INFORMATION: the first request's result (null when it was not COMPLETED); else null. */
  readonly result: unknown
}

export interface UtilityServiceOptions {
  readonly service: ProvisioningService
  readonly store: ProvisioningStore
  readonly clock: Clock
}

/**
 * The single-subscription utilities (send message, fingerprint, pairing, reset PIN, Conax
 * information): checked in full by {@link planUtility}, then sent at once as EXPRESS requests.
 */
export class UtilityService {
  private readonly options: UtilityServiceOptions

  constructor(options: UtilityServiceOptions) {
    this.options = options
  }

  /** Runs one utility and answers with its requests' outcomes; a rejection throws an {@link AdapterError}. */
  async run(request: UtilityRequest, options: { waitMs?: number } = {}): Promise<UtilityOutcome> {
    const { service, store, clock } = this.options
    // Checked first: with a Not Effective provider no utility can do anything, valid or not.
    service.requireEffective()
    const subscriptionId = request.subscriptionId ?? null
    const subscription =
      subscriptionId === null ? null : await store.getSubscription(subscriptionId)
    const plan = planUtility(service.provider, subscription, request, clock.now().toISOString())
    if (!plan.ok) {
      throw new AdapterError(plan.error.code, plan.error.message, {
        details: { field: plan.error.field, utility: request.utility },
      })
    }
    const { processName, commands } = plan.value
    const requests = await service.createRequests(
      commands,
      { processName, subscriptionId },
      {
        processImmediately: true,
        priority: 'EXPRESS',
        ...(options.waitMs === undefined ? {} : { waitMs: options.waitMs }),
      },
    )
    return {
      utility: request.utility,
      processName,
      requests,
      result:
        request.utility === 'GET_CONAX_INFORMATION'
          ? withServiceNames(service.provider, requests[0]?.result ?? null)
          : null,
    }
  }
}

/**
 * Conax answers active subscriptions by product (service CA ID) only; the utility shows each with
 * the CRM service it maps to, its `code` and `description` (null when the provider maps none).
 */
function withServiceNames(provider: ProvisioningProvider, result: unknown): unknown {
  const list = (result as { subscriptions?: unknown } | null)?.subscriptions
  if (!Array.isArray(list)) {
    return result
  }
  return {
    ...(result as object),
    subscriptions: list.map((item: { serviceCaId?: unknown }) => {
      const mapped = provider.services.find((s) => s.caId === item.serviceCaId)
      return { ...item, code: mapped?.service ?? null, description: mapped?.description ?? null }
    }),
  }
}
