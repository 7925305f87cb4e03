import { randomUUID } from 'node:crypto'
import pg from 'pg'
import type {
  CommitChange,
  Page,
  ProvisioningStore,
  RequestFilter,
  RequestUpdate,
  RunFence,
  SubscriptionFilter,
} from '../../application/ports.js'
import type { Subscription } from '../../domain/crm.js'
import type {
  NewProvisioningRequest,
  ProvisioningRequest,
} from '../../domain/provisioning-request.js'
import {
  MAX_SEQUENCE_NUMBER,
  UPDATABLE_FIELDS,
  copyJson,
  newRequest,
} from '../store/provisioning-state.js'
import { StoreError } from '../store/store-error.js'
import { itemHeld, subscriptionChanged } from '../store/subscription-table.js'
import { cardsOf, stbsOf } from '../../domain/commands.js'
import { describeUrl, inTransaction, message, openDatabase } from './pg-database.js'
import { StatementGroups, type CallOutcome } from './statement-groups.js'

type Queryable = Pick<pg.PoolClient, 'query'>

const REQUEST_COLUMNS =
  'number, id, type, sequence_number, precedence, life_cycle_state, reference_number, subscription_id, process_name, process_id, doc'

/** The number and SequenceNumber a commit drew for one of its requests. */
interface DrawnNumbers {
  readonly number: string
  readonly sequence_number: number
}

/** The most actions' commits one group carries. */
const MAX_COMMIT_GROUP = 64

/** A request update for its group commit: the request's id and the fields it sets, as JSON. */
interface RequestPatch {
  readonly id: string
  readonly patch: string
}

/** The channel instances NOTIFY on when there may be work for others (docs/decisions/0017). */
const CHANNEL = 'conax_requests'

/** At most one notification per this many milliseconds per instance. */
const NOTIFY_EVERY_MS = 20

/**
 * Subscriptions kept for {@link PostgresProvisioningStore.guessSubscription} (a few MB): an action
 * on one of them plans on it without reading it first.
 */
const GUESSED_SUBSCRIPTIONS = 10_000

/** The most request updates one statement carries. */
const MAX_UPDATE_GROUP = 256

/**
 * The provisioning store on PostgreSQL (docs/decisions/0017): several adapter instances share one
 * database. A commit is a checked function call that locks its lanes (subscription, cards, STBs),
 * so SequenceNumbers (a database sequence) grow in the order a card's requests become visible;
 * concurrent commits go to the database in groups. Delivery claims requests with `FOR UPDATE SKIP
 * LOCKED` and a lease, so one instance sends a request at a time, and stores their outcomes in
 * group commits too.
 */
export class PostgresProvisioningStore implements ProvisioningStore {
  readonly description: string
  private closed = false
  /** Writes not yet answered: lists and close() wait for them (they see every earlier write). */
  private readonly inflight = new Set<Promise<unknown>>()

  private readonly pool: pg.Pool
  /**
   * At most this many PENDING requests per `pendingRequests`, the first in sending order: every
   * instance reads the queue on each delivery pass, and the head is what can be sent.
   */
  private readonly pendingWindow: number
  /**
   * Group commit of actions' commits: one call of `conax_commit_group` per group (one transaction,
   * one WAL flush; each commit, its arguments of conax_commit_checked as JSON, in its own
   * subtransaction, so a refused one fails alone). An action's commit is a transaction of its own
   * otherwise, and the flush of each was half of the database's work (docs/benchmarks.md).
   */
  private readonly commits = new StatementGroups<string, readonly DrawnNumbers[]>({
    max: MAX_COMMIT_GROUP,
    run: (commits) => this.commitGroup(commits),
  })
  /**
   * Group commit of request updates, one statement per group: delivery stores one update per
   * request it sent, and a round trip and a commit for each cost more than the rest of the work.
   */
  private readonly updates = new StatementGroups<RequestPatch, ProvisioningRequest>({
    max: MAX_UPDATE_GROUP,
    key: (update) => update.id,
    run: (updates) => this.updateGroup(updates),
  })
  /**
   * The subscriptions this store committed last, as JSON, newest last (at most
   * {@link GUESSED_SUBSCRIPTIONS}): {@link guessSubscription}'s answers.
   */
  private readonly committed = new Map<string, string>()

