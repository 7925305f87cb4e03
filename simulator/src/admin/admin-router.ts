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
  /** Moves the simulator's clock forward by `ms`; answers the new now. */
  readonly advanceClock: (ms: number) => Date
  /** JSON body limit in bytes. */
  readonly bodyLimitBytes: number
  /** Most entries one page of cards or journal holds. */
  readonly pageLimit: number
}

const badRequest = (message: string): SimulatorError =>
  new SimulatorError('INVALID_REQUEST', message)

/** HTTP status of an admin error; codes not listed are 400. */
const STATUS_OF: Partial<Record<SimulatorErrorCode, number>> = {
  NOT_FOUND: 404,
  UNSUPPORTED_MEDIA_TYPE: 415,
  LIMIT_EXCEEDED: 422,
  STORE_WRITE_FAILED: 500,
}

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

/** A JSON text cut to a length a message can carry. */
const shown = (value: unknown): string => {
  const text = JSON.stringify(value) ?? String(value)
  return text.length > 60 ? `${text.slice(0, 60)}…` : text
}

/**
 * The fields of an optional JSON object body: absent is `{}`; anything but an object with only
 * the `allowed` fields is refused, so a misspelt or mistyped field is never silently dropped.
 */
function bodyFields(
  body: unknown,
  allowed: readonly string[],
  what: string,
): Record<string, unknown> {
  if (body === undefined) {
    return {}
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw badRequest(
      `The body of ${what} must be a JSON object, not ${shown(body)}. Nothing was changed.`,
    )
  }
  const unknown = Object.keys(body).filter((key) => !allowed.includes(key))
  if (unknown.length > 0) {
    throw badRequest(
      `Unknown field(s) ${unknown.map((key) => shown(key)).join(', ')} in ${what}; it takes ${allowed.join(', ')}. Nothing was changed.`,
    )
  }
  return body as Record<string, unknown>
}

/** True when the request carries a body (body-parser's test: a Transfer-Encoding or a Content-Length above 0). */
const hasBody = (req: Request): boolean =>
  req.headers['transfer-encoding'] !== undefined ||
  (req.headers['content-length'] !== undefined && req.headers['content-length'] !== '0')

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
    const body = bodyFields(
      req.body,
      ['distributor', 'startDate', 'endDate'],
      'a direct activation',
    )
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
    const { keepInventory } = bodyFields(req.body, ['keepInventory'], 'a reset')
    if (keepInventory !== undefined && typeof keepInventory !== 'boolean') {
      throw badRequest(
        `keepInventory must be true or false, not ${shown(keepInventory)}. Nothing was reset.`,
      )
    }
    const keep = keepInventory === true
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

  router.get('/admin/clock', (_req, res) => {
    res.json({ now: deps.now().toISOString() })
  })

  router.post('/admin/clock', (req, res) => {
    const body: unknown = req.body ?? {}
    const advanceMs = (body as { advanceMs?: unknown }).advanceMs
    const keys = typeof body === 'object' && body !== null ? Object.keys(body) : ['(not an object)']
    if (
      keys.some((key) => key !== 'advanceMs') ||
      typeof advanceMs !== 'number' ||
      !Number.isSafeInteger(advanceMs) ||
      advanceMs < 0
    ) {
      throw badRequest(
        'The clock takes {"advanceMs": n} with n a whole number of milliseconds of at least 0: it only moves forward.',
      )
    }
    res.json({ now: deps.advanceClock(advanceMs).toISOString() })
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
      res.status(STATUS_OF[error.code] ?? 400).json({ error: error.toJSON() })
      return
    }
    const { status, type } = error as { status?: unknown; type?: unknown }
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
      // body-parser's refusals carry a `type` (415 an unsupported charset or encoding, 400 not
      // JSON); express's own (a path that is not valid percent-encoding) do not.
      const reason = (error as Error).message
      const message =
        type === undefined
          ? `The request cannot be read: ${reason}.`
          : status === 415
            ? `The request body cannot be read: ${reason}. Send JSON in UTF-8.`
            : `The request body is not valid JSON: ${reason}`
      res.status(status).json({
        error: { code: status === 415 ? 'UNSUPPORTED_MEDIA_TYPE' : 'INVALID_REQUEST', message },
      })
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
