import { z } from 'zod'
import type { DeepReadonly } from '../deep-readonly.js'

/**
 * How a Conax command is declared, in one place: its fields as a zod schema (from which its type
 * is inferred, and with which a file store checks the requests it reads back), the smartcards and
 * STBs it touches (the dispatcher keeps each device's requests in order), its CRM.COM
 * `parameters_set` (what the API shows), and whether a batch the CA refused may be split
 * (split.ts). How it goes on the wire is the infrastructure's (conax-requests.ts).
 * @module
 */

/** Text as a command carries it: a CA ID, a product, a message, a date. */
export const text = z.string()
/** Text that may be left out (null). */
export const optionalText = z.string().nullable()
/** CA IDs of smartcards or STBs. */
export const caIds = z.array(z.string())

/** A value of CRM.COM's parameters_set. */
export type ParameterValue = string | number | string[] | null
/** CRM.COM's parameters_set of a command: its parameters by snake-case name, in display order. */
export type ParametersSet = Record<string, ParameterValue>

/** What every command has: its type, and its distributor (null: not distributed). */
type CommandShape<T extends string, F extends z.ZodRawShape> = {
  type: z.ZodLiteral<T>
  distributor: typeof optionalText
} & F

/** The schema of a command: `type`, `distributor` and its own fields. */
export type CommandSchema<T extends string, F extends z.ZodRawShape> = z.ZodObject<
  CommandShape<T, F>
>

/** The command a schema describes, read-only. */
export type CommandOfSchema<S extends z.ZodType> = DeepReadonly<z.output<S>>

/** Any command, as a definition takes it before it knows that it is its own. */
export interface AnyCommand {
  readonly type: string
}

/** What a declared command answers about any command of its type. */
export interface CommandBehaviour {
  readonly type: string
  /** Whether it is a batch of smartcards that a refused request may be split into (split.ts). */
  readonly splittable: boolean
  /** Every smartcard CA ID it touches, in the order it names them. */
  cardsOf(command: AnyCommand): readonly string[]
  /** Every STB CA ID it touches. */
  stbsOf(command: AnyCommand): readonly string[]
  /** Its parameters_set, but for `sub_provisioning_distribution_id` (every command has it). */
  parametersOf(command: AnyCommand): ParametersSet
}

/** One declared command: its schema, and what it answers about a command of its type. */
export interface CommandDefinition<
  T extends string,
  F extends z.ZodRawShape,
  P extends boolean,
> extends CommandBehaviour {
  readonly type: T
  readonly schema: CommandSchema<T, F>
  readonly splittable: P
}

type Own<T extends string, F extends z.ZodRawShape> = CommandOfSchema<CommandSchema<T, F>>

/** Only a command with a list of smartcards (`smartcardCaIds`) may be split. */
type SplitRule<P extends boolean> = P extends true
  ? { readonly fields: { readonly smartcardCaIds: typeof caIds } }
  : unknown

interface Spec<T extends string, F extends z.ZodRawShape, P extends boolean> {
  /** The command type, e.g. `ADD_SUBSCRIPTIONS`: CRM.COM's name of it. */
  readonly type: T
  /** Its fields besides `type` and `distributor`. */
  readonly fields: F
  /**
   * Whether the CA answers it all or nothing for a list of smartcards, so that a batch it refused
   * because of some of its cards is sent again without them (split.ts). A pairing is not: pairing
   * only some of its devices would be another pairing.
   */
  readonly splittable: P
  /** Every smartcard it touches, in the order it names them (default: none). */
  cards?(command: Own<T, F>): readonly string[]
  /** Every STB it touches (default: none). */
  stbs?(command: Own<T, F>): readonly string[]
  /** Its CRM.COM parameters_set keys besides `sub_provisioning_distribution_id`, in display order. */
  parameters(command: Own<T, F>): ParametersSet
}

const NONE: readonly string[] = []

/** Declares a Conax command; list it in its concept's list, which commands.ts gathers. */
export function defineCommand<
  const T extends string,
  F extends z.ZodRawShape,
  const P extends boolean,
>(spec: Spec<T, F, P> & SplitRule<P>): CommandDefinition<T, F, P> {
  const schema: CommandSchema<T, F> = z.object({
    type: z.literal(spec.type),
    ...spec.fields,
    distributor: optionalText,
  })
  // Looked up by its type (commands.ts), a command is of its definition's type; the check keeps
  // a wrong lookup from reading fields the command does not have.
  const isOwn = (command: AnyCommand): command is AnyCommand & Own<T, F> =>
    command.type === spec.type
  const own = (command: AnyCommand): Own<T, F> => {
    if (!isOwn(command)) {
      throw new TypeError(`A ${command.type} command was given to the ${spec.type} definition.`)
    }
    return command
  }
  return {
    type: spec.type,
    schema,
    splittable: spec.splittable,
    cardsOf: (command) => spec.cards?.(own(command)) ?? NONE,
    stbsOf: (command) => spec.stbs?.(own(command)) ?? NONE,
    parametersOf: (command) => spec.parameters(own(command)),
  }
}