  /** This store's name in its notifications, so that it ignores its own. */
  private readonly token = randomUUID()
  private readonly url: string
  private readonly watchers = new Set<() => void>()
  /** The connection that LISTENs for other instances' notifications, while anyone watches. */
  private listening: pg.Client | null = null
  /** Set while a notification is due: at most one per {@link NOTIFY_EVERY_MS}. */
  private notifying: NodeJS.Timeout | null = null

  private constructor(pool: pg.Pool, url: string, pendingWindow: number) {
    this.pendingWindow = pendingWindow
    this.pool = pool
    this.url = url
    this.description = describeUrl(url)
  }

  watch(listener: () => void): () => void {
    this.watchers.add(listener)
    if (this.listening === null && !this.closed) {
      this.listen()
    }
    return () => {
      this.watchers.delete(listener)
    }
  }

  /** LISTENs on its own connection; a lost one is opened again a second later. */
  private listen(): void {
    const client = new pg.Client({ connectionString: this.url })
    this.listening = client
    const lost = (): void => {
      if (this.listening !== client) {
        return
      }
      this.listening = null
      void client.end().catch(() => undefined)
      if (!this.closed && this.watchers.size > 0) {
        setTimeout(() => {
          if (this.listening === null && !this.closed && this.watchers.size > 0) {
            this.listen()
          }
        }, 1000).unref()
      }
    }
    client.on('error', lost)
    client.on('end', lost)
    client.on('notification', (notification) => {
      if (notification.payload !== this.token) {
        for (const watcher of this.watchers) {
          watcher()
        }
      }
    })
    client
      .connect()
      .then(() => client.query(`LISTEN ${CHANNEL}`))
      .catch(lost)
  }

  /**
   * Tells the other instances that there may be work for them (new requests, or a request made
   * final, after which the next one of its lanes is due): one NOTIFY, outside the writes'
   * transactions (a notifying commit takes a database-wide lock), at most every few milliseconds.
   */
  private notifyOthers(): void {
    if (this.notifying !== null || this.closed) {
      return
    }
    this.notifying = setTimeout(() => {
      this.notifying = null
      this.pool.query('SELECT pg_notify($1, $2)', [CHANNEL, this.token]).catch(() => undefined)
    }, NOTIFY_EVERY_MS)
    this.notifying.unref()
  }

  /** Connects and applies the schema migrations; rejects with STORE_UNREADABLE when it cannot. */
  static async open(
    url: string,
    options: { readonly max?: number; readonly pendingWindow?: number } = {},
  ): Promise<PostgresProvisioningStore> {
    return new PostgresProvisioningStore(
      await openDatabase(url, options),
      url,
      options.pendingWindow ?? 2000,
    )
  }

  /** The pool, shared with the run store of the same database. */
  get database(): pg.Pool {
    return this.pool
  }

  async commit(change: CommitChange, now: string): Promise<readonly ProvisioningRequest[]> {
    this.checkOpen()
    if (change.subscription === undefined && change.requests.length === 0) {
      return []
    }
    const subscription = change.subscription
    const subscriptionJson = subscription === undefined ? null : JSON.stringify(subscription)
    // Templates: the function gives each its number and SequenceNumber (and so its precedence).
    const templates = change.requests.map((request) => newRequest(request, '0', 0, now))
    const commit = JSON.stringify({
      lanes: laneKeys(subscription ?? null, change.requests),
      subscription: subscription ?? null,
      check: change.basedOn !== undefined,
      basedOn: change.basedOn ?? null,
      itemIds:
        subscription === undefined ? null : subscription.installedItems.map((item) => item.caId),
      docs: templates,
      fence: change.fence ?? null,
    })
    const drawn = await this.write('commit', () =>
      this.commits.call(commit).catch((error: unknown) => {
        if (subscription !== undefined) {
          this.committed.delete(subscription.id)
        }
        throw refusalOr(error, subscription?.id ?? '', templates.length, change.fence)
      }),
    )
    if (subscription !== undefined && subscriptionJson !== null) {
      this.remember(subscription.id, subscriptionJson)
    }
    if (templates.length > 0) {
      this.notifyOthers()
    }
    return templates.map((template, index) => {
      const row = drawn[index] as DrawnNumbers
      return {
        ...template,
        number: String(row.number),
        sequenceNumber: row.sequence_number,
        precedence: row.sequence_number,
      }
    })
  }

