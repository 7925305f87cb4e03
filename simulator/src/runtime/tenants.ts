import type { IncomingMessage, ServerResponse } from 'node:http'
import { TENANT_NAME, TENANT_NAME_RULE } from '../../../common/tenant-name.js'
import { SimulatorError } from './simulator-error.js'

/**
 * Tenants: `/t/<name>/...` on one running simulator is a simulator of its own (state, journal,
 * faults, clock), created on first use and closed when idle, so that parallel CI pipelines can
 * share one simulator without seeing each other. A tenant lives in memory only: it is a scratch
 * CA for one pipeline, and the simulator's store holds the root's state alone.
 */

/** Limits of the tenants of one simulator. */
export interface TenantSettings {
  /** Most tenants alive at once (0: tenants are off and `/t/` paths are the admin API's 404). */
  readonly max: number
  /** A tenant nobody called for this long is closed and forgotten (its state with it). */
  readonly idleMs: number
}

/** The defaults: enough for a CI farm's parallel pipelines, and a tenant outlives a long run. */
export const TENANT_DEFAULTS: TenantSettings = { max: 100, idleMs: 30 * 60_000 }

/** A running tenant: a request handler past the HTTP guard, and how to close it. */
export interface TenantInstance {
  /** Serves a request whose URL no longer carries the `/t/<name>` prefix. */
  handle(req: IncomingMessage, res: ServerResponse): void
  close(): Promise<void>
  /** The tenant's journal length and last sequence number, for the tenant list. */
  stats(): { readonly cards: number; readonly journalEntries: number }
}

/** What `GET /admin/tenants` lists for each tenant. */
export interface TenantView {
  readonly name: string
  readonly createdAt: string
  readonly lastUsedAt: string
  readonly cards: number
  readonly journalEntries: number
}

interface Entry {
  readonly name: string
  readonly createdAt: number
  lastUsed: number
  readonly instance: Promise<TenantInstance>
}

/** The `/t/<name>` prefix of a path, split off: `{ name, rest }`, or null for any other path. */
export function tenantOf(
  pathname: string,
): { readonly name: string; readonly rest: string } | null {
  if (!pathname.startsWith('/t/')) {
    return null
  }
  const slash = pathname.indexOf('/', 3)
  const name = slash === -1 ? pathname.slice(3) : pathname.slice(3, slash)
  return { name, rest: slash === -1 ? '/' : pathname.slice(slash) }
}

/** The tenants of one simulator, by name; creates them on first use, closes the idle ones. */
export class TenantRegistry {
  private readonly entries = new Map<string, Entry>()
  private readonly sweeper: NodeJS.Timeout | null
  private closed = false
  private readonly settings: TenantSettings
  private readonly create: (name: string) => Promise<TenantInstance>
  private readonly now: () => number

  constructor(
    settings: TenantSettings,
    create: (name: string) => Promise<TenantInstance>,
    now: () => number,
  ) {
    this.settings = settings
    this.create = create
    this.now = now
    // Sweeps a few times per idle period; unref'd, so it never keeps a process alive.
    this.sweeper =
      settings.max > 0
        ? setInterval(() => void this.sweep(), Math.max(1000, settings.idleMs / 4)).unref()
        : null
  }

  /** The tenant of this name, created now if it does not run yet. */
  async get(name: string): Promise<TenantInstance> {
    if (this.closed) {
      throw new SimulatorError('SIMULATOR_CLOSING', 'The simulator is closing; tenants are closed.')
    }
    if (!TENANT_NAME.test(name)) {
      throw new SimulatorError(
        'INVALID_TENANT',
        `'${name.slice(0, 80)}' is not a tenant name: use ${TENANT_NAME_RULE} (e.g. /t/ci-1234/ca-server/...).`,
      )
    }
    const found = this.entries.get(name)
    if (found) {
      found.lastUsed = this.now()
      return found.instance
    }
    if (this.entries.size >= this.settings.max) {
      throw new SimulatorError(
        'TENANT_LIMIT',
        `The simulator runs ${this.entries.size} tenants, its limit (--tenants ${this.settings.max}); tenant '${name}' was not created.`,
        {
          hint: 'Delete finished tenants (DELETE /admin/tenants/<name>), wait for idle ones to expire, or raise --tenants.',
        },
      )
    }
    const at = this.now()
    const instance = this.create(name)
    const entry: Entry = { name, createdAt: at, lastUsed: at, instance }
    this.entries.set(name, entry)
    // A tenant that failed to start is forgotten, so that the next call tries again.
    instance.catch(() => {
      if (this.entries.get(name) === entry) {
        this.entries.delete(name)
      }
    })
    return instance
  }

  /** Whether a tenant of this name runs (or is starting). */
  has(name: string): boolean {
    return this.entries.has(name)
  }

  /** The tenants alive now, oldest first. */
  async list(): Promise<TenantView[]> {
    const views: TenantView[] = []
    for (const entry of this.entries.values()) {
      const instance = await entry.instance.catch(() => null)
      if (instance) {
        views.push({
          name: entry.name,
          createdAt: new Date(entry.createdAt).toISOString(),
          lastUsedAt: new Date(entry.lastUsed).toISOString(),
          ...instance.stats(),
        })
      }
    }
    return views
  }

  /** Closes and forgets one tenant; false when there is none of that name. */
  async remove(name: string): Promise<boolean> {
    const entry = this.entries.get(name)
    if (!entry) {
      return false
    }
    this.entries.delete(name)
    await (await entry.instance.catch(() => null))?.close()
    return true
  }

  /** Closes the tenants idle for longer than the settings allow; resolves with their names. */
  async sweep(): Promise<string[]> {
    const limit = this.now() - this.settings.idleMs
    const idle = [...this.entries.values()].filter((entry) => entry.lastUsed <= limit)
    for (const entry of idle) {
      await this.remove(entry.name)
    }
    return idle.map((entry) => entry.name)
  }

  /** Closes every tenant; later calls are refused. */
  async close(): Promise<void> {
    this.closed = true
    if (this.sweeper) {
      clearInterval(this.sweeper)
    }
    await Promise.all([...this.entries.keys()].map((name) => this.remove(name)))
  }
}
