import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { describe, expect, it, onTestFinished } from 'vitest'
import type { ProvisioningRequest } from '../../domain/provisioning-request.js'
import {
  FileProvisioningStore,
  STORE_FORMAT,
  type FileStoreOptions,
} from './file-provisioning-store.js'
import {
  aNewRequest,
  aSubscription,
  describeProvisioningStoreContract,
} from './provisioning-store.contract.js'

const T0 = '2025-03-01T10:00:00.000Z'
const T1 = '2025-03-01T11:00:00.000Z'

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'conax-file-store-'))
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

/** Compacts after every group: every final request is read back from an archive file. */
const COMPACT_ALWAYS: FileStoreOptions = { compactBytes: 1 }

for (const [name, options] of [
  ['FileProvisioningStore', {}],
  ['FileProvisioningStore compacting after every group', COMPACT_ALWAYS],
  ['FileProvisioningStore without fsync', { fsync: 'never' }],
] as const) {
  describeProvisioningStoreContract(
    name,
    async () => {
      const file = join(tempDir(), 'data', 'adapter.json')
      return {
        store: await FileProvisioningStore.open(file, options),
        reopen: () => FileProvisioningStore.open(file, options),
      }
    },
    { durable: true },
  )
}

/** Opens a store in a new folder, closed when the test ends; warnings are collected. */
async function openTemp(options: FileStoreOptions = {}, file = join(tempDir(), 'adapter.json')) {
  const warnings: string[] = []
  const store = await FileProvisioningStore.open(file, {
    ...options,
    onWarning: (message) => warnings.push(message),
  })
  onTestFinished(() => store.close())
  return { file, store, warnings }
}

/** Opens `file` again, collecting warnings. */
async function reopen(file: string, options: FileStoreOptions = {}) {
  const warnings: string[] = []
  const store = await FileProvisioningStore.open(file, {
    ...options,
    onWarning: (message) => warnings.push(message),
  })
  onTestFinished(() => store.close())
  return { store, warnings }
}

function logFiles(file: string): string[] {
  return readdirSync(`${file}.d`)
    .filter((name) => name.startsWith('log-'))
    .sort()
}

/** A subscription with its two requests, then the first completed: two groups. */
async function provision(store: FileProvisioningStore, i: number): Promise<ProvisioningRequest[]> {
  const subscriptionId = `S${String(i)}`
  const [a, b] = await store.commit(
    {
      subscription: aSubscription(subscriptionId, { installedItems: [] }),
      requests: [
        aNewRequest(String(i), { subscriptionId, processId: `P${String(i % 3)}` }),
        aNewRequest(String(i + 1000), { subscriptionId }),
      ],
    },
    T0,
  )
  const done = await store.updateRequest(
    a!.id,
    { lifeCycleState: 'COMPLETED', referenceNumber: `T-${String(i)}`, response: 'é'.repeat(300) },
    T1,
  )
  return [done, b!]
}

/**
 * A closed store whose snapshot holds a subscription and three PENDING requests, by line: written
 * in one group, the first, so that the compaction it starts (the only one) snapshots them all.
 */
async function pendingSnapshot(): Promise<{ file: string; lines: string[]; opening: number }> {
  const { file, store } = await openTemp(COMPACT_ALWAYS)
  const subscriptionId = 'S1'
  await store.commit(
    {
      subscription: aSubscription(subscriptionId, { installedItems: [] }),
      requests: ['1', '2', '3'].map((card) => aNewRequest(card, { subscriptionId })),
    },
    T0,
  )
  await store.close()
  const text = readFileSync(file, 'utf8')
  expect(text.endsWith('\n')).toBe(true)
  const lines = text.slice(0, -1).split('\n')
  return { file, lines, opening: lines.indexOf('],"pending":[') }
}

