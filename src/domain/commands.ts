import { z } from 'zod'
import type {
  AnyCommand,
  CommandBehaviour,
  CommandOfSchema,
  ParametersSet,
} from './commands/command-definition.js'
import { FINGERPRINT_COMMANDS } from './commands/fingerprint-commands.js'
import { MESSAGE_COMMANDS } from './commands/message-commands.js'
import { PAIRING_COMMANDS } from './commands/pairing-commands.js'
import { PIN_COMMANDS } from './commands/pin-commands.js'
import { SUBSCRIPTION_COMMANDS } from './commands/subscription-commands.js'

/**
 * The 13 Conax command types of CRM.COM's "Conax Contego Web Services" module (docs/domain.md
 * §2.5) and their parameters. A command is what the planner emits and the Conax client sends;
 * a provisioning request wraps one command with its life cycle.
 *
 * A command is declared once, with `defineCommand`, in the file of its concept under `commands/`
 * (subscriptions, pairings, fingerprints, PINs, messages), and added to that file's list: its type,
 * the store's check of it, its devices, its parameters_set and whether it may be split follow
 * from here. How it is sent is declared in infrastructure/conax/conax-requests.ts.
 * @module
 */
export const CONAX_COMMANDS = [
  ...SUBSCRIPTION_COMMANDS,
  ...PAIRING_COMMANDS,
  ...FINGERPRINT_COMMANDS,
  ...PIN_COMMANDS,
  ...MESSAGE_COMMANDS,
] as const

type Definition = (typeof CONAX_COMMANDS)[number]

const [first, ...rest] = CONAX_COMMANDS

/** Every command's shape, by its `type`: what a file store checks the requests it reads against. */
export const conaxCommandSchema = z.discriminatedUnion('type', [
  first.schema,
  ...rest.map((definition) => definition.schema),
])

/** A command: the planner's output, the Conax client's input. */
export type ConaxCommand = CommandOfSchema<typeof conaxCommandSchema>

export type RequestType = ConaxCommand['type']

/** The command of one type. */
export type CommandOf<T extends RequestType> = Extract<ConaxCommand, { readonly type: T }>

/** The command types, in the order of their concepts (the API's and the documents' order). */
export const REQUEST_TYPES: readonly RequestType[] = CONAX_COMMANDS.map(
  (definition) => definition.type,
)

/** True for the three query types, which change nothing in the CA. */
export function isQuery(type: RequestType): boolean {
  return type.startsWith('GET_')
}

const BY_TYPE: ReadonlyMap<string, CommandBehaviour> = new Map(
  CONAX_COMMANDS.map((definition) => [definition.type, definition]),
)

function definitionOf(command: AnyCommand): CommandBehaviour {
  const definition = BY_TYPE.get(command.type)
  if (!definition) {
    throw new TypeError(`No Conax command of type '${command.type}' is declared.`)
  }
  return definition
}

/** Every smartcard CA ID a command touches, in the order it names them (used to keep per-card order). */
export function cardsOf(command: ConaxCommand): readonly string[] {
  return definitionOf(command).cardsOf(command)
}

/** Every STB CA ID a command touches. */
export function stbsOf(command: ConaxCommand): readonly string[] {
  return definitionOf(command).stbsOf(command)
}

/** CRM.COM's parameters_set of a command but for `sub_provisioning_distribution_id`. */
export function parametersOf(command: ConaxCommand): ParametersSet {
  return definitionOf(command).parametersOf(command)
}

/** The types whose batches of smartcards may be split (messages, fingerprints). */
type SplittableType = Extract<Definition, { readonly splittable: true }>['type']

/** A batch of smartcards the CA answers all or nothing. */
export type SplittableCommand = CommandOf<SplittableType>

/** Whether a command is a batch of smartcards the CA answers all or nothing (messages, fingerprints). */
export function isSplittable(command: ConaxCommand): command is SplittableCommand {
  return definitionOf(command).splittable
}

export type DisplayFingerprintCommand = CommandOf<'DISPLAY_FINGERPRINT'>
export type SendMailCommand = CommandOf<'SEND_MAIL_MESSAGE_TO_CLIENT'>
export type SendBarkCommand = CommandOf<'SEND_BARK_MESSAGE_TO_CLIENT'>
export type SendRepeatingBarkCommand = CommandOf<'SEND_REPEATING_BARK_MESSAGE_TO_CLIENT'>
