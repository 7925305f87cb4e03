import { z } from 'zod'
import type { ConaxCommand } from '../commands.js'
import type { ProvisioningProvider, Subscription } from '../crm.js'
import type { DeepReadonly } from '../deep-readonly.js'
import type { ExpectedCaState } from '../expected-ca-state.js'
import { err, ok, type Result } from '../result.js'

/**
 * How a CRM action is declared, in one place: its JSON shape (a zod schema, from which its type
 * is inferred and which the API validates with), how it changes the subscription, and, when the
 * CA difference is not all it sends, how it adjusts the commands. The planner (planner.ts) derives
 * the commands and checks the subscription's invariants for every action alike.
 * @module
 */

/** Text that is not empty once trimmed (and is trimmed). */
export const nonEmpty = z.string().trim().min(1, 'must not be empty')

/** A provisioning distributor (viewing point) by name; null: not distributed. */
export const distributorField = z.string().min(1).max(32).nullable()

/** An installed item as a CRM action names it: its kind comes from the provider's physical goods. */
export const itemInputSchema = z.strictObject({
  serialNumber: nonEmpty,
  product: nonEmpty,
  caId: nonEmpty,
  distributor: distributorField,
})
export type ItemInput = DeepReadonly<z.output<typeof itemInputSchema>>

/** A service as a CRM action names it. */
export const serviceInputSchema = z.strictObject({
  service: nonEmpty,
  distributor: distributorField,
})
export type ServiceInput = DeepReadonly<z.output<typeof serviceInputSchema>>

/** Why an action was refused; nothing changes and no request is created. */
export const PLAN_ERROR_CODES = [
  'SUBSCRIPTION_NOT_FOUND',
  'SUBSCRIPTION_EXISTS',
  'ACTION_NOT_ALLOWED',
  'SERVICE_NOT_MAPPED',
  'SERVICE_NOT_ALLOWED',
  'SERVICE_NOT_FOUND',
  'SERVICE_EXISTS',
  'SERVICE_AMBIGUOUS',
  'DISTRIBUTOR_UNKNOWN',
  'TOO_MANY_VIEWING_POINTS',
  'PHYSICAL_GOOD_NOT_MAPPED',
  'ITEM_NOT_FOUND',
  'ITEM_EXISTS',
  'ITEM_KIND_MISMATCH',
  'INVALID_CA_ID',
  'NO_SWAP_TO_REGRET',
] as const
export type PlanErrorCode = (typeof PLAN_ERROR_CODES)[number]

/** A refusal of an action, with its code. */
export interface PlanRejection {
  readonly code: PlanErrorCode
  readonly message: string
}

/** The subscription an action leaves, or its refusal. */
export type Step = Result<Subscription, PlanRejection>

/** A refusal of the action. */
export const refuse = (code: PlanErrorCode, message: string): Result<never, PlanRejection> =>
  err({ code, message })

/** The subscription with `changes` applied and its update time set. */
export type Touch = (changes: Partial<Subscription>) => Step

/** What an action on an existing subscription works with. */
export interface ActionContext {
  readonly provider: ProvisioningProvider
  /** The subscription, which exists and is not TERMINATED. */
  readonly current: Subscription
  readonly now: string
  readonly touch: Touch
}

/** What an action's command adjustment works with. */
export interface AdjustContext {
  readonly provider: ProvisioningProvider
  /** The CA state the subscription should have after the action. */
  readonly after: ExpectedCaState
}

/** The `action` field of an action: one name, or a family of names sharing their fields. */
type Discriminator = z.ZodLiteral<string> | z.ZodEnum<Readonly<Record<string, string>>>

type ActionShape<D extends Discriminator, F extends z.ZodRawShape> = {
  subscriptionId: typeof nonEmpty
  action: D
} & F

/** The schema of an action: `subscriptionId`, `action` and its own fields, no other. */
export type ActionSchema<
  D extends Discriminator = Discriminator,
  F extends z.ZodRawShape = z.ZodRawShape,
> = z.ZodObject<ActionShape<D, F>, z.core.$strict>

/** The action an action schema describes. */
export type ActionOf<S extends z.ZodType> = DeepReadonly<z.output<S>>

/** Any action, as the definitions take it before they know it is theirs. */
export interface NamedAction {
  readonly action: string
  readonly subscriptionId: string
}

/** An action of a definition's schema. */
type Own<D extends Discriminator, F extends z.ZodRawShape> = NamedAction &
  ActionOf<ActionSchema<D, F>>

