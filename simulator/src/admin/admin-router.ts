import express, { type NextFunction, type Request, type Response } from 'express'
import { errorBody } from '../../../common/coded-error.js'
import { adminOpenApiDocument } from './admin-openapi.js'
import type { CaModel } from '../model/ca-model.js'
import { screenAt } from '../model/screen.js'
import { parseFaultRule, type FaultInjector } from '../runtime/fault-injector.js'
import type { Journal } from '../runtime/journal.js'
import { SimulatorError } from '../runtime/simulator-error.js'
import type { TenantRegistry } from '../runtime/tenants.js'
import type { LogStoreStats } from '../store/log-store.js'
import type { JournalStreams } from './journal-stream.js'
import {
  checkInventoryShape,
  readActivation,
  readCardsQuery,
  readClockAdvance,
  readJournalQuery,
  readReset,
} from './admin-requests.js'

/** What the admin API works on. */
export interface AdminDeps {
  readonly model: CaModel
  readonly journal: Journal
  readonly journalStreams: JournalStreams
  /** The log store's figures, or null without one. */
  readonly storeStats: () => LogStoreStats | null
  /** Where state is kept (`memory` or a file). */
  readonly storeDescription: string
  readonly faults: FaultInjector
  readonly persist: () => Promise<void>
  readonly reset: (keepInventory: boolean) => Promise<void>
  readonly startedAt: Date
  readonly now: () => Date
  /** Moves the simulator's clock forward by `ms`; answers the new now. */
  readonly advanceClock: (ms: number) => Date
  /** JSON body limit in bytes. */
  readonly bodyLimitBytes: number
  /** Most entries one page of cards or journal holds. */
  readonly pageLimit: number
  /** The tenants under `/t/<name>/`: none in a tenant, or when they are turned off. */
  readonly tenants?: () => TenantRegistry | null
  /** What `GET /metrics` answers (Prometheus' text format); no such route when absent. */
  readonly metrics?: { readonly contentType: string; render(): Promise<string> }
}

/** True when the request carries a body (body-parser's test: a Transfer-Encoding or a Content-Length above 0). */
const hasBody = (req: Request): boolean =>
  req.headers['transfer-encoding'] !== undefined ||
  (req.headers['content-length'] !== undefined && req.headers['content-length'] !== '0')

/**
 * Any error a route or express raised, as the simulator's coded error: body-parser's refusals
 * (too large, not JSON, an unreadable charset or encoding) and express's (a path that is not
 * valid percent-encoding) by their HTTP status; anything else is INTERNAL.
 */
function toAdminError(error: unknown, bodyLimitBytes: number): SimulatorError {
  if (error instanceof SimulatorError) {
    return error
  }
  const { status, type } = error as { status?: unknown; type?: unknown }
  const reason = error instanceof Error ? error.message : String(error)
  if (status === 413) {
    return new SimulatorError(
      'PAYLOAD_TOO_LARGE',
      `The JSON body is larger than the admin API's limit of ${bodyLimitBytes} bytes (adminBodyLimitBytes); nothing was changed. Send the inventory in several calls, or raise --admin-body-limit.`,
    )
  }
  if (status === 415) {
    return new SimulatorError(
      'UNSUPPORTED_MEDIA_TYPE',
      `The request body cannot be read: ${reason}. Send JSON in UTF-8.`,
    )
  }
  if (typeof status === 'number' && status >= 400 && status < 500) {
    // body-parser's refusals carry a `type`; express's own do not.
    return new SimulatorError(
      'INVALID_REQUEST',
      type === undefined
        ? `The request cannot be read: ${reason}.`
        : `The request body is not valid JSON: ${reason}`,
    )
  }
  return new SimulatorError('INTERNAL', `Internal simulator error: ${reason}`, { cause: error })
}

/**
 * The JSON admin surface of contract section 4, plus fault injection and direct state changes
 * (for making the CA drift from a CRM on purpose). Requests are read by the schemas of
 * admin-requests.ts; every error answers `{ error: { code, message } }` with its code's HTTP status.
 */
