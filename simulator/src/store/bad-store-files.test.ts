import { spawn } from 'node:child_process'
import {
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { beforeAll, describe, expect, it, onTestFinished } from 'vitest'
import { capturedIo } from '../../../common/test-support/captured-io.js'
import { runCli } from '../cli/main.js'
import { startSimulator } from '../create-simulator.js'
import { packageRoot } from '../runtime/package-root.js'
import { CARD_A, STB_1, TEST_INVENTORY, callSoap } from '../test-support/soap.js'

/**
 * A simulator store that is damaged in any way is refused at start with one line naming the
 * file and the problem (exit code 2, no stack trace), and the file is never written to.
 */

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'conax-bad-store-'))
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

/** Runs the CLI in process; returns its exit code and the lines it wrote to stderr. */
async function cli(args: string[]): Promise<{ code: number; errors: string[] }> {
  const io = capturedIo()
  const code = await runCli(['node', 'conax-sim', '--port', '0', '-l', 'silent', ...args], io)
  return {
    code,
    errors: io
      .err()
      .split('\n')
      .filter((line) => line !== ''),
  }
}

type Json = Record<string, unknown>

/** A real store file with cards, a pairing, journal entries and a replay record. */
let goodStore: Json

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'conax-good-store-'))
  try {
    const file = join(dir, 'sim.json')
    const sim = await startSimulator({ dataFile: file, inventory: TEST_INVENTORY })
    await callSoap(sim, 'subscription', 'AddSubscriptions', {
      Subscriptions: { Subscription: [{ CaClientId: CARD_A, ProductId: 'GFA1' }] },
      SequenceNumber: 3,
    })
    await callSoap(sim, 'pairing', 'CreatePairing', {
      CaClientIds: { CaClientId: [CARD_A] },
      PairingModuleIds: { PairingModuleId: [STB_1] },
    })
    await sim.compact()
    await sim.close()
    goodStore = JSON.parse(readFileSync(file, 'utf8')) as Json
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

const model = (store: Json): Json => store.model as Json
const withModel = (change: Json): Json => ({
  ...goodStore,
  model: { ...model(goodStore), ...change },
})
const firstCard = (): Json => (model(goodStore).cards as Json[])[0] as Json

const CASES: [name: string, content: () => string, problem: RegExp][] = [
  ['null', () => 'null', /holds null/],
  ['an array', () => '[]', /holds an array/],
  ['an empty file', () => '', /is empty/],
  ['a file of blanks', () => '  \n', /is empty/],
  ['a truncated file', () => JSON.stringify(goodStore).slice(0, 300), /not valid JSON/],
  ['another JSON document', () => '{"hello":1}', /format is missing, not conax-sim\/1/],
  ['a null model', () => JSON.stringify({ ...goodStore, model: null }), /^.*model is invalid/],
  [
    'a null card',
    () => JSON.stringify(withModel({ cards: [null, ...(model(goodStore).cards as Json[])] })),
    /model\.cards\[0\] is invalid: expected object, received null/,
  ],
  [
    'a card with a numeric PIN',
    () => JSON.stringify(withModel({ cards: [{ ...firstCard(), pin: 1234 }] })),
    /model\.cards\[0\]\.pin is invalid: expected string, received number/,
  ],
  [
    'null inbox entries',
    () => JSON.stringify(withModel({ cards: [{ ...firstCard(), inbox: [null] }] })),
    /model\.cards\[0\]\.inbox\[0\] is invalid/,
  ],
  [
    'a null replay record',
    () => JSON.stringify({ ...goodStore, replays: [null] }),
    /replays\[0\] is invalid: expected object, received null/,
  ],
  [
    'a null journal entry',
    () => JSON.stringify({ ...goodStore, journal: { entries: [null], nextSeq: 2 } }),
    /journal\.entries\[0\] is invalid/,
  ],
  [
    'a pairing naming an unknown card',
    () =>
      JSON.stringify(
        withModel({
          pairings: (model(goodStore).pairings as Json[]).map((p) => ({
            ...p,
            caClientIds: ['01234567890'],
          })),
        }),
      ),
    /names card '01234567890', which is unknown or not in that pairing/,
  ],
  [
    'a card listed twice',
    () => JSON.stringify(withModel({ cards: [firstCard(), firstCard()] })),
    /model\.cards lists '01450253313' twice/,
  ],
]

describe('a damaged simulator store', () => {
  it.each(CASES)(
    'holding %s is refused with one line naming it, exit code 2, and left untouched',
    async (_name, content, problem) => {
      const file = join(tempDir(), 'sim.json')
      writeFileSync(file, content())
      utimesSync(file, new Date('2020-01-01T00:00:00Z'), new Date('2020-01-01T00:00:00Z'))
      const before = { bytes: readFileSync(file), mtime: statSync(file).mtimeMs }

      const { code, errors } = await cli(['--data', file, '--fixtures', '3'])

      expect(code).toBe(2)
      expect(errors).toHaveLength(1)
      const line = errors[0] as string
      expect(line).not.toContain('\n')
      expect(line).toMatch(/^conax-sim: STORE_UNREADABLE: Failed to read the simulator store /)
      expect(line).toContain(file)
      expect(line).toMatch(problem)
      expect(readFileSync(file)).toEqual(before.bytes)
      expect(statSync(file).mtimeMs).toBe(before.mtime)
    },
  )

  it('that is a directory is refused with one line', async () => {
    const dir = join(tempDir(), 'sim.json')
    mkdirSync(dir)

    const { code, errors } = await cli(['--data', dir])

    expect(code).toBe(2)
    expect(errors).toEqual([
      expect.stringMatching(/STORE_UNREADABLE: .*sim\.json: it is a directory/),
    ])
  })

  it('loads a good store (the cases above differ from it in one place only)', async () => {
    const file = join(tempDir(), 'sim.json')
    writeFileSync(file, JSON.stringify(goodStore))

    const sim = await startSimulator({ dataFile: file })
    onTestFinished(() => sim.close())

    expect(sim.model.card(CARD_A)?.pairing?.pairingModuleIds).toEqual([STB_1])
  })

  it('from a custom SimulatorStore is refused the same way', async () => {
    await expect(
      startSimulator({
        store: {
          description: 'custom store',
          load: () => Promise.resolve({ ...goodStore, replays: [null] }),
          save: () => Promise.reject(new Error('must not be called')),
        },
      }),
    ).rejects.toMatchObject({
      code: 'STORE_UNREADABLE',
      message: expect.stringContaining('custom store: replays[0] is invalid') as string,
    })
  })
})

describe('a --data path whose folder is missing', () => {
  it('is refused with STORE_FOLDER_MISSING and a hint to create it; nothing is created', async () => {
    const dir = tempDir()
    const file = join(dir, 'missing', 'sim.json')

    const { code, errors } = await cli(['--data', file])

    expect(code).toBe(2)
    expect(errors).toEqual([
      expect.stringMatching(
        /^conax-sim: STORE_FOLDER_MISSING: .*missing.*does not exist\. Create it \(mkdir -p .*\) or pass --create-data-dir/,
      ),
    ])
    expect(() => statSync(join(dir, 'missing'))).toThrow(/ENOENT/)
  })

  it('is created with createDataFolder (--create-data-dir)', async () => {
    const file = join(tempDir(), 'new', 'folder', 'sim.json')

    const sim = await startSimulator({
      dataFile: file,
      createDataFolder: true,
      inventory: TEST_INVENTORY,
    })
    await sim.close()
    const again = await startSimulator({ dataFile: file })
    onTestFinished(() => again.close())

    expect(again.model.card(CARD_A)).not.toBeNull()
  })
})

describe('bad start-up files', () => {
  it('refuses an inventory file with a null item in one line naming the file and the item', async () => {
    const file = join(tempDir(), 'inventory.json')
    writeFileSync(file, '{"smartcards":[null]}')

    const { code, errors } = await cli(['--inventory', file])

    expect(code).toBe(2)
    expect(errors).toEqual([
      expect.stringMatching(
        /^conax-sim: INVALID_INVENTORY: The inventory file .*inventory\.json is invalid: smartcards\[0\]/,
      ),
    ])
  })
})

describe('conax-sim on a damaged store (real process)', () => {
  it('exits 2 with one line on stderr and no stack trace', async () => {
    const file = join(tempDir(), 'sim.json')
    writeFileSync(file, 'null')
    const child = spawn(
      process.execPath,
      [join(packageRoot(), 'bin', 'conax-sim.js'), '--port', '0', '--data', file],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    )
    let stderr = ''
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))

    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve))

    expect(code).toBe(2)
    expect(stderr.trim().split('\n')).toEqual([
      expect.stringMatching(/^conax-sim: STORE_UNREADABLE: .*sim\.json: it holds null/),
    ])
    expect(readFileSync(file, 'utf8')).toBe('null')
  })
})
