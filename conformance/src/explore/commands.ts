import fc from 'fast-check'
import type { CrmAction } from '../../../src/index.js'
import type { FaultInput, WhenStep } from '../scenario/schema.js'
import {
  becomeSubscriberAction,
  CARD_PRODUCT,
  cardId,
  INVENTORY,
  liveSubscriptions,
  missingServices,
  pick,
  SERVICES,
  stbId,
  type ExplorerModel,
  type ModelSubscription,
  type ViewingPoint,
} from './model.js'
import type { ExplorerSystem } from './system.js'

/**
 * The explorer's commands: CRM actions, runs, faults and time, each generated from a few numbers
 * and resolved against the model when it runs (numbers pick a subscription, a service, a viewing
 * point among the valid ones), so that shrinking a history keeps it valid: a command with nothing
 * valid to act on is skipped (its `check` says no).
 */

/** What a command does now: its label, its steps (or an adapter restart) and its effect on the model. */
interface Planned {
  readonly label: string
  readonly steps: readonly WhenStep[]
  readonly restart?: boolean
  /** The fault kind it injects, for the figures. */
  readonly fault?: string
  readonly apply: (model: ExplorerModel) => void
}

type Model = ExplorerModel
type Real = ExplorerSystem

/** A command: `plan` decides from the model alone, so `check` and `run` agree. */
abstract class ExplorerCommand<Choice = unknown> implements fc.AsyncCommand<Model, Real> {
  private lastLabel: string | null = null
  /** What fast-check drew for this command (indexes into the model, flags, amounts). */
  protected readonly choice: Choice

  constructor(choice: Choice) {
    this.choice = choice
  }

  protected abstract plan(model: Readonly<Model>): Planned | null
  protected abstract describe(): string

  check(model: Readonly<Model>): boolean {
    return this.plan(model) !== null
  }

  async run(model: Model, real: Real): Promise<void> {
    const planned = this.plan(model)
    if (!planned) {
      return
    }
    this.lastLabel = planned.label
    if (planned.fault) {
      real.countFault(planned.fault)
    }
    if (planned.restart) {
      await real.restart(planned.label)
    }
    for (const step of planned.steps) {
      await real.step(step, planned.label)
    }
    const wasDown = model.downFor > 0
    planned.apply(model)
    // A down window lasts a given number of the commands after it; then the CA comes back.
    if (wasDown) {
      model.downFor -= 1
      if (model.downFor === 0) {
        await real.step({ ca: 'up' }, 'ca: up')
      }
    }
  }

  toString(): string {
    return this.lastLabel ?? this.describe()
  }
}

function crm(action: CrmAction): WhenStep {
  return { crm: action } as WhenStep
}

function label(action: CrmAction, detail: string): string {
  return `crm: ${action.action} ${action.subscriptionId}${detail ? ` ${detail}` : ''}`
}

const subscriptionOf = (model: Model, id: string): ModelSubscription =>
  model.subscriptions.find((s) => s.id === id) as ModelSubscription

class BecomeSubscriber extends ExplorerCommand<{
  twin: boolean
  services: readonly { index: number; onTwin: boolean }[]
}> {
  protected describe(): string {
    return `BECOME_SUBSCRIBER (${this.choice.twin ? 2 : 1} viewing points)`
  }
  protected plan(model: Readonly<Model>): Planned | null {
    const points = this.choice.twin ? 2 : 1
    if (model.cardsUsed + points > INVENTORY.cards || model.stbsUsed + points > INVENTORY.stbs) {
      return null
    }
    const id = `SUB-${model.subscriptions.length + 1}`
    const seen = new Set<string>()
    const services = this.choice.services.flatMap(({ index, onTwin }) => {
      const service = SERVICES[index % SERVICES.length] as string
      if (seen.has(service)) {
        return []
      }
      seen.add(service)
      return [
        {
          service,
          distributor: onTwin && this.choice.twin ? ('TWIN1' as const) : ('Main' as const),
          effective: true,
        },
      ]
    })
    const subscription: ModelSubscription = {
      id,
      state: 'EFFECTIVE',
      services,
      points: (['Main', 'TWIN1'] as const).slice(0, points).map((distributor, i) => ({
        distributor,
        card: {
          serialNumber: `SC-${model.cardsUsed + i + 1}`,
          caId: cardId(model.cardsUsed + i + 1),
        },
        stb: { serialNumber: `STB-${model.stbsUsed + i + 1}`, caId: stbId(model.stbsUsed + i + 1) },
      })),
    }
    const action = becomeSubscriberAction(subscription)
    return {
      label: label(
        action,
        `${subscription.points.map((p) => `${p.distributor}(${p.card.caId}+${p.stb.caId})`).join(' ')} ${services.map((s) => `${s.service}@${s.distributor}`).join(' ')}`,
      ),
      steps: [crm(action)],
      apply: (m) => {
        m.subscriptions.push(structuredClone(subscription))
        m.cardsUsed += points
        m.stbsUsed += points
      },
    }
  }
}

