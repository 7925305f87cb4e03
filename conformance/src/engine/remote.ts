import { cardsOf } from '../../../src/index.js'
import { SERVICE_BASE_PATH } from '../../../simulator/src/index.js'
import type { CheckResult } from '../result.js'
import type { Scenario } from '../scenario/load.js'
import {
  checkCards,
  entryIdsOf,
  observedFromView,
  withoutEntries,
  type CaProbe,
  type CardViewLike,
} from './card-checks.js'
import { inventoryOf, preStateOf } from './given.js'
import { clientFor, sendOrFail, SequenceSource, setUpCa, type HarnessClient } from './given.js'
import { replayToCa } from './side-b.js'
import type { DeviceMap } from './devices.js'
import { ScenarioRunError } from './run-error.js'
import { comparableLines } from './effective-calls.js'
import { driftOf, planOf, type DriftAction } from './plan.js'
import { compareCalls, devicesOfJournal, statusOf, wireLinesOfCommand } from './wire.js'
import { commandFields, type JournalEntryLike } from './wire-types.js'

const DEFAULT_NOW = '2026-11-26T10:00:00.000Z'

/** How to reach a CA endpoint of the contract. */
export interface CaTarget {
  /** The CA's base URL (`http://host:8280`) or its services' base (`.../ca-server/webservices/caclient`). */
  readonly url: string
  readonly username?: string
  readonly password?: string
  /**
   * The target is a conax-sim: before each scenario, register the scenario's inventory and clear
   * its cards' products and pairing through the admin API (a real Conax has neither).
   */
  readonly simAdmin?: boolean
  /** With `simAdmin`: the simulator's admin token (sent as `Authorization: Bearer <token>`). */
  readonly adminToken?: string
  /** With `simAdmin`: how long to wait for an admin API answer (default {@link ADMIN_TIMEOUT_MS}). */
  readonly timeoutMs?: number
  /** The real devices that stand for the scenario's (`--devices`). */
  readonly devices?: DeviceMap
}

/** What a remote run may tell its caller besides its checks. */
export interface RemoteContext {
  /**
   * A warning about the run, not a failure (a card the device map does not list); `key` says
   * which warnings are the same, so that the caller can report each once per run.
   */
  readonly warn?: (key: string, message: string) => void
}

/** The services' base URL for a CA URL given with or without the contract's path. */
export function servicesBase(url: string): string {
  const parsed = new URL(url)
  const base = SERVICE_BASE_PATH.replace(/\/$/, '')
  return parsed.pathname === '/' || parsed.pathname === ''
    ? `${parsed.origin}${base}`
    : url.replace(/\/$/, '')
}

/** How long the harness waits for an answer of a simulator's admin API, by default. */
export const ADMIN_TIMEOUT_MS = 10_000

/** A conax-sim's admin API: its URL (any path; only the origin counts), its token and how long to wait. */
interface AdminApi {
  readonly url: string
  readonly adminToken?: string
  readonly timeoutMs?: number
}

/** Calls the admin API; any answer but 2xx or 404 is an error (404 comes back as `found: false`). */
async function adminCall(
  api: AdminApi,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ readonly found: boolean; readonly answer: unknown }> {
  const origin = new URL(api.url).origin
  const timeoutMs = api.timeoutMs ?? ADMIN_TIMEOUT_MS
  // A server that accepts the connection but never answers would hold fetch for minutes.
  const signal = AbortSignal.timeout(timeoutMs)
  const unreachable = (error: unknown): ScenarioRunError => {
    const reason =
      error instanceof Error && error.name === 'TimeoutError'
        ? `no answer within ${timeoutMs} ms`
        : error instanceof Error
          ? error.message
          : String(error)
    return new ScenarioRunError(
      'CA_UNREACHABLE',
      `Failed to reach the simulator's admin API at ${origin}${path}: ${reason}. Check that a conax-sim runs at ${origin} (a real Conax has no admin API).`,
    )
  }
  const response = await fetch(`${origin}${path}`, {
    method,
    headers: {
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...(api.adminToken === undefined ? {} : { authorization: `Bearer ${api.adminToken}` }),
    },
    signal,
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  }).catch((error: unknown) => {
    throw unreachable(error)
  })
  const text = await response.text().catch((error: unknown) => {
    throw unreachable(error)
  })
  let answer: unknown = null
  try {
    answer = JSON.parse(text)
  } catch {
    // Not JSON: shown as it came in the error below, or treated as no answer.
  }
  if (response.status === 401) {
    throw new ScenarioRunError(
      'CA_ADMIN_FAILED',
      `The simulator's admin API at ${origin} refused ${method} ${path} (401): it needs its admin token. ${api.adminToken === undefined ? 'Pass it with --admin-token or CONTEGO_SIM_ADMIN_TOKEN (conax-sim prints a generated one at start).' : 'The token given (--admin-token or CONTEGO_SIM_ADMIN_TOKEN) is not the one the simulator was started with.'}`,
    )
  }
  if (!response.ok && response.status !== 404) {
    throw new ScenarioRunError(
      'CA_ADMIN_FAILED',
      `The simulator's admin API answered ${response.status} to ${method} ${path}: ${answer === null ? text.slice(0, 200) : JSON.stringify(answer)}.`,
    )
  }
  return { found: response.status !== 404, answer }
}

