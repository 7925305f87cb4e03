/**
 * Group commit of calls that each want their own answer: the calls that arrive while one group's
 * statement runs go together into the next statement (one transaction, one WAL flush), and each
 * caller is answered once its group has committed. The PostgreSQL store groups actions' commits
 * and request updates this way (docs/decisions/0017).
 * @module
 */

/** What the statement gave one call of its group: its answer, or the error that refused it alone. */
export type CallOutcome<Answer> =
  { readonly ok: true; readonly answer: Answer } | { readonly ok: false; readonly error: unknown }

/** How a group is formed and run. */
export interface StatementGroupOptions<Call, Answer> {
  /** The most calls one statement carries. */
  readonly max: number
  /**
   * Calls with the same key never share a statement (two updates of one row in one statement
   * would apply only one): a later one waits for the next group, in its order.
   */
  readonly key?: (call: Call) => string
  /** Runs one statement for `calls`; answers one outcome per call, in their order. */
  readonly run: (calls: readonly Call[]) => Promise<readonly CallOutcome<Answer>[]>
}

interface Waiting<Call, Answer> {
  readonly call: Call
  readonly resolve: (answer: Answer) => void
  readonly reject: (error: unknown) => void
}

/** At most one statement in flight; calls made meanwhile wait for the next one. */
export class StatementGroups<Call, Answer> {
  private waiting: Waiting<Call, Answer>[] = []
  private running = false
  private readonly options: StatementGroupOptions<Call, Answer>

  constructor(options: StatementGroupOptions<Call, Answer>) {
    this.options = options
  }

  /** Resolves with this call's answer once its group has committed; rejects with its refusal or the statement's error. */
  call(call: Call): Promise<Answer> {
    return new Promise<Answer>((resolve, reject) => {
      this.waiting.push({ call, resolve, reject })
      this.flush()
    })
  }

  private flush(): void {
    if (this.running || this.waiting.length === 0) {
      return
    }
    const group = this.take()
    this.running = true
    // A run that throws at once is a failed statement too, not a group left running for ever.
    new Promise<readonly CallOutcome<Answer>[]>((resolve) =>
      resolve(this.options.run(group.map((waiting) => waiting.call))),
    )
      .then(
        (outcomes) =>
          group.forEach((waiting, index) => {
            const outcome = outcomes[index]
            if (outcome === undefined) {
              waiting.reject(new Error('The grouped statement gave no answer for this call.'))
            } else if (outcome.ok) {
              waiting.resolve(outcome.answer)
            } else {
              waiting.reject(outcome.error)
            }
          }),
        (error: unknown) => {
          // One statement: none of the group was applied.
          for (const waiting of group) {
            waiting.reject(error)
          }
        },
      )
      .finally(() => {
        this.running = false
        this.flush()
      })
  }

  /** The next group: the oldest calls, at most `max`, no two with one key. */
  private take(): Waiting<Call, Answer>[] {
    const { max, key } = this.options
    if (key === undefined) {
      return this.waiting.splice(0, max)
    }
    const group: Waiting<Call, Answer>[] = []
    const later: Waiting<Call, Answer>[] = []
    const keys = new Set<string>()
    for (const waiting of this.waiting) {
      const k = key(waiting.call)
      if (keys.has(k) || group.length >= max) {
        later.push(waiting)
      } else {
        keys.add(k)
        group.push(waiting)
      }
    }
    this.waiting = later
    return group
  }
}
