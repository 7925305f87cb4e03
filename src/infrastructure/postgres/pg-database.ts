import { existsSync, readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import pg from 'pg'
import { StoreError } from '../store/store-error.js'

/** Advisory lock keys (any constant pair; named so that a DBA reading pg_locks can tell them). */
export const MIGRATION_LOCK = 0x636f6e61 // 'cona'
export const COMMUNICATION_LOCK = 0x636f6e62

/**
 * The migrations folder: beside this module when run from source, under `src/` when run from the
 * build (`dist/`; tsc copies no SQL).
 */
function migrationsFolder(): string {
  const here = join(import.meta.dirname, 'migrations')
  if (existsSync(here)) {
    return here
  }
  return join(
    import.meta.dirname,
    '..',
    '..',
    '..',
    '..',
    'src',
    'infrastructure',
    'postgres',
    'migrations',
  )
}

/** The SQL files `NNNN_name.sql` in version order. */
export function migrations(): readonly { version: number; name: string; sql: string }[] {
  const folder = migrationsFolder()
  return readdirSync(folder)
    .filter((file) => /^\d{4}_[a-z0-9_]+\.sql$/.test(file))
    .sort()
    .map((file) => ({
      version: Number(file.slice(0, 4)),
      name: file,
      sql: readFileSync(join(folder, file), 'utf8'),
    }))
}

/** Where the URL points, without its password, for logs and errors. */
export function describeUrl(url: string): string {
  try {
    const parsed = new URL(url)
    parsed.password = ''
    return `postgresql ${parsed.toString()}`
  } catch {
    return 'postgresql (unparsable URL)'
  }
}

/**
 * Opens a pool on the database and brings its schema up to date: each migration not yet recorded in
 * `schema_migrations` runs in its own transaction, under an advisory lock, so that adapter
 * instances starting together apply each one once.
 */
export async function openDatabase(
  url: string,
  options: { readonly max?: number } = {},
): Promise<pg.Pool> {
  const pool = new pg.Pool({ connectionString: url, max: options.max ?? 20 })
  // An idle client that loses its server must not crash the process; the next query reports it.
  pool.on('error', () => undefined)
  let client: pg.PoolClient
  try {
    client = await pool.connect()
  } catch (error) {
    await pool.end()
    throw new StoreError(
      'STORE_UNREADABLE',
      `Failed to connect to the PostgreSQL database ${describeUrl(url)}: ${message(error)}. Check --database-url (DATABASE_URL) and that the server is running and reachable.`,
      { cause: error },
    )
  }
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK])
    await client.query(
      'CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())',
    )
    const applied = new Set(
      (await client.query<{ version: number }>('SELECT version FROM schema_migrations')).rows.map(
        (row) => row.version,
      ),
    )
    for (const migration of migrations()) {
      if (applied.has(migration.version)) {
        continue
      }
      await client.query('BEGIN')
      try {
        await client.query(migration.sql)
        await client.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [
          migration.version,
          migration.name,
        ])
        await client.query('COMMIT')
      } catch (error) {
        await client.query('ROLLBACK')
        throw new StoreError(
          'STORE_UNREADABLE',
          `Failed to apply the schema migration ${migration.name} to ${describeUrl(url)}: ${message(error)}. Nothing of it was applied; fix the cause (permissions to create tables?) and start again.`,
          { cause: error },
        )
      }
    }
  } catch (error) {
    client.release()
    await pool.end()
    throw error instanceof StoreError
      ? error
      : new StoreError(
          'STORE_UNREADABLE',
          `Failed to prepare the PostgreSQL database ${describeUrl(url)}: ${message(error)}.`,
          { cause: error },
        )
  }
  await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => undefined)
  client.release()
  return pool
}

export function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}

/** Runs `work` in a transaction on one client of the pool. */
export async function inTransaction<T>(
  pool: pg.Pool,
  work: (client: pg.PoolClient) => Promise<T>,
): Promise<T> {
  const client = await pool.connect()
  try {
    await client.query('BEGIN')
    const result = await work(client)
    await client.query('COMMIT')
    return result
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined)
    throw error
  } finally {
    client.release()
  }
}
