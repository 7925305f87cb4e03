import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { describe, expect, it, onTestFinished } from 'vitest'
import { LowdbRunStore, RUN_STORE_VERSION } from './lowdb-run-store.js'
import {
  aCommunication,
  aDefinition,
  anExecution,
  describeRunStoreContract,
} from './run-store.contract.js'

const T0 = '2025-03-01T10:00:00.000Z'

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'conax-runs-'))
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

async function openTemp() {
  const file = join(tempDir(), 'data', 'runs.json')
  const store = await LowdbRunStore.open(file)
  onTestFinished(() => store.close())
  return { file, store }
}

describeRunStoreContract('LowdbRunStore', async () => {
  const file = join(tempDir(), 'data', 'runs.json')
  return { store: await LowdbRunStore.open(file), reopen: () => LowdbRunStore.open(file) }
})

describe('LowdbRunStore file', () => {
  it('creates the folder and a compact file of the documented layout at once', async () => {
    const { file, store } = await openTemp()

    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({
      version: RUN_STORE_VERSION,
      definitions: [],
      executions: [],
      communications: [],
      nextCommunication: 1,
    })
    await store.saveDefinition(aDefinition('R1'))
    await store.addCommunications([aCommunication()], T0)

    const text = readFileSync(file, 'utf8')
    expect(text).not.toContain('\n')
    expect(Object.keys(JSON.parse(text) as object)).toEqual([
      'version',
      'definitions',
      'executions',
      'communications',
      'nextCommunication',
    ])
    expect(JSON.parse(text)).toMatchObject({
      definitions: [aDefinition('R1')],
      communications: [{ number: '1', state: 'PENDING' }],
      nextCommunication: 2,
    })
    expect(store.description).toBe(file)
  })

  it('lands every one of many concurrent changes, and they survive a reopen', async () => {
    const { file, store } = await openTemp()

    await Promise.all([
      ...Array.from({ length: 40 }, (_, i) => store.saveDefinition(aDefinition(`R${String(i)}`))),
      ...Array.from({ length: 40 }, (_, i) =>
        store.saveExecution(anExecution(`E${String(i)}`, 'R0', { activeMs: i })),
      ),
      ...Array.from({ length: 40 }, () => store.addCommunications([aCommunication()], T0)),
    ])
    // Every change has resolved, so each is in the file already (before close).
    const written = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown[]>
    expect(written.definitions).toHaveLength(40)
    expect(written.executions).toHaveLength(40)
    expect(written.communications).toHaveLength(40)
    await store.close()

    const again = await LowdbRunStore.open(file)
    onTestFinished(() => again.close())
    expect(await again.listDefinitions()).toHaveLength(40)
    expect((await again.listExecutions()).map((e) => e.activeMs)).toEqual(
      Array.from({ length: 40 }, (_, i) => i),
    )
    expect((await again.listCommunications({})).map((c) => c.number)).toEqual(
      Array.from({ length: 40 }, (_, i) => String(i + 1)),
    )
  })

  it('hands no communication to a run before its addition is written', async () => {
    const { store } = await openTemp()

    const adding = store.addCommunications([aCommunication()], T0)
    const before = await store.pendingCommunications('SMS', null, 10)
    await adding

    expect(before).toEqual([])
    expect(await store.pendingCommunications('SMS', null, 10)).toHaveLength(1)
  })

  it.each([
    ['not JSON', '{"version": 1, '],
    ['empty', ''],
  ])('refuses a file that is %s, says what to do and leaves it untouched', async (_what, text) => {
    const file = join(tempDir(), 'runs.json')
    writeFileSync(file, text)

    const opening = LowdbRunStore.open(file)

    await expect(opening).rejects.toMatchObject({
      code: 'STORE_UNREADABLE',
      message: expect.stringContaining(file),
    })
    await expect(opening).rejects.toThrow(/cannot read or parse it.*left untouched.*move it away/)
    expect(readFileSync(file, 'utf8')).toBe(text)
    expect(existsSync(`${file}.lock`)).toBe(false)
  })

  it.each([
    ['null', 'null', 'not a run store'],
    ['an array', '[]', 'not a run store'],
    ['the provisioning store', '{"format":"conax-adapter/1","journal":[]}', 'not a run store'],
    ['another version', '{"version":2}', 'version 2 of the run store'],
    ['without its lists', '{"version":1,"nextCommunication":1}', 'damaged "definitions" list'],
    [
      'a communication without a number',
      '{"version":1,"definitions":[],"executions":[],"communications":[{"externalSystem":"SMS","message":"x","recipients":{},"state":"PENDING"}],"nextCommunication":2}',
      'damaged "communications" list',
    ],
    [
      'a next number already handed out',
      '{"version":1,"definitions":[],"executions":[],"communications":[{"number":"1","externalSystem":"SMS","message":"x","recipients":{},"state":"PENDING"}],"nextCommunication":1}',
      'damaged "nextCommunication"',
    ],
  ])('refuses JSON that is %s and leaves it untouched', async (_what, text, why) => {
    const file = join(tempDir(), 'runs.json')
    writeFileSync(file, text)

    await expect(LowdbRunStore.open(file)).rejects.toMatchObject({
      code: 'STORE_UNREADABLE',
      message: expect.stringContaining(why),
    })
    expect(readFileSync(file, 'utf8')).toBe(text)
    expect(existsSync(`${file}.lock`)).toBe(false)
  })

  it('stops accepting changes once a write failed, and says why', async () => {
    const { file, store } = await openTemp()
    await store.addCommunications([aCommunication()], T0)
    rmSync(dirname(file), { recursive: true, force: true })

    const failed = store.saveDefinition(aDefinition('R1'))

    await expect(failed).rejects.toMatchObject({
      code: 'STORE_WRITE_FAILED',
      message: expect.stringContaining(file),
    })
    // Even with the folder back, the store does not pretend later changes are safe.
    mkdirSync(dirname(file), { recursive: true })
    await expect(store.saveExecution(anExecution('E1', 'R1'))).rejects.toMatchObject({
      code: 'STORE_WRITE_FAILED',
    })
    // No run gets communications any more: memory may hold what the file lacks.
    expect(await store.pendingCommunications('SMS', null, 10)).toEqual([])
  })
})

describe('LowdbRunStore lock', () => {
  it('refuses a second opener, naming the lock, and frees it on close', async () => {
    const file = join(tempDir(), 'runs.json')
    const first = await LowdbRunStore.open(file)

    const second = LowdbRunStore.open(file)

    await expect(second).rejects.toMatchObject({
      code: 'STORE_LOCKED',
      message: expect.stringContaining(`${file}.lock`),
    })
    await first.close()
    expect(existsSync(`${file}.lock`)).toBe(false)
    const third = await LowdbRunStore.open(file)
    await third.close()
  })

  it('takes over a lock left by a process that is gone', async () => {
    const file = join(tempDir(), 'stale.json')
    writeFileSync(`${file}.lock`, '2147483646')

    const store = await LowdbRunStore.open(file)
    await store.addCommunications([aCommunication()], T0)
    await store.close()

    expect(existsSync(`${file}.lock`)).toBe(false)
  })
})
