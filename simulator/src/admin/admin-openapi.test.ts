import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { operationsOf, routesOf } from '../../../common/test-support/express-routes.js'
import type { Simulator } from '../create-simulator.js'
import { packageRoot } from '../runtime/package-root.js'
import { startTestSimulator } from '../test-support/soap.js'
import { adminOpenApiDocument } from './admin-openapi.js'
import { createAdminRouter, type AdminDeps } from './admin-router.js'

describe('the OpenAPI document of the admin API', () => {
  let sim: Simulator
  beforeAll(async () => {
    sim = await startTestSimulator()
  })
  afterAll(() => sim.close())

  it('describes every route the admin router serves, and no other', () => {
    // Building the router only registers its routes: the dependencies are not called.
    const router = createAdminRouter({
      bodyLimitBytes: 1024,
      pageLimit: 10,
      metrics: { contentType: 'text/plain', render: () => Promise.resolve('') },
    } as unknown as AdminDeps)
    expect(operationsOf(adminOpenApiDocument())).toEqual(routesOf(router.stack))
  })

  it('is served without a token, with an operationId for each operation and the bearer scheme', async () => {
    const res = await fetch(`${sim.url}/admin/openapi.json`)
    expect(res.status).toBe(200)
    const doc = (await res.json()) as {
      openapi: string
      servers: unknown[]
      components: { securitySchemes: Record<string, unknown> }
      paths: Record<string, Record<string, { operationId?: string; security?: unknown }>>
    }
    expect(doc.openapi).toBe('3.1.0')
    expect(doc.servers.length).toBeGreaterThan(0)
    expect(doc.components.securitySchemes.bearerAuth).toMatchObject({ scheme: 'bearer' })
    const ids = Object.values(doc.paths).flatMap((item) =>
      Object.values(item).map((op) => op.operationId),
    )
    expect(ids.every((id) => typeof id === 'string')).toBe(true)
    expect(new Set(ids).size).toBe(ids.length)
    expect(doc.paths['/admin/openapi.json']?.get?.security).toEqual([])
    expect((await fetch(`${sim.url}/admin/stats`)).status).toBe(401)
  })

  it('takes its request bodies from the zod schemas that read them', () => {
    const doc = adminOpenApiDocument() as {
      paths: Record<string, Record<string, { requestBody?: { content: Record<string, unknown> } }>>
    }
    expect(doc.paths['/admin/clock']?.post?.requestBody?.content['application/json']).toEqual({
      schema: {
        type: 'object',
        properties: {
          advanceMs: { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER },
        },
        required: ['advanceMs'],
        additionalProperties: false,
      },
    })
  })

  it('is the copy in docs/openapi/ (npm run openapi:write)', () => {
    const file = join(packageRoot(), 'docs', 'openapi', 'simulator-admin.json')
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual(adminOpenApiDocument())
  })
})