  async updateRequest(
    id: string,
    update: RequestUpdate,
    now: string,
  ): Promise<ProvisioningRequest> {
    this.checkOpen()
    const patch = JSON.stringify(patchOf(update, now))
    return this.write('update a request', () => this.updates.call({ id, patch }))
  }

  /** One group of actions' commits: the numbers each drew, or its refusal. */
  private async commitGroup(
    commits: readonly string[],
  ): Promise<CallOutcome<readonly DrawnNumbers[]>[]> {
    const result = await this.pool.query<{
      item: number
      number: string | null
      sequence_number: number | null
      refusal: string | null
      detail: string | null
    }>({
      name: 'conax_commit_group',
      text: 'SELECT item, number, sequence_number, refusal, detail FROM conax_commit_group($1::jsonb)',
      values: [`[${commits.join(',')}]`],
    })
    const drawn = commits.map((): DrawnNumbers[] => [])
    const refused = new Map<number, { code: string; detail: string | null }>()
    for (const row of result.rows) {
      const index = row.item - 1
      if (row.refusal !== null) {
        refused.set(index, { code: row.refusal, detail: row.detail })
      } else if (row.number !== null && row.sequence_number !== null) {
        drawn[index]?.push({ number: row.number, sequence_number: row.sequence_number })
      }
    }
    return drawn.map((numbers, index) => {
      const refusal = refused.get(index)
      return refusal === undefined ? { ok: true, answer: numbers } : { ok: false, error: refusal }
    })
  }

  /** One group of request updates, one statement: each request as stored, or not found. */
  private async updateGroup(
    updates: readonly RequestPatch[],
  ): Promise<CallOutcome<ProvisioningRequest>[]> {
    const result = await this.pool.query<{ id: string; doc: ProvisioningRequest }>({
      name: 'conax_update_requests',
      text: `UPDATE requests AS r SET doc = r.doc || u.patch,
           life_cycle_state = coalesce(u.patch->>'lifeCycleState', r.life_cycle_state),
           reference_number = CASE WHEN u.patch ? 'referenceNumber' THEN u.patch->>'referenceNumber' ELSE r.reference_number END,
           claimed_by = NULL, claimed_until = NULL
         FROM unnest($1::text[], $2::jsonb[]) AS u(id, patch)
         WHERE r.id = u.id RETURNING r.id, r.doc`,
      values: [updates.map((update) => update.id), updates.map((update) => update.patch)],
    })
    if (result.rows.some((row) => row.doc.lifeCycleState !== 'PENDING')) {
      this.notifyOthers()
    }
    const docs = new Map(result.rows.map((row) => [row.id, row.doc]))
    return updates.map((update) => {
      const doc = docs.get(update.id)
      return doc === undefined
        ? { ok: false, error: notFound(update.id) }
        : { ok: true, answer: doc }
    })
  }

