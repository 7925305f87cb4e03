import type { TestProject } from 'vitest/node'
import { startLocalPostgres, type LocalPostgres } from './postgres-server.js'

declare module 'vitest' {
  export interface ProvidedContext {
    /** The tests' PostgreSQL server, or why none could be started (its tests then fail with it). */
    postgres: { readonly url: string } | { readonly error: string }
  }
}

/**
 * Starts one PostgreSQL server for the test run (docs/decisions/0017), or takes the one of
 * `CONAX_TEST_DATABASE_URL`. A server that cannot be started does not stop the other tests: the
 * PostgreSQL tests fail, each with the reason (see `test-support/postgres.ts`).
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const given = process.env.CONAX_TEST_DATABASE_URL
  if (given !== undefined && given !== '') {
    project.provide('postgres', { url: given })
    return () => Promise.resolve()
  }
  let server: LocalPostgres | null = null
  try {
    server = await startLocalPostgres()
    project.provide('postgres', { url: server.url })
  } catch (error) {
    project.provide('postgres', { error: error instanceof Error ? error.message : String(error) })
  }
  return async () => {
    await server?.stop()
  }
}
