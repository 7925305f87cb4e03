import { spawn } from 'node:child_process'
import { join } from 'node:path'
import {
  TestSignals,
  capturedIo,
  watchedIo,
  type WatchedIo,
} from '../../common/test-support/captured-io.js'
import type { CliRuntime, ProcessHeap } from '../cli/cli-support.js'
import { runAdapterCli } from '../cli/adapter-main.js'

/**
 * The `conax-adapter` command line for tests: its main function in process, with captured
 * output, an environment of the test's own and signals the test sends (no Node start-up per
 * case), and the built launcher in a child process for the few tests that need a real process.
 * @module
 */

/** The built launcher (bin/conax-adapter.js -> dist/), as `npx conax-adapter` runs it. */
export const ADAPTER_BIN = join(import.meta.dirname, '..', '..', 'bin', 'conax-adapter.js')

/** What a command line run came to. */
export interface CliResult {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

export { TestSignals, watchedIo, type WatchedIo }

/**
 * A CLI's runtime in a test: its signals from `signals`, --watch polling at once, and no heap to
 * size unless the test gives one (the test runner's heap is not the adapter's).
 */
export function testRuntime(
  signals: TestSignals = new TestSignals(),
  heap?: ProcessHeap,
): CliRuntime {
  return heap === undefined ? { signals, pollMs: 1 } : { signals, pollMs: 1, heap }
}

/** Runs `conax-adapter <args>` in process with the environment `env` only; resolves when it ends. */
export async function adapterCli(
  args: readonly string[],
  env: Record<string, string | undefined> = {},
  runtime: CliRuntime = testRuntime(),
): Promise<CliResult & { readonly code: number }> {
  const io = capturedIo(env)
  const code = await runAdapterCli(['node', ADAPTER_BIN, ...args], io, runtime)
  return { code, stdout: io.out(), stderr: io.err() }
}

/** A `conax-adapter` serving in process: its output, and how to stop it as SIGTERM would. */
export interface ServingCli {
  readonly io: WatchedIo
  /** Resolves with the exit code once the CLI has ended. */
  readonly exited: Promise<number>
  /** Resolves with the first match of `pattern` in stdout; rejects if the CLI ends first. */
  printed(pattern: RegExp): Promise<RegExpExecArray>
  /** Sends SIGTERM; resolves with the exit code once the adapter has stopped. */
  stop(): Promise<number>
}

/** Starts `conax-adapter <args>` in process; stop it with `stop()` (a test does, when it ends). */
export function serveCli(
  args: readonly string[],
  env: Record<string, string | undefined> = {},
  heap?: ProcessHeap,
): ServingCli {
  const io = watchedIo(env)
  const signals = new TestSignals()
  const exited = runAdapterCli(['node', ADAPTER_BIN, ...args], io, testRuntime(signals, heap))
  const ended = exited.then((code) => {
    throw new Error(`conax-adapter ended with exit code ${code}: ${io.err()}`)
  })
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
export function spawnedCli(
  args: readonly string[],
  options: { readonly env?: Record<string, string | undefined>; readonly cwd?: string } = {},
): Promise<CliResult> {
  const env: NodeJS.ProcessEnv = { ...process.env, ...options.env }
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined) {
      delete env[name]
    }
  }
  const child = spawn(process.execPath, [ADAPTER_BIN, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env,
    ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
  })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })))
}
