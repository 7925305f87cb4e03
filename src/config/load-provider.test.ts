import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it, onTestFinished } from 'vitest'
import { parse } from 'yaml'
import type { ProvisioningProvider } from '../domain/crm.js'
import { ConfigError } from './config-error.js'
import { loadProvider, parseProvider } from './load-provider.js'

const PROVIDERS = fileURLToPath(new URL('../../fixtures/scenarios/providers/', import.meta.url))
const CONAX_WS_FILE = join(PROVIDERS, 'conax-ws.yaml')
const NOT_EFFECTIVE_FILE = join(PROVIDERS, 'not-effective.yaml')

const CONAX_WS: ProvisioningProvider = {
  name: 'Conax Contego Web Services',
  alternativeCode: 'CONAX-WS',
  description: "Company ZX's Conax Contego head-end (seed, business examples)",
  protocol: 'CONAX_CONTEGO_WEB_SERVICES',
  lifeCycleState: 'EFFECTIVE',
  connection: {
    endpoint: 'http://127.0.0.1:8280/ca-server/webservices/caclient',
    username: 'sms',
    password: 'sms',
    characterSet: 'UTF-8',
    timeoutMs: 10_000,
  },
  caIdFormat: 'lenient',
  services: [
    { service: 'GEOLOGICAL', caId: 'GFA1', description: 'Geological' },
    { service: 'ENTERTAIN', caId: 'EFA2', description: 'Entertain' },
    { service: 'RELIGION', caId: 'RFB1', description: 'Religion' },
    { service: 'BABY_CHANNEL', caId: 'BFB2', description: 'Baby Channel' },
    { service: 'AGRICULTURE', caId: 'AF1', description: 'Agriculture' },
  ],
  physicalGoods: [
    { product: 'SC-CONAX', kind: 'SMARTCARD' },
    { product: 'STB-HD', kind: 'STB' },
  ],
  distributors: [
    { name: 'Main', alternativeCode: 'MAIN', allowedServices: 'ALL' },
    { name: 'TWIN1', alternativeCode: 'TWIN1', allowedServices: 'ALL' },
    {
      name: 'TWIN2',
      alternativeCode: 'TWIN2',
      allowedServices: ['GEOLOGICAL', 'ENTERTAIN', 'AGRICULTURE'],
    },
    {
      name: 'TWIN3',
      alternativeCode: 'TWIN3',
      allowedServices: ['GEOLOGICAL', 'ENTERTAIN', 'AGRICULTURE'],
    },
  ],
  maxViewingPoints: 4,
  activateServicesOnNewSmartcard: true,
  delivery: {
    maxCardsPerRequest: 500,
    retryInitialDelayMs: 500,
    retryMaxDelayMs: 60_000,
    splitRefusedBatches: 'named-or-bisect',
  },
}

const MAPPED = 'GEOLOGICAL, ENTERTAIN, RELIGION, BABY_CHANNEL, AGRICULTURE'

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests break the file in every possible way (wrong types, deleted keys), which no type describes
type Draft = any

/** The example file as written, for tests to break one field at a time. */
function exampleData(): Draft {
  return parse(readFileSync(CONAX_WS_FILE, 'utf8'))
}

function changed(change: (provider: Draft) => void): unknown {
  const provider = exampleData()
  change(provider)
  return provider
}

function configErrorOf(action: () => unknown): ConfigError {
  try {
    action()
  } catch (error) {
    if (error instanceof ConfigError) {
      return error
    }
    throw error
  }
  throw new Error('expected a ConfigError')
}

async function loadError(file: string): Promise<ConfigError> {
  const error: unknown = await loadProvider(file).then(
    () => undefined,
    (rejection: unknown) => rejection,
  )
  expect(error).toBeInstanceOf(ConfigError)
  return error as ConfigError
}

function tempFile(name: string, content: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'conax-provider-'))
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }))
  const file = join(dir, name)
  writeFileSync(file, content)
  return file
}

