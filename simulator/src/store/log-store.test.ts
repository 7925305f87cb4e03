import {
  copyFileSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  truncateSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { pino } from 'pino'
import { describe, expect, it, onTestFinished } from 'vitest'
import { startSimulator, type Simulator, type SimulatorOptions } from '../create-simulator.js'
import type { ModelSnapshot } from '../model/ca-state.js'
import { CARD_A, CARD_B, CARD_C, STB_1, TEST_INVENTORY, callSoap } from '../test-support/soap.js'
import { COMPACTION_POINTS, type CompactionPoint } from './log-store.js'
import { LowdbFileStore } from './simulator-store.js'

/**
 * The log store (docs/decisions/0013) in process: what a restart finds after a clean close, a
 * crash (the files copied as they are at some moment: what a killed process leaves, since the
 * page cache survives it), a torn or damaged tail, damage in the middle, a missing segment, an
 * older lowdb file, another simulator holding the store, and a crash at each point of a
 * compaction.
 */

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'conax-log-store-'))
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

/** Copies a store's files (not its lock) to a new folder: the disk as a crash would leave it. */
function crashCopy(file: string): string {
  const from = join(file, '..')
  const to = tempDir()
  const name = file.slice(from.length + 1)
  for (const entry of readdirSync(from)) {
    if (entry.startsWith(name) && !entry.endsWith('.lock')) {
      copyFileSync(join(from, entry), join(to, entry))
    }
  }
  return join(to, name)
}

/** A logger whose warnings and errors a test can read. */
function capturedLogger() {
  const lines: Record<string, unknown>[] = []
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>)
      done()
    },
  })
  return { lines, logger: pino({ level: 'warn' }, stream) }
}

async function start(dataFile: string, options: SimulatorOptions = {}): Promise<Simulator> {
  const sim = await startSimulator({ dataFile, users: { sms: 'sms', other: 'other' }, ...options })
  onTestFinished(() => sim.close())
  return sim
}

const PRODUCTS = ['GFA1', 'EFA2', 'RFB1', 'BFB2', 'AF1']

/** One write per commit group (each awaited): AddSubscriptions, a mail, a pairing now and then. */
async function oneGroup(sim: Simulator, n: number): Promise<void> {
  const card = [CARD_A, CARD_B, CARD_C][n % 3] as string
  const answer =
    n % 7 === 3
      ? await callSoap(sim, 'pairing', 'CreatePairing', {
          CaClientIds: { CaClientId: [card] },
          PairingModuleIds: { PairingModuleId: [STB_1] },
        })
      : n % 5 === 4
        ? await callSoap(sim, 'user-text-messaging', 'SendMailMessageToClients', {
            CaClientIds: { CaClientId: [CARD_A, CARD_B] },
            Message: `mail ${n}`,
          })
        : await callSoap(sim, 'subscription', 'AddSubscriptions', {
            Subscriptions: {
              Subscription: [{ CaClientId: card, ProductId: PRODUCTS[n % PRODUCTS.length] }],
            },
            SequenceNumber: n,
          })
  expect(answer.statusCode).toBe('OK')
}

/** The first log segment of a store. */
const firstSegment = (file: string): string => `${file}.000000000001.log`

/** Byte offsets where each line of a log file ends (after its newline). */
function lineEnds(path: string): number[] {
  const bytes = readFileSync(path)
  const ends: number[] = []
  for (let at = bytes.indexOf(10); at !== -1; at = bytes.indexOf(10, at + 1)) {
    ends.push(at + 1)
  }
  return ends
}

/** A small seeded random number generator (mulberry32): the same offsets on every run. */
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

/** A store of `groups` commit groups after the inventory, with the state after each group. */
async function grownStore(groups: number) {
  const file = join(tempDir(), 'sim.json')
  const sim = await start(file, { inventory: TEST_INVENTORY })
  const states: ModelSnapshot[] = [sim.model.toSnapshot()]
  const journals: number[] = [sim.journal.lastSeq()]
  for (let n = 0; n < groups; n++) {
    await oneGroup(sim, n)
    states.push(sim.model.toSnapshot())
    journals.push(sim.journal.lastSeq())
  }
  await sim.close()
  return { file, states, journals }
}