/** ADD_SERVICE, on Main or on the TWIN1 viewing point when the subscription has one. */
class AddService extends ExplorerCommand<{ at: number; service: number; onTwin: boolean }> {
  protected describe(): string {
    return 'ADD_SERVICE'
  }
  protected plan(model: Readonly<Model>): Planned | null {
    const target = pick(
      liveSubscriptions(model).filter((s) => missingServices(s).length > 0),
      this.choice.at,
    )
    if (!target) {
      return null
    }
    const service = pick(missingServices(target), this.choice.service) as string
    const distributor = this.choice.onTwin && target.points.length > 1 ? 'TWIN1' : 'Main'
    const action: CrmAction = {
      action: 'ADD_SERVICE',
      subscriptionId: target.id,
      service,
      distributor,
    }
    return {
      label: label(action, `${service}@${distributor}`),
      steps: [crm(action)],
      apply: (m) =>
        subscriptionOf(m, target.id).services.push({ service, distributor, effective: true }),
    }
  }
}

/** REMOVE_SERVICE, STOP_SERVICE or START_SERVICE of one of the subscription's services. */
class ChangeService extends ExplorerCommand<{
  kind: 'REMOVE_SERVICE' | 'STOP_SERVICE' | 'START_SERVICE'
  at: number
  service: number
}> {
  protected describe(): string {
    return this.choice.kind
  }
  protected plan(model: Readonly<Model>): Planned | null {
    const fits = (s: ModelSubscription['services'][number]): boolean =>
      this.choice.kind === 'REMOVE_SERVICE' || s.effective === (this.choice.kind === 'STOP_SERVICE')
    const target = pick(
      liveSubscriptions(model).filter((s) => s.services.some(fits)),
      this.choice.at,
    )
    if (!target) {
      return null
    }
    const entry = pick(
      target.services.filter(fits),
      this.choice.service,
    ) as ModelSubscription['services'][number]
    const action: CrmAction = {
      action: this.choice.kind,
      subscriptionId: target.id,
      service: entry.service,
      distributor: entry.distributor,
    }
    return {
      label: label(action, `${entry.service}@${entry.distributor}`),
      steps: [crm(action)],
      apply: (m) => {
        const subscription = subscriptionOf(m, target.id)
        if (this.choice.kind === 'REMOVE_SERVICE') {
          subscription.services = subscription.services.filter((s) => s.service !== entry.service)
          return
        }
        const changed = subscription.services.find((s) => s.service === entry.service)
        if (changed) {
          changed.effective = this.choice.kind === 'START_SERVICE'
        }
      },
    }
  }
}

/** SWAP_SERVICE: one service for one the subscription does not have, on the same viewing point. */
class SwapService extends ExplorerCommand<{ at: number; from: number; to: number }> {
  protected describe(): string {
    return 'SWAP_SERVICE'
  }
  protected plan(model: Readonly<Model>): Planned | null {
    const target = pick(
      liveSubscriptions(model).filter(
        (s) => s.services.length > 0 && missingServices(s).length > 0,
      ),
      this.choice.at,
    )
    if (!target) {
      return null
    }
    const from = pick(target.services, this.choice.from) as ModelSubscription['services'][number]
    const to = pick(missingServices(target), this.choice.to) as string
    const action: CrmAction = {
      action: 'SWAP_SERVICE',
      subscriptionId: target.id,
      from: [from.service],
      to: [to],
      distributor: from.distributor,
    }
    return {
      label: label(action, `${from.service} -> ${to} @${from.distributor}`),
      steps: [crm(action)],
      apply: (m) => {
        const subscription = subscriptionOf(m, target.id)
        subscription.services = [
          ...subscription.services.filter((s) => s.service !== from.service),
          { service: to, distributor: from.distributor, effective: true },
        ]
      },
    }
  }
}