describe('loadProvider with the example files', () => {
  it('loads conax-ws.yaml to the seed provider', async () => {
    expect(await loadProvider(CONAX_WS_FILE)).toEqual(CONAX_WS)
  })

  it('loads not-effective.yaml to the same provider, NOT_EFFECTIVE', async () => {
    expect(await loadProvider(NOT_EFFECTIVE_FILE)).toEqual({
      ...CONAX_WS,
      lifeCycleState: 'NOT_EFFECTIVE',
    })
  })

  it('loads the same provider from a JSON file', async () => {
    const file = tempFile('conax-ws.json', JSON.stringify(exampleData(), null, 2))
    expect(await loadProvider(file)).toEqual(CONAX_WS)
  })

  it('reads the .yml extension as YAML', async () => {
    const file = tempFile('conax-ws.yml', readFileSync(CONAX_WS_FILE, 'utf8'))
    expect(await loadProvider(file)).toEqual(CONAX_WS)
  })
})

describe('parseProvider defaults', () => {
  const minimal = {
    name: 'Draft',
    alternativeCode: 'DRAFT',
    lifeCycleState: 'NOT_EFFECTIVE',
    connection: { endpoint: 'https://ca.example/caclient', username: 'u', password: 'p' },
  }

  it('fills every optional field of a minimal NOT_EFFECTIVE provider', () => {
    expect(parseProvider(minimal, 'minimal')).toEqual({
      ...minimal,
      description: null,
      protocol: 'CONAX_CONTEGO_WEB_SERVICES',
      connection: { ...minimal.connection, characterSet: 'UTF-8', timeoutMs: 10_000 },
      caIdFormat: 'lenient',
      services: [],
      physicalGoods: [],
      distributors: [],
      maxViewingPoints: 4,
      activateServicesOnNewSmartcard: true,
      delivery: {
        maxCardsPerRequest: 500,
        retryInitialDelayMs: 500,
        retryMaxDelayMs: 60_000,
        splitRefusedBatches: 'named-or-bisect',
      },
    })
  })

  it('fills the delivery fields left out of a partial delivery block', () => {
    const provider = parseProvider({ ...minimal, delivery: { maxCardsPerRequest: 100 } }, 'x')
    expect(provider.delivery).toEqual({
      maxCardsPerRequest: 100,
      retryInitialDelayMs: 500,
      retryMaxDelayMs: 60_000,
      splitRefusedBatches: 'named-or-bisect',
    })
  })

  it('removes one trailing slash from the endpoint', () => {
    const endpoint = (url: string) =>
      parseProvider({ ...minimal, connection: { ...minimal.connection, endpoint: url } }, 'x')
        .connection.endpoint
    expect(endpoint('http://127.0.0.1:8280/ca-server/webservices/caclient/')).toBe(
      'http://127.0.0.1:8280/ca-server/webservices/caclient',
    )
    expect(endpoint('https://ca.example/')).toBe('https://ca.example')
  })
})

describe('CA ID formats', () => {
  it('accepts the seed CA IDs (GFA1) when lenient', () => {
    const provider = parseProvider(
      changed((p) => (p.caIdFormat = 'lenient')),
      'x',
    )
    expect(provider.services[0]).toEqual({
      service: 'GEOLOGICAL',
      caId: 'GFA1',
      description: 'Geological',
    })
  })

  it('rejects GFA1 when digits only', () => {
    const error = configErrorOf(() =>
      parseProvider(
        changed((p) => (p.caIdFormat = 'digits')),
        'x',
      ),
    )
    expect(error.issues[0]).toEqual({
      path: 'services[0].caId',
      rule: 'must be 1 to 32 digits (caIdFormat is digits); set caIdFormat to lenient to accept codes such as GFA1',
    })
    expect(error.issues.map((issue) => issue.path)).toEqual([
      'services[0].caId',
      'services[1].caId',
      'services[2].caId',
      'services[3].caId',
      'services[4].caId',
    ])
  })

  it('accepts digit strings, leading zeros kept, when digits only', () => {
    const provider = parseProvider(
      changed((p) => {
        p.caIdFormat = 'digits'
        p.services = [
          { service: 'GEOLOGICAL', caId: '01450253313' },
          { service: 'ENTERTAIN', caId: '1111' },
        ]
        p.distributors = [{ name: 'Main', alternativeCode: 'MAIN', allowedServices: 'ALL' }]
      }),
      'x',
    )
    expect(provider.services.map((service) => service.caId)).toEqual(['01450253313', '1111'])
  })
})

