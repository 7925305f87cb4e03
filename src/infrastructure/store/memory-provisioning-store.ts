import type {
  Page,
  ProvisioningStore,
  RequestFilter,
  RequestUpdate,
  SubscriptionFilter,
} from '../../application/ports.js'
import type { Subscription } from '../../domain/crm.js'
import type {
  NewProvisioningRequest,
  ProvisioningRequest,
} from '../../domain/provisioning-request.js'
import { ProvisioningState, copyJson } from './provisioning-state.js'
import { StoreError } from './store-error.js'

/** Keeps everything in memory for the life of the process (tests, dry runs): durable means "applied". */
export class MemoryProvisioningStore implements ProvisioningStore {
  readonly description = 'memory'
  private readonly state = new ProvisioningState()
  private closed = false

  commit(
    change: {
      readonly subscription?: Subscription
      readonly requests: readonly NewProvisioningRequest[]
    },
    now: string,
  ): Promise<readonly ProvisioningRequest[]> {
    return this.change(() => this.state.commit(change, now).requests.map(copyJson))
  }

  updateRequest(id: string, update: RequestUpdate, now: string): Promise<ProvisioningRequest> {
    return this.change(() => copyJson(this.state.update(id, update, now)))
  }

  getRequest(idOrNumber: string): Promise<ProvisioningRequest | null> {
    const request = this.state.findRequest(idOrNumber)
    return Promise.resolve(request === undefined ? null : copyJson(request))
  }

  listRequests(filter: RequestFilter): Promise<Page<ProvisioningRequest>> {
    return Promise.resolve(this.state.listRequests(filter))
  }

  subscriptionHolding(caId: string): Promise<string | null> {
    return Promise.resolve(this.state.holderOf(caId) ?? null)
  }

  pendingRequests(): Promise<readonly ProvisioningRequest[]> {
    return Promise.resolve(this.state.pendingRequests())
  }

  getSubscription(id: string): Promise<Subscription | null> {
    const subscription = this.state.findSubscription(id)
    return Promise.resolve(subscription === undefined ? null : copyJson(subscription))
  }

  listSubscriptions(filter: SubscriptionFilter): Promise<Page<Subscription>> {
    return Promise.resolve(this.state.listSubscriptions(filter))
  }

  close(): Promise<void> {
    this.closed = true
    return Promise.resolve()
  }

  /** Applies a change; a throw (closed store, unknown id) becomes the rejection. */
  private change<T>(apply: () => T): Promise<T> {
    return new Promise((resolve) => {
      if (this.closed) {
        throw new StoreError(
          'STORE_WRITE_FAILED',
          'Failed to change the memory provisioning store: it is closed. Create a new store.',
        )
      }
      resolve(apply())
    })
  }
}
