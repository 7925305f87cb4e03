import { z } from 'zod'
import {
  createPairingSchema,
  crmActionSchema,
  listQuerySchema,
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

const post = (summary: string, body: z.ZodType, created = true): Record<string, unknown> => ({
  post: {
    summary,
    requestBody: { required: true, content: { 'application/json': { schema: schema(body) } } },
    responses: { [created ? '201' : '200']: wrapped, ...errors },
  },
})

/** The OpenAPI 3.1 description of the adapter's HTTP API, generated from the same zod schemas that validate it. */
export function openApiDocument(): Record<string, unknown> {
  return {
    openapi: '3.1.0',
    info: {
      title: 'Conax Contego provisioning adapter',
      version: '0.1.0',
      description:
        'CRM actions to Conax command sequences, kept as provisioning requests. See src/README.md.',
    },
    paths: {
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
          responses: { '200': wrapped, '400': error },
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
      '/healthz': {
        get: { summary: 'Provider name and state', responses: { '200': { description: 'ready' } } },
      },
    },
    components: {
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
