import { EventEmitter } from 'node:events'
import type { CliIo } from '../cli-io.js'
import type { StopSignal } from '../cli-options.js'

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

/** Signals a test sends to a CLI running in process. */
export class TestSignals extends EventEmitter {
  /** Sends `signal` as the process would on Ctrl-C (SIGINT) or `kill` (SIGTERM). */
  send(signal: StopSignal): void {
    this.emit(signal)
  }

  /** How many listeners wait for `signal` (the CLI listens only while it serves or watches). */
  listening(signal: StopSignal): number {
    return this.listenerCount(signal)
  }
}

/** Captured output that a test can wait on, line by line as the CLI prints it. */
export interface WatchedIo extends CapturedIo {
  /** Resolves with the first match of `pattern` in stdout, as soon as it has been printed. */
  printed(pattern: RegExp): Promise<RegExpExecArray>
}

/** Buffers for stdout and stderr (not a terminal) and the given environment, watched. */
export function watchedIo(env: Record<string, string | undefined> = {}): WatchedIo {
  const io = capturedIo(env)
  const waiting = new Set<() => boolean>()
  return {
    ...io,
    stdout: {
      ...io.stdout,
      write: (text) => {
        io.stdout.write(text)
        for (const check of waiting) {
          if (check()) {
            waiting.delete(check)
          }
        }
      },
    },
    printed: (pattern) =>
      new Promise((resolve) => {
        const check = (): boolean => {
          const match = pattern.exec(io.out())
          if (match) {
            resolve(match)
          }
          return match !== null
        }
        if (!check()) {
          waiting.add(check)
        }
      }),
  }
}