/** SWAP_INSTALLED_ITEM: a viewing point's smartcard for a fresh one. */
class SwapCard extends ExplorerCommand<{ at: number; point: number }> {
  protected describe(): string {
    return 'SWAP_INSTALLED_ITEM (smartcard)'
  }
  protected plan(model: Readonly<Model>): Planned | null {
    const target = pick(liveSubscriptions(model), this.choice.at)
    if (!target || model.cardsUsed >= INVENTORY.cards) {
      return null
    }
    const point = pick(target.points, this.choice.point) as ViewingPoint
    const fresh = {
      serialNumber: `SC-${model.cardsUsed + 1}`,
      caId: cardId(model.cardsUsed + 1),
    }
    const action: CrmAction = {
      action: 'SWAP_INSTALLED_ITEM',
      subscriptionId: target.id,
      serialNumber: point.card.serialNumber,
      item: { serialNumber: fresh.serialNumber, product: CARD_PRODUCT, caId: fresh.caId },
    }
    return {
      label: label(action, `${point.card.caId} -> ${fresh.caId} @${point.distributor}`),
      steps: [crm(action)],
      apply: (m) => {
        m.cardsUsed += 1
        const swapped = subscriptionOf(m, target.id).points.find(
          (p) => p.distributor === point.distributor,
        )
        if (swapped) {
          swapped.card = fresh
        }
      },
    }
  }
}

/** CHANGE_DISTRIBUTION: a service moves to the subscription's other viewing point. */
class MoveService extends ExplorerCommand<{ at: number; service: number }> {
  protected describe(): string {
    return 'CHANGE_DISTRIBUTION'
  }
  protected plan(model: Readonly<Model>): Planned | null {
    const target = pick(
      liveSubscriptions(model).filter((s) => s.points.length > 1 && s.services.length > 0),
      this.choice.at,
    )
    if (!target) {
      return null
    }
    const entry = pick(
      target.services,
      this.choice.service,
    ) as ModelSubscription['services'][number]
    const to = entry.distributor === 'Main' ? 'TWIN1' : 'Main'
    const action: CrmAction = {
      action: 'CHANGE_DISTRIBUTION',
      subscriptionId: target.id,
      moves: [{ service: entry.service, from: entry.distributor, to }],
    }
    return {
      label: label(action, `${entry.service} ${entry.distributor} -> ${to}`),
      steps: [crm(action)],
      apply: (m) => {
        const moved = subscriptionOf(m, target.id).services.find((s) => s.service === entry.service)
        if (moved) {
          moved.distributor = to
        }
      },
    }
  }
}

/** REST, END_RESTING or TERMINATE. */
class LifeCycle extends ExplorerCommand<{
  kind: 'REST' | 'END_RESTING' | 'TERMINATE'
  at: number
}> {
  protected describe(): string {
    return this.choice.kind
  }
  protected plan(model: Readonly<Model>): Planned | null {
    const from = { REST: 'EFFECTIVE', END_RESTING: 'IN_RESTING', TERMINATE: null }[this.choice.kind]
    const target = pick(
      liveSubscriptions(model).filter((s) => from === null || s.state === from),
      this.choice.at,
    )
    if (!target) {
      return null
    }
    const action: CrmAction = { action: this.choice.kind, subscriptionId: target.id }
    const to = { REST: 'IN_RESTING', END_RESTING: 'EFFECTIVE', TERMINATE: 'TERMINATED' } as const
    return {
      label: label(action, ''),
      steps: [crm(action)],
      apply: (m) => {
        subscriptionOf(m, target.id).state = to[this.choice.kind]
      },
    }
  }
}

/** A reset subscription run over every subscription, or over one (only while the CA is up: it reads cards). */
class ResetRun extends ExplorerCommand<{ at: number; all: boolean }> {
  protected describe(): string {
    return 'reset run'
  }
  protected plan(model: Readonly<Model>): Planned | null {
    const target = pick(model.subscriptions, this.choice.at)
    if (!target || model.downFor > 0) {
      return null
    }
    const code = `RESET-${model.runs + 1}`
    const step = {
      run: {
        definition: {
          name: `Reset ${model.runs + 1}`,
          alternativeCode: code,
          kind: 'RESET_SUBSCRIPTION',
          criteria: this.choice.all ? {} : { ids: [target.id] },
        },
      },
    } as WhenStep
    return {
      label: `run: ${code} reset ${this.choice.all ? 'every subscription' : target.id}`,
      steps: [step],
      apply: (m) => {
        m.runs += 1
      },
    }
  }
}