describe('the log store', () => {
  it('replays the log over the snapshot after a restart, before and after a compaction', async () => {
    const file = join(tempDir(), 'sim.json')
    const first = await start(file, { inventory: TEST_INVENTORY })
    for (let n = 0; n < 12; n++) {
      await oneGroup(first, n)
    }
    await first.compact()
    for (let n = 12; n < 20; n++) {
      await oneGroup(first, n)
    }
    const before = first.model.toSnapshot()
    const journal = first.journal.list()
    await first.close()

    const second = await start(file)

    expect(second.model.toSnapshot()).toEqual(before)
    expect(second.journal.list()).toEqual(journal)
    expect(second.storeRecovery).toMatchObject({
      snapshotFormat: 'conax-sim/2',
      position: 13,
      groupsReplayed: 8,
      repaired: [],
    })
    // A replay of a write stored before the compaction is still recognised.
    const replay = await callSoap(second, 'subscription', 'AddSubscriptions', {
      Subscriptions: { Subscription: [{ CaClientId: CARD_A, ProductId: 'GFA1' }] },
      SequenceNumber: 0,
    })
    expect(replay.transactionId).toBe(journal[0]?.transactionId)
  })

  it('loads a conax-sim/1 lowdb file of an earlier version and goes on with a log', async () => {
    const file = join(tempDir(), 'sim.json')
    const memory = await startSimulator({ inventory: TEST_INVENTORY })
    await oneGroup(memory, 0)
    const v1 = new LowdbFileStore(file)
    await v1.save({
      format: 'conax-sim/1',
      savedAt: new Date().toISOString(),
      model: memory.model.toSnapshot(),
      journal: memory.journal.toSnapshot(),
      replays: [],
    })
    const seqBefore = memory.journal.lastSeq()
    await memory.close()

    const first = await start(file)
    expect(first.storeRecovery?.snapshotFormat).toBe('conax-sim/1')
    await oneGroup(first, 1)
    const state = first.model.toSnapshot()
    await first.close()
    const second = await start(file)

    expect(second.model.toSnapshot()).toEqual(state)
    expect(second.journal.list().map((e) => e.seq)).toEqual([seqBefore, seqBefore + 1])
    expect(JSON.parse(readFileSync(file, 'utf8'))).toMatchObject({ format: 'conax-sim/1' })
    await second.compact()
    expect(JSON.parse(readFileSync(file, 'utf8'))).toMatchObject({ format: 'conax-sim/2' })
  })

  it('starts from a log cut at any byte, keeping every whole group and naming the bytes dropped', async () => {
    const { file, states, journals } = await grownStore(14)
    const segment = firstSegment(file)
    const ends = lineEnds(segment)
    const size = statSync(segment).size
    expect(ends.at(-1)).toBe(size)
    const random = seeded(1212)
    const offsets = [
      0,
      1,
      ends[0] as number,
      size - 1,
      ...Array.from({ length: 16 }, () => Math.floor(random() * size)),
    ]

    for (const offset of offsets) {
      const copy = crashCopy(file)
      truncateSync(firstSegment(copy), offset)
      const { lines, logger } = capturedLogger()

      const sim = await start(copy, { logger })

      const whole = ends.filter((end) => end <= offset).length
      const kept = whole === 0 ? 0 : (ends[whole - 1] as number)
      // Group 1 is the inventory: states[k] is the state after group k + 1.
      if (whole === 0) {
        expect(sim.model.stats().smartcards, `cut at ${offset}`).toBe(0)
      } else {
        expect(sim.model.toSnapshot(), `cut at ${offset}`).toEqual(states[whole - 1])
        expect(sim.journal.lastSeq(), `cut at ${offset}`).toBe(journals[whole - 1])
      }
      const repaired = kept < offset ? [{ from: kept, to: offset, bytes: offset - kept }] : []
      expect(sim.storeRecovery?.repaired, `cut at ${offset}`).toMatchObject(repaired)
      expect(lines.filter((l) => l.from === kept && l.to === offset)).toHaveLength(repaired.length)
      expect(statSync(firstSegment(copy)).size).toBe(kept)
      await sim.close()
    }
  })

  it('drops a last group with a damaged byte, with a warning naming its bytes', async () => {
    const { file, states } = await grownStore(5)
    const copy = crashCopy(file)
    const segment = firstSegment(copy)
    const ends = lineEnds(segment)
    const bytes = readFileSync(segment)
    const at = (ends.at(-2) as number) + 20
    bytes[at] = (bytes[at] as number) ^ 0x01
    writeFileSync(segment, bytes)

    const sim = await start(copy)

    expect(sim.model.toSnapshot()).toEqual(states[ends.length - 2])
    expect(sim.storeRecovery?.repaired).toEqual([
      {
        file: segment,
        from: ends.at(-2),
        to: ends.at(-1),
        bytes: (ends.at(-1) as number) - (ends.at(-2) as number),
        reason: 'its checksum does not match its content',
      },
    ])
  })

  it('refuses damage followed by whole groups (STORE_LOG_CORRUPT naming the byte) and changes nothing', async () => {
    const { file } = await grownStore(5)
    const copy = crashCopy(file)
    const segment = firstSegment(copy)
    const ends = lineEnds(segment)
    const bytes = readFileSync(segment)
    const at = (ends[2] as number) + 15
    bytes[at] = (bytes[at] as number) ^ 0x20
    writeFileSync(segment, bytes)

    await expect(startSimulator({ dataFile: copy })).rejects.toMatchObject({
      code: 'STORE_LOG_CORRUPT',
      message: expect.stringMatching(
        new RegExp(
          `damaged at byte ${ends[2]} \\(its checksum does not match its content\\), and whole groups follow it \\(at byte ${ends[3]}\\)\\. Nothing was changed\\.`,
        ),
      ) as string,
    })
    expect(readFileSync(segment)).toEqual(bytes)
    // The lock was let go: a repaired store can be opened.
    expect(readdirSync(join(copy, '..')).filter((name) => name.endsWith('.lock'))).toEqual([])
  })

  it('refuses a log with a segment missing after the snapshot or between segments', async () => {
    const file = join(tempDir(), 'sim.json')
    const sim = await start(file, { inventory: TEST_INVENTORY, journalRetainBytes: 0 })
    await oneGroup(sim, 0)
    await sim.compact()
    await oneGroup(sim, 1)
    await sim.compact()
    await oneGroup(sim, 2)
    await sim.close()
    const folder = join(file, '..')
    // Retention 0: the segment of groups 1 and 2 went with the second compaction (at group 3).
    expect(readdirSync(folder).filter((name) => name.endsWith('.log'))).toEqual([
      'sim.json.000000000003.log',
      'sim.json.000000000004.log',
    ])
    const snapshot = readFileSync(file, 'utf8')
    writeFileSync(file, snapshot.replace('"position":3', '"position":1'))

    await expect(startSimulator({ dataFile: file })).rejects.toMatchObject({
      code: 'STORE_LOG_CORRUPT',
      message: expect.stringContaining('groups 2 to 2 are missing') as string,
    })
    writeFileSync(file, snapshot)
    renameSync(join(folder, 'sim.json.000000000004.log'), join(folder, 'sim.json.000000000005.log'))
    await expect(startSimulator({ dataFile: file })).rejects.toMatchObject({
      code: 'STORE_LOG_CORRUPT',
      message: expect.stringContaining(
        'sim.json.000000000005.log starts at group 5, but the segment before it ends at group 3',
      ) as string,
    })
  })

  it('refuses a second simulator on the same store, and takes over the lock of a dead one', async () => {
    const file = join(tempDir(), 'sim.json')
    const sim = await start(file, { inventory: TEST_INVENTORY })

    await expect(startSimulator({ dataFile: file })).rejects.toMatchObject({
      code: 'STORE_LOCKED',
      message: expect.stringContaining(`process ${process.pid} holds it`) as string,
    })
    await sim.close()
    // No process has pid 2^22 + 1 (Linux's pid_max is at most 2^22).
    writeFileSync(`${file}.lock`, `${2 ** 22 + 1}\n`)
    const again = await start(file)

    expect(again.storeRecovery?.staleLockPid).toBe(2 ** 22 + 1)
    expect(again.model.card(CARD_A)).not.toBeNull()
  })
})

