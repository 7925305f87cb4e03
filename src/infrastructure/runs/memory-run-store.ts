import {
  mayTake,
  type Communication,
  type CommunicationInput,
  type CommunicationState,
  type ExecutionTake,
  type RunExecution,
  type RunStore,
} from '../../application/runs/run-ports.js'
import type { RunDefinition } from '../../domain/runs.js'
import { copyJson, deepFreeze } from '../store/provisioning-state.js'
import { StoreError } from '../store/store-error.js'

/** Everything a run store holds, as the lowdb file keeps it. */
export interface RunSnapshot {
  readonly definitions: readonly RunDefinition[]
  readonly executions: readonly RunExecution[]
  /** In number order. */
  readonly communications: readonly Communication[]
  /** The number the next communication gets; above every number handed out. */
  readonly nextCommunication: number
}

/** The fields of a communication that `updateCommunication` changes. */
export type CommunicationChange = Pick<
  Communication,
  'state' | 'processedAt' | 'error' | 'processedBy' | 'delivery'
>

/**
 * A copy the caller can no longer reach, frozen so that nobody changes it afterwards. Through JSON,
 * so that the memory store hands back exactly what a reopened file store would.
 */
function own<T>(value: T): T {
  return deepFreeze(copyJson(value))
}

/**
 * The indexed in-memory state both run stores share. Records held here are frozen and never
 * changed: a change replaces the record. So reads hand them out as they are (no copy of a
 * communication with 100,000 subscription ids per read), and the file store can cache each
 * record's JSON by identity.
 */
export class RunState {
  private readonly definitions: RunDefinition[] = []
  private readonly definitionIndex = new Map<string, number>()
  private readonly executions: RunExecution[] = []
  private readonly executionIndex = new Map<string, number>()
  private readonly communications: Communication[] = []
  private readonly communicationIndex = new Map<string, number>()
  private nextCommunication = 1

  /** Takes over a snapshot (read from a file: checked by the caller) without copying it. */
  constructor(snapshot?: RunSnapshot) {
    if (snapshot === undefined) {
      return
    }
    for (const definition of snapshot.definitions) {
      this.putDefinition(deepFreeze(definition))
    }
    for (const execution of snapshot.executions) {
      this.putExecution(deepFreeze(execution))
    }
    for (const communication of snapshot.communications) {
      this.communicationIndex.set(communication.number, this.communications.length)
      this.communications.push(deepFreeze(communication))
    }
    this.nextCommunication = snapshot.nextCommunication
  }

  /** The current records; the arrays are fresh, the records the state's own (frozen). */
  snapshot(): RunSnapshot {
    return {
      definitions: this.definitions.slice(),
      executions: this.executions.slice(),
      communications: this.communications.slice(),
      nextCommunication: this.nextCommunication,
    }
  }

  saveDefinition(definition: RunDefinition): RunDefinition {
    return this.putDefinition(own(definition))
  }

  /** By id first: an id wins over another definition's alternative code. */
  getDefinition(idOrCode: string): RunDefinition | null {
    const index = this.definitionIndex.get(idOrCode)
    if (index !== undefined) {
      return this.definitions[index] ?? null
    }
    return this.definitions.find((d) => d.alternativeCode === idOrCode) ?? null
  }

  listDefinitions(): readonly RunDefinition[] {
    return this.definitions.slice()
  }

  saveExecution(execution: RunExecution, ifOwner?: string): RunExecution | null {
    const stored = this.getExecution(execution.id)
    if (ifOwner !== undefined && stored !== null && stored.owner !== ifOwner) {
      return null
    }
    // Only requestStop and takeExecution change the stop flag: a save of the loop keeps it.
    const { stopRequested: _ignored, ...saved } = execution
    return this.putExecution(
      own(stored?.stopRequested === true ? { ...saved, stopRequested: true } : saved),
    )
  }

