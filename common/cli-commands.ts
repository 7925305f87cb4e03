import { Command } from 'commander'
import { packageVersion } from './package-info.js'
import { writeLine, type CliIo } from './cli-io.js'

/**
 * What the three command lines share about their words: the `version` subcommand and `--version`,
 * and the refusal of a word that names no command, with commander's own wording and suggestion
 * (`error: unknown command 'runz'` / `(Did you mean runs?)`), exit code 2. The simulator and the
 * adapter's `serve` run without a subcommand word, so commander cannot tell a misspelt command from
 * an excess argument there; these helpers find the first word and judge it.
 * @module
 */

/** Adds `-V, --version` (prints the package version) to `command`. */
export function withVersion(command: Command): Command {
  return command.version(packageVersion(), '-V, --version', 'print the version and exit')
}

/** Prints the package version on `io.stdout` (the `version` subcommand); answers exit code 0. */
export function printVersion(io: CliIo): number {
  writeLine(io.stdout, packageVersion())
  return 0
}

/**
 * The first operand of `args` (the words after node and the script) as `command` parses them: the
 * first word that is neither an option nor an option's value. Undefined when there is none, or
 * when an option `command` does not know comes first (its own parse reports that option).
 */
export function firstOperand(command: Command, args: readonly string[]): string | undefined {
  return command.parseOptions([...args]).operands[0]
}

/**
 * Writes commander's error for `word`, which names none of `commands`, with the closest of them
 * as a suggestion when one is close; answers exit code 2.
 */
export function refuseUnknownCommand(
  io: CliIo,
  program: string,
  word: string,
  commands: readonly string[],
): number {
  const probe = new Command(program)
    .exitOverride()
    .configureOutput({ writeOut: () => undefined, writeErr: (text) => io.stderr.write(text) })
  for (const name of commands) {
    probe.command(name)
  }
  try {
    probe.parse([word], { from: 'user' })
  } catch {
    // commander has written the error and the suggestion; the exit code is the caller's.
  }
  writeLine(io.stderr, `See ${program} --help for the commands.`)
  return 2
}