interface RuleCase {
  readonly title: string
  readonly change: (provider: Draft) => void
  readonly path: string
  readonly rule: RegExp
}

const RULES: readonly RuleCase[] = [
  { title: 'name empty', change: (p) => (p.name = ''), path: 'name', rule: /^must not be empty$/ },
  { title: 'name missing', change: (p) => delete p.name, path: 'name', rule: /^is required$/ },
  {
    title: 'alternativeCode blank',
    change: (p) => (p.alternativeCode = '  '),
    path: 'alternativeCode',
    rule: /^must not be empty$/,
  },
  {
    title: 'description not text',
    change: (p) => (p.description = 5),
    path: 'description',
    rule: /^must be text, not a number: put it in quotes$/,
  },
  {
    title: 'protocol other than Conax Contego Web Services',
    change: (p) => (p.protocol = 'CONAX_CONTEGO_SMS'),
    path: 'protocol',
    rule: /^must be CONAX_CONTEGO_WEB_SERVICES$/,
  },
  {
    title: 'lifeCycleState missing',
    change: (p) => delete p.lifeCycleState,
    path: 'lifeCycleState',
    rule: /^is required: one of EFFECTIVE, NOT_EFFECTIVE$/,
  },
  {
    title: 'lifeCycleState unknown',
    change: (p) => (p.lifeCycleState = 'ACTIVE'),
    path: 'lifeCycleState',
    rule: /^must be one of EFFECTIVE, NOT_EFFECTIVE$/,
  },
  {
    title: 'connection missing',
    change: (p) => delete p.connection,
    path: 'connection',
    rule: /^is required$/,
  },
  {
    title: 'endpoint not http(s)',
    change: (p) => (p.connection.endpoint = 'ftp://127.0.0.1/caclient'),
    path: 'connection.endpoint',
    rule: /^must be an http:\/\/ or https:\/\/ URL without query or fragment, e\.g\. http:/,
  },
  {
    title: 'endpoint not a URL',
    change: (p) => (p.connection.endpoint = 'ca-server/webservices'),
    path: 'connection.endpoint',
    rule: /^must be an http:\/\/ or https:\/\/ URL/,
  },
  {
    title: 'endpoint with a query',
    change: (p) => (p.connection.endpoint = 'http://127.0.0.1:8280/caclient?x=1'),
    path: 'connection.endpoint',
    rule: /without query or fragment/,
  },
  {
    title: 'endpoint empty',
    change: (p) => (p.connection.endpoint = ''),
    path: 'connection.endpoint',
    rule: /^must not be empty$/,
  },
  {
    title: 'username empty',
    change: (p) => (p.connection.username = ''),
    path: 'connection.username',
    rule: /^must not be empty$/,
  },
  {
    title: 'password missing',
    change: (p) => delete p.connection.password,
    path: 'connection.password',
    rule: /^is required$/,
  },
  {
    title: 'password with no value',
    change: (p) => (p.connection.password = null),
    path: 'connection.password',
    rule: /^is required but has no value$/,
  },
  {
    title: 'characterSet unsupported',
    change: (p) => (p.connection.characterSet = 'Windows-1252'),
    path: 'connection.characterSet',
    rule: /^must be one of UTF-8, ISO-8859-1, US-ASCII, UTF-16/,
  },
  {
    title: 'timeoutMs zero',
    change: (p) => (p.connection.timeoutMs = 0),
    path: 'connection.timeoutMs',
    rule: /^must be a whole number of at least 1$/,
  },
  {
    title: 'caIdFormat unknown',
    change: (p) => (p.caIdFormat = 'numeric'),
    path: 'caIdFormat',
    rule: /^must be one of lenient, digits$/,
  },
  {
    title: 'services not a list',
    change: (p) => (p.services = 'GEOLOGICAL'),
    path: 'services',
    rule: /^must be a list, not text$/,
  },
  {
    title: 'service code empty',
    change: (p) => (p.services[0].service = ''),
    path: 'services[0].service',
    rule: /^must not be empty$/,
  },
  {
    title: 'CA ID empty',
    change: (p) => (p.services[1].caId = ''),
    path: 'services[1].caId',
    rule: /^must not be empty$/,
  },
  {
    title: 'CA ID unquoted number',
    change: (p) => (p.services[1].caId = 1111),
    path: 'services[1].caId',
    rule: /^must be text, not a number: put it in quotes$/,
  },
  {
    title: 'CA ID with a space when lenient',
    change: (p) => (p.services[0].caId = 'GF A1'),
    path: 'services[0].caId',
    rule: /^must be 1 to 32 letters, digits, "_" or "-" \(caIdFormat is lenient\)$/,
  },
  {
    title: 'CA ID longer than 32 when lenient',
    change: (p) => (p.services[0].caId = 'A'.repeat(33)),
    path: 'services[0].caId',
    rule: /^must be 1 to 32 letters/,
  },
  {
    title: 'CA ID longer than 32 when digits',
    change: (p) => {
      p.caIdFormat = 'digits'
      p.services = [{ service: 'GEOLOGICAL', caId: '1'.repeat(33) }]
    },
    path: 'services[0].caId',
    rule: /^must be 1 to 32 digits/,
  },
  {
    title: 'service code mapped twice',
    change: (p) => (p.services[1].service = 'GEOLOGICAL'),
    path: 'services[1].service',
    rule: /^must be unique: "GEOLOGICAL" is already used at services\[0\]\.service$/,
  },
  {
    title: 'CA ID mapped twice',
    change: (p) => (p.services[4].caId = 'GFA1'),
    path: 'services[4].caId',
    rule: /^must be unique: "GFA1" is already used at services\[0\]\.caId$/,
  },
  {
    title: 'physical good kind unknown',
    change: (p) => (p.physicalGoods[1].kind = 'DECODER'),
    path: 'physicalGoods[1].kind',
    rule: /^must be one of SMARTCARD, STB$/,
  },
  {
    title: 'physical good product empty',
    change: (p) => (p.physicalGoods[0].product = ''),
    path: 'physicalGoods[0].product',
    rule: /^must not be empty$/,
  },
  {
    title: 'physical good product mapped twice',
    change: (p) => (p.physicalGoods[1].product = 'SC-CONAX'),
    path: 'physicalGoods[1].product',
    rule: /^must be unique: "SC-CONAX" is already used at physicalGoods\[0\]\.product$/,
  },
  {
    title: 'distributor name used twice',
    change: (p) => (p.distributors[3].name = 'Main'),
    path: 'distributors[3].name',
    rule: /^must be unique: "Main" is already used at distributors\[0\]\.name$/,
  },
  {
    title: 'distributor name empty',
    change: (p) => (p.distributors[0].name = ''),
    path: 'distributors[0].name',
    rule: /^must not be empty$/,
  },
  {
    title: 'distributor name longer than 32',
    change: (p) => (p.distributors[0].name = 'M'.repeat(33)),
    path: 'distributors[0].name',
    rule: /^must be at most 32 characters$/,
  },
  {
    title: 'distributor alternativeCode empty',
    change: (p) => (p.distributors[1].alternativeCode = ''),
    path: 'distributors[1].alternativeCode',
    rule: /^must not be empty$/,
  },
  {
    title: 'allowed service not mapped',
    change: (p) => (p.distributors[2].allowedServices = ['GEOLOGICAL', 'SPORTS']),
    path: 'distributors[2].allowedServices[1]',
    rule: new RegExp(
      `^must be one of the mapped services \\(${MAPPED}\\); map "SPORTS" under services or remove it here$`,
    ),
  },
  {
    title: 'allowed services listed twice',
    change: (p) => (p.distributors[2].allowedServices = ['GEOLOGICAL', 'GEOLOGICAL']),
    path: 'distributors[2].allowedServices[1]',
    rule: /^must not repeat "GEOLOGICAL": it is already listed at distributors\[2\]\.allowedServices\[0\]$/,
  },
  {
    title: 'allowed services an empty list',
    change: (p) => (p.distributors[2].allowedServices = []),
    path: 'distributors[2].allowedServices',
    rule: /^must list at least one service code, or be ALL$/,
  },
  {
    title: 'allowed services "all" in lower case',
    change: (p) => (p.distributors[0].allowedServices = 'all'),
    path: 'distributors[0].allowedServices',
    rule: /^must be ALL, or a list of service codes$/,
  },
  {
    title: 'allowed services missing',
    change: (p) => delete p.distributors[0].allowedServices,
    path: 'distributors[0].allowedServices',
    rule: /^is required: ALL, or a list of service codes$/,
  },
  {
    title: 'EFFECTIVE without service mappings',
    change: (p) => (p.services = []),
    path: 'services',
    rule: /^must have at least one service mapping while lifeCycleState is EFFECTIVE: add one, or set lifeCycleState to NOT_EFFECTIVE$/,
  },
  {
    title: 'EFFECTIVE with the services list left out',
    change: (p) => delete p.services,
    path: 'services',
    rule: /^must have at least one service mapping while lifeCycleState is EFFECTIVE/,
  },
  {
    title: 'EFFECTIVE without distributors',
    change: (p) => (p.distributors = []),
    path: 'distributors',
    rule: /^must have at least one distributor while lifeCycleState is EFFECTIVE: add one, or set lifeCycleState to NOT_EFFECTIVE$/,
  },
  {
    title: 'maxViewingPoints zero',
    change: (p) => (p.maxViewingPoints = 0),
    path: 'maxViewingPoints',
    rule: /^must be a whole number from 1 to 16$/,
  },
  {
    title: 'maxViewingPoints above 16',
    change: (p) => (p.maxViewingPoints = 17),
    path: 'maxViewingPoints',
    rule: /^must be a whole number from 1 to 16$/,
  },
  {
    title: 'maxViewingPoints a fraction',
    change: (p) => (p.maxViewingPoints = 2.5),
    path: 'maxViewingPoints',
    rule: /^must be a whole number from 1 to 16$/,
  },
  {
    title: 'activateServicesOnNewSmartcard not a boolean',
    change: (p) => (p.activateServicesOnNewSmartcard = 'yes'),
    path: 'activateServicesOnNewSmartcard',
    rule: /^must be true or false, not text$/,
  },
  {
    title: 'maxCardsPerRequest above the CA limit',
    change: (p) => (p.delivery.maxCardsPerRequest = 501),
    path: 'delivery.maxCardsPerRequest',
    rule: /^must be a whole number from 1 to 500$/,
  },
  {
    title: 'retryInitialDelayMs zero',
    change: (p) => (p.delivery.retryInitialDelayMs = 0),
    path: 'delivery.retryInitialDelayMs',
    rule: /^must be a whole number of at least 1$/,
  },
  {
    title: 'retryMaxDelayMs below retryInitialDelayMs',
    change: (p) => (p.delivery.retryMaxDelayMs = 100),
    path: 'delivery.retryMaxDelayMs',
    rule: /^must be at least delivery\.retryInitialDelayMs \(500\)$/,
  },
  {
    title: 'unknown top-level key in snake_case',
    change: (p) => (p.alternative_code = 'X'),
    path: 'alternative_code',
    rule: /^is not a known field: did you mean alternativeCode\? Fix the spelling or remove it$/,
  },
  {
    title: 'misspelt connection key',
    change: (p) => (p.connection.endpont = 'http://x'),
    path: 'connection.endpont',
    rule: /^is not a known field: did you mean endpoint\?/,
  },
  {
    title: 'misspelt service key',
    change: (p) => (p.services[2].caid = 'RFB1'),
    path: 'services[2].caid',
    rule: /^is not a known field: did you mean caId\?/,
  },
  {
    title: 'unknown delivery key unlike any known one',
    change: (p) => (p.delivery.compression = true),
    path: 'delivery.compression',
    rule: /^is not a known field: fix the spelling or remove it \(known fields here: maxCardsPerRequest, retryInitialDelayMs, retryMaxDelayMs, splitRefusedBatches\)$/,
  },
]

