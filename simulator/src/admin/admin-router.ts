import express, { type NextFunction, type Request, type Response } from 'express'
import type { CaModel, InventoryInput } from '../model/ca-model.js'
import {
  checkFaultRule,
  type FaultInjector,
  type FaultRuleInput,
} from '../runtime/fault-injector.js'
import type { Journal } from '../runtime/journal.js'
import { SimulatorError, type SimulatorErrorCode } from '../runtime/simulator-error.js'

/** What the admin API works on. */
export interface AdminDeps {
  readonly model: CaModel
  readonly journal: Journal
  readonly faults: FaultInjector
  readonly persist: () => Promise<void>
  readonly reset: (keepInventory: boolean) => Promise<void>
  readonly startedAt: Date
  readonly now: () => Date
  /** JSON body limit in bytes. */
  readonly bodyLimitBytes: number
  /** Most entries one page of cards or journal holds. */
  readonly pageLimit: number
}

/** HTTP status of the codes that are not 400. */
const ADMIN_STATUS: Partial<Record<SimulatorErrorCode, number>> = {
  NOT_FOUND: 404,
  STORE_WRITE_FAILED: 500,
  LIMIT_EXCEEDED: 422,
}

const badRequest = (message: string): SimulatorError =>
  new SimulatorError('INVALID_REQUEST', message)

function optionalInt(value: unknown, name: string, min: number): number | undefined {
  if (value === undefined) {
    return undefined
  }
  const number = Number(value)
  if (!Number.isInteger(number) || number < min) {
    throw badRequest(
      `Query parameter ${name} must be an integer of at least ${min}, not ${JSON.stringify(value)}.`,
    )
  }
  return number
}

/** A page size: refused above the limit rather than cut silently, so a client never misses entries unknowingly. */
function pageSize(value: unknown, max: number, fallback: number | undefined): number | undefined {
  const limit = optionalInt(value, 'limit', 1) ?? fallback
  if (limit !== undefined && limit > max) {
    throw new SimulatorError(
      'LIMIT_EXCEEDED',
      `Query parameter limit is ${limit}, above the maximum of ${max} per page (adminPageLimit). Ask for at most ${max} and page on with offset (cards) or since (journal).`,
    )
  }
  return limit
}

function checkInventoryItem(
  key: string,
  index: number,
  item: unknown,
  required: readonly string[],
): void {
  const record =
    typeof item === 'object' && item !== null ? (item as Record<string, unknown>) : null
  const missing = required.find((name) => typeof record?.[name] !== 'string')
  if (!record || missing !== undefined) {
    throw new SimulatorError(
      'INVALID_INVENTORY',
      `${key}[${index}].${missing ?? 'item'} must be a string.`,
    )
  }
  const optional = key === 'products' ? 'name' : 'sms'
  const value = record[optional]
  if (value !== undefined && value !== null && typeof value !== 'string') {
    throw new SimulatorError(
      'INVALID_INVENTORY',
      `${key}[${index}].${optional} must be a string when given.`,
    )
  }
}

/** The `POST /admin/inventory` shape, checked item by item; throws INVALID_INVENTORY naming the item. */
export function checkInventoryShape(body: unknown): InventoryInput {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new SimulatorError(
      'INVALID_INVENTORY',
      'The inventory must be a JSON object with smartcards, pairingModules and/or products arrays.',
    )
  }
  const input = body as Record<string, unknown>
  const fields: Record<string, readonly string[]> = {
    smartcards: ['caClientId'],
    pairingModules: ['pairingModuleId', 'serialNumber', 'productCode', 'productDescription'],
    products: ['productId'],
  }
  for (const key of Object.keys(input)) {
    if (!Object.hasOwn(fields, key)) {
      throw new SimulatorError(
        'INVALID_INVENTORY',
        `Unknown inventory field '${key}'; expected smartcards, pairingModules or products.`,
      )
    }
  }
  for (const [key, required] of Object.entries(fields)) {
    const list = input[key]
    if (list === undefined) {
      continue
    }
    if (!Array.isArray(list)) {
      throw new SimulatorError('INVALID_INVENTORY', `${key} must be an array.`)
    }
    for (const [index, item] of (list as unknown[]).entries()) {
      checkInventoryItem(key, index, item, required)
    }
  }
  return input
}

