import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it, onTestFinished } from 'vitest'
import type { ConaxCommand } from '../../../src/index.js'
import type { Outcome } from './given.js'
import { DeviceMap, DeviceMapError, loadDeviceMap, parseDeviceMap } from './devices.js'
import { devicesOfJournal, wireLinesOfJournal } from './wire.js'
import type { JournalEntryLike } from './wire-types.js'

const MAP = new DeviceMap(
  'map.yaml',
  { '01450250001': '01999000123', '01450250002': '01999000124' },
  { '1000000001': '2999000001' },
)

function problem(text: string): string {
  try {
    parseDeviceMap(text, 'map.yaml')
  } catch (error) {
    expect(error).toBeInstanceOf(DeviceMapError)
    const message = (error as DeviceMapError).message
    // One line, for a CI log.
    expect(message).not.toContain('\n')
    return message
  }
  throw new Error('the map was accepted')
}

describe('reading a device map', () => {
  it('reads YAML with the leading zeros of unquoted IDs kept', () => {
    const map = parseDeviceMap(
      'smartcards:\n  01450250001: 01999000123\nstbs:\n  1000000001: 2999000001\n',
      'map.yaml',
    )
    expect(map.card('01450250001')).toBe('01999000123')
    expect(map.stb('1000000001')).toBe('2999000001')
    expect(map.size).toEqual({ smartcards: 1, stbs: 1 })
  })

  it('reads JSON', () => {
    const map = parseDeviceMap('{ "smartcards": { "01450250001": "01999000123" } }', 'map.json')
    expect(map.card('01450250001')).toBe('01999000123')
    expect(map.stb('1000000001')).toBe('1000000001')
  })

  it('refuses a real card ID that is not 11 digits, naming the line and key', () => {
    expect(problem('smartcards:\n  01450250001: 1999000123\n')).toBe(
      "map.yaml:2:16: smartcards.01450250001: the real ID '1999000123' is not an 11-digit smartcard CA ID (CaClientId). Fix the device map (--devices) and run again.",
    )
  })

  it('refuses an STB ID of more than 20 digits, and a scenario ID that is no ID', () => {
    expect(problem(`stbs:\n  '1000000001': '${'9'.repeat(21)}'\n`)).toMatch(
      /^map\.yaml:2:17: stbs\.1000000001: the real ID '9{21}' is not an STB CA ID \(PairingModuleId\) of 1 to 20 digits/,
    )
    expect(problem('smartcards:\n  card-1: 01999000123\n')).toMatch(
      /^map\.yaml:2:3: smartcards\.card-1: the scenario card ID must be an 11-digit/,
    )
  })

  it('refuses two scenario devices mapped to one real device', () => {
    expect(
      problem('smartcards:\n  01450250001: 01999000123\n  01450250002: 01999000123\n'),
    ).toMatch(
      /^map\.yaml:3:3: smartcards\.01450250002: maps to 01999000123 like smartcards\.01450250001; one real card can stand for one scenario card only/,
    )
  })

  it('refuses other shapes: an unknown key, a list, an empty map, a key given twice, bad YAML', () => {
    expect(problem('smartcard:\n  01450250001: 01999000123\n')).toMatch(
      /^map\.yaml:1:1: unknown key 'smartcard'/,
    )
    expect(problem('smartcards: [01999000123]\n')).toMatch(
      /^map\.yaml:1:13: smartcards: must be a map of scenario card IDs/,
    )
    expect(problem('smartcards: {}\n')).toMatch(/^map\.yaml:1:1: maps no device/)
    expect(problem('- 01450250001\n')).toMatch(/^map\.yaml:1:1: must be a map with smartcards/)
    expect(problem('stbs:\n  "1": "2"\n  "1": "3"\n')).toMatch(/^map\.yaml:3:3: YAML: /)
    expect(problem('smartcards: { 01450250001: \n')).toMatch(/^map\.yaml:\d+:\d+: YAML: /)
  })

  it('names a file it cannot read', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'conformance-devices-'))
    onTestFinished(() => rm(dir, { recursive: true, force: true }))
    const missing = join(dir, 'missing.yaml')
    await expect(loadDeviceMap(missing)).rejects.toThrow(`${missing}: cannot be read`)
    const file = join(dir, 'map.yaml')
    await writeFile(file, 'stbs:\n  "1000000001": "2999000001"\n')
    expect((await loadDeviceMap(file)).stb('1000000001')).toBe('2999000001')
  })
})

