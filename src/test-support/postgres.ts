import { randomBytes } from 'node:crypto'
import pg from 'pg'
import { inject } from 'vitest'

/**
 * The tests' PostgreSQL server URL. Throws (the test fails, it is not skipped) when none could be
 * started: a suite that silently skipped its PostgreSQL tests would pass on a machine where the
 * PostgreSQL store was never tested.
 */
export function testPostgresUrl(): string {
  const postgres = inject('postgres')
  if ('error' in postgres) {
    throw new Error(
      `This test needs PostgreSQL and none could be started. ${postgres.error} (docs/decisions/0017)`,
    )
  }
  return postgres.url
}

/** A fresh, empty database on the tests' server: its URL (each test gets its own). */
export async function freshTestDatabase(): Promise<string> {
  const url = testPostgresUrl()
  const name = `t_${randomBytes(6).toString('hex')}`
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    await client.query(`CREATE DATABASE ${name}`)
  } finally {
    await client.end()
  }
  const fresh = new URL(url)
  fresh.pathname = `/${name}`
  return fresh.toString()
}
