import express, { type NextFunction, type Request, type Response } from 'express'
import type { ZodType } from 'zod'
import { AdapterError } from '../application/adapter-error.js'
import type { ProvisioningStore } from '../application/ports.js'
import type { ProvisioningService, SendOptions } from '../application/provisioning-service.js'
import type { RunService } from '../application/runs/run-service.js'
import type { UtilityService } from '../application/utility-service.js'
import type { ConaxCommand } from '../domain/commands.js'
import { codedErrorOf, errorAnswer } from './error-answer.js'
import {
  checkActionBody,
  checkCreatePairingBody,
  checkPage,
  checkUtilityBody,
  type AdapterLimits,
} from './limits.js'
import { openApiDocument } from './openapi.js'
import { requestJson } from './request-json.js'
import { runRoutes } from './runs-routes.js'
import {
  createPairingSchema,
  crmActionSchema,
  listQuerySchema,
  showQuerySchema,
  subscriptionRequestSchema,
  utilityRequestSchema,
} from './schemas.js'

const BASE = '/conax_web_services/provisioning_requests'

const ok = (
  data: unknown,
): { status: { code: 'OK'; description: string; message: string }; data: unknown } => ({
  status: { code: 'OK', description: '', message: '' },
  data,
})

/** Parses input with a schema; a failure names each field and rule. */
function parse<T>(schema: ZodType<T>, input: unknown, where: string): T {
  const result = schema.safeParse(input ?? {})
  if (result.success) {
    return result.data
  }
  const problems = result.error.issues.map(
    (issue) => `${issue.path.length > 0 ? issue.path.join('.') : where}: ${issue.message}`,
  )
  // `field` names the first offender as the domain's rejections do (`included[0].name`), so a
  // client reads one key whichever layer refused the input.
  const issue = result.error.issues[0]
  const first = [
    ...(issue?.path ?? []),
    // An unknown key is reported on its object: name the key itself.
    ...(issue?.code === 'unrecognized_keys' ? issue.keys.slice(0, 1) : []),
  ]
  const field = first.reduce<string>(
    (path, key) =>
      typeof key === 'number' ? `${path}[${key}]` : path ? `${path}.${String(key)}` : String(key),
    '',
  )
  throw new AdapterError('INVALID_REQUEST', `Invalid ${where}: ${problems.join('; ')}.`, {
    details: { field: field || where, problems },
  })
}

/** CRM.COM's process_immediately with a scheduled_date is contradictory (docs/domain.md §4.7): refused. */
function sendOptionsOf(input: {
  process_immediately?: boolean | 0 | 1 | undefined
  scheduled_date?: string | null | undefined
  priority?: 'REGULAR' | 'EXPRESS' | undefined
}): SendOptions {
  const immediately = input.process_immediately === true || input.process_immediately === 1
  if (immediately && input.scheduled_date) {
    throw new AdapterError(
      'INVALID_REQUEST',
      'Give process_immediately or scheduled_date, not both: a request cannot go now and later.',
    )
  }
  return {
    processImmediately: immediately,
    scheduledDate: input.scheduled_date ?? null,
    ...(input.priority ? { priority: input.priority } : {}),
  }
}

export interface AdapterAppDeps {
  readonly service: ProvisioningService
  readonly utilities: UtilityService
  readonly runs: RunService
  readonly store: ProvisioningStore
  readonly limits: AdapterLimits
  /** JSON body limit in bytes. */
  readonly bodyLimitBytes: number
  /** What `GET /metrics` answers (Prometheus' text format); no such route when absent. */
  readonly metrics?: { readonly contentType: string; render(): Promise<string> }
}

/**
 * The adapter's JSON API for a CRM: CRM.COM's `conax_web_services/provisioning_requests` methods
 * (show, list, add_subscriptions, cancel_subscriptions, create_pairing), `POST /crm/actions`,
 * which applies any CRM action, `POST /crm/utilities`, which runs a single-subscription utility,
 * and the batch runs (`/runs`, `/communications`, `POST /crm/subscriptions/:id/reset`, see
 * runs-routes.ts). Errors answer `{ error: { code, message, details } }`.
 */