  takeExecution(id: string, take: ExecutionTake): RunExecution | null {
    const stored = this.getExecution(id)
    if (stored === null || !mayTake(stored, take)) {
      return null
    }
    const { stopRequested: _cleared, ...rest } = stored
    return this.putExecution(
      own({
        ...rest,
        state: 'RUNNING',
        owner: take.owner,
        leaseUntil: take.leaseUntil,
        lastError: null,
        updatedAt: take.now,
      }),
    )
  }

  renewExecution(id: string, owner: string, leaseUntil: string): boolean {
    const stored = this.getExecution(id)
    if (stored?.owner !== owner) {
      return false
    }
    this.putExecution(own({ ...stored, leaseUntil }))
    return true
  }

  requestStop(id: string): RunExecution | null {
    const stored = this.getExecution(id)
    return stored === null ? null : this.putExecution(own({ ...stored, stopRequested: true }))
  }

  getExecution(id: string): RunExecution | null {
    const index = this.executionIndex.get(id)
    return index === undefined ? null : (this.executions[index] ?? null)
  }

  listExecutions(runId?: string): readonly RunExecution[] {
    return runId === undefined
      ? this.executions.slice()
      : this.executions.filter((e) => e.runId === runId)
  }

  addCommunications(inputs: readonly CommunicationInput[], now: string): readonly Communication[] {
    // Copy every input before numbering any, so that a bad input leaves the queue unchanged.
    const records = inputs.map((input) =>
      own({
        // Only the input's own fields: a caller's object may carry more.
        externalSystem: input.externalSystem,
        message: input.message,
        recipients: input.recipients,
      }),
    )
    return records.map((input) => {
      const communication: Communication = deepFreeze({
        number: String(this.nextCommunication++),
        ...input,
        state: 'PENDING',
        createdAt: now,
        processedAt: null,
        error: null,
        processedBy: null,
      })
      this.communicationIndex.set(communication.number, this.communications.length)
      this.communications.push(communication)
      return communication
    })
  }

  /** `skip` leaves out communications the caller must not act on yet (not yet on disk). */
  pendingCommunications(
    externalSystem: string,
    after: string | null,
    limit: number,
    skip?: (communication: Communication) => boolean,
  ): readonly Communication[] {
    const found: Communication[] = []
    for (let i = this.firstAfter(after); i < this.communications.length; i++) {
      if (found.length >= limit) {
        break
      }
      const communication = this.communications[i]
      if (
        communication !== undefined &&
        communication.state === 'PENDING' &&
        communication.externalSystem === externalSystem &&
        !(skip?.(communication) ?? false)
      ) {
        found.push(communication)
      }
    }
    return found
  }

  getCommunication(number: string): Communication | null {
    const index = this.communicationIndex.get(number)
    return index === undefined ? null : (this.communications[index] ?? null)
  }

  listCommunications(filter: {
    readonly externalSystem?: string
    readonly state?: CommunicationState
  }): readonly Communication[] {
    return this.communications.filter(
      (c) =>
        (filter.externalSystem === undefined || c.externalSystem === filter.externalSystem) &&
        (filter.state === undefined || c.state === filter.state),
    )
  }

  /** Rejects an unknown number, changing nothing. */
  updateCommunication(number: string, change: CommunicationChange): Communication {
    const index = this.communicationIndex.get(number)
    const current = index === undefined ? undefined : this.communications[index]
    if (index === undefined || current === undefined) {
      throw new StoreError(
        'REQUEST_NOT_FOUND',
        `Failed to update communication ${JSON.stringify(number)}: the queue has no communication with that number (${this.communications.length} communications, numbered from "1").`,
      )
    }
    const updated: Communication = deepFreeze({
      ...current,
      // Only these: a caller's object may carry more, and nothing else may change.
      state: change.state,
      processedAt: change.processedAt,
      error: change.error,
      processedBy: change.processedBy,
      ...(change.delivery === undefined ? {} : { delivery: change.delivery }),
    })
    this.communications[index] = updated
    return updated
  }

