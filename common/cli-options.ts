import { InvalidArgumentError, Option, type Command } from 'commander'
import type { CliIo } from './cli-io.js'

/**
 * What a commander command line needs to run in process as it runs from a terminal: its output
 * and errors on the CliIo's streams, its options' variables read from the CliIo's environment
 * (not `process.env`), and the signals that stop a serving command from a source a test can emit
 * on. Shared by `conax-adapter` and `conax-sim`.
 * @module
 */

/** The two signals a serving command line listens to. */
export type StopSignal = 'SIGINT' | 'SIGTERM'

/** Where the signals come from: `process`, or an EventEmitter in a test. */
export interface SignalSource {
  on(signal: StopSignal, listener: () => void): unknown
  off(signal: StopSignal, listener: () => void): unknown
}

/** The running process's signals. */
export const processSignals: SignalSource = process

/** Sends a command's output, its help and its errors to the CLI's streams, not the process's. */
export function useIo(command: Command, io: CliIo): Command {
  return command.configureOutput({
    writeOut: (text) => io.stdout.write(text),
    writeErr: (text) => io.stderr.write(text),
    getOutHelpWidth: () => (io.stdout.isTTY === true ? io.stdout.columns : undefined) ?? 80,
    getErrHelpWidth: () => (io.stderr.isTTY === true ? io.stderr.columns : undefined) ?? 80,
  })
}

/** The variable of the environment that gives each option of {@link envOption} its value. */
const VARIABLES = new WeakMap<Option, string>()

/**
 * An option that `variable` of the CLI's environment gives when the command line does not (see
 * {@link applyEnv}), its help worded as commander words that of `Option.env()`.
 */
export function envOption(
  flags: string,
  description: string,
  variable: string,
  fallback?: string | number,
): Option {
  const option =
    fallback === undefined
      ? new Option(flags, `${description} (env: ${variable})`)
      : new Option(flags, description).default(
          fallback,
          `${JSON.stringify(fallback)}, env: ${variable}`,
        )
  VARIABLES.set(option, variable)
  return option
}

/**
 * Gives each {@link envOption} of `command` the value of its variable in `env` when the command
 * line did not give one, parsed and checked as a value from the command line is. It does what
 * commander's `Option.env()` does, but reads the CLI's environment rather than `process.env`, so
 * that a test can run the CLI in process with an environment of its own. An invalid value is a
 * usage error (a CommanderError, through `command.error`).
 */
export function applyEnv(command: Command, env: CliIo['env']): void {
  for (const option of command.options) {
    const name = option.attributeName()
    const variable = VARIABLES.get(option)
    const value = variable === undefined ? undefined : env[variable]
    const source = command.getOptionValueSource(name)
    if (value === undefined || (source !== undefined && source !== 'default')) {
      continue
    }
    try {
      const parsed = option.parseArg ? option.parseArg<unknown>(value, undefined) : value
      command.setOptionValueWithSource(name, parsed, 'env')
    } catch (error) {
      if (!(error instanceof InvalidArgumentError)) {
        throw error
      }
      command.error(
        `error: option '${option.flags}' value '${value}' from env '${variable}' is invalid. ${error.message}`,
        { exitCode: error.exitCode, code: error.code },
      )
    }
  }
}
