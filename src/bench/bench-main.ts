import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { SimulatorChild } from './simulator-child.js'

/** A `--name` flag's value as a positive whole number, or `fallback` when absent. */
export function positiveInteger(name: string, text: string | undefined, fallback: number): number
export function positiveInteger(
  name: string,
  text: string | undefined,
  fallback: null,
): number | null
export function positiveInteger(
  name: string,
  text: string | undefined,
  fallback: number | null,
): number | null {
  if (text === undefined) {
    return fallback
  }
  const value = Number(text)
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new Error(`--${name} must be a positive whole number, not '${text}'.`)
  }
  return value
}

/**
 * Runs a benchmark: a temporary folder and the simulator children it starts are removed at the
 * end and on Ctrl-C; the exit code is 0 when `run` verified its result, 1 otherwise.
 */
export function benchMain(
  name: string,
  run: (dir: string, sims: SimulatorChild[]) => Promise<boolean>,
): void {
  const main = async (): Promise<void> => {
    const dir = mkdtempSync(join(tmpdir(), `conax-${name}-bench-`))
    const sims: SimulatorChild[] = []
    const cleanUp = async (): Promise<void> => {
      await Promise.all(sims.map((sim) => sim.stop()))
      rmSync(dir, { recursive: true, force: true })
    }
    const interrupted = (): void => {
      void cleanUp().finally(() => process.exit(130))
    }
    process.once('SIGINT', interrupted)
    process.once('SIGTERM', interrupted)
    try {
      process.exitCode = (await run(dir, sims)) ? 0 : 1
    } finally {
      await cleanUp()
      process.off('SIGINT', interrupted)
      process.off('SIGTERM', interrupted)
    }
  }
  main().catch((error: unknown) => {
    console.error(`bench:${name} FAILED:`, error instanceof Error ? error.message : error)
    process.exitCode = 1
  })
}