/** Calls the admin API; a 404 answer is null. */
async function admin(
  api: AdminApi,
  method: string,
  path: string,
  body?: unknown,
): Promise<unknown> {
  const { found, answer } = await adminCall(api, method, path, body)
  return found ? answer : null
}

/** The message of an admin API error answer (`{ error: { message } }`), if there is one. */
function adminMessage(answer: unknown): string | null {
  const error = (answer as { error?: { message?: unknown } } | null)?.error
  return typeof error?.message === 'string' ? error.message : null
}

/** Reads cards through the query operations: products and pairing only (a real CA shows no more). */
export function queryProbe(client: HarnessClient, sequence: SequenceSource): CaProbe {
  return {
    card: async (id) => {
      const active = await client.send(
        { type: 'GET_ACTIVE_SUBSCRIPTIONS', smartcardCaId: id, distributor: null },
        sequence.next(),
      )
      if (active.kind !== 'COMPLETED') {
        if (active.kind === 'REJECTED') {
          return null
        }
        throw new ScenarioRunError(
          'CA_UNREACHABLE',
          `GetActiveSubscriptions for ${id} failed: ${active.errorCode} ${active.errorDescription}.`,
        )
      }
      const pairing = await sendOrFail(
        client,
        { type: 'GET_PAIRING_STATUS_FOR_CARD', smartcardCaId: id, distributor: null },
        sequence,
        `read the pairing of card ${id}`,
      )
      const products =
        (active.result as { subscriptions?: { serviceCaId: string }[] } | null)?.subscriptions ?? []
      const stbs = (pairing.result as { stbs?: { stbCaId: string }[] } | null)?.stbs ?? []
      return {
        products: products.map((s) => s.serviceCaId),
        pairedWith: stbs.map((s) => s.stbCaId),
      }
    },
  }
}

/** A card as the admin API shows it, read by its scenario ID (the real one on the wire). */
async function adminCard(
  api: AdminApi,
  id: string,
  devices?: DeviceMap,
): Promise<CardViewLike | null> {
  const view = (await admin(
    api,
    'GET',
    `/admin/cards/${encodeURIComponent(devices?.card(id) ?? id)}`,
  )) as CardViewLike | null
  return view && devices ? devices.cardView(view) : view
}

/**
 * Reads cards through a conax-sim's admin API (`GET /admin/cards/:id`): everything is observable.
 * Inbox, screen and fingerprint entries listed in `earlier` (per card: TransactionIds seen before
 * the scenario) are left out. With `devices`, a card is read by its real ID.
 */
export function adminProbe(
  api: AdminApi,
  earlier: ReadonlyMap<string, ReadonlySet<string>> = new Map(),
  devices?: DeviceMap,
): CaProbe {
  return {
    card: async (id) => {
      const view = await adminCard(api, id, devices)
      if (!view) {
        return null
      }
      const seen = earlier.get(id)
      return observedFromView(seen ? withoutEntries(view, seen) : view)
    },
  }
}

