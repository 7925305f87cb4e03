import { AdapterError } from '../application/adapter-error.js'

/**
 * How much one call of the adapter's HTTP API may hold. Each list is counted on the raw JSON
 * body, before it is validated or planned, and one above its limit refuses the whole call with
 * 422 LIMIT_EXCEEDED naming the field, the count and the limit: nothing is stored.
 */
export interface AdapterLimits {
  /** Installed items of one CRM action (BECOME_SUBSCRIBER's installedItems). */
  readonly installedItemsPerAction: number
  /** Services of one CRM action (BECOME_SUBSCRIBER's services, SWAP_SERVICE's from and to), and CHANGE_DISTRIBUTION's moves. */
  readonly servicesPerAction: number
  /** Smartcards or STBs one utility names, and STBs of create_pairing. */
  readonly devicesPerCall: number
  /** Entries of one page: list's number_of_results, an execution's requests, a reset preview. */
  readonly pageSize: number
  /** Communications of one POST /communications. */
  readonly communicationsPerCall: number
  /** Subscription ids of one communication's recipients. */
  readonly recipientsPerCommunication: number
  /** Provisioning requests one CRM action may plan (items times services, say). */
  readonly requestsPerAction: number
}

/**
 * The defaults (src/README.md "Bounds" gives the reasons): a subscription's devices and services
 * are counted in tens, the CA takes at most 500 cards per request, and a page of 10,000 requests
 * is about 10 MB of JSON.
 */
export const DEFAULT_LIMITS: AdapterLimits = {
  installedItemsPerAction: 500,
  servicesPerAction: 1_000,
  devicesPerCall: 500,
  pageSize: 10_000,
  communicationsPerCall: 1_000,
  recipientsPerCommunication: 10_000,
  requestsPerAction: 10_000,
}

/** Why given limits are unusable, or null: each must be a known limit and a positive integer. */
export function limitsProblem(given: Partial<AdapterLimits> | undefined): string | null {
  for (const [name, value] of Object.entries(given ?? {})) {
    if (!Object.hasOwn(DEFAULT_LIMITS, name)) {
      return `limits.${name} is not a limit; expected ${Object.keys(DEFAULT_LIMITS).join(', ')}.`
    }
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
      return `limits.${name} must be a positive integer, not ${String(value)}.`
    }
  }
  return null
}

/** The refusal of a list or a page above its limit; `what` says it, e.g. `installedItems holds 40000 entries`. */
function limitExceeded(
  what: string,
  bound: { field: string; count: number; limit: number; name: keyof AdapterLimits },
  hint: string,
): AdapterError {
  return new AdapterError(
    'LIMIT_EXCEEDED',
    `${what}, above the limit of ${bound.limit} (limits.${bound.name}); nothing was stored. ${hint}`,
    {
      details: {
        field: bound.field,
        count: bound.count,
        limit: bound.limit,
        limitName: bound.name,
      },
    },
  )
}

const recordOf = (value: unknown): Record<string, unknown> | null =>
  typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : null

/** Throws when `list` is an array longer than `limit` (anything else is left to the schema). */
function checkList(
  list: unknown,
  [field, limit, name]: readonly [string, number, keyof AdapterLimits],
  hint: string,
): void {
  if (Array.isArray(list) && list.length > limit) {
    throw limitExceeded(
      `${field} holds ${list.length} entries`,
      { field, count: list.length, limit, name },
      hint,
    )
  }
}

/** The lists of a CRM action (POST /crm/actions). */
export function checkActionBody(body: unknown, limits: AdapterLimits): void {
  const action = recordOf(body)
  if (!action) {
    return
  }
  const split = 'Send the rest in further actions (ADD_INSTALLED_ITEM, ADD_SERVICE).'
  checkList(
    action.installedItems,
    ['installedItems', limits.installedItemsPerAction, 'installedItemsPerAction'],
    split,
  )
  checkList(action.services, ['services', limits.servicesPerAction, 'servicesPerAction'], split)
  for (const field of ['from', 'to']) {
    checkList(
      action[field],
      [field, limits.servicesPerAction, 'servicesPerAction'],
      'Swap fewer services at once.',
    )
  }
  checkList(
    action.moves,
    ['moves', limits.servicesPerAction, 'servicesPerAction'],
    'Move the rest in a further action.',
  )
}

/** The device lists of a utility (POST /crm/utilities). */
export function checkUtilityBody(body: unknown, limits: AdapterLimits): void {
  const utility = recordOf(body)
  for (const field of ['smartcards', 'stbs']) {
    checkList(
      utility?.[field],
      [field, limits.devicesPerCall, 'devicesPerCall'],
      'Name fewer devices in one utility.',
    )
  }
}

/** The STB list of create_pairing (its smartcards keep the CA's own limit of 500). */
export function checkCreatePairingBody(body: unknown, limits: AdapterLimits): void {
  checkList(
    recordOf(body)?.stb_set,
    ['stb_set', limits.devicesPerCall, 'devicesPerCall'],
    'Pair fewer STBs in one request.',
  )
}

/** Communications per call and recipients per communication (POST /communications). */
export function checkCommunicationsBody(body: unknown, limits: AdapterLimits): void {
  const list = recordOf(body)?.communications
  checkList(
    list,
    ['communications', limits.communicationsPerCall, 'communicationsPerCall'],
    'Enqueue them in several calls.',
  )
  if (!Array.isArray(list)) {
    return
  }
  for (const [index, communication] of (list as unknown[]).entries()) {
    checkList(
      recordOf(recordOf(communication)?.recipients)?.subscriptionIds,
      [
        `communications[${index}].recipients.subscriptionIds`,
        limits.recipientsPerCommunication,
        'recipientsPerCommunication',
      ],
      'Address them with a segment, or split them over several communications.',
    )
  }
}

/** A page size from a query, refused above `limits.pageSize` (never cut silently). */
export function checkPage(value: number | undefined, field: string, limits: AdapterLimits): void {
  if (value !== undefined && value > limits.pageSize) {
    throw limitExceeded(
      `${field} asks for ${value} entries`,
      { field, count: value, limit: limits.pageSize, name: 'pageSize' },
      `Ask for at most ${limits.pageSize} and page on with offset.`,
    )
  }
}
