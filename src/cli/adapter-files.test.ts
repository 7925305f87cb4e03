import {
  existsSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it, onTestFinished } from 'vitest'
import { adapterCli } from '../test-support/adapter-cli.js'
import { PROVIDER_FILE } from '../test-support/adapter-harness.js'

/**
 * Bad files given to conax-adapter (an alias-bomb provider, a damaged store, a --data folder that
 * does not exist) get one line naming the file and the problem and exit code 2, and the files are
 * left untouched.
 */

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'conax-adapter-files-'))
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

/** Runs the CLI in process; returns its exit code and the lines it wrote to stderr. */
async function cli(args: string[]): Promise<{ code: number; errors: string[] }> {
  const { code, stdout, stderr } = await adapterCli(['--port', '0', '-l', 'silent', ...args])
  expect(stdout).toBe('')
  return { code, errors: stderr.split('\n').filter((line) => line !== '') }
}

const BOMB = [
  'name: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]',
  ...'bcdefghi'.split('').map((key, index) => {
    const previous = 'abcdefghi'[index] as string
    return `${key}: &${key} [${Array(9).fill(`*${previous}`).join(', ')}]`
  }),
].join('\n')

describe('conax-adapter --provider with an alias bomb', () => {
  it('is refused with one line naming the file, exit code 2', async () => {
    const file = join(tempDir(), 'bomb.yaml')
    writeFileSync(file, BOMB)

    const { code, errors } = await cli(['--provider', file, '--memory'])

    expect(code).toBe(2)
    expect(errors).toHaveLength(1)
    expect(errors[0]).not.toContain('\n')
    expect(errors[0]).toMatch(
      /^conax-adapter: CONFIG_UNREADABLE: Cannot read the provisioning provider file .*bomb\.yaml: it is not valid YAML: its aliases expand to too many nodes \(more than 50 alias expansions\)/,
    )
  })
})

const MAIN = {
  format: 'conax-adapter/1',
  nextSequence: 5,
  requestsPerSegment: 1000,
  subscriptionsPerSegment: 1000,
  requestSegments: 0,
  subscriptionSegments: 0,
}
const main = (journal: unknown[]): string => JSON.stringify({ ...MAIN, journal })

const STORE_CASES: [name: string, content: string, problem: RegExp][] = [
  ['null', 'null', /it holds null, not a conax-adapter\/1 provisioning store/],
  ['an empty file', '', /cannot read or parse it/],
  ['a truncated file', main([]).slice(0, 40), /cannot read or parse it/],
  ['a null journal entry', main([null]), /journal entry 1: it is null, not a record/],
  [
    'a request without its command',
    main([{ request: { id: 'x', number: '1', sequenceNumber: 3 } }]),
    /journal entry 1: request type is missing/,
  ],
  [
    'a subscription with null services',
    main([
      {
        ordinal: 0,
        subscription: {
          id: 'S1',
          type: null,
          state: 'EFFECTIVE',
          services: null,
          installedItems: [],
          swaps: [],
          createdAt: 'x',
          updatedAt: 'x',
        },
      },
    ]),
    /journal entry 1: subscription services is invalid: expected array, received null/,
  ],
]

describe('conax-adapter --data on a damaged store', () => {
  it.each(STORE_CASES)(
    'holding %s is refused with one line, exit code 2, the file untouched and no lock left',
    async (_name, content, problem) => {
      const dir = tempDir()
      const file = join(dir, 'adapter.json')
      writeFileSync(file, content)
      utimesSync(file, new Date('2020-01-01T00:00:00Z'), new Date('2020-01-01T00:00:00Z'))
      const mtime = statSync(file).mtimeMs

      const { code, errors } = await cli(['--provider', PROVIDER_FILE, '--data', file])

      expect(code).toBe(2)
      expect(errors).toHaveLength(1)
      expect(errors[0]).not.toContain('\n')
      expect(errors[0]).toMatch(
        /^conax-adapter: STORE_UNREADABLE: Failed to read the provisioning store /,
      )
      expect(errors[0]).toContain(file)
      expect(errors[0]).toMatch(problem)
      expect(readFileSync(file, 'utf8')).toBe(content)
      expect(statSync(file).mtimeMs).toBe(mtime)
      expect(existsSync(`${file}.lock`)).toBe(false)
    },
  )
})

describe('conax-adapter --data whose folder is missing', () => {
  it('is refused when the path is given, with a hint, and nothing is created', async () => {
    const dir = tempDir()
    const file = join(dir, 'missing', 'adapter.json')

    const { code, errors } = await cli(['--provider', PROVIDER_FILE, '--data', file])

    expect(code).toBe(2)
    expect(errors).toEqual([
      expect.stringMatching(
        /^conax-adapter: STORE_FOLDER_MISSING: .*missing does not exist\. Create it \(mkdir -p .*\) or pass --create-data-dir/,
      ),
    ])
    expect(existsSync(join(dir, 'missing'))).toBe(false)
  })
})