  async splitRequest(
    id: string,
    update: RequestUpdate,
    parts: readonly NewProvisioningRequest[],
    now: string,
  ): Promise<{ parent: ProvisioningRequest; children: readonly ProvisioningRequest[] }> {
    this.checkOpen()
    return this.write('split a request', () =>
      inTransaction(this.pool, async (tx) => {
        const found = await tx.query<{ doc: ProvisioningRequest }>(
          'SELECT doc FROM requests WHERE id = $1 FOR UPDATE',
          [id],
        )
        const current = found.rows[0]?.doc
        if (current === undefined) {
          throw notFound(id)
        }
        if (current.lifeCycleState !== 'PENDING') {
          throw new StoreError(
            'REQUEST_NOT_PENDING',
            `Failed to split provisioning request ${current.number}: it is ${current.lifeCycleState}, and only a PENDING request can be split. Nothing was changed.`,
          )
        }
        const children = await insertRequests(
          tx,
          parts.map((part) => ({
            ...part,
            splitOf: { number: current.number, precedence: current.precedence },
          })),
          now,
        )
        const patch = {
          ...patchOf({ ...update, lifeCycleState: 'REJECTED' }, now),
          splitInto: children.map((child) => child.number),
        }
        const parent = await tx.query<{ doc: ProvisioningRequest }>(
          `UPDATE requests SET doc = doc || $2::jsonb, life_cycle_state = 'REJECTED',
             reference_number = CASE WHEN $2::jsonb ? 'referenceNumber' THEN $2::jsonb->>'referenceNumber' ELSE reference_number END,
             claimed_by = NULL, claimed_until = NULL
           WHERE id = $1 RETURNING doc`,
          [id, JSON.stringify(patch)],
        )
        return { parent: (parent.rows[0] as { doc: ProvisioningRequest }).doc, children }
      }).then((split) => {
        this.notifyOthers()
        return split
      }),
    )
  }

  async claimRequests(
    ids: readonly string[],
    owner: string,
    leaseMs: number,
  ): Promise<readonly string[]> {
    this.checkOpen()
    if (ids.length === 0) {
      return []
    }
    // SKIP LOCKED: a row another instance is claiming right now is not waited for, it is theirs.
    const claimed = await this.write('claim requests', () =>
      this.pool.query<{ id: string }>(
        `UPDATE requests SET claimed_by = $2, claimed_until = clock_timestamp() + $3 * interval '1 millisecond'
         WHERE id IN (
           SELECT id FROM requests
           WHERE id = ANY($1::text[]) AND life_cycle_state = 'PENDING'
             AND (claimed_by IS NULL OR claimed_by = $2 OR claimed_until < clock_timestamp())
           FOR UPDATE SKIP LOCKED)
         RETURNING id`,
        [ids, owner, leaseMs],
      ),
    )
    const got = new Set(claimed.rows.map((row) => row.id))
    return ids.filter((id) => got.has(id))
  }

  async releaseRequests(ids: readonly string[], owner: string): Promise<void> {
    this.checkOpen()
    if (ids.length === 0) {
      return
    }
    await this.write('release requests', () =>
      this.pool.query(
        'UPDATE requests SET claimed_by = NULL, claimed_until = NULL WHERE id = ANY($1::text[]) AND claimed_by = $2',
        [ids, owner],
      ),
    )
    this.notifyOthers()
  }

  async getRequest(idOrNumber: string): Promise<ProvisioningRequest | null> {
    const number = /^[1-9][0-9]{0,15}$/.test(idOrNumber) ? idOrNumber : null
    const found = await this.read(false, () =>
      this.pool.query<{ doc: ProvisioningRequest }>(
        'SELECT doc FROM requests WHERE id = $1 OR number = $2::bigint ORDER BY (id = $1) DESC LIMIT 1',
        [idOrNumber, number],
      ),
    )
    return found.rows[0]?.doc ?? null
  }

  async listRequests(filter: RequestFilter): Promise<Page<ProvisioningRequest>> {
    const conditions: string[] = []
    const values: unknown[] = []
    const where = (column: string, value: string | undefined): void => {
      if (value !== undefined) {
        values.push(value)
        conditions.push(`${column} = $${values.length}`)
      }
    }
    where('type', filter.type)
    where('life_cycle_state', filter.lifeCycleState)
    where('reference_number', filter.referenceNumber)
    where('subscription_id', filter.subscriptionId)
    where('process_name', filter.processName)
    where('process_id', filter.processId)
    const clause = conditions.length === 0 ? '' : `WHERE ${conditions.join(' AND ')}`
    return this.page({ table: 'requests', clause, values, order: 'sequence_number' }, filter)
  }

  async pendingRequests(): Promise<readonly ProvisioningRequest[]> {
    const found = await this.read(true, () =>
      this.pool.query<{ doc: ProvisioningRequest }>(
        `SELECT doc FROM (SELECT doc, sequence_number FROM requests WHERE life_cycle_state = 'PENDING'
           ORDER BY precedence, sequence_number LIMIT $1) AS head ORDER BY sequence_number`,
        [this.pendingWindow],
      ),
    )
    return found.rows.map((row) => row.doc)
  }

