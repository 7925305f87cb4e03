import { z } from 'zod'
import { SPLIT_MODES } from '../domain/split.js'

/** Life cycle states of a provisioning provider: nothing reaches Conax unless it is EFFECTIVE (docs/domain.md §2.2). */
export const PROVIDER_LIFE_CYCLE_STATES = ['EFFECTIVE', 'NOT_EFFECTIVE'] as const

/** How strictly service CA IDs are checked. */
export const CA_ID_FORMATS = ['lenient', 'digits'] as const
/** One of {@link CA_ID_FORMATS}. */
export type CaIdFormat = (typeof CA_ID_FORMATS)[number]

/** The physical goods Conax provisions. */
export const ITEM_KINDS = ['SMARTCARD', 'STB'] as const

/**
 * What each CA ID format accepts. `digits` is CRM.COM's rule; its length limit is lost from every
 * archived copy of the manual (docs/domain.md §2.2), so 32 is our own bound. `lenient` exists
 * because the seed's own catalogue (GFA1, EFA2, ...) breaks the digits-only rule.
 */
export const CA_ID_RULES: Readonly<
  Record<CaIdFormat, { readonly pattern: RegExp; readonly rule: string }>
> = {
  digits: {
    pattern: /^[0-9]{1,32}$/,
    rule: 'must be 1 to 32 digits (caIdFormat is digits); set caIdFormat to lenient to accept codes such as GFA1',
  },
  lenient: {
    pattern: /^[A-Za-z0-9_-]{1,32}$/,
    rule: 'must be 1 to 32 letters, digits, "_" or "-" (caIdFormat is lenient)',
  },
}

/** The values a provider file gets for the fields it leaves out. */
export const PROVIDER_DEFAULTS = {
  description: null,
  protocol: 'CONAX_CONTEGO_WEB_SERVICES',
  characterSet: 'UTF-8',
  timeoutMs: 10_000,
  caIdFormat: 'lenient',
  maxViewingPoints: 4,
  activateServicesOnNewSmartcard: true,
  maxCardsPerRequest: 500,
  retryInitialDelayMs: 500,
  retryMaxDelayMs: 60_000,
  splitRefusedBatches: 'named-or-bisect',
} as const

const MAX_DISTRIBUTOR_NAME = 32
const ENDPOINT_EXAMPLE = 'http://127.0.0.1:8280/ca-server/webservices/caclient'

function requiredText(): z.ZodString {
  return z.string().refine((text) => text.trim() !== '', { error: 'must not be empty' })
}

function wholeNumber(min: number, max?: number): z.ZodNumber {
  const rule =
    max === undefined
      ? `must be a whole number of at least ${min}`
      : `must be a whole number from ${min} to ${max}`
  const atLeast = z.number().int({ error: rule }).min(min, { error: rule })
  return max === undefined ? atLeast : atLeast.max(max, { error: rule })
}

function isHttpUrl(text: string): boolean {
  if (!URL.canParse(text)) {
    return false
  }
  const url = new URL(text)
  // Service paths are appended to the endpoint, so a query or fragment would end up mid-URL.
  return (
    (url.protocol === 'http:' || url.protocol === 'https:') &&
    url.hostname !== '' &&
    !text.includes('?') &&
    !text.includes('#')
  )
}

// No `abort: true` on the first check: an explicit abort anywhere would also skip checkRelations,
// and the user should see every problem in one run.
const endpointSchema = z
  .string()
  .trim()
  .refine((text) => text !== '', { error: 'must not be empty' })
  .refine((text) => text === '' || isHttpUrl(text), {
    error: `must be an http:// or https:// URL without query or fragment, e.g. ${ENDPOINT_EXAMPLE}`,
  })
  .transform((url) => (url.endsWith('/') ? url.slice(0, -1) : url))

const CHARACTER_SETS = [
  'utf-8',
  'utf8',
  'iso-8859-1',
  'iso8859-1',
  'iso_8859_1',
  'latin1',
  'us-ascii',
  'ascii',
  'utf-16',
]

const connectionShape = {
  endpoint: endpointSchema,
  username: requiredText(),
  password: requiredText(),
  // CRM.COM reads an empty character set as UTF-8; the others are what the Conax client can send.
  characterSet: z
    .string()
    .trim()
    .transform((value) => (value === '' ? PROVIDER_DEFAULTS.characterSet : value))
    .refine((value) => CHARACTER_SETS.includes(value.toLowerCase()), {
      message: 'must be one of UTF-8, ISO-8859-1, US-ASCII, UTF-16 (empty means UTF-8)',
    })
    .default(PROVIDER_DEFAULTS.characterSet),
  timeoutMs: wholeNumber(1).default(PROVIDER_DEFAULTS.timeoutMs),
}

