import { setFlagsFromString } from 'node:v8'
import type { SignalSource } from '../../common/cli-options.js'

export {
  applyEnv,
  envOption,
  useIo,
  type SignalSource,
  type StopSignal,
} from '../../common/cli-options.js'

/**
 * What `conax-adapter` takes from its process besides argv and the streams: the signals that stop
 * a long-running command, and the pace of `--watch`. The launcher gives the process's; a test
 * that runs the CLI in process gives an EventEmitter it emits SIGTERM or SIGINT on, and a short
 * poll interval.
 * @module
 */

/** The CLI's signals and the pace of `--watch`. */
export interface CliRuntime {
  /**
   * SIGINT and SIGTERM stop a serving adapter gracefully; SIGINT stops a `--watch` (not the run).
   * They are listened to only while the adapter serves or a watch runs, so that Ctrl-C still ends
   * any other command at once.
   */
  readonly signals: SignalSource
  /** Time between two polls of `--watch`, in milliseconds. */
  readonly pollMs: number
  /**
   * The process's V8 heap, which `serve` sizes (--heap-growth). Absent in a test that runs the
   * CLI in process: the test runner's heap is not the adapter's to size.
   */
  readonly heap?: ProcessHeap
}

/** The Node flags this process was started with, and how to set a V8 flag now. */
export interface ProcessHeap {
  readonly execArgv: readonly string[]
  setV8Flag(flag: string): void
}

const POLL_MS = 500

/** The running process's signals and the usual pace of `--watch`. */
export function processRuntime(): CliRuntime {
  return {
    signals: process,
    pollMs: POLL_MS,
    heap: { execArgv: process.execArgv, setV8Flag: (flag) => setFlagsFromString(flag) },
  }
}