describe('a crash during a compaction', () => {
  it.each(COMPACTION_POINTS)(
    'at %s leaves a store holding every acknowledged write',
    async (point: CompactionPoint) => {
      const file = join(tempDir(), 'sim.json')
      let reached!: () => void
      const atPoint = new Promise<void>((resolve) => (reached = resolve))
      let release!: () => void
      const held = new Promise<void>((resolve) => (release = resolve))
      // Segments are also created outside compactions (the first one): stop only when armed.
      let armed = false
      const sim = await start(file, {
        inventory: TEST_INVENTORY,
        journalRetainBytes: 0,
        onCompactionPoint: (at) => {
          if (armed && at === point) {
            reached()
            return held
          }
          return undefined
        },
      })
      for (let n = 0; n < 6; n++) {
        await oneGroup(sim, n)
      }
      // A first compaction without a stop, so that there is an older segment to delete later.
      if (point === 'segment-deleted') {
        await sim.compact()
        await oneGroup(sim, 6)
      }
      armed = point !== 'segment-created'
      const compacted = sim.compact()
      let acknowledged = sim.model.toSnapshot()
      if (point === 'segment-created') {
        await compacted
        acknowledged = sim.model.toSnapshot()
        armed = true
        // The first group after the capture starts a new segment, and is held there unwritten.
        void oneGroup(sim, 7)
      }
      await atPoint
      if (point !== 'segment-created') {
        // Writes go on while the snapshot is written, and are acknowledged.
        await oneGroup(sim, 8)
        await oneGroup(sim, 9)
        acknowledged = sim.model.toSnapshot()
      }
      const copy = crashCopy(file)
      release()
      await compacted

      const recovered = await start(copy)

      expect(recovered.model.toSnapshot()).toEqual(acknowledged)
      expect(recovered.storeRecovery?.repaired).toEqual([])
      expect(readdirSync(join(copy, '..')).some((name) => name.endsWith('.tmp'))).toBe(false)
      // And the recovered store goes on: a compaction, then writes (a segment left empty by the
      // crash is the one they go to).
      await recovered.compact()
      await oneGroup(recovered, 10)
      const after = recovered.model.toSnapshot()
      await recovered.close()
      expect((await start(copy)).model.toSnapshot()).toEqual(after)
    },
  )
})