  async countPending(processId: string): Promise<number> {
    const found = await this.read(true, () =>
      this.pool.query<{ count: string }>(
        "SELECT count(*) AS count FROM requests WHERE process_id = $1 AND life_cycle_state = 'PENDING'",
        [processId],
      ),
    )
    return Number(found.rows[0]?.count ?? 0)
  }

  async getSubscription(id: string): Promise<Subscription | null> {
    const found = await this.read(false, () =>
      this.pool.query<{ doc: Subscription }>('SELECT doc FROM subscriptions WHERE id = $1', [id]),
    )
    return found.rows[0]?.doc ?? null
  }

  guessSubscription(id: string): Subscription | null {
    const json = this.committed.get(id)
    return json === undefined ? null : (JSON.parse(json) as Subscription)
  }

  /** Keeps a committed subscription for {@link guessSubscription}, forgetting the oldest beyond the bound. */
  private remember(id: string, json: string): void {
    this.committed.delete(id)
    this.committed.set(id, json)
    if (this.committed.size > GUESSED_SUBSCRIPTIONS) {
      const oldest = this.committed.keys().next()
      if (oldest.done !== true) {
        this.committed.delete(oldest.value)
      }
    }
  }

  async subscriptionHolding(caId: string): Promise<string | null> {
    const found = await this.read(false, () =>
      this.pool.query<{ subscription_id: string }>(
        'SELECT subscription_id FROM installed_items WHERE ca_id = $1',
        [caId],
      ),
    )
    return found.rows[0]?.subscription_id ?? null
  }

  async listSubscriptions(filter: SubscriptionFilter): Promise<Page<Subscription>> {
    const conditions: string[] = []
    const values: unknown[] = []
    const add = (condition: (placeholder: string) => string, value: unknown): void => {
      values.push(value)
      conditions.push(condition(`$${values.length}`))
    }
    if (filter.createdFrom !== undefined) {
      add((p) => `created_at >= ${p}::timestamptz`, filter.createdFrom)
    }
    if (filter.createdTo !== undefined) {
      add((p) => `created_at <= ${p}::timestamptz`, filter.createdTo)
    }
    if (filter.types !== undefined) {
      add((p) => `type = ANY(${p}::text[])`, filter.types)
    }
    if (filter.ids !== undefined) {
      add((p) => `id = ANY(${p}::text[])`, filter.ids)
    }
    const clause = conditions.length === 0 ? '' : `WHERE ${conditions.join(' AND ')}`
    return this.page({ table: 'subscriptions', clause, values, order: 'ordinal' }, filter)
  }

  async close(): Promise<void> {
    if (this.closed) {
      return
    }
    this.closed = true
    if (this.notifying !== null) {
      clearTimeout(this.notifying)
      this.notifying = null
    }
    const listening = this.listening
    this.listening = null
    await listening?.end().catch(() => undefined)
    await Promise.allSettled([...this.inflight])
    await this.pool.end()
  }

  private async page<T>(
    query: {
      readonly table: string
      readonly clause: string
      readonly values: readonly unknown[]
      readonly order: string
    },
    paging: { readonly offset?: number | undefined; readonly limit?: number | undefined },
  ): Promise<Page<T>> {
    const { table, clause, values, order } = query
    const offset = Math.max(0, Math.trunc(paging.offset ?? 0))
    const limit = paging.limit === undefined ? null : Math.max(0, Math.trunc(paging.limit))
    const [count, items] = await this.read(true, () =>
      Promise.all([
        this.pool.query<{ count: string }>(`SELECT count(*) AS count FROM ${table} ${clause}`, [
          ...values,
        ]),
        this.pool.query<{ doc: T }>(
          `SELECT doc FROM ${table} ${clause} ORDER BY ${order} OFFSET $${values.length + 1} LIMIT $${values.length + 2}`,
          [...values, offset, limit],
        ),
      ]),
    )
    return { total: Number(count.rows[0]?.count ?? 0), items: items.rows.map((row) => row.doc) }
  }

