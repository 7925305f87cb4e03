import type { RequestFilter } from '../../application/ports.js'
import { REQUEST_TYPES, type RequestType } from '../../domain/commands.js'
import {
  LIFE_CYCLE_STATES,
  PROCESS_NAMES,
  type LifeCycleState,
  type ProcessName,
  type ProvisioningRequest,
} from '../../domain/provisioning-request.js'

/**
 * What the file store knows of every request without holding the request: the fields the request
 * filters use, the hash of its id and where its latest version lies on disk, in typed arrays
 * indexed by number - 1 (about 40 bytes a request). Filtering and counting read these columns
 * only; a request itself is read when it is in the page answered.
 */

/** A request's filterable fields, as an archive file's index keeps them. */
export interface RequestKeys {
  readonly number: number
  readonly lifeCycleState: LifeCycleState
  readonly type: RequestType
  readonly processName: ProcessName
  readonly subscriptionId: string | null
  readonly processId: string | null
  /** {@link textHash} of the id, and of the reference number (0 when it has none). */
  readonly idHash: number
  readonly referenceHash: number
}

/** FNV-1a over the UTF-16 code units: stable, as archive files keep these hashes. */
export function textHash(text: string): number {
  let hash = 0x811c9dc5
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i)
    hash = Math.imul(hash, 0x01000193)
  }
  // Never 0, so 0 can mean "no reference number".
  return hash >>> 0 || 1
}

/** The keys of a request, from the request. */
export function keysOf(request: ProvisioningRequest): RequestKeys {
  return {
    number: Number(request.number),
    lifeCycleState: request.lifeCycleState,
    type: request.type,
    processName: request.processName,
    subscriptionId: request.subscriptionId,
    processId: request.processId,
    idHash: textHash(request.id),
    referenceHash: request.referenceNumber === null ? 0 : textHash(request.referenceNumber),
  }
}

/** Distinct strings by code, both ways. */
class Interner {
  private readonly codes = new Map<string, number>()
  private readonly texts: string[] = []

  code(text: string): number {
    let code = this.codes.get(text)
    if (code === undefined) {
      code = this.texts.length
      this.texts.push(text)
      this.codes.set(text, code)
    }
    return code
  }

  known(text: string): number | undefined {
    return this.codes.get(text)
  }

  text(code: number): string | null {
    return code < 0 ? null : (this.texts[code] ?? null)
  }
}

/** A filter with its strings turned into codes. */
export interface CompiledFilter {
  readonly state: number
  readonly type: number
  readonly processName: number
  readonly subscription: number
  readonly process: number
  readonly referenceHash: number
}

const ANY = -2
const NONE = -1

function indexIn<T>(values: readonly T[], value: T): number {
  const index = values.indexOf(value)
  if (index === -1) {
    throw new Error(`unknown value ${String(value)}`)
  }
  return index
}

/** The columns of every request (see the file comment). */
export class RequestColumns {
  private size = 0
  private state = new Uint8Array(0)
  private type = new Uint8Array(0)
  private processName = new Uint8Array(0)
  private subscription = new Int32Array(0)
  private process = new Int32Array(0)
  private idHash = new Uint32Array(0)
  private referenceHash = new Uint32Array(0)
  /** Where the latest version on disk is: a file id times 2^36 plus the byte offset; 0 for none. */
  private where = new Float64Array(0)
  private length = new Uint32Array(0)
  /** Numbers (1-based) by id hash, open addressing; 0 is an empty slot. */
  private slots = new Int32Array(0)
  private readonly subscriptions = new Interner()
  private readonly processes = new Interner()

  /** The highest number set: numbers 1..count. */
  get count(): number {
    return this.size
  }

  /** Whether number `n` has been set. */
  has(n: number): boolean {
    return n >= 1 && n <= this.size && this.idHash[n - 1] !== 0
  }

  /** Sets the keys of number `n` (its id goes into the id table the first time `n` is set). */
  set(keys: RequestKeys): void {
    const n = keys.number
    this.grow(n)
    const i = n - 1
    const fresh = this.idHash[i] === 0
    this.state[i] = indexIn(LIFE_CYCLE_STATES, keys.lifeCycleState)
    this.type[i] = indexIn(REQUEST_TYPES, keys.type)
    this.processName[i] = indexIn(PROCESS_NAMES, keys.processName)
    this.subscription[i] =
      keys.subscriptionId === null ? NONE : this.subscriptions.code(keys.subscriptionId)
    this.process[i] = keys.processId === null ? NONE : this.processes.code(keys.processId)
    this.idHash[i] = keys.idHash
    this.referenceHash[i] = keys.referenceHash
    this.size = Math.max(this.size, n)
    if (fresh) {
      this.insertId(n)
    }
  }

