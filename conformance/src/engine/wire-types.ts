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

/**
 * A command's fields by name, for code that walks the parameters of any command type (device maps,
 * report lines) without a switch over the union.
 */
export function commandFields(command: object): Readonly<Record<string, unknown>> {
  return Object.fromEntries(Object.entries(command))
}