export function createAdminRouter(deps: AdminDeps): express.Router {
  const router = express.Router()
  // Every admin answer says how far the journal goes, so a client (CI) can take "everything after
  // now" from any call, without clocks.
  router.use((_req, res, next) => {
    res.setHeader('X-Journal-Last-Seq', String(deps.journal.lastSeq()))
    next()
  })
  router.use(express.json({ limit: deps.bodyLimitBytes }))
  // A body that is not JSON is not parsed: refuse it rather than act as if none had been sent
  // (`curl -d '{"keepInventory":true}'` sends a form, and would otherwise wipe the inventory).
  router.use((req, _res, next) => {
    if ((req.method === 'POST' || req.method === 'PUT') && req.body === undefined && hasBody(req)) {
      next(
        new SimulatorError(
          'UNSUPPORTED_MEDIA_TYPE',
          `The body of ${req.method} ${req.path} is ${req.headers['content-type'] ?? 'untyped'}, not JSON: send it with Content-Type: application/json. Nothing was changed.`,
        ),
      )
      return
    }
    next()
  })

  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' })
  })

  const openApi = adminOpenApiDocument()
  router.get('/admin/openapi.json', (_req, res) => {
    res.json(openApi)
  })

  const { metrics } = deps
  if (metrics) {
    router.get('/metrics', async (_req, res) => {
      res.type(metrics.contentType).send(await metrics.render())
    })
  }

  router.post('/admin/inventory', async (req, res) => {
    const outcome = deps.model.registerInventory(checkInventoryShape(req.body))
    if (!outcome.ok) {
      throw new SimulatorError('INVALID_INVENTORY', outcome.message)
    }
    await deps.persist()
    res.json({ registered: outcome.value, totals: deps.model.stats() })
  })

  router.get('/admin/cards', (req, res) => {
    const { offset, limit, contains } = readCardsQuery(req.query, deps.pageLimit)
    res.json(deps.model.cardIds(offset, limit, contains))
  })

  router.get('/admin/cards/:caClientId', (req, res) => {
    const card = deps.model.card(req.params.caClientId)
    if (!card) {
      throw new SimulatorError(
        'NOT_FOUND',
        `Card '${req.params.caClientId}' is not known to the simulator. Register it with POST /admin/inventory.`,
      )
    }
    res.json(card)
  })

  router.get('/admin/cards/:caClientId/screen', (req, res) => {
    const card = deps.model.card(req.params.caClientId)
    if (!card) {
      throw new SimulatorError(
        'NOT_FOUND',
        `Card '${req.params.caClientId}' is not known to the simulator. Register it with POST /admin/inventory.`,
      )
    }
    res.json(screenAt(card, deps.now().toISOString()))
  })

  router.put('/admin/cards/:caClientId/subscriptions/:productId', async (req, res) => {
    const activation = readActivation(req.body)
    const startDate = activation.startDate ?? deps.now().toISOString()
    const endDate = activation.endDate
    if (endDate !== null && endDate < startDate) {
      throw new SimulatorError(
        'INVALID_REQUEST',
        `endDate ${endDate} is before startDate ${startDate}.`,
      )
    }
    const outcome = deps.model.forceAddProduct(req.params.caClientId, {
      productId: req.params.productId,
      distributor: activation.distributor,
      startDate,
      endDate,
    })
    if (!outcome.ok) {
      throw new SimulatorError('NOT_FOUND', outcome.message)
    }
    await deps.persist()
    res.json(deps.model.card(req.params.caClientId))
  })

  router.delete('/admin/cards/:caClientId/subscriptions/:productId', async (req, res) => {
    if (!deps.model.forceRemoveProduct(req.params.caClientId, req.params.productId)) {
      throw new SimulatorError(
        'NOT_FOUND',
        `Product '${req.params.productId}' is not active on card '${req.params.caClientId}'.`,
      )
    }
    await deps.persist()
    res.json(deps.model.card(req.params.caClientId))
  })

  router.delete('/admin/cards/:caClientId/pairing', async (req, res) => {
    if (!deps.model.forceUnpair(req.params.caClientId)) {
      throw new SimulatorError(
        'NOT_FOUND',
        `Card '${req.params.caClientId}' is unknown or not paired.`,
      )
    }
    await deps.persist()
    res.json(deps.model.card(req.params.caClientId))
  })

  router.get('/admin/pairing-modules/:pairingModuleId', (req, res) => {
    const stb = deps.model.pairingModule(req.params.pairingModuleId)
    if (!stb) {
      throw new SimulatorError(
        'NOT_FOUND',
        `Pairing module '${req.params.pairingModuleId}' is not known to the simulator.`,
      )
    }
    res.json(stb)
  })

  router.get('/admin/pairings/:pairingId', (req, res) => {
    const pairing = deps.model.pairing(req.params.pairingId)
    if (!pairing) {
      throw new SimulatorError(
        'NOT_FOUND',
        `Pairing '${req.params.pairingId}' is not known to the simulator (cancelled, or never made).`,
      )
    }
    res.json(pairing)
  })

  router.get('/admin/products', (_req, res) => {
    res.json({ products: deps.model.catalogue() })
  })

  router.get('/admin/journal', async (req, res) => {
    const query = readJournalQuery(req.query, deps.pageLimit)
    const page = await deps.journal.page(query)
    // The body stays the contract's list; where the page ended and whether more may follow go in headers.
    res.setHeader('X-Journal-Last-Seq', String(deps.journal.lastSeq()))
    res.setHeader('X-Journal-Page-Through', String(page.through))
    res.json(page.entries.map((entry) => deps.journal.view(entry)))
  })

  router.get('/admin/journal/stream', (req, res) => {
    const { limit: _limit, ...query } = readJournalQuery(req.query, deps.pageLimit)
    deps.journalStreams.open(req, res, query)
  })

  router.post('/admin/reset', async (req, res) => {
    const keep = readReset(req.body)
    await deps.reset(keep)
    res.json({ reset: true, keepInventory: keep, totals: deps.model.stats() })
  })

  router.get('/admin/faults', (_req, res) => {
    res.json(deps.faults.list())
  })

  router.post('/admin/faults', (req, res) => {
    const rule = parseFaultRule(req.body)
    if (!rule.ok) {
      throw new SimulatorError('INVALID_REQUEST', `Invalid fault rule: ${rule.problem}.`)
    }
    res.status(201).json(deps.faults.add(rule.value))
  })

  router.delete('/admin/faults/:id', (req, res) => {
    if (!deps.faults.remove(Number(req.params.id))) {
      throw new SimulatorError('NOT_FOUND', `No fault rule with id ${req.params.id}.`)
    }
    res.status(204).end()
  })

  router.delete('/admin/faults', (_req, res) => {
    deps.faults.clear()
    res.status(204).end()
  })

  router.get('/admin/clock', (_req, res) => {
    res.json({ now: deps.now().toISOString() })
  })

  router.post('/admin/clock', (req, res) => {
    res.json({ now: deps.advanceClock(readClockAdvance(req.body)).toISOString() })
  })

  const tenantsOrRefuse = (): TenantRegistry => {
    const tenants = deps.tenants?.() ?? null
    if (tenants === null) {
      throw new SimulatorError(
        'NOT_FOUND',
        'This simulator has no tenants: it is a tenant itself, or it was started with --tenants 0.',
      )
    }
    return tenants
  }

  router.get('/admin/tenants', async (_req, res) => {
    res.json({ tenants: await tenantsOrRefuse().list() })
  })

  router.delete('/admin/tenants/:name', async (req, res) => {
    if (!(await tenantsOrRefuse().remove(req.params.name))) {
      throw new SimulatorError('NOT_FOUND', `No tenant '${req.params.name}' runs now.`)
    }
    res.status(204).end()
  })

  router.get('/admin/stats', (_req, res) => {
    res.json({
      ...deps.model.stats(),
      journalEntries: deps.journal.size(),
      journalDropped: deps.journal.droppedCount(),
      lastSeq: deps.journal.lastSeq(),
      journalStreams: deps.journalStreams.count(),
      startedAt: deps.startedAt.toISOString(),
      store: { description: deps.storeDescription, log: deps.storeStats() },
    })
  })

  router.use((req, _res, next) => {
    next(
      new SimulatorError(
        'NOT_FOUND',
        `No admin route ${req.method} ${req.path}. See simulator/README.md for the admin API.`,
      ),
    )
  })

  router.use((error: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const coded = toAdminError(error, deps.bodyLimitBytes)
    res.status(coded.httpStatus).json(errorBody(coded))
  })

  return router
}
