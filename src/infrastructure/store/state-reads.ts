import type { Page, RequestFilter, SubscriptionFilter } from '../../application/ports.js'
import type { Subscription } from '../../domain/crm.js'
import type { ProvisioningRequest } from '../../domain/provisioning-request.js'
import { LocalClaims } from './local-claims.js'
import { copyJson, type ProvisioningState } from './provisioning-state.js'

/** The reads both stores answer from their in-memory state, the same way. */
export abstract class StateReads {
  protected abstract readonly state: ProvisioningState
  private readonly claims = new LocalClaims()

  claimRequests(
    ids: readonly string[],
    owner: string,
    leaseMs: number,
  ): Promise<readonly string[]> {
    return Promise.resolve(
      this.claims.claim(
        ids,
        owner,
        leaseMs,
        (id) => this.state.findRequest(id)?.lifeCycleState === 'PENDING',
      ),
    )
  }

  releaseRequests(ids: readonly string[], owner: string): Promise<void> {
    this.claims.release(ids, owner)
    return Promise.resolve()
  }

  /** An attempt on the request is over (its outcome is stored): its claim ends. */
  protected endClaim(id: string): void {
    this.claims.end(id)
  }

  getRequest(idOrNumber: string): Promise<ProvisioningRequest | null> {
    const request = this.state.findRequest(idOrNumber)
    return Promise.resolve(request === undefined ? null : copyJson(request))
  }

  listRequests(filter: RequestFilter): Promise<Page<ProvisioningRequest>> {
    return Promise.resolve(this.state.listRequests(filter))
  }

  countPending(processId: string): Promise<number> {
    return Promise.resolve(this.state.pendingOf(processId))
  }

  subscriptionHolding(caId: string): Promise<string | null> {
    return Promise.resolve(this.state.holderOf(caId) ?? null)
  }

  getSubscription(id: string): Promise<Subscription | null> {
    const subscription = this.state.findSubscription(id)
    return Promise.resolve(subscription === undefined ? null : copyJson(subscription))
  }

  listSubscriptions(filter: SubscriptionFilter): Promise<Page<Subscription>> {
    return Promise.resolve(this.state.listSubscriptions(filter))
  }
}
