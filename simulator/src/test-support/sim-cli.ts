import { spawn } from 'node:child_process'
import { join } from 'node:path'
import {
  TestSignals,
  capturedIo,
  watchedIo,
  type WatchedIo,
} from '../../../common/test-support/captured-io.js'
import { runCli } from '../cli/main.js'
import { packageRoot } from '../runtime/package-root.js'

/**
 * The `conax-sim` command line for tests: its main function in process, with captured output, an
 * environment of the test's own and signals the test sends (no Node start-up per case), and the
 * built launcher in a child process for the few tests that need a real process.
 * @module
 */

/** The built launcher (bin/conax-sim.js -> dist/), as `npx conax-sim` runs it. */
export const SIM_BIN = join(packageRoot(), 'bin', 'conax-sim.js')

/** What a command line run came to. */
export interface CliResult {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

/** Runs `conax-sim <args>` in process with the environment `env` only; resolves when it ends. */
export async function simCli(
  args: readonly string[],
  env: Record<string, string | undefined> = {},
): Promise<CliResult & { readonly code: number }> {
  const io = capturedIo(env)
  const code = await runCli(['node', SIM_BIN, ...args], io, new TestSignals())
  return { code, stdout: io.out(), stderr: io.err() }
}

/** A `conax-sim` serving in process: its output, and how to stop it as SIGTERM would. */
export interface ServingSim {
  readonly io: WatchedIo
  /** Resolves with the exit code once the CLI has ended. */
  readonly exited: Promise<number>
  /** Resolves with the first match of `pattern` in stdout; rejects if the CLI ends first. */
  printed(pattern: RegExp): Promise<RegExpExecArray>
  /** Sends SIGTERM; resolves with the exit code once the simulator has stopped. */
  stop(): Promise<number>
}

/** Starts `conax-sim <args>` in process; stop it with `stop()` (a test does, when it ends). */
export function serveSim(
  args: readonly string[],
  env: Record<string, string | undefined> = {},
): ServingSim {
  const io = watchedIo(env)
  const signals = new TestSignals()
  const exited = runCli(['node', SIM_BIN, ...args], io, signals)
  const ended = exited.then((code) => {
    throw new Error(`conax-sim ended with exit code ${code}: ${io.err()}`)
  })
  // A test that waits on printed() sees the early end; one that never waits must not see it as
  // an unhandled rejection.
  ended.catch(() => undefined)
  return {
    io,
    exited,
    printed: (pattern) => Promise.race([io.printed(pattern), ended]),
    stop: () => {
      signals.send('SIGTERM')
      return exited
    },
  }
}

/** The built launcher in a child process, with `env` added to this process's environment. */
export function spawnedSim(
  args: readonly string[],
  env: Record<string, string | undefined> = {},
): Promise<CliResult> {
  const merged: NodeJS.ProcessEnv = { ...process.env, ...env }
  for (const [name, value] of Object.entries(merged)) {
    if (value === undefined) {
      delete merged[name]
    }
  }
  const child = spawn(process.execPath, [SIM_BIN, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: merged,
  })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })))
}
