import { z } from 'zod'
import { packageVersion } from '../../common/package-info.js'
import { DEFAULT_LIMITS, type AdapterLimits } from './limits.js'
import {
  communicationsQuerySchema,
  communicationsSchema,
  createPairingSchema,
  crmActionSchema,
  executionsQuerySchema,
  listQuerySchema,
  pageQuerySchema,
  previewQuerySchema,
  resetQuerySchema,
  runDefinitionSchema,
  showQuerySchema,
  subscriptionRequestSchema,
  utilityRequestSchema,
} from './schemas.js'

const BASE = '/conax_web_services/provisioning_requests'

const schema = (value: z.ZodType): Record<string, unknown> =>
  z.toJSONSchema(value, { io: 'input', unrepresentable: 'any' })

function queryParameters(value: z.ZodType): Record<string, unknown>[] {
  const properties = (schema(value).properties ?? {}) as Record<string, Record<string, unknown>>
  return Object.entries(properties).map(([name, property]) => ({
    name,
    in: 'query',
    required: false,
    schema: property,
  }))
}

const wrapped = {
  description: 'CRM.COM wrapper: { status: { code: "OK", description, message }, data }',
  content: {
    'application/json': {
      schema: { type: 'object', properties: { status: { type: 'object' }, data: {} } },
    },
  },
}
const error = {
  description: '{ error: { code, message, details } } with a stable code',
  content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
}
const errors = { '400': error, '404': error, '409': error }
/** Bodies: over the body limit (413), a list over its limit (422). */
const bodyErrors = { '413': error, '422': error }

const post = (summary: string, body: z.ZodType, created = true): Record<string, unknown> => ({
  post: {
    summary,
    requestBody: { required: true, content: { 'application/json': { schema: schema(body) } } },
    responses: { [created ? '201' : '200']: wrapped, ...errors, ...bodyErrors },
  },
})

/** Paths that need no token. */
const OPEN_PATHS = new Set(['/healthz', '/openapi.json'])

/** The operationId of each operation, by `method path` (a missing one fails the document's test). */
const OPERATION_IDS: Readonly<Record<string, string>> = {
  'post /crm/actions': 'applyCrmAction',
  'post /crm/utilities': 'runUtility',
  'get /crm/subscriptions/{id}': 'getSubscription',
  [`get ${BASE}/show`]: 'showProvisioningRequest',
  [`get ${BASE}/list`]: 'listProvisioningRequests',
  [`post ${BASE}/add_subscriptions`]: 'createAddSubscriptionsRequest',
  [`post ${BASE}/cancel_subscriptions`]: 'createCancelSubscriptionsRequest',
  [`post ${BASE}/create_pairing`]: 'createPairingRequest',
  'post /runs': 'defineRun',
  'get /runs': 'listRuns',
  'get /runs/{idOrCode}': 'getRun',
  'post /runs/{idOrCode}/preview': 'previewRun',
  'post /runs/{idOrCode}/executions': 'startExecution',
  'get /runs/{idOrCode}/executions': 'listExecutionsOfRun',
  'get /runs/executions': 'listExecutions',
  'get /runs/executions/{id}': 'getExecution',
  'post /runs/executions/{id}/stop': 'stopExecution',
  'post /runs/executions/{id}/resume': 'resumeExecution',
  'get /runs/executions/{id}/requests': 'listExecutionRequests',
  'post /communications': 'enqueueCommunications',
  'get /communications': 'listCommunications',
  'post /crm/subscriptions/{id}/reset': 'resetSubscription',
  'get /healthz': 'getHealth',
  'get /openapi.json': 'getOpenApiDocument',
  'get /metrics': 'getMetrics',
}

/**
 * Adds each operation's id and the guard's answers: 403 for a foreign Host or origin on every
 * path, and 401 without the token on every path but the open ones.
 */