/** Every smartcard a scenario touches: given, expected and checked. */
function scenarioCards(scenario: Scenario): string[] {
  const plan = planOf(scenario.data)
  const cards = new Set<string>()
  for (const card of inventoryOf(scenario).smartcards ?? []) {
    cards.add(card.caClientId)
  }
  for (const item of plan.replay) {
    cardsOf(item.expectation.command).forEach((c) => cards.add(c))
  }
  for (const id of Object.keys(scenario.data.then.ca?.cards ?? {})) {
    cards.add(id)
  }
  return [...cards]
}

/** Every smartcard a scenario names anywhere: those it touches, set up, or makes drift. */
function namedCards(scenario: Scenario): string[] {
  const cards = new Set(scenarioCards(scenario))
  Object.keys(scenario.data.given.ca.cards).forEach((id) => cards.add(id))
  for (const step of scenario.data.when) {
    const drift = driftOf(step)
    if (drift) {
      cards.add(driftCard(drift))
    }
    Object.keys(step.expect?.ca?.cards ?? {}).forEach((id) => cards.add(id))
  }
  return [...cards]
}

function driftCard(drift: DriftAction): string {
  if ('unpair' in drift) {
    return drift.unpair
  }
  return 'removeProduct' in drift ? drift.removeProduct.card : drift.addProduct.card
}

/** Warns about each card of the scenario the device map does not list (it may be a mistake). */
function warnUnmapped(scenario: Scenario, devices: DeviceMap, context: RemoteContext): void {
  for (const card of namedCards(scenario)) {
    if (!devices.hasCard(card)) {
      context.warn?.(
        `unmapped card ${card}`,
        `card ${card} (first in ${scenario.file}) is not in the device map ${devices.file}: it goes to the CA as it is. Add it under smartcards if a real card stands for it.`,
      )
    }
  }
}

/** Failure messages and notes that show each mapped device with its real ID. */
function labelled(checks: readonly CheckResult[], devices: DeviceMap | undefined): CheckResult[] {
  if (!devices) {
    return [...checks]
  }
  return checks.map((check) => ({
    ...check,
    failures: check.failures.map((failure) => ({
      ...failure,
      message: devices.label(failure.message),
    })),
    ...(check.skipped ? { skipped: check.skipped.map((note) => devices.label(note)) } : {}),
  }))
}

/** The same error, its message showing each mapped device with its real ID. */
function labelledError(error: unknown, devices: DeviceMap | undefined): unknown {
  return devices && error instanceof ScenarioRunError
    ? new ScenarioRunError(error.code, devices.label(error.message))
    : error
}

/** A drift step made through a conax-sim's admin API, where side A makes it on its simulator. */
async function adminDrift(target: CaTarget, drift: DriftAction): Promise<void> {
  const devices = target.devices
  const card = encodeURIComponent(devices?.card(driftCard(drift)) ?? driftCard(drift))
  const call =
    'unpair' in drift
      ? { method: 'DELETE', path: `/admin/cards/${card}/pairing`, body: undefined }
      : 'removeProduct' in drift
        ? {
            method: 'DELETE',
            path: `/admin/cards/${card}/subscriptions/${encodeURIComponent(drift.removeProduct.product)}`,
            body: undefined,
          }
        : {
            method: 'PUT',
            path: `/admin/cards/${card}/subscriptions/${encodeURIComponent(drift.addProduct.product)}`,
            body: { distributor: drift.addProduct.distributor ?? null },
          }
  const { found, answer } = await adminCall(target, call.method, call.path, call.body)
  if (!found) {
    const why = adminMessage(answer) ?? `${call.method} ${call.path} answered 404`
    throw new ScenarioRunError(
      'CA_DRIFT_FAILED',
      `Failed to make the CA drift: ${devices ? devices.textBack(why) : why}. Check the step against the CA state the earlier steps leave.`,
    )
  }
}

/** An `advance` step: moves a conax-sim's clock, so that the dates it stamps follow the scenario. */
async function adminAdvance(target: CaTarget, ms: number): Promise<void> {
  const answer = await admin(target, 'POST', '/admin/clock', { advanceMs: ms })
  if (answer === null) {
    throw new ScenarioRunError(
      'CA_ADMIN_FAILED',
      `The conax-sim at ${new URL(target.url).origin} has no clock to move (POST /admin/clock answered 404), which the scenario's advance steps need. Update it to a version with POST /admin/clock.`,
    )
  }
}

