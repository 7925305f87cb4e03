import type { CommitChange, ProvisioningStore, RequestUpdate } from '../../application/ports.js'
import type {
  NewProvisioningRequest,
  ProvisioningRequest,
} from '../../domain/provisioning-request.js'
import { ProvisioningState, copyJson } from './provisioning-state.js'
import { StateReads } from './state-reads.js'
import { StoreError } from './store-error.js'

/** Keeps everything in memory for the life of the process (tests, dry runs): durable means "applied". */
export class MemoryProvisioningStore extends StateReads implements ProvisioningStore {
  readonly description = 'memory'
  protected readonly state = new ProvisioningState()
  private closed = false

  commit(change: CommitChange, now: string): Promise<readonly ProvisioningRequest[]> {
    return this.change(() => this.state.commit(change, now).requests.map(copyJson))
  }

  updateRequest(id: string, update: RequestUpdate, now: string): Promise<ProvisioningRequest> {
    return this.change(() => {
      const updated = copyJson(this.state.update(id, update, now))
      this.endClaim(id)
      return updated
    })
  }

  splitRequest(
    id: string,
    update: RequestUpdate,
    parts: readonly NewProvisioningRequest[],
    now: string,
  ): Promise<{ parent: ProvisioningRequest; children: readonly ProvisioningRequest[] }> {
    return this.change(() => {
      const { parent, children } = this.state.split(id, update, parts, now)
      this.endClaim(id)
      return { parent: copyJson(parent), children: children.map(copyJson) }
    })
  }

  pendingRequests(): Promise<readonly ProvisioningRequest[]> {
    return Promise.resolve(this.state.pendingRequests())
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