/** A mail message run over a queue of one or two communications to live subscriptions. */
class MessageRun extends ExplorerCommand<{ recipients: readonly number[] }> {
  protected describe(): string {
    return 'message run'
  }
  protected plan(model: Readonly<Model>): Planned | null {
    const live = liveSubscriptions(model)
    if (live.length === 0 || model.downFor > 0) {
      return null
    }
    const n = model.runs + 1
    const queue = `QUEUE-${n}`
    const chosen = [
      ...new Set(this.choice.recipients.map((at) => (pick(live, at) as ModelSubscription).id)),
    ]
    const step = {
      run: {
        communications: chosen.map((id, i) => ({
          externalSystem: queue,
          message: `Message ${n}.${i + 1} for ${id}`,
          recipients: { subscriptionIds: [id] },
        })),
        definition: {
          name: `Messages ${n}`,
          alternativeCode: `MSG-${n}`,
          kind: 'MAIL_BARK_MESSAGE',
          messageType: 'MAIL',
          externalSystem: queue,
        },
      },
    } as WhenStep
    return {
      label: `run: MSG-${n} mail to ${chosen.join(', ')}`,
      steps: [step],
      apply: (m) => {
        m.runs += 1
      },
    }
  }
}

/** `advance`: time moves on both clocks (retries come due). */
class Advance extends ExplorerCommand<{ seconds: number }> {
  protected describe(): string {
    return `advance: ${this.choice.seconds}s`
  }
  protected plan(): Planned {
    return {
      label: `advance: ${this.choice.seconds}s`,
      steps: [{ advance: this.choice.seconds * 1000 }],
      apply: () => undefined,
    }
  }
}

/** The CA goes down for the next `commands` commands, then comes up again. */
class CaDown extends ExplorerCommand<{ commands: number }> {
  protected describe(): string {
    return `ca: down for ${this.choice.commands} commands`
  }
  protected plan(model: Readonly<Model>): Planned | null {
    if (model.downFor > 0) {
      return null
    }
    return {
      label: `ca: down (for ${this.choice.commands} commands)`,
      steps: [{ ca: 'down' }],
      fault: 'CA down',
      apply: (m) => {
        // Counted down by the commands after this one; the last of them brings the CA up.
        m.downFor = this.choice.commands
      },
    }
  }
}

/** A fault rule on the CA: DELAY, RESET_AFTER_APPLY or SYSTEM_ERROR on a write operation. */
class Fault extends ExplorerCommand<{ fault: FaultInput }> {
  protected describe(): string {
    return this.text()
  }
  private text(): string {
    const { kind, operation, times, delayMs } = this.choice.fault
    return `ca: fault ${kind} on ${operation ?? 'any operation'}${delayMs ? ` ${delayMs} ms` : ''}${times && times > 1 ? ` x${times}` : ''}`
  }
  protected plan(): Planned {
    return {
      label: this.text(),
      steps: [{ ca: { fault: this.choice.fault } }],
      fault: this.choice.fault.kind,
      apply: () => undefined,
    }
  }
}

/** The adapter stops and starts again on its store file (only in histories with a durable store). */
class Restart extends ExplorerCommand {
  protected describe(): string {
    return 'adapter restart'
  }
  protected plan(model: Readonly<Model>): Planned | null {
    if (!model.durable) {
      return null
    }
    return {
      label: 'adapter restart',
      steps: [],
      restart: true,
      fault: 'restart',
      apply: () => undefined,
    }
  }
}

/** Whether a generated history contains an adapter restart (it then needs a durable store). */
export function isRestart(command: unknown): boolean {
  return command instanceof Restart
}

/** Write operations faults hit: those of the explorer's actions and message runs. */
const FAULT_OPERATIONS = [
  'AddSubscriptions',
  'CancelSubscriptions',
  'CreatePairing',
  'SendMailMessageToClients',
] as const