describe('parseProvider rules', () => {
  it.each(RULES)('$title → $path', ({ change, path, rule }) => {
    const error = configErrorOf(() => parseProvider(changed(change), 'provider.yaml'))
    expect(error.code).toBe('CONFIG_INVALID')
    expect(error.issues).toContainEqual({ path, rule: expect.stringMatching(rule) })
    expect(error.message).toContain(`\n  - ${path}: `)
  })

  it('reports a top level that is not a mapping', () => {
    const error = configErrorOf(() => parseProvider(['name: x'], 'provider.yaml'))
    expect(error.issues).toEqual([{ path: '', rule: 'must be a mapping of fields, not a list' }])
    expect(error.message).toContain('  - (top level): must be a mapping of fields, not a list')
  })

  it('reports nothing to parse as an empty provider', () => {
    const error = configErrorOf(() => parseProvider(null, 'provider.yaml'))
    expect(error.issues).toEqual([
      { path: '', rule: expect.stringMatching(/^is empty: it must hold the provider fields/) },
    ])
  })

  it('accepts a NOT_EFFECTIVE provider without services or distributors', () => {
    const provider = parseProvider(
      changed((p) => {
        p.lifeCycleState = 'NOT_EFFECTIVE'
        p.services = []
        p.distributors = []
      }),
      'x',
    )
    expect(provider.services).toEqual([])
    expect(provider.distributors).toEqual([])
  })

  it('reports every broken rule in one error, naming the source and what to do', () => {
    const error = configErrorOf(() =>
      parseProvider(
        changed((p) => {
          p.connection.endpoint = 'ftp://ca'
          p.distributors[1].allowedServices = ['SPORTS']
          p.colour = 'blue'
        }),
        'providers/zx.yaml',
      ),
    )
    expect(error.message).toBe(
      [
        'The provisioning provider in providers/zx.yaml is invalid (3 problems):',
        '  - connection.endpoint: must be an http:// or https:// URL without query or fragment, e.g. http://127.0.0.1:8280/ca-server/webservices/caclient',
        '  - colour: is not a known field: fix the spelling or remove it (known fields here: name, alternativeCode, description, protocol, lifeCycleState, connection, caIdFormat, services, physicalGoods, distributors, maxViewingPoints, activateServicesOnNewSmartcard, delivery)',
        `  - distributors[1].allowedServices[0]: must be one of the mapped services (${MAPPED}); map "SPORTS" under services or remove it here`,
        'Correct them in providers/zx.yaml and load it again; fixtures/scenarios/providers/conax-ws.yaml is a complete example.',
      ].join('\n'),
    )
    expect(error.issues).toHaveLength(3)
  })

  it('never echoes the password', () => {
    const error = configErrorOf(() =>
      parseProvider(
        changed((p) => (p.connection.password = 123456789)),
        'x',
      ),
    )
    expect(error.issues).toEqual([
      { path: 'connection.password', rule: 'must be text, not a number: put it in quotes' },
    ])
    expect(JSON.stringify(error)).not.toContain('123456789')
  })

  it('serialises to code, message, issues and location without a stack', () => {
    const error = configErrorOf(() =>
      parseProvider(
        changed((p) => (p.name = '')),
        'x',
      ),
    )
    expect(JSON.parse(JSON.stringify(error))).toEqual({
      name: 'ConfigError',
      code: 'CONFIG_INVALID',
      message: error.message,
      issues: [{ path: 'name', rule: 'must not be empty' }],
      location: null,
    })
  })
})

