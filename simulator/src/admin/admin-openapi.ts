import { z } from 'zod'
import { packageVersion } from '../../../common/package-info.js'
import { faultRuleSchema } from '../runtime/fault-injector.js'
import { ADMIN_REQUEST_SCHEMAS } from './admin-requests.js'

/**
 * The OpenAPI 3.1 description of the simulator's admin API (admin-router.ts), its request bodies
 * and query parameters generated from the zod schemas that read them (admin-requests.ts), so the
 * document cannot drift from what the API accepts. Served at `GET /admin/openapi.json` and written
 * to docs/openapi/simulator-admin.json by `npm run openapi:write`.
 * @module
 */

type Json = Record<string, unknown>

const schema = (value: z.ZodType): Json => {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(value, {
    io: 'input',
    unrepresentable: 'any',
  })
  return rest
}

function queryParameters(value: z.ZodType): Json[] {
  const properties = (schema(value).properties ?? {}) as Record<string, Json>
  return Object.entries(properties).map(([name, property]) => ({
    name,
    in: 'query',
    required: false,
    schema: property,
  }))
}

const pathParameter = (name: string, description: string): Json => ({
  name,
  in: 'path',
  required: true,
  description,
  schema: { type: 'string' },
})
const CARD = pathParameter('caClientId', 'the smartcard id (CaClientId)')
const PRODUCT = pathParameter('productId', 'the product id (ProductId)')

const error = (description: string): Json => ({
  description,
  content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
})
const json = (description: string, body: Json = { type: 'object' }): Json => ({
  description,
  content: { 'application/json': { schema: body } },
})
const body = (value: z.ZodType): Json => ({
  required: true,
  content: { 'application/json': { schema: schema(value) } },
})
const CARD_VIEW = json(
  'the card: { caClientId, sms, pin, subscriptions, pairing, inbox, screen, fingerprints }',
)
const RAW_BODY_NOTE =
  'decoded as UTF-8 (bytes that are not become U+FFFD), at most 16 KiB, cut beyond with "… (n more bytes cut)". Only entries the simulator holds in memory (the newest journalLimit) have it; entries read back from the store after a restart, or paged from its log, do not.'
/** One journal entry; the raw bodies are optional (memory only). */
const JOURNAL_ENTRY: Json = {
  type: 'object',
  required: ['seq', 'at', 'service', 'statusCode', 'durationMs', 'httpStatus'],
  properties: {
    seq: { type: 'integer' },
    at: { type: 'string', format: 'date-time' },
    user: { type: ['string', 'null'] },
    service: { type: 'string' },
    operation: { type: ['string', 'null'] },
    request: { type: ['object', 'null'], description: 'the request as read, long texts cut' },
    statusCode: { type: 'string' },
    transactionId: { type: ['string', 'null'] },
    durationMs: { type: 'number' },
    httpStatus: { type: 'integer' },
    replay: { type: 'boolean' },
    message: { type: ['string', 'null'] },
    requestXml: { type: 'string', description: `The raw request body, ${RAW_BODY_NOTE}` },
    answerXml: {
      type: 'string',
      description: `The raw answer body as sent (absent when the connection was reset instead), ${RAW_BODY_NOTE}`,
    },
  },
}
const NOT_FOUND = error('NOT_FOUND')
const INVALID = error('INVALID_REQUEST: a field or query parameter that is wrong, named')
/** Writes: a body that is too large (413) or not JSON (415), a store that failed (500). */
const WRITE_ERRORS = {
  '413': error('PAYLOAD_TOO_LARGE'),
  '415': error('UNSUPPORTED_MEDIA_TYPE: the body is not JSON'),
  '500': error('STORE_WRITE_FAILED: the change could not be stored and was undone'),
}

interface Operation {
  readonly operationId: string
  readonly summary: string
  readonly tag: 'state' | 'journal' | 'faults' | 'tenants' | 'service'
  readonly parameters?: readonly Json[]
  readonly requestBody?: Json
  readonly responses: Json
}