  private putDefinition(definition: RunDefinition): RunDefinition {
    const index = this.definitionIndex.get(definition.id)
    if (index === undefined) {
      this.definitionIndex.set(definition.id, this.definitions.length)
      this.definitions.push(definition)
    } else {
      this.definitions[index] = definition
    }
    return definition
  }

  private putExecution(execution: RunExecution): RunExecution {
    const index = this.executionIndex.get(execution.id)
    if (index === undefined) {
      this.executionIndex.set(execution.id, this.executions.length)
      this.executions.push(execution)
    } else {
      this.executions[index] = execution
    }
    return execution
  }

  /** Index of the first communication numbered above `after` (binary search: numbers increase). */
  private firstAfter(after: string | null): number {
    if (after === null) {
      return 0
    }
    if (!/^[0-9]+$/.test(after)) {
      throw new RangeError(
        `pendingCommunications: after must be a communication number ("1", "2"...) or null, not ${JSON.stringify(after)}.`,
      )
    }
    const bound = Number(after)
    let low = 0
    let high = this.communications.length
    while (low < high) {
      const middle = (low + high) >>> 1
      if (Number(this.communications[middle]?.number) > bound) {
        high = middle
      } else {
        low = middle + 1
      }
    }
    return low
  }
}

/** Keeps run definitions, executions and the communication queue in memory (tests, dry runs). */
export class MemoryRunStore implements RunStore {
  private readonly state = new RunState()
  private closed = false

  saveDefinition(definition: RunDefinition): Promise<void> {
    return this.change(() => {
      this.state.saveDefinition(definition)
    })
  }

  getDefinition(idOrCode: string): Promise<RunDefinition | null> {
    return Promise.resolve(this.state.getDefinition(idOrCode))
  }

  listDefinitions(): Promise<readonly RunDefinition[]> {
    return Promise.resolve(this.state.listDefinitions())
  }

  saveExecution(execution: RunExecution, ifOwner?: string): Promise<boolean> {
    return this.change(() => this.state.saveExecution(execution, ifOwner) !== null)
  }

  takeExecution(id: string, take: ExecutionTake): Promise<RunExecution | null> {
    return this.change(() => this.state.takeExecution(id, take))
  }

  renewExecution(id: string, owner: string, leaseUntil: string): Promise<boolean> {
    return this.change(() => this.state.renewExecution(id, owner, leaseUntil))
  }

  requestStop(id: string): Promise<RunExecution | null> {
    return this.change(() => this.state.requestStop(id))
  }

  getExecution(id: string): Promise<RunExecution | null> {
    return Promise.resolve(this.state.getExecution(id))
  }

  listExecutions(runId?: string): Promise<readonly RunExecution[]> {
    return Promise.resolve(this.state.listExecutions(runId))
  }

  addCommunications(
    inputs: readonly CommunicationInput[],
    now: string,
  ): Promise<readonly Communication[]> {
    return this.change(() => this.state.addCommunications(inputs, now))
  }

  pendingCommunications(
    externalSystem: string,
    after: string | null,
    limit: number,
  ): Promise<readonly Communication[]> {
    return new Promise((resolve) =>
      resolve(this.state.pendingCommunications(externalSystem, after, limit)),
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

  updateCommunication(number: string, change: CommunicationChange): Promise<void> {
    return this.change(() => {
      this.state.updateCommunication(number, change)
    })
  }

  close(): Promise<void> {
    this.closed = true
    return Promise.resolve()
  }

  /** Applies a change; a throw (closed store, unknown number) becomes the rejection. */
  private change<T>(apply: () => T): Promise<T> {
    return new Promise((resolve) => {
      if (this.closed) {
        throw new StoreError(
          'STORE_WRITE_FAILED',
          'Failed to change the memory run store: it is closed. Create a new store.',
        )
      }
      resolve(apply())
    })
  }
}