function withGuardAnswers(paths: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(paths).map(([path, item]) => [
      path,
      Object.fromEntries(
        Object.entries(item as Record<string, Record<string, unknown>>).map(([method, op]) => {
          const operationId = OPERATION_IDS[`${method} ${path}`]
          if (operationId === undefined) {
            throw new Error(`The OpenAPI operation ${method} ${path} has no operationId.`)
          }
          const responses = { ...(op.responses as Record<string, unknown>), '403': error }
          return [
            method,
            OPEN_PATHS.has(path)
              ? { operationId, ...op, responses, security: [] }
              : { operationId, ...op, responses: { ...responses, '401': error } },
          ]
        }),
      ),
    ]),
  )
}

const pathParameter = (name: string, description: string): Record<string, unknown> => ({
  name,
  in: 'path',
  required: true,
  description,
  schema: { type: 'string' },
})
const runParameter = pathParameter('idOrCode', 'the run id or alternative code')
const executionParameter = pathParameter('id', 'the execution id')

const answer = (description: string): Record<string, unknown> => ({ ...wrapped, description })

/** An operation without a request body (parameters in the path and the query). */
const operation = (
  summary: string,
  parameters: Record<string, unknown>[],
  responses: Record<string, unknown>,
): Record<string, unknown> => ({ summary, parameters, responses })

const STATUS =
  'data: the execution status { id, runId, kind, processName, state, startedAt, finishedAt, total, counts, cursor, lastError, progress: { fraction, rate, etaSeconds } }'

/** The batch runs' paths (runs-routes.ts). */
function runPaths(): Record<string, unknown> {
  return {
    '/runs': {
      ...post(
        'Define a run (a reset, mail and bark message or fingerprinting run)',
        runDefinitionSchema,
      ),
      get: operation('Every run definition', [], { '200': answer('data: the definitions') }),
    },
    '/runs/{idOrCode}': {
      get: operation('A run definition', [runParameter], { '200': wrapped, '404': error }),
    },
    '/runs/{idOrCode}/preview': {
      post: operation(
        'What the run would do, sending nothing (a reset preview reads the CA)',
        [runParameter, ...queryParameters(previewQuerySchema)],
        {
          '200': answer(
            'data: reset { kind, checked, inSync, outOfSync, failed, subscriptions, truncated }; messages and fingerprints { kind, subscriptions, cards, requests, communications?, refused? }',
          ),
          ...errors,
          '422': error,
          '503': error,
        },
      ),
    },
    '/runs/{idOrCode}/executions': {
      post: operation('Start an execution in the background', [runParameter], {
        '202': answer(STATUS),
        ...errors,
      }),
      get: operation('The executions of a run, newest last', [runParameter], {
        '200': answer(`data: [status]; ${STATUS}`),
        '404': error,
      }),
    },
    '/runs/executions': {
      get: operation(
        'Executions of every run (or of one)',
        queryParameters(executionsQuerySchema),
        {
          '200': answer(`data: [status]; ${STATUS}`),
          '404': error,
        },
      ),
    },
    '/runs/executions/{id}': {
      get: operation('An execution with its progress', [executionParameter], {
        '200': answer(STATUS),
        '404': error,
      }),
    },
    '/runs/executions/{id}/stop': {
      post: operation(
        'Stop an execution after its current batch; answers once it has stopped',
        [executionParameter],
        { '200': answer(STATUS), '404': error },
      ),
    },
    '/runs/executions/{id}/resume': {
      post: operation(
        'Resume a stopped or failed execution from its cursor (nothing is sent twice)',
        [executionParameter],
        { '202': answer(STATUS), ...errors },
      ),
    },
    '/runs/executions/{id}/requests': {
      get: operation(
        'The provisioning requests an execution created (their process_id is the execution id)',
        [executionParameter, ...queryParameters(pageQuerySchema)],
        {
          '200': answer('data: requests as show gives them; total: how many in all'),
          ...errors,
          '422': error,
        },
      ),
    },
    '/communications': {
      ...post(
        'Enqueue communications for the message runs of their external system',
        communicationsSchema,
      ),
      get: operation('Communications in the queue', queryParameters(communicationsQuerySchema), {
        '200': answer(
          'data: [{ number, externalSystem, message, recipients, state, createdAt, processedAt, error, processedBy }]',
        ),
        '400': error,
      }),
    },
    '/crm/subscriptions/{id}/reset': {
      post: operation(
        'Reset single subscription: compare it with the CA and create the requests that repair it',
        [pathParameter('id', 'the subscription id'), ...queryParameters(resetQuerySchema)],
        {
          '200': answer(
            'data: { inSync, differences, commands, requests } (no requests with preview=true or when in sync)',
          ),
          ...errors,
          '503': error,
        },
      ),
    },
  }
}