/** Every admin route, by path and method: the route test compares this with the router's. */
const OPERATIONS: Readonly<Record<string, Readonly<Record<string, Operation>>>> = {
  '/admin/inventory': {
    post: {
      operationId: 'registerInventory',
      summary:
        'Register smartcards, STBs and products (idempotent; one bad item registers nothing)',
      tag: 'state',
      requestBody: body(ADMIN_REQUEST_SCHEMAS.inventory),
      responses: {
        '200': json('{ registered, totals }'),
        '400': error('INVALID_INVENTORY, naming the item'),
        ...WRITE_ERRORS,
      },
    },
  },
  '/admin/cards': {
    get: {
      operationId: 'listCards',
      summary: 'Known card ids, in registration order',
      tag: 'state',
      parameters: queryParameters(ADMIN_REQUEST_SCHEMAS.cardsQuery),
      responses: {
        '200': json('{ total, ids }'),
        '400': INVALID,
        '422': error('LIMIT_EXCEEDED: limit above adminPageLimit'),
      },
    },
  },
  '/admin/cards/{caClientId}': {
    get: {
      operationId: 'getCard',
      summary: "A card's whole CA state",
      tag: 'state',
      parameters: [CARD],
      responses: { '200': CARD_VIEW, '404': NOT_FOUND },
    },
  },
  '/admin/cards/{caClientId}/subscriptions/{productId}': {
    put: {
      operationId: 'activateProduct',
      summary: 'Activate a product on a card directly (not journalled)',
      tag: 'state',
      parameters: [CARD, PRODUCT],
      requestBody: body(ADMIN_REQUEST_SCHEMAS.activation),
      responses: { '200': CARD_VIEW, '400': INVALID, '404': NOT_FOUND, ...WRITE_ERRORS },
    },
    delete: {
      operationId: 'cancelProduct',
      summary: 'Cancel a product on a card directly',
      tag: 'state',
      parameters: [CARD, PRODUCT],
      responses: { '200': CARD_VIEW, '404': NOT_FOUND, '500': WRITE_ERRORS['500'] },
    },
  },
  '/admin/cards/{caClientId}/pairing': {
    delete: {
      operationId: 'cancelPairing',
      summary: "Cancel a card's pairing directly",
      tag: 'state',
      parameters: [CARD],
      responses: { '200': CARD_VIEW, '404': NOT_FOUND, '500': WRITE_ERRORS['500'] },
    },
  },
  '/admin/pairing-modules/{pairingModuleId}': {
    get: {
      operationId: 'getPairingModule',
      summary: 'An STB, its owner and its pairing',
      tag: 'state',
      parameters: [pathParameter('pairingModuleId', 'the STB id (PairingModuleId)')],
      responses: {
        '200': json(
          '{ pairingModuleId, serialNumber, productCode, productDescription, sms, pairingId }',
        ),
        '404': NOT_FOUND,
      },
    },
  },
  '/admin/pairings/{pairingId}': {
    get: {
      operationId: 'getPairing',
      summary: 'A pairing: its cards and STBs',
      tag: 'state',
      parameters: [pathParameter('pairingId', 'the pairing id')],
      responses: {
        '200': json('the pairing: its id, smartcards and STBs'),
        '404': NOT_FOUND,
      },
    },
  },
  '/admin/cards/{caClientId}/screen': {
    get: {
      operationId: 'getCardScreen',
      summary: "What the card's set-top box shows now, by the simulator's clock",
      tag: 'state',
      parameters: [CARD],
      responses: {
        '200': json(
          '{ at, barks, fingerprints, nextChangeAt }: the barks and fingerprints on screen now',
        ),
        '404': NOT_FOUND,
      },
    },
  },
  '/admin/products': {
    get: {
      operationId: 'listProducts',
      summary: 'The product catalogue',
      tag: 'state',
      responses: { '200': json('{ products }') },
    },
  },
  '/admin/journal': {
    get: {
      operationId: 'listJournal',
      summary: 'SOAP calls received, oldest first',
      tag: 'journal',
      parameters: queryParameters(ADMIN_REQUEST_SCHEMAS.journalQuery),
      responses: {
        '200': json(
          '[{ seq, at, user, service, operation, request, statusCode, transactionId, durationMs, httpStatus, replay, message, requestXml?, answerXml? }]',
          { type: 'array', items: JOURNAL_ENTRY },
        ),
        '400': INVALID,
        '422': error('LIMIT_EXCEEDED: limit above adminPageLimit'),
      },
    },
  },
  '/admin/journal/stream': {
    get: {
      operationId: 'streamJournal',
      summary:
        'The journal as server-sent events: the entries after `after`, then each new one once stored',
      tag: 'journal',
      parameters: queryParameters(ADMIN_REQUEST_SCHEMAS.journalQuery).filter(
        (parameter) => parameter.name !== 'limit',
      ),
      responses: {
        '200': {
          description:
            'text/event-stream: `id: <seq>` and `data: <entry as JSON>` per entry (the entry as GET /admin/journal answers it, requestXml and answerXml included while memory holds them)',
          content: { 'text/event-stream': { schema: { type: 'string' } } },
        },
        '400': INVALID,
        '410': error('JOURNAL_ENTRIES_DROPPED: entries after `after` are no longer kept'),
        '429': error('LIMIT_EXCEEDED: too many streams open'),
      },
    },
  },
  '/admin/reset': {
    post: {
      operationId: 'reset',
      summary: 'Forget state, journal, replays and faults (keepInventory keeps the devices)',
      tag: 'state',
      requestBody: body(ADMIN_REQUEST_SCHEMAS.reset),
      responses: {
        '200': json('{ reset, keepInventory, totals }'),
        '400': INVALID,
        ...WRITE_ERRORS,
      },
    },
  },
  '/admin/faults': {
    get: {
      operationId: 'listFaults',
      summary: 'The fault rules in force',
      tag: 'faults',
      responses: { '200': json('the rules', { type: 'array', items: { type: 'object' } }) },
    },
    post: {
      operationId: 'addFault',
      summary: 'Inject a failure into later SOAP calls',
      tag: 'faults',
      requestBody: body(faultRuleSchema),
      responses: {
        '201': json('the rule, with its id'),
        '400': INVALID,
        '413': WRITE_ERRORS['413'],
        '415': WRITE_ERRORS['415'],
      },
    },
    delete: {
      operationId: 'clearFaults',
      summary: 'Remove every fault rule',
      tag: 'faults',
      responses: { '204': { description: 'removed' } },
    },
  },
  '/admin/faults/{id}': {
    delete: {
      operationId: 'removeFault',
      summary: 'Remove one fault rule',
      tag: 'faults',
      parameters: [pathParameter('id', 'the rule id')],
      responses: { '204': { description: 'removed' }, '404': NOT_FOUND },
    },
  },
  '/admin/clock': {
    get: {
      operationId: 'getClock',
      summary: "The simulator's now",
      tag: 'state',
      responses: { '200': json('{ now }') },
    },
    post: {
      operationId: 'advanceClock',
      summary: "Move the simulator's clock forward (never back)",
      tag: 'state',
      requestBody: body(ADMIN_REQUEST_SCHEMAS.clock),
      responses: { '200': json('{ now }'), '400': INVALID },
    },
  },
  '/admin/stats': {
    get: {
      operationId: 'getStats',
      summary: 'Counts of cards, STBs, products, pairings and journal entries',
      tag: 'state',
      responses: {
        '200': json(
          '{ smartcards, pairingModules, products, pairings, journalEntries, journalDropped, startedAt }',
        ),
      },
    },
  },
  '/admin/tenants': {
    get: {
      operationId: 'listTenants',
      summary: 'The tenants (/t/<name>/) alive now',
      tag: 'tenants',
      responses: {
        '200': json('{ tenants: [{ name, createdAt, lastUsedAt, cards, journalEntries }] }'),
        '404': error('NOT_FOUND: tenants are off (--tenants 0), or this is a tenant'),
      },
    },
  },
  '/admin/tenants/{name}': {
    delete: {
      operationId: 'deleteTenant',
      summary: 'Close a tenant and forget its state',
      tag: 'tenants',
      parameters: [pathParameter('name', 'the tenant name')],
      responses: {
        '204': { description: 'closed' },
        '404': error('NOT_FOUND: no tenant of that name runs'),
      },
    },
  },
  '/admin/openapi.json': {
    get: {
      operationId: 'getOpenApiDocument',
      summary: 'This document',
      tag: 'service',
      responses: { '200': json('OpenAPI 3.1') },
    },
  },
  '/healthz': {
    get: {
      operationId: 'getHealth',
      summary: 'Ready',
      tag: 'service',
      responses: { '200': json('{ status: "ok" }') },
    },
  },
  '/metrics': {
    get: {
      operationId: 'getMetrics',
      summary: 'Prometheus metrics: SOAP calls by operation and status, latency, state size',
      tag: 'service',
      responses: {
        '200': {
          description: "Prometheus' text exposition format",
          content: { 'text/plain': { schema: { type: 'string' } } },
        },
      },
    },
  },
}