const serviceShape = {
  service: requiredText(),
  // Its format depends on the provider's caIdFormat, so it is checked in checkRelations.
  caId: requiredText(),
  description: z.string().optional(),
}

const physicalGoodShape = {
  product: requiredText(),
  kind: z.enum(ITEM_KINDS),
}

const allowedServicesSchema = z.union(
  [
    z.literal('ALL'),
    z.array(requiredText()).min(1, { error: 'must list at least one service code, or be ALL' }),
  ],
  {
    error: (issue) =>
      issue.input === undefined
        ? 'is required: ALL, or a list of service codes'
        : 'must be ALL, or a list of service codes',
  },
)

const distributorShape = {
  name: requiredText().max(MAX_DISTRIBUTOR_NAME, {
    error: `must be at most ${MAX_DISTRIBUTOR_NAME} characters`,
  }),
  alternativeCode: requiredText(),
  allowedServices: allowedServicesSchema,
}

const deliveryShape = {
  maxCardsPerRequest: wholeNumber(1, 500).default(PROVIDER_DEFAULTS.maxCardsPerRequest),
  retryInitialDelayMs: wholeNumber(1).default(PROVIDER_DEFAULTS.retryInitialDelayMs),
  retryMaxDelayMs: wholeNumber(1).default(PROVIDER_DEFAULTS.retryMaxDelayMs),
  splitRefusedBatches: z.enum(SPLIT_MODES).default(PROVIDER_DEFAULTS.splitRefusedBatches),
}

const providerShape = {
  name: requiredText(),
  alternativeCode: requiredText(),
  description: z.string().nullable().default(PROVIDER_DEFAULTS.description),
  protocol: z.literal('CONAX_CONTEGO_WEB_SERVICES').default(PROVIDER_DEFAULTS.protocol),
  lifeCycleState: z.enum(PROVIDER_LIFE_CYCLE_STATES),
  connection: z.strictObject(connectionShape),
  caIdFormat: z.enum(CA_ID_FORMATS).default(PROVIDER_DEFAULTS.caIdFormat),
  // CRM.COM lists are optional: they are only required once the provider is EFFECTIVE.
  services: z.array(z.strictObject(serviceShape)).default([]),
  physicalGoods: z.array(z.strictObject(physicalGoodShape)).default([]),
  distributors: z.array(z.strictObject(distributorShape)).default([]),
  maxViewingPoints: wholeNumber(1, 16).default(PROVIDER_DEFAULTS.maxViewingPoints),
  activateServicesOnNewSmartcard: z
    .boolean()
    .default(PROVIDER_DEFAULTS.activateServicesOnNewSmartcard),
  // prefault, not default: zod 4 returns a default as is, and the inner defaults must apply.
  delivery: z.strictObject(deliveryShape).prefault({}),
}

/**
 * The field names of every object in a provider file, by path pattern (list items as `[]`), so
 * that an unknown key can be answered with the closest known one.
 */
export const PROVIDER_FIELD_NAMES: Readonly<Record<string, readonly string[]>> = {
  '': Object.keys(providerShape),
  connection: Object.keys(connectionShape),
  'services[]': Object.keys(serviceShape),
  'physicalGoods[]': Object.keys(physicalGoodShape),
  'distributors[]': Object.keys(distributorShape),
  delivery: Object.keys(deliveryShape),
}

type Entry = readonly [index: number, item: Record<string, unknown>]
type Issues = z.RefinementCtx<unknown>

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function entries(list: unknown): readonly Entry[] {
  if (!Array.isArray(list)) {
    return []
  }
  return list.flatMap((item: unknown, index) => (isRecord(item) ? [[index, item] as const] : []))
}

function filledText(value: unknown): value is string {
  return typeof value === 'string' && value.trim() !== ''
}

function checkCaIdFormat(provider: Record<string, unknown>, issues: Issues): void {
  const format = provider['caIdFormat']
  // An unknown format is already reported on caIdFormat itself.
  if (format !== 'digits' && format !== 'lenient') {
    return
  }
  const { pattern, rule } = CA_ID_RULES[format]
  for (const [index, service] of entries(provider['services'])) {
    const caId = service['caId']
    if (filledText(caId) && !pattern.test(caId)) {
      issues.addIssue({ code: 'custom', path: ['services', index, 'caId'], message: rule })
    }
  }
}