  private checkOpen(): void {
    if (this.closed) {
      throw new StoreError(
        'STORE_WRITE_FAILED',
        `Failed to change the provisioning store ${this.description}: it is closed. Open a new store.`,
      )
    }
  }

  /** A write; a database failure becomes STORE_WRITE_FAILED (nothing of it was applied: one transaction). */
  private write<T>(what: string, work: () => Promise<T>): Promise<T> {
    const done = work().catch((error: unknown) => {
      throw storeError(error, `Failed to ${what} in ${this.description}`, 'STORE_WRITE_FAILED')
    })
    this.inflight.add(done)
    const forget = (): void => {
      this.inflight.delete(done)
    }
    done.then(forget, forget)
    return done
  }

  /**
   * A read; `consistent` reads (lists, pending requests, counts) first wait for the writes this
   * store has in flight, so they see every write made before them, as the embedded store's do.
   * Point reads do not: a caller reading one record has awaited the write it depends on.
   */
  private async read<T>(consistent: boolean, work: () => Promise<T>): Promise<T> {
    if (this.closed) {
      throw new StoreError(
        'STORE_UNREADABLE',
        `Failed to read the provisioning store ${this.description}: it is closed. Open a new store.`,
      )
    }
    if (consistent && this.inflight.size > 0) {
      await Promise.allSettled([...this.inflight])
    }
    try {
      return await work()
    } catch (error) {
      throw storeError(error, `Failed to read ${this.description}`, 'STORE_UNREADABLE')
    }
  }
}

/** A StoreError as it is, or the database's failure as `code` with what to do. */
function storeError(
  error: unknown,
  what: string,
  code: 'STORE_WRITE_FAILED' | 'STORE_UNREADABLE',
): StoreError {
  if (error instanceof StoreError) {
    return error
  }
  return new StoreError(
    code,
    `${what}: ${message(error)}. Nothing was changed; check that the PostgreSQL server is up and reachable, then try again.`,
    { cause: error },
  )
}

/**
 * The commit function's refusals as the store's errors: SUBSCRIPTION_CHANGED (CX001), ITEM_HELD
 * (CX002), RUN_OWNED (CX003, a fenced commit whose execution changed owner),
 * SEQUENCE_NUMBERS_EXHAUSTED (the sequence's limit, 2200H); else the error itself.
 */
function refusalOr(
  error: unknown,
  subscriptionId: string,
  count: number,
  fence: RunFence | undefined,
): unknown {
  const { code, detail } = error as { code?: string; detail?: string }
  if (code === 'CX003' && fence !== undefined) {
    return runOwned(fence, count, detail ?? '')
  }
  if (code === 'CX001') {
    return subscriptionChanged(subscriptionId)
  }
  if (code === 'CX002') {
    const held = JSON.parse(detail ?? '{}') as { caId?: string; subscriptionId?: string }
    return itemHeld(String(held.caId), String(held.subscriptionId), subscriptionId)
  }
  return exhaustedOr(error, count)
}

/** RUN_OWNED: a run batch's commit whose execution another instance took over (`owner`: its owner now). */
function runOwned(fence: RunFence, count: number, owner: string): StoreError {
  return new StoreError(
    'RUN_OWNED',
    `Failed to commit ${count} provisioning request(s) of run execution ${fence.executionId}: adapter instance '${fence.owner}' no longer owns it (${owner === '' ? 'it is gone' : `instance '${owner}' took it over, its lease having run out`}). Nothing was stored; the owner now goes on from the saved cursor, so this instance must stop running it.`,
    { details: { executionId: fence.executionId, owner: owner === '' ? null : owner } },
  )
}

/** SEQUENCE_NUMBERS_EXHAUSTED for the sequence's limit error (2200H), else the error itself. */
function exhaustedOr(error: unknown, count: number): unknown {
  if ((error as { code?: string }).code !== '2200H') {
    return error
  }
  return new StoreError(
    'SEQUENCE_NUMBERS_EXHAUSTED',
    `Failed to create ${count} provisioning request(s): the database's SequenceNumbers (sequence conax_sequence_number) would pass ${MAX_SEQUENCE_NUMBER}, the largest the Conax contract carries (xs:int). Nothing was stored. Start a new database (it takes a new random origin; see docs/decisions/0004).`,
    { cause: error },
  )
}

