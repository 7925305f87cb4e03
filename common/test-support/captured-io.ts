import type { CliIo } from '../cli-io.js'

/** A CliIo that keeps what a command line writes, for tests that run its main function in process. */
export interface CapturedIo extends CliIo {
  /** Everything written to stdout so far. */
  out(): string
  /** Everything written to stderr so far. */
  err(): string
}

/** Buffers for stdout and stderr (not a terminal) and the given environment. */
export function capturedIo(env: Record<string, string | undefined> = {}): CapturedIo {
  let out = ''
  let err = ''
  return {
    stdout: { write: (text) => (out += text), isTTY: false },
    stderr: { write: (text) => (err += text), isTTY: false },
    env,
    out: () => out,
    err: () => err,
  }
}