/** Notes for steps this target cannot carry out (not failures), for the first check (the answers). */
function notReplayed(scenario: Scenario, target: CaTarget): string[] {
  if (target.simAdmin) {
    return []
  }
  return planOf(scenario.data).advances.map(
    (advance) =>
      `${advance.origin} advance ${advance.ms} ms: the CA's clock cannot be moved on this target (only a conax-sim's, with --sim-admin)`,
  )
}

/**
 * Sends a scenario's expected sequence to a CA endpoint (after clearing the scenario's cards and
 * setting up `given`) and checks the answers and the cards' state. Against a real Conax the state
 * is read through the query operations (products and pairing); PIN, inbox, screen and
 * fingerprints are reported as not observable.
 */
export async function runAgainstCa(
  scenario: Scenario,
  target: CaTarget,
  context: RemoteContext = {},
): Promise<CheckResult[]> {
  const plan = planOf(scenario.data)
  const endpoint = servicesBase(target.url)
  const { devices } = target
  const wire = await clientFor(
    scenario.provider,
    endpoint,
    target.username !== undefined || target.password !== undefined
      ? {
          username: target.username ?? scenario.provider.connection.username,
          password: target.password ?? scenario.provider.connection.password,
        }
      : undefined,
  )
  // Everything below speaks the scenario's device IDs; this client sends the real ones.
  const client = devices ? devices.client(wire) : wire
  try {
    if (devices) {
      warnUnmapped(scenario, devices, context)
    }
    const sequence = new SequenceSource()
    if (target.simAdmin) {
      const inventory = inventoryOf(scenario)
      await admin(
        target,
        'POST',
        '/admin/inventory',
        devices ? devices.inventory(inventory) : inventory,
      )
    }
    // A shared simulator's cards keep the inbox, screen and fingerprints of earlier scenarios:
    // remembered here, they are left out of this scenario's state.
    const earlier = new Map<string, Set<string>>()
    for (const card of scenarioCards(scenario)) {
      await clearCard(client, sequence, card, target)
      const view = target.simAdmin ? await adminCard(target, card, devices) : null
      if (view) {
        earlier.set(card, entryIdsOf(view))
      }
    }
    await setUpCa(client, preStateOf(scenario, scenario.data.now ?? DEFAULT_NOW), sequence)
    const probe = target.simAdmin
      ? adminProbe(target, earlier, devices)
      : queryProbe(client, sequence)
    const checks = await replayToCa({
      scenario,
      plan,
      client,
      probe,
      sequence,
      ...(target.simAdmin
        ? {
            applyDrift: (drift: DriftAction) => adminDrift(target, drift),
            applyAdvance: (ms: number) => adminAdvance(target, ms),
          }
        : {}),
    })
    const notes = notReplayed(scenario, target)
    const noted = checks.map((check, index) =>
      index === 0 && notes.length > 0
        ? { ...check, skipped: [...(check.skipped ?? []), ...notes] }
        : check,
    )
    return labelled(noted, devices)
  } catch (error) {
    throw labelledError(error, devices)
  } finally {
    await client.close()
  }
}

/** Cancels a card's active products (and, on a conax-sim, drops its pairing); unknown cards are left alone. */
async function clearCard(
  client: HarnessClient,
  sequence: SequenceSource,
  card: string,
  target: CaTarget,
): Promise<void> {
  const active = await client.send(
    { type: 'GET_ACTIVE_SUBSCRIPTIONS', smartcardCaId: card, distributor: null },
    sequence.next(),
  )
  if (active.kind === 'TRANSIENT') {
    throw new ScenarioRunError(
      'CA_UNREACHABLE',
      `The CA at ${target.url} did not answer GetActiveSubscriptions: ${active.errorCode} ${active.errorDescription}. Check the URL and credentials.`,
    )
  }
  if (active.kind === 'REJECTED') {
    return
  }
  const subscriptions =
    (
      active.result as {
        subscriptions?: { serviceCaId: string; distributor: string | null }[]
      } | null
    )?.subscriptions ?? []
  for (const s of subscriptions) {
    await sendOrFail(
      client,
      {
        type: 'CANCEL_SUBSCRIPTIONS',
        smartcardCaId: card,
        serviceCaId: s.serviceCaId,
        distributor: s.distributor,
      },
      sequence,
      `clear card ${card}`,
    )
  }
  if (target.simAdmin) {
    const id = target.devices?.card(card) ?? card
    await admin(target, 'DELETE', `/admin/cards/${encodeURIComponent(id)}/pairing`)
  }
}

