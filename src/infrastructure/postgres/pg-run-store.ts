import type pg from 'pg'
import {
  mayTake,
  type Communication,
  type CommunicationInput,
  type CommunicationState,
  type ExecutionTake,
  type RunExecution,
  type RunStore,
} from '../../application/runs/run-ports.js'
import type { RunDefinition } from '../../domain/runs.js'
import type { CommunicationChange } from '../runs/memory-run-store.js'
import { copyJson } from '../store/provisioning-state.js'
import { StoreError } from '../store/store-error.js'
import { COMMUNICATION_LOCK, inTransaction, message } from './pg-database.js'

/** The execution without its stop flag, which only requestStop sets. */
function withoutStop(execution: RunExecution): RunExecution {
  const { stopRequested: _flag, ...rest } = execution
  return rest
}

/**
 * Run definitions, executions and the communication queue on PostgreSQL, in the database of the
 * provisioning store (its pool, its migrations): every adapter instance sees every run.
 */
export class PostgresRunStore implements RunStore {
  private closed = false

  /** `pool` belongs to the provisioning store, which ends it; closing this store only refuses changes. */
  private readonly pool: pg.Pool

  constructor(pool: pg.Pool) {
    this.pool = pool
  }

  async saveDefinition(definition: RunDefinition): Promise<void> {
    await this.write(() =>
      this.pool.query(
        `INSERT INTO run_definitions (id, alternative_code, doc) VALUES ($1, $2, $3)
         ON CONFLICT (id) DO UPDATE SET alternative_code = EXCLUDED.alternative_code, doc = EXCLUDED.doc`,
        [definition.id, definition.alternativeCode, JSON.stringify(definition)],
      ),
    )
  }

  async getDefinition(idOrCode: string): Promise<RunDefinition | null> {
    // By id first: an id wins over another definition's alternative code.
    const found = await this.read(() =>
      this.pool.query<{ doc: RunDefinition }>(
        'SELECT doc FROM run_definitions WHERE id = $1 OR alternative_code = $1 ORDER BY (id = $1) DESC, ordinal LIMIT 1',
        [idOrCode],
      ),
    )
    return found.rows[0]?.doc ?? null
  }

  async listDefinitions(): Promise<readonly RunDefinition[]> {
    return this.docs<RunDefinition>('SELECT doc FROM run_definitions ORDER BY ordinal', [])
  }

  async saveExecution(execution: RunExecution, ifOwner?: string): Promise<boolean> {
    const saved = await this.write(() =>
      this.pool.query(
        `INSERT INTO run_executions (id, run_id, doc) VALUES ($1, $2, $3)
         ON CONFLICT (id) DO UPDATE SET run_id = EXCLUDED.run_id,
           doc = CASE WHEN run_executions.doc->'stopRequested' = 'true'::jsonb
             THEN EXCLUDED.doc || '{"stopRequested":true}'::jsonb ELSE EXCLUDED.doc END
           WHERE $4::text IS NULL OR run_executions.doc->>'owner' IS NOT DISTINCT FROM $4::text`,
        // A save never changes the stop flag another instance may have set meanwhile; the row
        // lock of the update makes the owner check and the save one step against a takeover.
        [execution.id, execution.runId, JSON.stringify(withoutStop(execution)), ifOwner ?? null],
      ),
    )
    return (saved.rowCount ?? 0) > 0
  }

  async takeExecution(id: string, take: ExecutionTake): Promise<RunExecution | null> {
    return this.write(() =>
      inTransaction(this.pool, async (client) => {
        // The row lock makes check and take one step: of two instances resuming, one takes it.
        const found = await client.query<{ doc: RunExecution }>(
          'SELECT doc FROM run_executions WHERE id = $1 FOR UPDATE',
          [id],
        )
        const stored = found.rows[0]?.doc
        if (stored === undefined || !mayTake(stored, take)) {
          return null
        }
        const taken: RunExecution = {
          ...withoutStop(stored),
          state: 'RUNNING',
          owner: take.owner,
          leaseUntil: take.leaseUntil,
          lastError: null,
          updatedAt: take.now,
        }
        await client.query('UPDATE run_executions SET doc = $2 WHERE id = $1', [
          id,
          JSON.stringify(taken),
        ])
        return taken
      }),
    )
  }

  async renewExecution(id: string, owner: string, leaseUntil: string): Promise<boolean> {
    const renewed = await this.write(() =>
      this.pool.query(
        `UPDATE run_executions SET doc = jsonb_set(doc, '{leaseUntil}', to_jsonb($3::text))
         WHERE id = $1 AND doc->>'owner' = $2`,
        [id, owner, leaseUntil],
      ),
    )
    return (renewed.rowCount ?? 0) > 0
  }

  async requestStop(id: string): Promise<RunExecution | null> {
    const marked = await this.write(() =>
      this.pool.query<{ doc: RunExecution }>(
        `UPDATE run_executions SET doc = jsonb_set(doc, '{stopRequested}', 'true'::jsonb)
         WHERE id = $1 RETURNING doc`,
        [id],
      ),
    )
    return marked.rows[0]?.doc ?? null
  }

  async getExecution(id: string): Promise<RunExecution | null> {
    const found = await this.docs<RunExecution>('SELECT doc FROM run_executions WHERE id = $1', [
      id,
    ])
    return found[0] ?? null
  }