describe('mapping commands to the real devices', () => {
  const cases: [ConaxCommand, Record<string, unknown>][] = [
    [
      {
        type: 'ADD_SUBSCRIPTIONS',
        smartcardCaId: '01450250001',
        serviceCaId: 'GFA1',
        distributor: null,
      },
      { smartcardCaId: '01999000123', serviceCaId: 'GFA1' },
    ],
    [
      {
        type: 'CREATE_PAIRING',
        smartcardCaIds: ['01450250001', '01450250009'],
        stbCaIds: ['1000000001'],
        distributor: 'Main',
      },
      // A device the map does not list stays as it is.
      { smartcardCaIds: ['01999000123', '01450250009'], stbCaIds: ['2999000001'] },
    ],
    [
      {
        type: 'ADD_TO_EXISTING_PAIRING',
        pairedSmartcardCaId: '01450250001',
        smartcardCaIds: ['01450250002'],
        stbCaIds: [],
        distributor: null,
      },
      { pairedSmartcardCaId: '01999000123', smartcardCaIds: ['01999000124'], stbCaIds: [] },
    ],
    [
      { type: 'GET_PAIRING_STATUS_FOR_PAIRING_MODULE', stbCaId: '1000000001', distributor: null },
      { stbCaId: '2999000001' },
    ],
    [
      {
        type: 'SEND_MAIL_MESSAGE_TO_CLIENT',
        smartcardCaIds: ['01450250002'],
        message: 'card 01450250001 is due',
        startIndicationTime: null,
        distributor: null,
      },
      // Only device fields: a message text that happens to hold an ID is sent as written.
      { smartcardCaIds: ['01999000124'], message: 'card 01450250001 is due' },
    ],
  ]

  it.each(cases)('maps %j', (command, expected) => {
    const mapped = MAP.command(command)
    expect(mapped).toMatchObject({ ...expected, type: command.type })
    expect(Object.keys(mapped)).toEqual(Object.keys(command))
  })

  it('leaves the scenario command as it was', () => {
    const command: ConaxCommand = {
      type: 'UPDATE_CA_PIN_TO_GIVEN_VALUE',
      smartcardCaId: '01450250001',
      pin: '1234',
      distributor: null,
    }
    expect(MAP.command(command).smartcardCaId).toBe('01999000123')
    expect(command.smartcardCaId).toBe('01450250001')
  })
})

describe('mapping what the CA answers back to the scenario devices', () => {
  it("maps a pairing status's cards and STBs, and the IDs in an error text", () => {
    const paired: Outcome = {
      kind: 'COMPLETED',
      referenceNumber: '7',
      message: '',
      request: '',
      response: '',
      result: {
        paired: true,
        smartcardCaIds: ['01999000123', '01777000000'],
        stbs: [
          { stbCaId: '2999000001', serialNumber: 'S', productCode: 'P', productDescription: 'D' },
        ],
      },
    }
    expect(MAP.outcome(paired)).toMatchObject({
      result: { smartcardCaIds: ['01450250001', '01777000000'], stbs: [{ stbCaId: '1000000001' }] },
    })
    const refused: Outcome = {
      kind: 'REJECTED',
      errorCode: 'CLIENT_NOT_FOUND',
      errorDescription: 'Smartcard 01999000123 is unknown (not 019990001230).',
      referenceNumber: null,
      request: null,
      response: null,
    }
    expect(MAP.outcome(refused)).toMatchObject({
      errorDescription: 'Smartcard 01450250001 is unknown (not 019990001230).',
    })
  })

  it('maps the devices of journal entries, so they render as the scenario expects them', () => {
    const entries: JournalEntryLike[] = [
      {
        seq: 1,
        service: 'Pairing',
        operation: 'CreatePairing',
        statusCode: 'OK',
        request: {
          CaClientIds: { CaClientId: ['01999000123', '01999000124'] },
          PairingModuleIds: { PairingModuleId: '2999000001' },
          Distributor: 'Main',
        },
      },
      {
        seq: 2,
        service: 'Subscription',
        operation: 'AddSubscriptions',
        statusCode: 'OK',
        request: {
          Subscriptions: {
            Subscription: [
              { CaClientId: '01999000123', ProductId: 'GFA1', Distributor: 'Main' },
              { CaClientId: '01555000000', ProductId: '01999000123' },
            ],
          },
        },
      },
      {
        seq: 3,
        service: 'Pairing',
        operation: 'AddToExistingPairing',
        statusCode: 'OK',
        request: {
          PairedCaClientId: '01999000124',
          PairingModuleIds: { PairingModuleId: ['2999000001'] },
        },
      },
    ]
    const mapped = entries.map((entry) => MAP.journalEntry(entry))
    expect(mapped.flatMap(wireLinesOfJournal)).toEqual([
      'CreatePairing cards=01450250001,01450250002 stbs=1000000001 distributor=Main → OK',
      'AddSubscriptions card=01450250001 product=GFA1 distributor=Main → OK',
      // A product that happens to look like a card ID is not a device.
      'AddSubscriptions card=01555000000 product=01999000123 → OK',
      'AddToExistingPairing paired=01450250002 stbs=1000000001 → OK',
    ])
    expect(devicesOfJournal(mapped[0] as JournalEntryLike)).toEqual([
      '01450250001',
      '01450250002',
      '1000000001',
    ])
    expect(entries[0]?.request).toMatchObject({
      CaClientIds: { CaClientId: ['01999000123', '01999000124'] },
    })
  })

  it('labels report texts with both IDs', () => {
    expect(MAP.label('card 01450250001: products; STB 1000000001; card 014502500010')).toBe(
      'card 01450250001 (real 01999000123): products; STB 1000000001 (real 2999000001); card 014502500010',
    )
  })
})