function dateOrNull(value: unknown, name: string): string | null {
  if (value === undefined || value === null) {
    return null
  }
  const iso = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/
  const millis = typeof value === 'string' && iso.test(value) ? Date.parse(value) : Number.NaN
  if (Number.isNaN(millis)) {
    throw badRequest(
      `${name} must be an ISO-8601 date-time with a zone, e.g. 2026-11-26T10:00:00Z.`,
    )
  }
  return new Date(millis).toISOString()
}

/**
 * The JSON admin surface of contract section 4, plus fault injection and direct state changes
 * (for making the CA drift from a CRM on purpose). Errors answer `{ error: { code, message } }`.
 */
export function createAdminRouter(deps: AdminDeps): express.Router {
  const router = express.Router()
  router.use(express.json({ limit: deps.bodyLimitBytes }))

  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' })
  })

  router.post('/admin/inventory', async (req, res) => {
    const outcome = deps.model.registerInventory(checkInventoryShape(req.body))
    if (!outcome.ok) {
      throw new SimulatorError('INVALID_INVENTORY', outcome.message)
    }
    await deps.persist()
    res.json({ registered: outcome.value, totals: deps.model.stats() })
  })

  router.get('/admin/cards', (req, res) => {
    const offset = optionalInt(req.query.offset, 'offset', 0) ?? 0
    const limit = pageSize(req.query.limit, deps.pageLimit, 100) ?? 100
    res.json(deps.model.cardIds(offset, limit))
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

  router.put('/admin/cards/:caClientId/subscriptions/:productId', async (req, res) => {
    const body = (req.body ?? {}) as Record<string, unknown>
    const distributor = body.distributor
    if (distributor !== undefined && distributor !== null && typeof distributor !== 'string') {
      throw badRequest('distributor must be a string when given.')
    }
    const startDate = dateOrNull(body.startDate, 'startDate') ?? deps.now().toISOString()
    const endDate = dateOrNull(body.endDate, 'endDate')
    if (endDate !== null && endDate < startDate) {
      throw badRequest(`endDate ${endDate} is before startDate ${startDate}.`)
    }
    const outcome = deps.model.forceAddProduct(req.params.caClientId, {
      productId: req.params.productId,
      distributor: distributor ?? null,
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

  router.get('/admin/products', (_req, res) => {
    res.json({ products: deps.model.catalogue() })
  })

  router.get('/admin/journal', (req, res) => {
    const entries = deps.journal.list({
      since: optionalInt(req.query.since, 'since', 0),
      limit: pageSize(req.query.limit, deps.pageLimit, undefined),
      operation: typeof req.query.operation === 'string' ? req.query.operation : undefined,
      service: typeof req.query.service === 'string' ? req.query.service : undefined,
    })
    res.json(entries)
  })

  router.post('/admin/reset', async (req, res) => {
    const keep = (req.body as { keepInventory?: unknown } | undefined)?.keepInventory === true
    await deps.reset(keep)
    res.json({ reset: true, keepInventory: keep, totals: deps.model.stats() })
  })

  router.get('/admin/faults', (_req, res) => {
    res.json(deps.faults.list())
  })

  router.post('/admin/faults', (req, res) => {
    const problem = checkFaultRule(req.body)
    if (problem) {
      throw badRequest(`Invalid fault rule: ${problem}.`)
    }
    res.status(201).json(deps.faults.add(req.body as FaultRuleInput))
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

  router.get('/admin/stats', (_req, res) => {
    res.json({
      ...deps.model.stats(),
      journalEntries: deps.journal.size(),
      journalDropped: deps.journal.droppedCount(),
      startedAt: deps.startedAt.toISOString(),
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
    if (error instanceof SimulatorError) {
      res.status(ADMIN_STATUS[error.code] ?? 400).json({ error: error.toJSON() })
      return
    }
    const status = (error as { status?: unknown }).status
    if (status === 413) {
      res.status(413).json({
        error: {
          code: 'PAYLOAD_TOO_LARGE',
          message: `The JSON body is larger than the admin API's limit of ${deps.bodyLimitBytes} bytes (adminBodyLimitBytes); nothing was changed. Send the inventory in several calls, or raise --admin-body-limit.`,
        },
      })
      return
    }
    if (typeof status === 'number' && status >= 400 && status < 500) {
      const message = `The request body is not valid JSON: ${(error as Error).message}`
      res.status(status).json({ error: { code: 'INVALID_REQUEST', message } })
      return
    }
    res.status(500).json({
      error: {
        code: 'INTERNAL',
        message: `Internal simulator error: ${error instanceof Error ? error.message : String(error)}`,
      },
    })
  })

  return router
}