/** Paths that need no token. */
export const OPEN_ADMIN_PATHS: ReadonlySet<string> = new Set(['/healthz', '/admin/openapi.json'])

const TAGS = [
  {
    name: 'state',
    description: "The CA state: devices, products, cards' subscriptions and pairings, the clock",
  },
  { name: 'journal', description: 'Every SOAP call the simulator received' },
  { name: 'faults', description: 'Failures injected into later SOAP calls' },
  {
    name: 'tenants',
    description: 'Isolated simulators under /t/<name>/ on the same server, for parallel pipelines',
  },
  { name: 'service', description: 'Health, metrics and this document' },
]

let cached: Json | undefined

/** The OpenAPI 3.1 document of the admin API (built once: every simulator serves the same). */
export function adminOpenApiDocument(): Json {
  cached ??= buildDocument()
  return cached
}

function buildDocument(): Json {
  const paths = Object.fromEntries(
    Object.entries(OPERATIONS).map(([path, item]) => [
      path,
      Object.fromEntries(
        Object.entries(item).map(([method, { tag, ...operation }]) => [
          method,
          {
            ...operation,
            tags: [tag],
            responses: {
              ...operation.responses,
              // The guard: a foreign Host or origin on every path, no token on the others.
              '403': error('HOST_NOT_ALLOWED or CROSS_ORIGIN_REFUSED'),
              ...(OPEN_ADMIN_PATHS.has(path) ? {} : { '401': error('UNAUTHORIZED') }),
            },
            ...(OPEN_ADMIN_PATHS.has(path) ? { security: [] } : {}),
          },
        ]),
      ),
    ]),
  )
  return {
    openapi: '3.1.0',
    info: {
      title: 'Conax Contego simulator: admin API',
      version: packageVersion(),
      license: { name: 'MIT', identifier: 'MIT' },
      description:
        'The JSON admin API of conax-sim (simulator/README.md, "Admin API"): the CA state, the journal of SOAP calls, fault injection and the clock. The SOAP services themselves are described by their WSDLs (GET <service>?wsdl). Every path but /healthz and /admin/openapi.json needs \'Authorization: Bearer <admin token>\'. Errors answer { error: { code, message } }.',
    },
    servers: [
      { url: '/', description: 'the simulator that serves this document' },
      { url: 'http://127.0.0.1:8280', description: "conax-sim's default address" },
    ],
    security: [{ bearerAuth: [] }],
    tags: TAGS,
    paths,
    components: {
      securitySchemes: {
        bearerAuth: {
          type: 'http',
          scheme: 'bearer',
          description:
            'The admin token: the adminToken option, CONTEGO_SIM_ADMIN_TOKEN or --admin-token; generated and printed once at start when none is configured.',
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
              properties: { code: { type: 'string' }, message: { type: 'string' } },
            },
          },
        },
      },
    },
  }
}