describe('loadProvider when the file cannot be read', () => {
  it('reports a YAML syntax error with its line and column', async () => {
    const file = tempFile(
      'broken.yaml',
      'name: x\nservices: [GEOLOGICAL, ENTERTAIN\nmaxViewingPoints: 4\n',
    )
    const error = await loadError(file)
    expect(error.code).toBe('CONFIG_UNREADABLE')
    expect(error.location).toEqual({ line: 3, column: 1 })
    expect(error.message).toContain(
      `Cannot read the provisioning provider file ${file}: it is not valid YAML: `,
    )
    expect(error.message).toContain('(line 3, column 1)')
    expect(error.message).toContain(
      '    2 | services: [GEOLOGICAL, ENTERTAIN\n    3 | maxViewingPoints: 4\n      | ^',
    )
    expect(error.message).toMatch(/Fix the syntax there and load the file again\.$/)
    expect(error.issues).toEqual([
      { path: '', rule: expect.stringContaining('(line 3, column 1)') },
    ])
  })

  it('reports a duplicate YAML key as a syntax error at the second key', async () => {
    const file = tempFile('twice.yaml', 'name: x\nalternativeCode: A\nname: y\n')
    const error = await loadError(file)
    expect(error.code).toBe('CONFIG_UNREADABLE')
    expect(error.location).toEqual({ line: 3, column: 1 })
    expect(error.message).toContain('Map keys must be unique')
  })

  it('reports a JSON syntax error with its line', async () => {
    const file = tempFile('broken.json', '{\n  "name": "x",\n  "alternativeCode": "A"\n')
    const error = await loadError(file)
    expect(error.code).toBe('CONFIG_UNREADABLE')
    expect(error.location?.line).toBe(4)
    expect(error.message).toContain('it is not valid JSON: ')
    expect(error.message).toContain('(line 4, column 1)')
  })

  it('reports a missing file', async () => {
    const file = join(PROVIDERS, 'no-such-provider.yaml')
    const error = await loadError(file)
    expect(error.code).toBe('CONFIG_UNREADABLE')
    expect(error.message).toBe(
      `Cannot read the provisioning provider file ${file}: the file does not exist.\nCheck the path; a relative path starts from ${process.cwd()}.`,
    )
    expect(error.location).toBeNull()
  })

  it('refuses an extension it does not read', async () => {
    const error = await loadError('provider.toml')
    expect(error.code).toBe('CONFIG_UNREADABLE')
    expect(error.message).toContain('its extension .toml is not one this loader reads')
    expect(error.message).toContain('Use a .yaml, .yml or .json file.')
  })

  it('reports an empty file as invalid, not as a crash', async () => {
    const error = await loadError(tempFile('empty.yaml', ''))
    expect(error.code).toBe('CONFIG_INVALID')
    expect(error.issues[0]?.path).toBe('')
  })

  it('refuses an alias bomb in one line, without expanding it', async () => {
    const nine = (alias: string): string => `[${Array(9).fill(alias).join(', ')}]`
    const levels = ['a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]']
    for (const [index, name] of [...'bcdefghi'].entries()) {
      levels.push(`${name}: &${name} ${nine(`*${'abcdefghi'[index] ?? ''}`)}`)
    }
    const file = tempFile('bomb.yaml', `${levels.join('\n')}\n`)

    const error = await loadError(file)

    expect(error.code).toBe('CONFIG_UNREADABLE')
    expect(error.message).not.toContain('\n')
    expect(error.message).toContain(
      `Cannot read the provisioning provider file ${file}: it is not valid YAML: its aliases expand to too many nodes (more than 50 alias expansions)`,
    )
    expect(error.location?.line).toBeGreaterThan(1)
  })

  it('refuses aliases that expand to more than 50 nodes', async () => {
    const nine = (alias: string): string => `[${Array(9).fill(alias).join(', ')}]`
    const file = tempFile('aliases.yaml', `a: &a [x]\nb: &b ${nine('*a')}\nc: ${nine('*b')}\n`)

    const error = await loadError(file)

    expect(error.code).toBe('CONFIG_UNREADABLE')
    expect(error.message).toContain('more than 50 alias expansions')
  })

  it('refuses an alias without its anchor at the alias', async () => {
    const file = tempFile('alias.yaml', 'name: x\nalternativeCode: *nowhere\n')

    const error = await loadError(file)

    expect(error.code).toBe('CONFIG_UNREADABLE')
    expect(error.location).toEqual({ line: 2, column: 18 })
    expect(error.message).toContain('Unresolved alias')
  })

  it('never puts a stack trace in the message', async () => {
    for (const file of [
      tempFile('broken.yaml', 'a: [\n'),
      tempFile('broken.json', '{'),
      join(PROVIDERS, 'missing.json'),
    ]) {
      expect((await loadError(file)).message).not.toMatch(/\n\s+at /)
    }
  })
})

describe('character set', () => {
  it('reads an empty character set as UTF-8, as CRM.COM does', () => {
    const file = join(
      import.meta.dirname,
      '..',
      '..',
      'fixtures',
      'scenarios',
      'providers',
      'conax-ws.yaml',
    )
    const data = parse(readFileSync(file, 'utf8')) as { connection: { characterSet: string } }
    data.connection.characterSet = ''
    expect(parseProvider(data, 'test').connection.characterSet).toBe('UTF-8')
  })
})