function notFound(id: string): StoreError {
  return new StoreError(
    'REQUEST_NOT_FOUND',
    `Failed to update provisioning request ${JSON.stringify(id)}: no request has this id. Pass the request's 32-hex id (not its number), as returned by commit or getRequest.`,
  )
}

/** The fields an update sets (those given), with updatedAt. */
function patchOf(update: RequestUpdate, now: string): Record<string, unknown> {
  const patch: Record<string, unknown> = {}
  for (const field of UPDATABLE_FIELDS) {
    if (update[field] !== undefined) {
      patch[field] = field === 'result' ? copyJson(update[field]) : update[field]
    }
  }
  patch.updatedAt = now
  return patch
}

/**
 * The lock keys of a commit's lanes: its subscription and every smartcard and STB its requests
 * touch. `conax_commit` (migration 0003) takes them for its transaction in one order (no deadlock
 * between two commits). Two commits of one card
 * then draw their SequenceNumbers in the order they become visible, so delivery, which reads what
 * is visible, never sends a card's later request before an earlier one; commits of other cards do
 * not wait. (A request's action lane is within one commit.)
 */
function laneKeys(
  subscription: Subscription | null,
  requests: readonly NewProvisioningRequest[],
): string[] {
  const lanes = new Set<string>(subscription === null ? [] : [`subscription:${subscription.id}`])
  // Its items too: two subscriptions taking one card check who holds it one after the other.
  for (const item of subscription?.installedItems ?? []) {
    lanes.add(`${item.kind === 'SMARTCARD' ? 'card' : 'stb'}:${item.caId}`)
  }
  for (const request of requests) {
    cardsOf(request.command).forEach((id) => lanes.add(`card:${id}`))
    stbsOf(request.command).forEach((id) => lanes.add(`stb:${id}`))
  }
  return [...new Set([...lanes].map((lane) => String(laneKey(lane))))]
}

/** A lane's advisory lock key: FNV-1a, 64 bits, as a signed bigint. */
function laneKey(lane: string): bigint {
  let hash = 0xcbf29ce484222325n
  for (let i = 0; i < lane.length; i++) {
    hash ^= BigInt(lane.charCodeAt(i))
    hash = (hash * 0x100000001b3n) & 0xffffffffffffffffn
  }
  return BigInt.asIntN(64, hash)
}

/** Creates requests with the next numbers and SequenceNumbers; the caller holds their lanes' locks. */
async function insertRequests(
  tx: Queryable,
  given: readonly NewProvisioningRequest[],
  now: string,
): Promise<ProvisioningRequest[]> {
  if (given.length === 0) {
    return []
  }
  let sequences: number[]
  let numbers: number[]
  try {
    const drawn = await tx.query<{ n: string; s: number }>(
      'SELECT number AS n, sequence_number AS s FROM conax_draw($1)',
      [given.length],
    )
    numbers = drawn.rows.map((row) => Number(row.n)).sort((a, b) => a - b)
    sequences = drawn.rows.map((row) => row.s).sort((a, b) => a - b)
  } catch (error) {
    throw exhaustedOr(error, given.length)
  }
  const requests = given.map((request, offset) =>
    newRequest(request, String(numbers[offset]), sequences[offset] as number, now),
  )
  await tx.query(
    `INSERT INTO requests (${REQUEST_COLUMNS})
     SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::integer[], $5::integer[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::jsonb[])`,
    [
      requests.map((r) => r.number),
      requests.map((r) => r.id),
      requests.map((r) => r.type),
      requests.map((r) => r.sequenceNumber),
      requests.map((r) => r.precedence),
      requests.map((r) => r.lifeCycleState),
      requests.map((r) => r.referenceNumber),
      requests.map((r) => r.subscriptionId),
      requests.map((r) => r.processName),
      requests.map((r) => r.processId),
      requests.map((r) => JSON.stringify(r)),
    ],
  )
  return requests
}