describe('FileProvisioningStore files', () => {
  it('creates the folder, a snapshot with the format marker and a log, and says which file', async () => {
    const { file, store } = await openTemp({}, join(tempDir(), 'data', 'adapter.json'))

    await store.commit({ requests: [aNewRequest()] }, T0)

    expect(JSON.parse(readFileSync(file, 'utf8'))).toMatchObject({
      format: STORE_FORMAT,
      nextSequence: expect.any(Number),
      pending: [],
    })
    expect(logFiles(file)).toEqual(['log-000001.jsonl'])
    expect(readFileSync(join(`${file}.d`, 'log-000001.jsonl'), 'utf8')).toMatch(
      /^[0-9a-f]{8} \{"r":\[\{.*\n$/,
    )
    expect(store.description).toBe(file)
  })

  it('keeps only PENDING requests in memory and reads final ones back from disk as acknowledged', async () => {
    const { file, store } = await openTemp()
    const acknowledged: ProvisioningRequest[] = []
    for (let i = 0; i < 10; i++) {
      acknowledged.push(...(await provision(store, i)))
    }

    expect(store.inMemory()).toEqual({ requests: 10, stored: 20, subscriptions: 10 })
    const done = acknowledged.filter((request) => request.lifeCycleState === 'COMPLETED')
    for (const request of done) {
      expect(await store.getRequest(request.id)).toEqual(request)
      expect(await store.getRequest(request.number)).toEqual(request)
    }
    expect((await store.listRequests({ lifeCycleState: 'COMPLETED' })).items).toEqual(done)
    expect((await store.listRequests({ referenceNumber: 'T-4' })).items).toEqual([done[4]])
    expect((await store.listRequests({ processId: 'P1', offset: 1, limit: 2 })).items).toEqual(
      acknowledged.filter((r) => r.processId === 'P1').slice(1, 3),
    )

    await store.close()
    const { store: again } = await reopen(file)
    expect(again.inMemory()).toEqual({ requests: 10, stored: 20, subscriptions: 10 })
    expect((await again.listRequests({})).items).toEqual(
      [...acknowledged].sort((a, b) => Number(a.number) - Number(b.number)),
    )
  })

  it('compacts into archive files, drops the compacted log files and reads the same back', async () => {
    const { file, store } = await openTemp({ compactBytes: 4000 })
    const acknowledged: ProvisioningRequest[] = []
    for (let i = 0; i < 30; i++) {
      acknowledged.push(...(await provision(store, i)))
    }
    const before = await store.listRequests({})
    await store.close()

    const names = readdirSync(`${file}.d`)
    expect(names.filter((name) => name.startsWith('archive-')).length).toBeGreaterThan(2)
    expect(logFiles(file).length).toBeLessThanOrEqual(1)
    const snapshot = JSON.parse(readFileSync(file, 'utf8')) as {
      archives: { file: string }[]
      pending: unknown[]
      logFrom: number
    }
    expect(snapshot.archives.map((ref) => ref.file).sort()).toEqual(
      names.filter((name) => name.startsWith('archive-')).sort(),
    )
    // Only the log file groups go to now (created by its first group) is left.
    for (const name of logFiles(file)) {
      expect(name).toBe(`log-${String(snapshot.logFrom).padStart(6, '0')}.jsonl`)
    }

    const { store: again, warnings } = await reopen(file)
    expect(warnings).toEqual([])
    expect(await again.listRequests({})).toEqual(before)
    expect((await again.pendingRequests()).map((r) => r.number)).toEqual(
      acknowledged.filter((r) => r.lifeCycleState === 'PENDING').map((r) => r.number),
    )
    // A final request made PENDING again (a manual retry) leaves its archive and is sent again.
    const archived = acknowledged[0]!
    await again.updateRequest(archived.id, { lifeCycleState: 'PENDING' }, T1)
    expect((await again.pendingRequests())[0]).toMatchObject({ number: archived.number })
  })

  it('refuses a file that is not JSON and leaves it untouched', async () => {
    const file = join(tempDir(), 'adapter.json')
    writeFileSync(file, '{"format": "conax-adapter/2", ')

    const opening = FileProvisioningStore.open(file)

    await expect(opening).rejects.toMatchObject({ code: 'STORE_UNREADABLE' })
    await expect(opening).rejects.toThrow(file)
    await expect(opening).rejects.toThrow(/left untouched/)
    expect(readFileSync(file, 'utf8')).toBe('{"format": "conax-adapter/2", ')
    expect(existsSync(`${file}.d`)).toBe(false)
    expect(existsSync(`${file}.lock`)).toBe(false)
  })

  it.each([
    ['the simulator store', '{"format":"conax-sim/1","model":{}}', /not a conax-adapter\/1/],
    ['null', 'null', /it holds null, not a conax-adapter\/1 .*nor a conax-adapter\/2/],
    ['an array', '[]', /not a conax-adapter\/1 provisioning store/],
    ['a marker without the rest', '{"format":"conax-adapter/2"}', /without its counters/],
    [
      'a snapshot with a damaged pending request',
      JSON.stringify({
        format: 'conax-adapter/2',
        group: 0,
        logFrom: 1,
        nextSequence: 5,
        requestCount: 1,
        archives: [],
        subscriptions: [],
        pending: [{ id: 'x', number: '1' }],
      }),
      /its pending request 1: type is missing/,
    ],
  ])('refuses JSON that is %s and leaves it untouched', async (_what, content, problem) => {
    const file = join(tempDir(), 'adapter.json')
    writeFileSync(file, content)

    const opening = FileProvisioningStore.open(file)

    await expect(opening).rejects.toMatchObject({
      code: 'STORE_UNREADABLE',
      message: expect.stringMatching(problem),
    })
    expect(readFileSync(file, 'utf8')).toBe(content)
  })

  it('writes the snapshot one record per line, still one JSON document', async () => {
    const { file, lines, opening } = await pendingSnapshot()

    expect(lines[0]).toMatch(/^\{"format":"conax-adapter\/2",.*"subscriptions":\[$/)
    const items = lines.slice(opening + 1, -1)
    expect(items).toHaveLength(3)
    for (const item of items.slice(0, -1)) {
      expect(item).toMatch(/^\{"id":.*\},$/)
    }
    expect(items.at(-1)).toMatch(/^\{"id":.*\}$/)
    expect(lines.at(-1)).toBe(']}')
    const json = JSON.parse(readFileSync(file, 'utf8')) as { pending: unknown[] }
    expect(json.pending).toHaveLength(items.length)
  })

  it('reads back a snapshot longer than one written chunk', async () => {
    const { file, store } = await openTemp(COMPACT_ALWAYS)
    const requests = Array.from({ length: 1200 }, (_, i) => aNewRequest(String(i)))
    await store.commit({ requests }, T0)
    await store.close()

    const { store: again } = await reopen(file)

    const pending = await again.pendingRequests()
    expect(pending).toHaveLength(1200)
    expect(pending.map((request) => request.command)).toEqual(
      requests.map(({ command }) => command),
    )
  })

  // `opening` is the index of the line that opens the PENDING list.
  it.each([
    ['cut short', (lines: string[]) => lines.slice(0, -1), () => 'it ends before its last line'],
    [
      'with a comma lost',
      (lines: string[], opening: number) =>
        lines.map((line, i) => (i === opening + 1 ? line.slice(0, -1) : line)),
      (_lines: string[], opening: number) =>
        `its line ${String(opening + 3)} follows the last item of its list`,
    ],
    [
      'with a damaged line',
      (lines: string[], opening: number) =>
        lines.map((line, i) => (i === opening + 2 ? line.slice(9) : line)),
      () => 'its pending request 2: ',
    ],
    [
      'with text after its end',
      (lines: string[]) => [...lines, '{}'],
      (lines: string[]) => `text after its end, on line ${String(lines.length + 1)}`,
    ],
  ])('refuses a snapshot %s and leaves it untouched', async (_what, damage, problem) => {
    const { file, lines, opening } = await pendingSnapshot()
    const damaged = `${damage(lines, opening).join('\n')}\n`
    writeFileSync(file, damaged)

    await expect(FileProvisioningStore.open(file)).rejects.toMatchObject({
      code: 'STORE_UNREADABLE',
      message: expect.stringContaining(problem(lines, opening)),
    })
    expect(readFileSync(file, 'utf8')).toBe(damaged)
  })

  it('refuses to start afresh over a log folder whose snapshot is gone', async () => {
    const { file, store } = await openTemp()
    await store.commit({ requests: [aNewRequest()] }, T0)
    await store.close()
    unlinkSync(file)

    await expect(FileProvisioningStore.open(file)).rejects.toMatchObject({
      code: 'STORE_UNREADABLE',
      message: expect.stringContaining('the snapshot was lost'),
    })
    expect(existsSync(file)).toBe(false)
  })

  it('refuses a store whose archive file is missing, naming it', async () => {
    const { file, store } = await openTemp(COMPACT_ALWAYS)
    await provision(store, 1)
    await provision(store, 2)
    await store.close()
    const archive = readdirSync(`${file}.d`).find((name) => name.startsWith('archive-'))!
    unlinkSync(join(`${file}.d`, archive))

    await expect(FileProvisioningStore.open(file)).rejects.toMatchObject({
      code: 'STORE_CORRUPT',
      message: expect.stringContaining(archive),
    })
    expect(existsSync(`${file}.lock`)).toBe(false)
  })

  it('stops accepting changes once a write failed, and says why', async () => {
    // Compacting after every group, the next group goes to a new log file, which fails to open.
    const { file, store } = await openTemp(COMPACT_ALWAYS, join(tempDir(), 'data', 'adapter.json'))
    await store.commit({ requests: [aNewRequest()] }, T0)
    rmSync(dirname(file), { recursive: true, force: true })

    const failed = store.commit({ requests: [aNewRequest()] }, T0)

    await expect(failed).rejects.toMatchObject({
      code: 'STORE_WRITE_FAILED',
      message: expect.stringContaining(file),
    })
    // Even with the folder back, the store does not pretend later changes are safe.
    mkdirSync(`${file}.d`, { recursive: true })
    await expect(store.commit({ requests: [aNewRequest()] }, T0)).rejects.toMatchObject({
      code: 'STORE_WRITE_FAILED',
    })
    // Nothing is handed to delivery any more: the failed commit's request may not be on disk.
    expect(await store.pendingRequests()).toEqual([])
  })
})

/** A seeded generator of numbers in [0, 1) (mulberry32), so that every run cuts at the same places. */
function seeded(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

interface WrittenLog {
  readonly file: string
  readonly log: string
  readonly bytes: Buffer
  /** Byte offset just past each line. */
  readonly ends: readonly number[]
  /** The requests each line carries. */
  readonly groups: readonly (readonly ProvisioningRequest[])[]
}

/** A store of 16 groups (commits and completions, one at a time), closed, and its one log file. */
async function writtenLog(): Promise<WrittenLog> {
  const { file, store } = await openTemp()
  for (let i = 0; i < 8; i++) {
    const [created] = await store.commit(
      { requests: [aNewRequest(String(i), { processId: `P${String(i % 2)}` })] },
      T0,
    )
    await store.updateRequest(created!.id, { lifeCycleState: 'COMPLETED', response: 'ü' }, T1)
  }
  await store.close()
  const log = join(`${file}.d`, 'log-000001.jsonl')
  const bytes = readFileSync(log)
  const ends: number[] = []
  const groups: ProvisioningRequest[][] = []
  for (let at = bytes.indexOf(10); at !== -1; at = bytes.indexOf(10, at + 1)) {
    const start = ends.at(-1) ?? 0
    groups.push(
      (JSON.parse(bytes.toString('utf8', start + 9, at)) as { r: ProvisioningRequest[] }).r,
    )
    ends.push(at + 1)
  }
  return { file, log, bytes, ends, groups }
}

/** A copy of the store in a new folder, whose log holds `bytes`. */
function copyWithLog(written: WrittenLog, bytes: Buffer): { file: string; log: string } {
  const file = join(tempDir(), 'adapter.json')
  writeFileSync(file, readFileSync(written.file))
  mkdirSync(`${file}.d`)
  const log = join(`${file}.d`, 'log-000001.jsonl')
  writeFileSync(log, bytes)
  return { file, log }
}

/** The requests the first `count` groups leave: the last version of each number. */
function stateAfter(written: WrittenLog, count: number): ProvisioningRequest[] {
  const latest = new Map<string, ProvisioningRequest>()
  for (const group of written.groups.slice(0, count)) {
    for (const request of group) {
      latest.set(request.number, request)
    }
  }
  return [...latest.values()].sort((a, b) => Number(a.number) - Number(b.number))
}

describe('FileProvisioningStore opening after a crash', () => {
  it('cuts a log torn at 30 seeded random offsets back to its last whole line, naming the bytes', async () => {
    const written = await writtenLog()
    expect(written.groups).toHaveLength(16)
    const random = seeded(12)

    for (let round = 0; round < 30; round++) {
      const cut = Math.floor(random() * (written.bytes.length + 1))
      const { file, log } = copyWithLog(written, written.bytes.subarray(0, cut))
      const kept = written.ends.filter((end) => end <= cut).length
      const start = written.ends[kept - 1] ?? 0

      const { store, warnings } = await reopen(file)

      expect((await store.listRequests({})).items).toEqual(stateAfter(written, kept))
      if (cut === start) {
        expect(warnings).toEqual([])
      } else {
        expect(warnings).toEqual([
          expect.stringContaining(
            `Cut off the last ${cut - start} byte(s) of ${log} (bytes ${start}..${cut - 1}: no line end (a torn write))`,
          ),
        ])
      }
      expect(readFileSync(log).length).toBe(start)
      // The repaired store goes on: new numbers and sequence numbers follow the kept ones.
      const [next] = await store.commit({ requests: [aNewRequest()] }, T1)
      const keptRequests = stateAfter(written, kept)
      expect(next!.number).toBe(String(keptRequests.length + 1))
      for (const request of keptRequests) {
        expect(next!.sequenceNumber).toBeGreaterThan(request.sequenceNumber)
      }
      await store.close()
      const again = await reopen(file)
      expect(again.warnings).toEqual([])
      expect(await again.store.getRequest(next!.id)).toEqual(next)
      await again.store.close()
    }
  })

  it('drops a last line with a damaged byte, keeping every line before it', async () => {
    const written = await writtenLog()
    const damaged = Buffer.from(written.bytes)
    const lastStart = written.ends.at(-2)!
    damaged[lastStart + 40] = damaged[lastStart + 40]! ^ 0x01
    const { file, log } = copyWithLog(written, damaged)

    const { store, warnings } = await reopen(file)

    expect((await store.listRequests({})).items).toEqual(stateAfter(written, 15))
    expect(warnings).toEqual([
      expect.stringContaining(
        `Cut off the last ${written.bytes.length - lastStart} byte(s) of ${log} (bytes ${lastStart}..${written.bytes.length - 1}: checksum mismatch)`,
      ),
    ])
  })

  it('refuses a log damaged in the middle, naming the bytes, and changes nothing', async () => {
    const written = await writtenLog()
    const damaged = Buffer.from(written.bytes)
    const start = written.ends[4]!
    damaged[start + 30] = damaged[start + 30]! ^ 0x01
    const { file, log } = copyWithLog(written, damaged)

    const opening = FileProvisioningStore.open(file)

    await expect(opening).rejects.toMatchObject({
      code: 'STORE_CORRUPT',
      message: expect.stringContaining(
        `its log file ${log} has a damaged line at bytes ${start}..${written.ends[5]! - 1} (checksum mismatch) followed by 10 intact line(s)`,
      ),
    })
    await expect(opening).rejects.toThrow(`truncate -s ${start} ${log}`)
    expect(readFileSync(log).equals(damaged)).toBe(true)
    expect(existsSync(`${file}.lock`)).toBe(false)
  })

  it('refuses a log with a group missing', async () => {
    const written = await writtenLog()
    const gapped = Buffer.concat([
      written.bytes.subarray(0, written.ends[2]),
      written.bytes.subarray(written.ends[3]),
    ])
    const { file } = copyWithLog(written, gapped)

    await expect(FileProvisioningStore.open(file)).rejects.toMatchObject({
      code: 'STORE_CORRUPT',
      message: expect.stringContaining('holds group 5 where group 4 was expected'),
    })
  })
})

describe('FileProvisioningStore converting a conax-adapter/1 store', () => {
  /** A request as the first layout stored it: without the fields added since. */
  function oldRequest(number: number, state: 'PENDING' | 'COMPLETED'): Record<string, unknown> {
    return {
      id: `${String(number).padStart(2, '0')}${'a'.repeat(30)}`,
      number: String(number),
      type: 'ADD_SUBSCRIPTIONS',
      sequenceNumber: 500 + number,
      priority: 'REGULAR',
      processImmediately: false,
      scheduledDate: null,
      executedDate: state === 'PENDING' ? null : T1,
      lifeCycleState: state,
      command: {
        type: 'ADD_SUBSCRIPTIONS',
        smartcardCaId: String(number),
        serviceCaId: '100',
        distributor: null,
      },
      request: null,
      response: state === 'PENDING' ? null : '<ok/>',
      referenceNumber: null,
      errorCode: null,
      errorDescription: null,
      processName: 'MANUAL',
      processId: null,
      subscriptionId: 'S1',
      result: null,
      attempts: state === 'PENDING' ? 0 : 1,
      nextAttemptAt: null,
      createdAt: T0,
      updatedAt: T0,
    }
  }

  /** Two segment files and a journal, as LowdbProvisioningStore (issues 3 to 11) left them. */
  function writeOldStore(): string {
    const file = join(tempDir(), 'adapter.json')
    mkdirSync(`${file}.segments`)
    const segment = (kind: string, items: unknown[]) => ({
      format: 'conax-adapter/1',
      kind,
      first: 0,
      items,
    })
    writeFileSync(
      join(`${file}.segments`, 'requests-000000.json'),
      JSON.stringify(segment('requests', [oldRequest(1, 'PENDING'), oldRequest(2, 'COMPLETED')])),
    )
    writeFileSync(
      join(`${file}.segments`, 'subscriptions-000000.json'),
      JSON.stringify(segment('subscriptions', [aSubscription('S1')])),
    )
    writeFileSync(
      file,
      JSON.stringify({
        format: 'conax-adapter/1',
        nextSequence: 504,
        requestsPerSegment: 2,
        subscriptionsPerSegment: 2,
        requestSegments: 1,
        subscriptionSegments: 1,
        journal: [
          { request: oldRequest(3, 'COMPLETED') },
          { request: { ...oldRequest(1, 'PENDING'), attempts: 2 } },
          { request: { ...oldRequest(2, 'COMPLETED'), referenceNumber: 'T-2' } },
          { ordinal: 1, subscription: aSubscription('S2') },
        ],
      }),
    )
    return file
  }

  const withDefaults = (request: Record<string, unknown>): Record<string, unknown> => ({
    ...request,
    errorClass: null,
    precedence: request.sequenceNumber,
    splitFrom: null,
    splitInto: null,
    actionId: null,
  })

  it('converts it once, losing nothing, and keeps the old files beside it', async () => {
    const file = writeOldStore()
    const oldMain = readFileSync(file, 'utf8')

    const { store, warnings } = await reopen(file)

    expect(warnings).toEqual([
      expect.stringMatching(
        /^Converted the conax-adapter\/1 provisioning store .* \(3 requests, 2 of them final.*delete them once/,
      ),
    ])
    const expected = [
      withDefaults({ ...oldRequest(1, 'PENDING'), attempts: 2 }),
      withDefaults({ ...oldRequest(2, 'COMPLETED'), referenceNumber: 'T-2' }),
      withDefaults(oldRequest(3, 'COMPLETED')),
    ]
    expect((await store.listRequests({})).items).toEqual(expected)
    expect(await store.getRequest(String(expected[0]!.id))).toEqual(expected[0])
    expect((await store.listRequests({ referenceNumber: 'T-2' })).items).toEqual([expected[1]])
    expect((await store.listSubscriptions({})).items).toEqual([
      aSubscription('S1'),
      aSubscription('S2'),
    ])
    expect(store.inMemory().requests).toBe(1)
    expect(readFileSync(`${file}.v1.json`, 'utf8')).toBe(oldMain)
    expect(existsSync(join(`${file}.segments`, 'requests-000000.json'))).toBe(true)
    const [next] = await store.commit({ requests: [aNewRequest()] }, T1)
    expect(next).toMatchObject({ number: '4', sequenceNumber: 504 })
    await store.close()

    const again = await reopen(file)
    expect(again.warnings).toEqual([])
    expect((await again.store.listRequests({})).items).toEqual([...expected, next])
    expect((await again.store.pendingRequests()).map((r) => r.number)).toEqual(['1', '4'])
  })

  it('refuses a damaged one untouched, as before', async () => {
    const file = writeOldStore()
    unlinkSync(join(`${file}.segments`, 'requests-000000.json'))
    const before = readFileSync(file, 'utf8')

    await expect(FileProvisioningStore.open(file)).rejects.toMatchObject({
      code: 'STORE_UNREADABLE',
      message: expect.stringContaining('requests-000000.json is missing'),
    })
    expect(readFileSync(file, 'utf8')).toBe(before)
    expect(existsSync(`${file}.v1.json`)).toBe(false)
    expect(existsSync(`${file}.d`)).toBe(false)
  })
})

describe('FileProvisioningStore lock', () => {
  it('refuses a second opener while the first holds the store, and frees it on close', async () => {
    const file = join(tempDir(), 'locked.json')
    const first = await FileProvisioningStore.open(file)
    await expect(FileProvisioningStore.open(file)).rejects.toMatchObject({ code: 'STORE_LOCKED' })
    await first.close()
    const second = await FileProvisioningStore.open(file)
    await second.close()
  })

  it('takes over a lock left by a process that is gone', async () => {
    const file = join(tempDir(), 'stale.json')
    writeFileSync(`${file}.lock`, '2147483646')
    const store = await FileProvisioningStore.open(file)
    expect(readFileSync(`${file}.lock`, 'utf8')).toBe(String(process.pid))
    const [created] = await store.commit({ requests: [aNewRequest()] }, T0)
    expect(await store.getRequest(created!.id)).toEqual(created)
    await store.close()
    expect(existsSync(`${file}.lock`)).toBe(false)
  })
})
