import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { operationsOf, routesOf } from '../../common/test-support/express-routes.js'
import { createAdapterApp, type AdapterAppDeps } from './adapter-app.js'
import { DEFAULT_LIMITS } from './limits.js'
import { openApiDocument } from './openapi.js'

const ROOT = join(import.meta.dirname, '..', '..')

describe("the OpenAPI document of the adapter's API", () => {
  it('describes every route the app serves, and no other', () => {
    // Building the app only registers its routes: the services are not called.
    const app = createAdapterApp({
      limits: DEFAULT_LIMITS,
      bodyLimitBytes: 1024,
      metrics: { contentType: 'text/plain', render: () => Promise.resolve('') },
    } as unknown as AdapterAppDeps)
    expect(operationsOf(openApiDocument())).toEqual(routesOf(app.router.stack))
  })

  it('gives each operation a unique operationId, and names its servers', () => {
    const doc = openApiDocument() as {
      servers: unknown[]
      paths: Record<string, Record<string, { operationId?: string }>>
    }
    const ids = Object.values(doc.paths).flatMap((item) =>
      Object.values(item).map((op) => op.operationId),
    )
    expect(ids.every((id) => typeof id === 'string')).toBe(true)
    expect(new Set(ids).size).toBe(ids.length)
    expect(doc.servers.length).toBeGreaterThan(0)
  })

  it('is the copy in docs/openapi/ (npm run openapi:write)', () => {
    const file = join(ROOT, 'docs', 'openapi', 'adapter.json')
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual(openApiDocument())
  })
})