/** One declared CRM action (or family of actions), as the planner and the API use it. */
export interface CrmActionDefinition<S extends ActionSchema = ActionSchema> {
  /** The action names it declares (one, or a family). */
  readonly names: ReadonlySet<string>
  readonly schema: S
  /**
   * The schema with more fields, after `subscriptionId` and before `action` (the API's send
   * options: the order the API's documents list them in).
   */
  schemaWith<M extends z.ZodRawShape>(
    more: M,
  ): z.ZodObject<{ subscriptionId: typeof nonEmpty } & M & S['shape'], z.core.$strict>
  /** The subscription after the action, or its refusal; null when the action is not this one. */
  step(
    provider: ProvisioningProvider,
    current: Subscription | null,
    action: NamedAction,
    now: string,
  ): Step | null
  /** The commands of the CA difference as this action sends them. */
  adjust(commands: ConaxCommand[], context: AdjustContext, action: NamedAction): ConaxCommand[]
}

function namesOf(discriminator: Discriminator): ReadonlySet<string> {
  return discriminator instanceof z.ZodEnum
    ? new Set(discriminator.options)
    : new Set(discriminator.values)
}

interface Spec<D extends Discriminator, F extends z.ZodRawShape, C> {
  /** `z.literal('NAME')`, or `z.enum([...])` for a family that shares its fields and rules. */
  readonly action: D
  /** The fields besides `subscriptionId` and `action`. */
  readonly fields: F
  apply(context: C, action: ActionOf<ActionSchema<D, F>>): Step
  /** When the action sends more or less than the CA difference (default: the difference). */
  adjust?(
    commands: ConaxCommand[],
    context: AdjustContext,
    action: ActionOf<ActionSchema<D, F>>,
  ): ConaxCommand[]
}

function definition<D extends Discriminator, F extends z.ZodRawShape>(
  spec: Omit<Spec<D, F, never>, 'apply'>,
  step: (
    provider: ProvisioningProvider,
    current: Subscription | null,
    action: Own<D, F>,
    now: string,
  ) => Step,
): CrmActionDefinition<ActionSchema<D, F>> {
  const names = namesOf(spec.action)
  // The union of actions is discriminated by name: an action of one of these names has this shape.
  const mine = (action: NamedAction): action is Own<D, F> => names.has(action.action)
  const schema: ActionSchema<D, F> = z.strictObject({
    subscriptionId: nonEmpty,
    action: spec.action,
    ...spec.fields,
  })
  return {
    names,
    schema,
    schemaWith: (more) =>
      z.strictObject({ subscriptionId: nonEmpty, ...more, action: spec.action, ...spec.fields }),
    step: (provider, current, action, now) =>
      mine(action) ? step(provider, current, action, now) : null,
    adjust: (commands, context, action) =>
      spec.adjust && mine(action) ? spec.adjust(commands, context, action) : commands,
  }
}

/**
 * Declares an action on an existing subscription. The planner refuses it first when the
 * subscription does not exist (SUBSCRIPTION_NOT_FOUND) or is TERMINATED (ACTION_NOT_ALLOWED).
 */
export function defineAction<D extends Discriminator, F extends z.ZodRawShape>(
  spec: Spec<D, F, ActionContext>,
): CrmActionDefinition<ActionSchema<D, F>> {
  return definition(spec, (provider, current, action, now) => {
    if (!current) {
      return refuse(
        'SUBSCRIPTION_NOT_FOUND',
        `Subscription '${action.subscriptionId}' does not exist. Create it with BECOME_SUBSCRIBER.`,
      )
    }
    if (current.state === 'TERMINATED') {
      return refuse(
        'ACTION_NOT_ALLOWED',
        `Subscription '${current.id}' is TERMINATED; no action can change it.`,
      )
    }
    const touch: Touch = (changes) => ok({ ...current, ...changes, updatedAt: now })
    return spec.apply({ provider, current, now, touch }, action)
  })
}

/** What an action that creates the subscription works with. */
export interface CreationContext {
  readonly provider: ProvisioningProvider
  /** The subscription of that id, if there is one already. */
  readonly current: Subscription | null
  readonly now: string
}

/** Declares an action that creates its subscription (BECOME_SUBSCRIBER). */
export function defineCreation<D extends Discriminator, F extends z.ZodRawShape>(
  spec: Spec<D, F, CreationContext>,
): CrmActionDefinition<ActionSchema<D, F>> {
  return definition(spec, (provider, current, action, now) =>
    spec.apply({ provider, current, now }, action),
  )
}