  async listExecutions(runId?: string): Promise<readonly RunExecution[]> {
    return runId === undefined
      ? this.docs<RunExecution>('SELECT doc FROM run_executions ORDER BY ordinal', [])
      : this.docs<RunExecution>(
          'SELECT doc FROM run_executions WHERE run_id = $1 ORDER BY ordinal',
          [runId],
        )
  }

  async addCommunications(
    inputs: readonly CommunicationInput[],
    now: string,
  ): Promise<readonly Communication[]> {
    if (inputs.length === 0) {
      this.checkOpen()
      return []
    }
    return this.write(() =>
      inTransaction(this.pool, async (tx) => {
        // The lock numbers communications without gaps, whichever instance adds them.
        await tx.query('SELECT pg_advisory_xact_lock($1)', [COMMUNICATION_LOCK])
        const last = await tx.query<{ last: string }>(
          'SELECT coalesce(max(number), 0) AS last FROM communications',
        )
        const first = Number(last.rows[0]?.last ?? 0) + 1
        const records: Communication[] = inputs.map((input, offset) => ({
          number: String(first + offset),
          ...copyJson({
            externalSystem: input.externalSystem,
            message: input.message,
            recipients: input.recipients,
          }),
          state: 'PENDING',
          createdAt: now,
          processedAt: null,
          error: null,
          processedBy: null,
        }))
        await tx.query(
          `INSERT INTO communications (number, external_system, state, doc)
           SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::jsonb[])`,
          [
            records.map((r) => r.number),
            records.map((r) => r.externalSystem),
            records.map((r) => r.state),
            records.map((r) => JSON.stringify(r)),
          ],
        )
        return records
      }),
    )
  }

  async pendingCommunications(
    externalSystem: string,
    after: string | null,
    limit: number,
  ): Promise<readonly Communication[]> {
    if (after !== null && !/^[0-9]+$/.test(after)) {
      throw new RangeError(
        `pendingCommunications: after must be a communication number ("1", "2"...) or null, not ${JSON.stringify(after)}.`,
      )
    }
    return this.docs<Communication>(
      `SELECT doc FROM communications WHERE state = 'PENDING' AND external_system = $1 AND number > $2::bigint
       ORDER BY number LIMIT $3`,
      [externalSystem, after ?? '0', limit],
    )
  }

  async getCommunication(number: string): Promise<Communication | null> {
    if (!/^[1-9][0-9]{0,17}$/.test(number)) {
      return null
    }
    const found = await this.docs<Communication>(
      'SELECT doc FROM communications WHERE number = $1::bigint',
      [number],
    )
    return found[0] ?? null
  }

  async listCommunications(filter: {
    readonly externalSystem?: string
    readonly state?: CommunicationState
  }): Promise<readonly Communication[]> {
    return this.docs<Communication>(
      `SELECT doc FROM communications WHERE ($1::text IS NULL OR external_system = $1)
         AND ($2::text IS NULL OR state = $2) ORDER BY number`,
      [filter.externalSystem ?? null, filter.state ?? null],
    )
  }

  async updateCommunication(number: string, change: CommunicationChange): Promise<void> {
    const patch = {
      state: change.state,
      processedAt: change.processedAt,
      error: change.error,
      processedBy: change.processedBy,
      ...(change.delivery === undefined ? {} : { delivery: change.delivery }),
    }
    const updated = await this.write(async () =>
      /^[1-9][0-9]{0,17}$/.test(number)
        ? (
            await this.pool.query(
              'UPDATE communications SET state = $2, doc = doc || $3::jsonb WHERE number = $1::bigint',
              [number, change.state, JSON.stringify(patch)],
            )
          ).rowCount
        : 0,
    )
    if (updated === 0) {
      throw new StoreError(
        'REQUEST_NOT_FOUND',
        `Failed to update communication ${JSON.stringify(number)}: the queue has no communication with that number (numbered from "1").`,
      )
    }
  }

  close(): Promise<void> {
    this.closed = true
    return Promise.resolve()
  }

  private async docs<T>(sql: string, values: readonly unknown[]): Promise<T[]> {
    const found = await this.read(() => this.pool.query<{ doc: T }>(sql, [...values]))
    return found.rows.map((row) => row.doc)
  }

  private checkOpen(): void {
    if (this.closed) {
      throw new StoreError(
        'STORE_WRITE_FAILED',
        'Failed to change the PostgreSQL run store: it is closed. Open a new store.',
      )
    }
  }

  private async write<T>(work: () => Promise<T>): Promise<T> {
    this.checkOpen()
    try {
      return await work()
    } catch (error) {
      if (error instanceof StoreError) {
        throw error
      }
      throw new StoreError(
        'STORE_WRITE_FAILED',
        `Failed to change the PostgreSQL run store: ${message(error)}. Nothing was changed; check that the server is up and reachable, then try again.`,
        { cause: error },
      )
    }
  }

  private async read<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work()
    } catch (error) {
      throw new StoreError(
        'STORE_UNREADABLE',
        `Failed to read the PostgreSQL run store: ${message(error)}. Check that the server is up and reachable, then try again.`,
        { cause: error },
      )
    }
  }
}
