/**
 * Where a command line reads and writes: the process's streams and environment when run from a
 * terminal, buffers when a test runs the same main function in process (no child process to
 * spawn, so CLI tests take milliseconds, not a Node start-up each).
 */

/** One output stream of a command line. */
export interface CliOutput {
  write(text: string): void
  /** Whether a terminal reads it (colours, widths). */
  readonly isTTY?: boolean
  /** The terminal's width in columns, when there is one. */
  readonly columns?: number
}

/** The streams and environment a command line runs with. */
export interface CliIo {
  readonly stdout: CliOutput
  readonly stderr: CliOutput
  readonly env: Readonly<Record<string, string | undefined>>
}

/** The running process's streams and environment. */
export function processIo(): CliIo {
  return {
    stdout: {
      write: (text) => process.stdout.write(text),
      isTTY: process.stdout.isTTY,
      columns: process.stdout.columns,
    },
    stderr: { write: (text) => process.stderr.write(text), isTTY: process.stderr.isTTY },
    env: process.env,
  }
}

/** Writes `text` and a line break, as console.log does. */
export function writeLine(output: CliOutput, text: string): void {
  output.write(`${text}\n`)
}
