/**
 * The run store in one lowdb JSON file: `{ "version": 1, "definitions", "executions",
 * "communications", "nextCommunication" }`.
 *
 * Unlike the provisioning store this file is rewritten whole on every write: runs change it a
 * few times per batch, not per request, and it stays small (a segment recipient is its criteria,
 * not its subscriptions). The one large record, a communication naming many subscriptions, is
 * stringified once: records are immutable, so each record's JSON is cached by identity.
 *
 * Durability: a change resolves once the write that carries it has been renamed into place (group
 * commit, one write at a time: GroupCommit). The file is written as `<file>.tmp`, fsynced, renamed
 * over the file and the folder fsynced (durable-files.ts), so an acknowledged change survives a
 * power cut; with `fsync: 'never'` nothing is fsynced and only a killed process is survived. After
 * a failed write the store refuses further changes, because memory may then hold changes the
 * file lacks; a restart reloads the file. Reads never touch the file.
 */
import { mkdir } from 'node:fs/promises'
import { dirname, resolve } from 'node:path'
import {
  COMMUNICATION_STATES,
  EXECUTION_STATES,
  type Communication,
  type CommunicationInput,
  type CommunicationState,
  type ExecutionTake,
  type RunExecution,
  type RunStore,
} from '../../application/runs/run-ports.js'
import { RUN_KINDS, type RunDefinition } from '../../domain/runs.js'
import { replaceFile, type FsyncMode } from '../store/durable-files.js'
import { GroupCommit } from '../store/group-commit.js'
import { StoreError } from '../store/store-error.js'
import { readJson, reason, releaseLock, StoreFileLife, takeLock } from '../store/store-files.js'
import { RunState, type CommunicationChange, type RunSnapshot } from './memory-run-store.js'

/** The file's layout version; another version is refused rather than misread. */
export const RUN_STORE_VERSION = 1

interface RunFile extends RunSnapshot {
  readonly version: typeof RUN_STORE_VERSION
}

/** The run store in a lowdb JSON file, written whole with group commit, guarded by a lock file. */
export class LowdbRunStore implements RunStore {
  /** Human description for logs: the file path. */
  readonly description: string
  private readonly state: RunState
  private readonly path: string
  private readonly fsync: FsyncMode
  private readonly group: GroupCommit
  /** Each record's JSON, made once: records are frozen, so a record's text never goes stale. */
  private readonly texts = new WeakMap<object, string>()
  /** Communications whose addition is not yet written. */
  private readonly notDurable = new Set<string>()
  private readonly life: StoreFileLife

  private constructor(file: string, state: RunState, fsync: FsyncMode) {
    this.description = file
    this.path = file
    this.fsync = fsync
    this.life = new StoreFileLife(file, 'run store', 'LowdbRunStore.open')
    this.state = state
    this.group = new GroupCommit(() => this.writeCycle())
  }

  /**
   * Opens the store in `file`, creating its folder and an empty store if the file does not exist.
   * Refuses a file another process holds (STORE_LOCKED) and, leaving it untouched, a file that is
   * not a run store of this version (STORE_UNREADABLE). `fsync` as the provisioning store's
   * (default `group`: each write is fsynced before it is acknowledged).
   */
  static async open(
    file: string,
    options: { readonly fsync?: FsyncMode } = {},
  ): Promise<LowdbRunStore> {
    const path = resolve(file)
    await mkdir(dirname(path), { recursive: true })
    await takeLock(`${path}.lock`, 'run store')
    let store: LowdbRunStore
    let created: boolean
    try {
      const existing = await readJson(path, (error) =>
        unreadable(path, `cannot read or parse it: ${reason(error)}`, error),
      )
      created = existing === null
      store = new LowdbRunStore(
        path,
        new RunState(existing === null ? undefined : check(path, existing)),
        options.fsync ?? 'group',
      )
    } catch (error) {
      await releaseLock(`${path}.lock`)
      throw error
    }
    if (created) {
      // Write the layout now, so the file is recognisably a run store from the start.
      try {
        await store.group.request()
      } catch (error) {
        await store.close()
        throw error
      }
    }
    return store
  }

