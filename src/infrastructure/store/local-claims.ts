/**
 * Claims on requests for a store that one process owns (memory, file): the dispatchers of that
 * process are the only owners, so a claim only keeps two of them (or a stopped and a new one)
 * from sending the same request. PostgreSQL keeps claims in the database instead.
 */
export class LocalClaims {
  private readonly claims = new Map<string, { readonly owner: string; readonly until: number }>()

  /** The ids `owner` gets: PENDING ones (as `isPending` says) not held by another owner's running lease. */
  claim(
    ids: readonly string[],
    owner: string,
    leaseMs: number,
    isPending: (id: string) => boolean,
  ): readonly string[] {
    const now = Date.now()
    return ids.filter((id) => {
      const claim = this.claims.get(id)
      const free = claim === undefined || claim.owner === owner || claim.until < now
      if (free && isPending(id)) {
        this.claims.set(id, { owner, until: now + leaseMs })
        return true
      }
      return false
    })
  }

  release(ids: readonly string[], owner: string): void {
    for (const id of ids) {
      if (this.claims.get(id)?.owner === owner) {
        this.claims.delete(id)
      }
    }
  }

  /** An attempt on the request is over (its outcome is stored): its claim ends. */
  end(id: string): void {
    this.claims.delete(id)
  }
}
