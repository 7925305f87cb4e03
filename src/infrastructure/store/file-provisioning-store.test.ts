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
