import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it, type TestContext } from 'vitest'
import { parse as parseYaml } from 'yaml'
import { packageRoot } from './package-root.js'

// docs/ci/: the GitHub Actions and GitLab CI examples. Each file is parsed as its CI would, and
// its shell commands run here in order, as the CI runner would run them after `npm ci` (already
// done in this clone): the simulator in the background, the harness against it, a JUnit file.

const ROOT = packageRoot()
const STEPS_TIMEOUT_MS = 180_000

interface Shell {
  /** The commands, in the order the CI runs them, each run by its own `bash -e -c`. */
  readonly scripts: readonly string[]
  readonly env: Readonly<Record<string, string>>
  readonly junit: string
}

function record(value: unknown, what: string): Record<string, unknown> {
  expect(typeof value === 'object' && value !== null && !Array.isArray(value), what).toBe(true)
  return value as Record<string, unknown>
}

function strings(value: unknown, what: string): string[] {
  expect(Array.isArray(value), what).toBe(true)
  return (value as unknown[]).map((item) => {
    expect(typeof item, what).toBe('string')
    return item as string
  })
}

const installed = (command: string): boolean => command.trim() !== 'npm ci'

function githubShell(text: string): Shell {
  const workflow = record(parseYaml(text), 'workflow')
  const job = record(record(workflow.jobs, 'jobs').conformance, 'jobs.conformance')
  const steps = (job.steps as unknown[]).map((step, i) => record(step, `step ${i}`))
  const upload = steps.find((step) => String(step.uses).startsWith('actions/upload-artifact'))
  return {
    scripts: steps
      .flatMap((step) => (typeof step.run === 'string' ? [step.run] : []))
      .filter(installed),
    env: record(job.env, 'jobs.conformance.env') as Record<string, string>,
    junit: String(record(upload?.with, 'upload step').path),
  }
}

function gitlabShell(text: string): Shell {
  const job = record(record(parseYaml(text), 'pipeline')['conax-conformance'], 'conax-conformance')
  const lines = [
    ...strings(job.before_script, 'before_script'),
    ...strings(job.script, 'script'),
  ].filter(installed)
  const reports = record(record(job.artifacts, 'artifacts').reports, 'artifacts.reports')
  return {
    // A GitLab job runs its lines in one shell and stops at the first that fails.
    scripts: [lines.join('\n')],
    env: record(job.variables, 'variables') as Record<string, string>,
    junit: String(reports.junit),
  }
}

async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  await new Promise((resolve) => server.close(resolve))
  return typeof address === 'object' && address !== null ? address.port : 0
}

/** Runs one CI script in its own process group, as a step; resolves with its exit code and output. */
function runStep(
  script: string,
  env: NodeJS.ProcessEnv,
  cwd: string,
  groups: number[],
): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn('bash', ['-e', '-c', script], { cwd, env, detached: true })
    if (child.pid !== undefined) {
      groups.push(child.pid)
    }
    let output = ''
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()))
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()))
    child.on('close', (code) => resolve({ code, output }))
  })
}

async function runLocally(
  shell: Shell,
  onTestFinished: TestContext['onTestFinished'],
): Promise<string> {
  // The job's folder: a copy would need its own npm ci; the clone itself is what CI checks out.
  const out = mkdtempSync(join(tmpdir(), 'conax-ci-example-'))
  onTestFinished(() => rmSync(out, { recursive: true, force: true }))
  const junit = join(out, 'junit.xml')
  const env = {
    ...process.env,
    ...shell.env,
    CONAX_SIM_PORT: String(await freePort()),
  }
  const groups: number[] = []
  onTestFinished(() => {
    for (const group of groups) {
      try {
        process.kill(-group, 'SIGTERM')
      } catch {
        // The step's group has ended already.
      }
    }
  })
  for (const script of shell.scripts) {
    // Reports and the simulator's log go to a folder of the test's own, not into the clone (the two
    // examples run at once, and a log in the clone ended up committed).
    const local = script
      .replaceAll(shell.junit, junit)
      .replaceAll('conax-sim.log', join(out, 'conax-sim.log'))
    const { code, output } = await runStep(local, env, ROOT, groups)
    expect(code, `${script}\n${output}`).toBe(0)
  }
  return readFileSync(junit, 'utf8')
}

describe('docs/ci examples', () => {
  for (const [file, shellOf] of [
    ['github-actions.yml', githubShell],
    ['gitlab-ci.yml', gitlabShell],
  ] as const) {
    // Concurrent: each example has its own port and report folder.
    it.concurrent(
      `${file}: starts the simulator, runs the harness against it and writes a passing JUnit report`,
      async ({ expect, onTestFinished }) => {
        const shell = shellOf(readFileSync(join(ROOT, 'docs', 'ci', file), 'utf8'))
        expect(shell.scripts.some((s) => s.includes('npx conax-sim'))).toBe(true)
        expect(shell.scripts.some((s) => s.includes('npx conax-conformance run'))).toBe(true)
        const report = await runLocally(shell, onTestFinished)
        expect(report).toMatch(/<testsuites[^>]* tests="([1-9]\d*)"/)
        expect(report).toMatch(/<testsuites[^>]* failures="0"/)
      },
      // Real processes through npx (three node starts, a simulator, a scenario run): on a loaded
      // 2-core machine beside the rest of the suite this took over 20 s. A hang guard, not a bound.
      STEPS_TIMEOUT_MS,
    )
  }
})