/** The OpenAPI 3.1 description of the adapter's HTTP API, generated from the same zod schemas that validate it. */
export function openApiDocument(limits: AdapterLimits = DEFAULT_LIMITS): Record<string, unknown> {
  const bounds = Object.entries(limits)
    .map(([name, value]) => `${name} ${String(value)}`)
    .join(', ')
  return {
    openapi: '3.1.0',
    info: {
      title: 'Conax Contego provisioning adapter',
      version: packageVersion(),
      license: { name: 'MIT', identifier: 'MIT' },
      description: `CRM actions to Conax command sequences, kept as provisioning requests. See src/README.md. Every path but /healthz and /openapi.json needs 'Authorization: Bearer <API token>' (401 UNAUTHORIZED without it); a Host header that does not name the adapter and writes from other origins get 403 (HOST_NOT_ALLOWED, CROSS_ORIGIN_REFUSED). Lists above these limits are refused with 422 LIMIT_EXCEEDED: ${bounds}.`,
    },
    servers: [
      { url: '/', description: 'the adapter that serves this document' },
      { url: 'http://127.0.0.1:8380', description: "conax-adapter's default address" },
    ],
    security: [{ bearerAuth: [] }],
    paths: withGuardAnswers({
      '/crm/actions': post(
        'Apply a CRM action (BECOME_SUBSCRIBER answers 201, the others 200)',
        crmActionSchema,
      ),
      '/crm/utilities': post(
        'Run a single-subscription utility (message, fingerprint, pairing, PIN reset, Conax information) at once',
        utilityRequestSchema,
        false,
      ),
      '/crm/subscriptions/{id}': {
        get: {
          summary: 'A subscription',
          parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
          responses: { '200': wrapped, '404': error },
        },
      },
      [`${BASE}/show`]: {
        get: {
          summary: 'One provisioning request by id or number',
          parameters: queryParameters(showQuerySchema),
          responses: { '200': wrapped, ...errors },
        },
      },
      [`${BASE}/list`]: {
        get: {
          summary: 'Provisioning requests, filtered and paged',
          parameters: queryParameters(listQuerySchema),
          responses: { '200': wrapped, '400': error, '422': error },
        },
      },
      [`${BASE}/add_subscriptions`]: post(
        'Create an ADD_SUBSCRIPTIONS request',
        subscriptionRequestSchema,
      ),
      [`${BASE}/cancel_subscriptions`]: post(
        'Create a CANCEL_SUBSCRIPTIONS request',
        subscriptionRequestSchema,
      ),
      [`${BASE}/create_pairing`]: post('Create a CREATE_PAIRING request', createPairingSchema),
      ...runPaths(),
      '/healthz': {
        get: { summary: 'Provider name and state', responses: { '200': { description: 'ready' } } },
      },
      '/openapi.json': {
        get: { summary: 'This document', responses: { '200': { description: 'OpenAPI 3.1' } } },
      },
      '/metrics': {
        get: {
          summary: 'Prometheus metrics: SOAP calls, PENDING requests, run progress',
          responses: {
            '200': {
              description: "Prometheus' text exposition format",
              content: { 'text/plain': { schema: { type: 'string' } } },
            },
          },
        },
      },
    }),
    components: {
      securitySchemes: {
        bearerAuth: {
          type: 'http',
          scheme: 'bearer',
          description:
            'The API token: the apiToken option, CONAX_ADAPTER_API_TOKEN or --api-token; generated and printed once at start when none is configured.',
        },
      },
      schemas: {
        Error: {
          type: 'object',
          required: ['error'],
          properties: {
            error: {
              type: 'object',
              required: ['code', 'message'],
              properties: {
                code: { type: 'string' },
                message: { type: 'string' },
                details: { type: 'object' },
              },
            },
          },
        },
      },
    },
  }
}