export function createAdapterApp(deps: AdapterAppDeps): express.Express {
  const app = express()
  app.disable('x-powered-by')
  app.use(express.json({ limit: deps.bodyLimitBytes }))
  // A body of another type is not parsed; say so rather than judge the empty input it leaves.
  app.use((req, _res, next) => {
    const hasBody =
      req.headers['transfer-encoding'] !== undefined ||
      (req.headers['content-length'] !== undefined && req.headers['content-length'] !== '0')
    if (req.method === 'POST' && req.body === undefined && hasBody) {
      next(
        new AdapterError(
          'INVALID_REQUEST',
          `The body of POST ${req.path} is ${req.headers['content-type'] ?? 'untyped'}, not JSON: send it with Content-Type: application/json. Nothing was stored.`,
        ),
      )
      return
    }
    next()
  })
  const { service, utilities, store, limits } = deps

  const openApi = openApiDocument(limits)
  app.get('/openapi.json', (_req, res) => {
    res.json(openApi)
  })

  const { metrics } = deps
  if (metrics) {
    app.get('/metrics', async (_req, res) => {
      res.type(metrics.contentType).send(await metrics.render())
    })
  }

  app.get('/healthz', (_req, res) => {
    res.json({
      status: 'ok',
      provider: service.provider.name,
      lifeCycleState: service.provider.lifeCycleState,
    })
  })

  app.get(`${BASE}/show`, async (req, res) => {
    const query = parse(showQuerySchema, req.query, 'query')
    const found = await store.getRequest((query.id ?? query.number) as string)
    if (!found) {
      throw new AdapterError(
        'REQUEST_NOT_FOUND',
        `No provisioning request with ${query.id ? `id ${query.id}` : `number ${query.number ?? ''}`}.`,
      )
    }
    res.json(ok(requestJson(found)))
  })

  app.get(`${BASE}/list`, async (req, res) => {
    const query = parse(listQuerySchema, req.query, 'query')
    checkPage(query.number_of_results, 'number_of_results', limits)
    const page = await store.listRequests({
      type: query.type,
      lifeCycleState: query.life_cycle_state,
      referenceNumber: query.reference_number,
      subscriptionId: query.subscription_id,
      processName: query.process_name,
      processId: query.process_id,
      caId: query.ca_id,
      offset: query.offset ?? 0,
      limit: query.number_of_results ?? 100,
    })
    res.json({ ...ok(page.items.map(requestJson)), total: page.total })
  })

  const subscriptionCommand = async (
    body: unknown,
    type: 'ADD_SUBSCRIPTIONS' | 'CANCEL_SUBSCRIPTIONS',
  ): Promise<{ command: ConaxCommand; subscriptionId: string; send: SendOptions }> => {
    const input = parse(subscriptionRequestSchema, body, 'body')
    const subscriptionId = input.subscription_identifier.id as string
    const subscription = await store.getSubscription(subscriptionId)
    if (!subscription) {
      throw new AdapterError(
        'SUBSCRIPTION_NOT_FOUND',
        `Subscription '${subscriptionId}' does not exist.`,
      )
    }
    const serviceCode = input.service_identifier.code
    const mapping = service.provider.services.find((m) =>
      serviceCode ? m.service === serviceCode : m.caId === input.service_identifier.ca_id,
    )
    if (!mapping) {
      throw new AdapterError(
        'SERVICE_NOT_MAPPED',
        `Service ${JSON.stringify(input.service_identifier)} is not mapped in provider '${service.provider.name}'.`,
      )
    }
    const card = subscription.installedItems.find(
      (i) =>
        i.kind === 'SMARTCARD' &&
        (i.serialNumber === input.smartcard_identifier.serial_number ||
          i.caId === input.smartcard_identifier.ca_id),
    )
    if (!card) {
      throw new AdapterError(
        'ITEM_NOT_FOUND',
        `Subscription '${subscriptionId}' has no smartcard ${JSON.stringify(input.smartcard_identifier)}.`,
      )
    }
    const distributor =
      subscription.services.find((s) => s.service === mapping.service)?.distributor ??
      card.distributor
    const command: ConaxCommand =
      type === 'ADD_SUBSCRIPTIONS'
        ? {
            type,
            smartcardCaId: card.caId,
            serviceCaId: mapping.caId,
            distributor,
            ...(input.start_date ? { startDate: input.start_date } : {}),
          }
        : { type, smartcardCaId: card.caId, serviceCaId: mapping.caId, distributor }
    return { command, subscriptionId, send: sendOptionsOf(input) }
  }

  for (const [path, type] of [
    ['add_subscriptions', 'ADD_SUBSCRIPTIONS'],
    ['cancel_subscriptions', 'CANCEL_SUBSCRIPTIONS'],
  ] as const) {
    app.post(`${BASE}/${path}`, async (req, res) => {
      const { command, subscriptionId, send } = await subscriptionCommand(req.body, type)
      const created = await service.createRequests(
        [command],
        { processName: 'MANUAL', subscriptionId },
        send,
      )
      res.status(201).json(ok(created.map(requestJson)))
    })
  }

  app.post(`${BASE}/create_pairing`, async (req, res) => {
    checkCreatePairingBody(req.body, limits)
    const input = parse(createPairingSchema, req.body, 'body')
    const command: ConaxCommand = {
      type: 'CREATE_PAIRING',
      smartcardCaIds: input.smartcard_set.map((s) => s.smartcard_ca_id),
      stbCaIds: input.stb_set.map((s) => s.stb_ca_id),
      distributor: input.distributor ?? null,
    }
    const created = await service.createRequests(
      [command],
      { processName: 'MANUAL', subscriptionId: input.subscription_identifier?.id ?? null },
      sendOptionsOf(input),
    )
    res.status(201).json(ok(created.map(requestJson)))
  })

  app.post('/crm/actions', async (req, res) => {
    checkActionBody(req.body, limits)
    const { priority, processImmediately, scheduledDate, ...action } = parse(
      crmActionSchema,
      req.body,
      'body',
    )
    if (processImmediately && scheduledDate) {
      throw new AdapterError(
        'INVALID_REQUEST',
        'Give processImmediately or scheduledDate, not both: a request cannot go now and later.',
      )
    }
    const outcome = await service.applyAction(action, {
      ...(priority ? { priority } : {}),
      ...(processImmediately === undefined ? {} : { processImmediately }),
      ...(scheduledDate === undefined ? {} : { scheduledDate }),
    })
    res.status(action.action === 'BECOME_SUBSCRIBER' ? 201 : 200).json(
      ok({
        subscription: outcome.subscription,
        provisioned: outcome.provisioned,
        provisioning_requests: outcome.requests.map(requestJson),
      }),
    )
  })

  app.post('/crm/utilities', async (req, res) => {
    checkUtilityBody(req.body, limits)
    const outcome = await utilities.run(parse(utilityRequestSchema, req.body, 'body'))
    res.json(
      ok({
        utility: outcome.utility,
        processName: outcome.processName,
        requests: outcome.requests.map(requestJson),
        result: outcome.result,
      }),
    )
  })

  app.use(runRoutes(deps.runs, { parse, ok, requestJson, limits }))

  app.get('/crm/subscriptions/:id', async (req, res) => {
    const subscription = await store.getSubscription(req.params.id)
    if (!subscription) {
      throw new AdapterError(
        'SUBSCRIPTION_NOT_FOUND',
        `Subscription '${req.params.id}' does not exist.`,
      )
    }
    res.json(ok(subscription))
  })

  app.use((req, _res, next) => {
    next(
      new AdapterError(
        'REQUEST_NOT_FOUND',
        `No route ${req.method} ${req.path}. See the README's HTTP API section.`,
      ),
    )
  })

  app.use((error: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const coded = codedErrorOf(error, deps.bodyLimitBytes)
    res.status(coded.httpStatus).json(errorAnswer(coded))
  })

  return app
}