  async saveDefinition(definition: RunDefinition): Promise<void> {
    this.life.assertWritable()
    this.state.saveDefinition(definition)
    await this.group.request()
  }

  getDefinition(idOrCode: string): Promise<RunDefinition | null> {
    return Promise.resolve(this.state.getDefinition(idOrCode))
  }

  listDefinitions(): Promise<readonly RunDefinition[]> {
    return Promise.resolve(this.state.listDefinitions())
  }

  async saveExecution(execution: RunExecution, ifOwner?: string): Promise<boolean> {
    this.life.assertWritable()
    if (this.state.saveExecution(execution, ifOwner) === null) {
      return false
    }
    await this.group.request()
    return true
  }

  async takeExecution(id: string, take: ExecutionTake): Promise<RunExecution | null> {
    this.life.assertWritable()
    const taken = this.state.takeExecution(id, take)
    if (taken !== null) {
      await this.group.request()
    }
    return taken
  }

  async renewExecution(id: string, owner: string, leaseUntil: string): Promise<boolean> {
    this.life.assertWritable()
    const renewed = this.state.renewExecution(id, owner, leaseUntil)
    if (renewed) {
      await this.group.request()
    }
    return renewed
  }

  async requestStop(id: string): Promise<RunExecution | null> {
    this.life.assertWritable()
    const marked = this.state.requestStop(id)
    if (marked !== null) {
      await this.group.request()
    }
    return marked
  }

  getExecution(id: string): Promise<RunExecution | null> {
    return Promise.resolve(this.state.getExecution(id))
  }

  listExecutions(runId?: string): Promise<readonly RunExecution[]> {
    return Promise.resolve(this.state.listExecutions(runId))
  }

  async addCommunications(
    inputs: readonly CommunicationInput[],
    now: string,
  ): Promise<readonly Communication[]> {
    this.life.assertWritable()
    const added = this.state.addCommunications(inputs, now)
    for (const communication of added) {
      this.notDurable.add(communication.number)
    }
    try {
      await this.group.request()
    } finally {
      for (const communication of added) {
        this.notDurable.delete(communication.number)
      }
    }
    return added
  }

  /**
   * Pending communications that are on disk: none whose addition is still being written (a run
   * must not send what a crash could forget), and none at all once a write has failed.
   */
  pendingCommunications(
    externalSystem: string,
    after: string | null,
    limit: number,
  ): Promise<readonly Communication[]> {
    if (this.life.failed !== null) {
      return Promise.resolve([])
    }
    return new Promise((resolve) =>
      resolve(
        this.state.pendingCommunications(externalSystem, after, limit, (c) =>
          this.notDurable.has(c.number),
        ),
      ),
    )
  }

  getCommunication(number: string): Promise<Communication | null> {
    return Promise.resolve(this.state.getCommunication(number))
  }

  listCommunications(filter: {
    readonly externalSystem?: string
    readonly state?: CommunicationState
  }): Promise<readonly Communication[]> {
    return Promise.resolve(this.state.listCommunications(filter))
  }

  async updateCommunication(number: string, change: CommunicationChange): Promise<void> {
    this.life.assertWritable()
    this.state.updateCommunication(number, change)
    await this.group.request()
  }

  /** Waits for every accepted change to reach the file and releases the lock; idempotent. */
  close(): Promise<void> {
    return this.life.close(() => this.group.flush())
  }

  /** One group commit: the snapshot is taken synchronously, so it holds every change made so far. */
  private async writeCycle(): Promise<void> {
    this.life.assertNotFailed()
    const text = this.stringify({ version: RUN_STORE_VERSION, ...this.state.snapshot() })
    try {
      await replaceFile(this.path, [text], { sync: this.fsync === 'group' })
    } catch (error) {
      throw this.life.fail(error)
    }
  }