  /** The keys of number `n` as set. */
  keys(n: number): RequestKeys {
    const i = n - 1
    return {
      number: n,
      lifeCycleState: LIFE_CYCLE_STATES[this.state[i] ?? 0] ?? 'PENDING',
      type: REQUEST_TYPES[this.type[i] ?? 0] ?? 'ADD_SUBSCRIPTIONS',
      processName: PROCESS_NAMES[this.processName[i] ?? 0] ?? 'MANUAL',
      subscriptionId: this.subscriptions.text(this.subscription[i] ?? NONE),
      processId: this.processes.text(this.process[i] ?? NONE),
      idHash: this.idHash[i] ?? 0,
      referenceHash: this.referenceHash[i] ?? 0,
    }
  }

  /** Records where number `n`'s latest version lies on disk. */
  locate(n: number, where: number, length: number): void {
    this.where[n - 1] = where
    this.length[n - 1] = length
  }

  /** Where number `n` lies on disk (`where` 0: nowhere yet). */
  location(n: number): { readonly where: number; readonly length: number } {
    return { where: this.where[n - 1] ?? 0, length: this.length[n - 1] ?? 0 }
  }

  /** Numbers whose id has the hash of `id`: the one with this id, if any, is among them. */
  withIdHash(id: string): number[] {
    const hash = textHash(id)
    const mask = this.slots.length - 1
    const found: number[] = []
    if (mask < 0) {
      return found
    }
    for (let slot = hash & mask; this.slots[slot] !== 0; slot = (slot + 1) & mask) {
      const n = this.slots[slot] ?? 0
      if (this.idHash[n - 1] === hash) {
        found.push(n)
      }
    }
    return found
  }

  /** The filter in codes, or null when it names a subscription or process no request has. */
  compile(filter: RequestFilter): CompiledFilter | null {
    const code = (interner: Interner, text: string | undefined): number | undefined =>
      text === undefined ? ANY : interner.known(text)
    const subscription = code(this.subscriptions, filter.subscriptionId)
    const process = code(this.processes, filter.processId)
    if (subscription === undefined || process === undefined) {
      return null
    }
    return {
      state:
        filter.lifeCycleState === undefined
          ? ANY
          : LIFE_CYCLE_STATES.indexOf(filter.lifeCycleState),
      type: filter.type === undefined ? ANY : REQUEST_TYPES.indexOf(filter.type),
      processName:
        filter.processName === undefined ? ANY : PROCESS_NAMES.indexOf(filter.processName),
      subscription,
      process,
      referenceHash: filter.referenceNumber === undefined ? ANY : textHash(filter.referenceNumber),
    }
  }

  /**
   * Whether number `n` matches the filter's columns. A reference number matches by hash: the
   * caller checks the request itself.
   */
  matches(n: number, filter: CompiledFilter): boolean {
    const i = n - 1
    return (
      (filter.state === ANY || this.state[i] === filter.state) &&
      (filter.type === ANY || this.type[i] === filter.type) &&
      (filter.processName === ANY || this.processName[i] === filter.processName) &&
      (filter.subscription === ANY || this.subscription[i] === filter.subscription) &&
      (filter.process === ANY || this.process[i] === filter.process) &&
      (filter.referenceHash === ANY || this.referenceHash[i] === filter.referenceHash)
    )
  }

  private grow(n: number): void {
    if (n <= this.state.length) {
      return
    }
    const capacity = Math.max(1024, this.state.length * 2, n)
    const widen = <T extends Uint8Array | Int32Array | Uint32Array | Float64Array>(
      old: T,
      make: (size: number) => T,
    ): T => {
      const next = make(capacity)
      next.set(old)
      return next
    }
    this.state = widen(this.state, (size) => new Uint8Array(size))
    this.type = widen(this.type, (size) => new Uint8Array(size))
    this.processName = widen(this.processName, (size) => new Uint8Array(size))
    this.subscription = widen(this.subscription, (size) => new Int32Array(size))
    this.process = widen(this.process, (size) => new Int32Array(size))
    this.idHash = widen(this.idHash, (size) => new Uint32Array(size))
    this.referenceHash = widen(this.referenceHash, (size) => new Uint32Array(size))
    this.where = widen(this.where, (size) => new Float64Array(size))
    this.length = widen(this.length, (size) => new Uint32Array(size))
    // The id table stays at most half full.
    this.slots = new Int32Array(2 ** Math.ceil(Math.log2(capacity * 2)))
    for (let number = 1; number <= this.size; number++) {
      if (this.idHash[number - 1] !== 0) {
        this.insertId(number)
      }
    }
  }

  private insertId(n: number): void {
    const mask = this.slots.length - 1
    let slot = (this.idHash[n - 1] ?? 0) & mask
    while (this.slots[slot] !== 0) {
      slot = (slot + 1) & mask
    }
    this.slots[slot] = n
  }
}