function checkUnique(
  list: string,
  field: string,
  provider: Record<string, unknown>,
  issues: Issues,
) {
  const firstIndex = new Map<string, number>()
  for (const [index, item] of entries(provider[list])) {
    const value = item[field]
    if (!filledText(value)) {
      continue
    }
    const first = firstIndex.get(value)
    if (first === undefined) {
      firstIndex.set(value, index)
    } else {
      issues.addIssue({
        code: 'custom',
        path: [list, index, field],
        message: `must be unique: ${JSON.stringify(value)} is already used at ${list}[${first}].${field}`,
      })
    }
  }
}

function mappedServices(provider: Record<string, unknown>): readonly string[] {
  const codes = entries(provider['services']).map(([, service]) => service['service'])
  return [...new Set(codes.filter(filledText))]
}

function checkAllowedServices(provider: Record<string, unknown>, issues: Issues): void {
  const mapped = mappedServices(provider)
  const known = mapped.length === 0 ? 'none are mapped yet' : mapped.join(', ')
  for (const [index, distributor] of entries(provider['distributors'])) {
    const allowed = distributor['allowedServices']
    if (!Array.isArray(allowed)) {
      continue
    }
    allowed.forEach((code: unknown, position) => {
      const path = ['distributors', index, 'allowedServices', position]
      if (!filledText(code)) {
        return
      }
      if (!mapped.includes(code)) {
        const message = `must be one of the mapped services (${known}); map ${JSON.stringify(code)} under services or remove it here`
        issues.addIssue({ code: 'custom', path, message })
      } else if (allowed.indexOf(code) !== position) {
        const message = `must not repeat ${JSON.stringify(code)}: it is already listed at distributors[${index}].allowedServices[${allowed.indexOf(code)}]`
        issues.addIssue({ code: 'custom', path, message })
      }
    })
  }
}

function checkEffective(provider: Record<string, unknown>, issues: Issues): void {
  if (provider['lifeCycleState'] !== 'EFFECTIVE') {
    return
  }
  const required = [
    ['services', 'service mapping'],
    ['distributors', 'distributor'],
  ] as const
  for (const [list, noun] of required) {
    const value = provider[list]
    if (Array.isArray(value) && value.length === 0) {
      issues.addIssue({
        code: 'custom',
        path: [list],
        message: `must have at least one ${noun} while lifeCycleState is EFFECTIVE: add one, or set lifeCycleState to NOT_EFFECTIVE`,
      })
    }
  }
}

function checkRetryDelays(provider: Record<string, unknown>, issues: Issues): void {
  const delivery = provider['delivery']
  if (!isRecord(delivery)) {
    return
  }
  const initial = delivery['retryInitialDelayMs']
  const max = delivery['retryMaxDelayMs']
  if (typeof initial === 'number' && typeof max === 'number' && max < initial) {
    issues.addIssue({
      code: 'custom',
      path: ['delivery', 'retryMaxDelayMs'],
      message: `must be at least delivery.retryInitialDelayMs (${initial})`,
    })
  }
}

// Reads the value defensively: with `when` below it also runs when other fields failed, so that
// one run reports every problem, and then any field may still hold the wrong type.
function checkRelations(provider: unknown, issues: Issues): void {
  if (!isRecord(provider)) {
    return
  }
  checkCaIdFormat(provider, issues)
  checkUnique('services', 'service', provider, issues)
  checkUnique('services', 'caId', provider, issues)
  checkUnique('physicalGoods', 'product', provider, issues)
  checkUnique('distributors', 'name', provider, issues)
  checkAllowedServices(provider, issues)
  checkEffective(provider, issues)
  checkRetryDelays(provider, issues)
}

/**
 * The provider file: the camelCase fields of `ProvisioningProvider` (src/domain/crm.ts), with
 * defaults for the optional ones. Objects are strict so that a misspelt key is an error rather
 * than a silently ignored setting.
 */
export const providerSchema = z
  .strictObject(providerShape)
  .superRefine(checkRelations, { when: (payload) => isRecord(payload.value) })

/** A provider file as written: fields with a default may be left out. */
export type ProviderFile = z.input<typeof providerSchema>