/** Where a running simulator's journal is, and which entries to look at. */
export interface JournalTarget {
  readonly url: string
  /** Only entries after this journal sequence number. */
  readonly since?: number
  /** The simulator's admin token (sent as `Authorization: Bearer <token>`). */
  readonly adminToken?: string
  /** How long to wait for an admin API answer (default {@link ADMIN_TIMEOUT_MS}). */
  readonly timeoutMs?: number
  /** The real devices that stand for the scenario's (`--devices`): the journal holds the real IDs. */
  readonly devices?: DeviceMap
}

/**
 * Checks the journal of a running conax-sim that some other CRM drove through a scenario: the SOAP
 * calls touching the scenario's devices against the expected sequence, then the cards' state
 * through the admin API.
 */
export async function verifyJournal(
  scenario: Scenario,
  target: JournalTarget,
  context: RemoteContext = {},
): Promise<CheckResult[]> {
  const { devices } = target
  try {
    if (devices) {
      warnUnmapped(scenario, devices, context)
    }
    return labelled(await journalChecks(scenario, target), devices)
  } catch (error) {
    throw labelledError(error, devices)
  }
}

async function journalChecks(scenario: Scenario, target: JournalTarget): Promise<CheckResult[]> {
  const plan = planOf(scenario.data)
  const { devices } = target
  const query = target.since === undefined ? '' : `?since=${target.since}`
  const entries = (await admin(target, 'GET', `/admin/journal${query}`)) as
    JournalEntryLike[] | null
  if (!Array.isArray(entries)) {
    throw new ScenarioRunError(
      'CA_ADMIN_FAILED',
      `${target.url} has no journal at /admin/journal: is it a conax-sim?`,
    )
  }
  // The scenario's devices: those of the expected calls, and those it registers or checks, so that
  // a scenario expecting nothing (a refusal) still sees a call its CRM should not have made.
  const scenarioDevices = new Set<string>(Object.keys(scenario.data.then.ca?.cards ?? {}))
  const inventory = inventoryOf(scenario)
  for (const card of inventory.smartcards ?? []) {
    scenarioDevices.add(card.caClientId)
  }
  for (const stb of inventory.pairingModules ?? []) {
    scenarioDevices.add(stb.pairingModuleId)
  }
  for (const item of plan.replay) {
    const command = commandFields(item.expectation.command)
    for (const key of ['smartcardCaId', 'pairedSmartcardCaId', 'stbCaId']) {
      if (typeof command[key] === 'string') {
        scenarioDevices.add(command[key])
      }
    }
    for (const key of ['smartcardCaIds', 'stbCaIds']) {
      if (Array.isArray(command[key])) {
        ;(command[key] as string[]).forEach((id) => scenarioDevices.add(id))
      }
    }
  }
  const expected = plan.replay.flatMap((item) =>
    wireLinesOfCommand(item.expectation.command, statusOf(item.expectation)),
  )
  // The journal speaks the real IDs; the scenario's are compared. With faults in the scenario,
  // the calls that changed nothing and their replays are left out, as on side A.
  const seen = devices ? entries.map((entry) => devices.journalEntry(entry)) : entries
  const actual = comparableLines(
    scenario.data,
    expected,
    seen.filter((entry) => devicesOfJournal(entry).some((id) => scenarioDevices.has(id))),
  )
  const diff = compareCalls(expected, actual, plan.replayOrdered)
  const checks: CheckResult[] = [
    {
      name: 'journal: SOAP calls on the scenario devices',
      side: 'journal',
      passed: diff === null,
      failures: diff
        ? [{ message: `the journal of ${target.url} differs from the expected sequence`, diff }]
        : [],
    },
  ]
  const cards = scenario.data.then.ca?.cards
  if (cards) {
    checks.push(await checkCards(cards, adminProbe(target, new Map(), devices), 'journal'))
  }
  return checks
}