const index = fc.nat({ max: 1000 })

/** CRM actions, runs and time. */
function crmCommands(): fc.Arbitrary<ExplorerCommand> {
  return fc.oneof(
    {
      weight: 3,
      arbitrary: fc
        .tuple(
          fc.boolean(),
          fc.array(fc.record({ index: fc.nat({ max: 4 }), onTwin: fc.boolean() }), {
            minLength: 1,
            maxLength: 3,
          }),
        )
        .map(([twin, services]) => new BecomeSubscriber({ twin, services })),
    },
    {
      weight: 2,
      arbitrary: fc
        .tuple(index, index, fc.boolean())
        .map(([at, service, onTwin]) => new AddService({ at, service, onTwin })),
    },
    ...(['REMOVE_SERVICE', 'STOP_SERVICE', 'START_SERVICE'] as const).map((kind) => ({
      weight: 1,
      arbitrary: fc
        .tuple(index, index)
        .map(([at, service]): ExplorerCommand => new ChangeService({ kind, at, service })),
    })),
    {
      weight: 2,
      arbitrary: fc
        .tuple(index, index, index)
        .map(([at, from, to]) => new SwapService({ at, from, to })),
    },
    {
      weight: 2,
      arbitrary: fc.tuple(index, index).map(([at, point]) => new SwapCard({ at, point })),
    },
    {
      weight: 2,
      arbitrary: fc.tuple(index, index).map(([at, service]) => new MoveService({ at, service })),
    },
    ...(['REST', 'END_RESTING', 'TERMINATE'] as const).map((kind) => ({
      weight: 1,
      arbitrary: index.map((at): ExplorerCommand => new LifeCycle({ kind, at })),
    })),
    {
      weight: 1,
      arbitrary: fc.tuple(index, fc.boolean()).map(([at, all]) => new ResetRun({ at, all })),
    },
    {
      weight: 1,
      arbitrary: fc
        .array(index, { minLength: 1, maxLength: 2 })
        .map((recipients) => new MessageRun({ recipients })),
    },
    {
      weight: 2,
      arbitrary: fc
        .oneof(fc.integer({ min: 1, max: 59 }), fc.integer({ min: 60, max: 600 }))
        .map((seconds) => new Advance({ seconds })),
    },
  )
}

/** Faults: the CA down for a while, slow answers, dropped answers after a write, errors, restarts. */
function faultCommands(): fc.Arbitrary<ExplorerCommand> {
  const operation = fc.constantFrom(...FAULT_OPERATIONS)
  return fc.oneof(
    {
      weight: 2,
      arbitrary: fc.integer({ min: 1, max: 5 }).map((n) => new CaDown({ commands: n })),
    },
    {
      weight: 2,
      arbitrary: fc
        .tuple(operation, fc.integer({ min: 20, max: 200 }), fc.integer({ min: 1, max: 3 }))
        .map(
          ([op, delayMs, times]) =>
            new Fault({ fault: { kind: 'DELAY', operation: op, delayMs, times } }),
        ),
    },
    {
      weight: 2,
      arbitrary: operation.map(
        (op) => new Fault({ fault: { kind: 'RESET_AFTER_APPLY', operation: op, times: 1 } }),
      ),
    },
    {
      weight: 2,
      arbitrary: operation.map(
        (op) => new Fault({ fault: { kind: 'SYSTEM_ERROR', operation: op, times: 1 } }),
      ),
    },
    { weight: 1, arbitrary: fc.constant(new Restart(null)) },
  )
}

/**
 * The commands of one history: a command is a fault with probability `faults`, else a CRM
 * action, a run or a time advance. At most `actions` commands.
 */
export function historyArbitrary(
  actions: number,
  faults: number,
  replayPath?: string,
): fc.Arbitrary<Iterable<fc.AsyncCommand<Model, Real>>> {
  const faultWeight = Math.round(faults * 1000)
  const choices = [
    ...(faultWeight < 1000 ? [{ weight: 1000 - faultWeight, arbitrary: crmCommands() }] : []),
    ...(faultWeight > 0 ? [{ weight: faultWeight, arbitrary: faultCommands() }] : []),
  ]
  return fc.commands([fc.oneof(...choices)], {
    maxCommands: actions,
    size: 'max',
    ...(replayPath ? { replayPath } : {}),
  })
}
