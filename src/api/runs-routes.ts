import express from 'express'
import type { ZodType } from 'zod'
import type { RunService } from '../application/runs/run-service.js'
import type { RunDefinitionInput } from '../domain/runs.js'
import type { ProvisioningRequest } from '../domain/provisioning-request.js'
import { checkCommunicationsBody, checkPage, type AdapterLimits } from './limits.js'
import {
  communicationsQuerySchema,
  communicationsSchema,
  executionsQuerySchema,
  pageQuerySchema,
  previewQuerySchema,
  resetQuerySchema,
  runDefinitionSchema,
} from './schemas.js'

/** The app's own helpers, handed in so that this router does not import the app (no cycle). */
export interface RunRoutesKit {
  readonly parse: <T>(schema: ZodType<T>, input: unknown, where: string) => T
  readonly ok: (data: unknown) => Record<string, unknown>
  readonly requestJson: (request: ProvisioningRequest) => Record<string, unknown>
  readonly limits: AdapterLimits
}

/**
 * The batch runs' API: definitions, previews, executions (start, watch, stop, resume, their
 * requests), the communication queue and reset single subscription. Routes under
 * `/runs/executions` come before `/runs/:idOrCode`, which would otherwise take them.
 */
export function runRoutes(runs: RunService, kit: RunRoutesKit): express.Router {
  const { parse, ok, requestJson, limits } = kit
  const router = express.Router()

  router.post('/runs', async (req, res) => {
    // The schema's output is the domain's input: checked here so a drift fails to compile.
    const input: RunDefinitionInput = parse(runDefinitionSchema, req.body, 'body')
    res.status(201).json(ok(await runs.define(input)))
  })

  router.get('/runs', async (_req, res) => {
    res.json(ok(await runs.definitions()))
  })

  router.get('/runs/executions', async (req, res) => {
    const query = parse(executionsQuerySchema, req.query, 'query')
    res.json(ok(await runs.executions(query.run)))
  })

  router.get('/runs/executions/:id', async (req, res) => {
    res.json(ok(await runs.get(req.params.id)))
  })

  router.post('/runs/executions/:id/stop', async (req, res) => {
    res.json(ok(await runs.stop(req.params.id)))
  })

  router.post('/runs/executions/:id/resume', async (req, res) => {
    res.status(202).json(ok(await runs.resume(req.params.id)))
  })

  router.get('/runs/executions/:id/requests', async (req, res) => {
    const query = parse(pageQuerySchema, req.query, 'query')
    checkPage(query.limit, 'limit', limits)
    // requests() of an unknown execution is an empty page; the API answers 404 instead.
    await runs.get(req.params.id)
    const page = await runs.requests(req.params.id, {
      offset: query.offset ?? 0,
      limit: query.limit ?? 100,
    })
    res.json({ ...ok(page.items.map(requestJson)), total: page.total })
  })

  router.get('/runs/:idOrCode', async (req, res) => {
    res.json(ok(await runs.definition(req.params.idOrCode)))
  })

  router.post('/runs/:idOrCode/preview', async (req, res) => {
    const query = parse(previewQuerySchema, req.query, 'query')
    checkPage(query.limit, 'limit', limits)
    res.json(
      ok(
        await runs.preview(req.params.idOrCode, {
          ...(query.limit === undefined ? {} : { limit: query.limit }),
          ...(query.check_cards === undefined ? {} : { checkCards: query.check_cards }),
        }),
      ),
    )
  })

  router.post('/runs/:idOrCode/executions', async (req, res) => {
    res.status(202).json(ok(await runs.start(req.params.idOrCode)))
  })

  router.get('/runs/:idOrCode/executions', async (req, res) => {
    res.json(ok(await runs.executions(req.params.idOrCode)))
  })

  router.post('/communications', async (req, res) => {
    checkCommunicationsBody(req.body, limits)
    const input = parse(communicationsSchema, req.body, 'body')
    res.status(201).json(ok(await runs.enqueue(input.communications)))
  })

  router.get('/communications', async (req, res) => {
    res.json(ok(await runs.communications(parse(communicationsQuerySchema, req.query, 'query'))))
  })

  router.post('/crm/subscriptions/:id/reset', async (req, res) => {
    const query = parse(resetQuerySchema, req.query, 'query')
    const { inSync, differences, commands, requests, failures } = await runs.resetSubscription(
      req.params.id,
      { preview: query.preview ?? false },
    )
    res.json(ok({ inSync, differences, commands, requests: requests.map(requestJson), failures }))
  })

  return router
}