  /** Exactly `JSON.stringify(data)` in the documented key order, reusing cached record texts. */
  private stringify(data: RunFile): string {
    const list = (records: readonly object[]): string =>
      `[${records.map((record) => this.textOf(record)).join(',')}]`
    return (
      `{"version":${JSON.stringify(data.version)}` +
      `,"definitions":${list(data.definitions)}` +
      `,"executions":${list(data.executions)}` +
      `,"communications":${list(data.communications)}` +
      `,"nextCommunication":${JSON.stringify(data.nextCommunication)}}`
    )
  }

  private textOf(record: object): string {
    let text = this.texts.get(record)
    if (text === undefined) {
      text = JSON.stringify(record)
      this.texts.set(record, text)
    }
    return text
  }
}

function unreadable(file: string, why: string, cause?: unknown): StoreError {
  return new StoreError(
    'STORE_UNREADABLE',
    `Failed to read the run store ${file}: ${why}. It was left untouched; restore it from a backup, move it away (a new, empty run store is then created) or open another file.`,
    cause === undefined ? {} : { cause },
  )
}

/** The file's content as a snapshot, or a STORE_UNREADABLE error naming the first thing wrong. */
function check(path: string, file: { json: unknown }): RunSnapshot {
  const json = file.json
  if (!isRecord(json) || !('version' in json)) {
    throw unreadable(path, 'it is JSON but not a run store (no "version")')
  }
  if (json.version !== RUN_STORE_VERSION) {
    throw unreadable(
      path,
      `it is version ${JSON.stringify(json.version)} of the run store, this adapter reads version ${RUN_STORE_VERSION}`,
    )
  }
  const problem = problemOf(json)
  if (problem !== null) {
    throw unreadable(path, `it is a run store with a damaged ${problem}`)
  }
  return json as unknown as RunSnapshot
}

/** The first part of a version-1 file that is not as this store writes it, or null. */
function problemOf(json: Record<string, unknown>): string | null {
  const { definitions, executions, communications, nextCommunication } = json
  if (!Array.isArray(definitions) || !definitions.every(isDefinition)) {
    return '"definitions" list'
  }
  if (!Array.isArray(executions) || !executions.every(isExecution)) {
    return '"executions" list'
  }
  if (!Array.isArray(communications) || !communications.every(isCommunication)) {
    return '"communications" list'
  }
  const numbers = communications.map((c: Communication) => Number(c.number))
  if (numbers.some((n, i) => i > 0 && n <= (numbers[i - 1] ?? 0))) {
    return '"communications" list (numbers not increasing)'
  }
  if (
    !Number.isSafeInteger(nextCommunication) ||
    (nextCommunication as number) <= (numbers.at(-1) ?? 0)
  ) {
    return '"nextCommunication" (must be above every communication number)'
  }
  return null
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function isOneOf<T extends string>(values: readonly T[], value: unknown): value is T {
  return values.includes(value as T)
}

function isDefinition(value: unknown): value is RunDefinition {
  return (
    isRecord(value) &&
    typeof value.id === 'string' &&
    typeof value.alternativeCode === 'string' &&
    typeof value.name === 'string' &&
    isOneOf(RUN_KINDS, value.kind)
  )
}

function isExecution(value: unknown): value is RunExecution {
  return (
    isRecord(value) &&
    typeof value.id === 'string' &&
    typeof value.runId === 'string' &&
    isOneOf(EXECUTION_STATES, value.state) &&
    isRecord(value.cursor) &&
    isRecord(value.counts)
  )
}

function isCommunication(value: unknown): value is Communication {
  return (
    isRecord(value) &&
    typeof value.number === 'string' &&
    /^[1-9][0-9]*$/.test(value.number) &&
    typeof value.externalSystem === 'string' &&
    typeof value.message === 'string' &&
    isRecord(value.recipients) &&
    isOneOf(COMMUNICATION_STATES, value.state)
  )
}
