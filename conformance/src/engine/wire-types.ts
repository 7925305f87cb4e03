export type { ConaxCommand } from '../../../src/index.js'

/** The fields of a simulator journal entry the harness reads (from `GET /admin/journal` or in-process). */
export interface JournalEntryLike {
  readonly seq: number
  readonly service: string
  readonly operation: string | null
  readonly request: unknown
  readonly statusCode: string
  /** True when the CA answered the call as a replay of an earlier write. */
  readonly replay?: boolean
}
