import { readFile } from 'node:fs/promises'
import { setTimeout as sleep } from 'node:timers/promises'
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander'
import { parse as parseYaml, stringify as toYaml } from 'yaml'
import { CodedError, errorLine } from '../../common/coded-error.js'
import { processIo, writeLine, type CliIo } from '../../common/cli-io.js'
import { COMMUNICATION_STATES, type Communication } from '../application/runs/run-ports.js'
import type { RunPreview, RunStatus } from '../application/runs/run-service.js'
import type { RunFailure } from '../domain/run-tally.js'
import type { RunDefinition, RunKind } from '../domain/runs.js'
import { withVersion } from '../../common/cli-commands.js'
import { applyEnv, envOption, processRuntime, useIo, type CliRuntime } from './cli-support.js'

/**
 * The client half of `conax-adapter`: subcommands that talk to a running adapter over its HTTP
 * API. They only format what the API answers, so the CLI and a script with curl see the same.
 */

/** The first words that select the client commands (anything else starts the adapter). */
export const CLIENT_COMMANDS: ReadonlySet<string> = new Set([
  'runs',
  'communications',
  'reset-subscription',
  'utility',
])

const DEFAULT_URL = 'http://127.0.0.1:8380'
/** Without a terminal (a log, CI), one progress line this often rather than one per poll. */
const LOG_EVERY_MS = 3000
/** States an execution does not leave by itself (DELIVERING ends when the CA has answered). */
const TERMINAL_STATES = new Set(['COMPLETED', 'STOPPED', 'FAILED'])

/**
 * A failure the CLI reports as `code: message` and exits with: the adapter's own answer (its code
 * and HTTP status), or the CLI's (unusable input 400, an adapter that cannot be reached 503, an
 * answer that is not the adapter's 502). A 4xx is the caller's to fix (exit 2), anything else 1.
 */
class CliFailure extends CodedError {
  override readonly name = 'CliFailure'

  /** The process exit code. */
  get exitCode(): number {
    return this.httpStatus < 500 ? 2 : 1
  }
}

interface GlobalOptions {
  url: string
  token?: string
  json?: boolean
}

/** The parts of a provisioning request (as `requestJson` gives it) the text output shows. */
interface RequestRow {
  readonly number: string
  readonly type: string
  readonly life_cycle_state: string
  readonly subscription: { readonly id: string } | null
  readonly error_code: string | null
  readonly error_description: string | null
}

interface ResetAnswer {
  readonly inSync: boolean
  readonly differences: readonly string[]
  readonly commands: readonly { readonly type: string }[]
  readonly requests: readonly RequestRow[]
  readonly failures: readonly RunFailure[]
}

/** Codes of recipients a run skips (nothing to send to); every other listed code is a failure. */
const SKIPPED_CODES = new Set(['NO_SMARTCARD', 'SUBSCRIPTION_NOT_FOUND'])

/** 1 when any item failed (a skipped recipient is not a failure), else 0. */
function failureExit(failures: readonly RunFailure[]): number {
  return failures.some((f) => !SKIPPED_CODES.has(f.code)) ? 1 : 0
}

function failuresText(failures: readonly RunFailure[], total?: number): string[] {
  const lines = failures.map(
    (f) =>
      `  ${[
        f.communication === null ? null : `communication ${f.communication}`,
        f.subscriptionId === null ? null : `subscription ${f.subscriptionId}`,
        f.card === null ? null : `card ${f.card}`,
      ]
        .filter((part) => part !== null)
        .join(', ')}: ${f.code}: ${f.message}`,
  )
  return total !== undefined && total > failures.length
    ? [...lines, `  ... and ${total - failures.length} more (they are counted; see --json)`]
    : lines
}

interface UtilityAnswer {
  readonly utility: string
  readonly processName: string
  readonly requests: readonly RequestRow[]
  readonly result: unknown
}

/** The adapter over HTTP: answers `data` (and `total`), or throws a CliFailure with its code. */
class AdapterClient {
  readonly url: string
  private readonly token: string | undefined
  constructor(url: string, token: string | undefined) {
    this.url = url.replace(/\/+$/, '')
    this.token = token
  }

  private init(
    method: 'GET' | 'POST',
    body: unknown,
    signal: AbortSignal | undefined,
  ): RequestInit {
    return {
      method,
      headers: {
        ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
        ...(this.token === undefined ? {} : { Authorization: `Bearer ${this.token}` }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      ...(signal === undefined ? {} : { signal }),
    }
  }

  /** `signal` aborts the call (a watch that Ctrl-C stopped): it rejects with the abort's reason. */
  async call<T>(
    method: 'GET' | 'POST',
    path: string,
    body?: unknown,
    signal?: AbortSignal,
  ): Promise<{ data: T; total?: number }> {
    let response: Response
    try {
      response = await fetch(`${this.url}${path}`, this.init(method, body, signal))
    } catch (error) {
      if (signal?.aborted === true) {
        throw error
      }
      const cause = (error as { cause?: { code?: string; message?: string } }).cause
      throw new CliFailure(
        'CONNECTION_FAILED',
        503,
        `${method} ${this.url}${path} failed (${cause?.code ?? cause?.message ?? String(error)}): is the adapter running at ${this.url}? Give its address with --url or CONAX_ADAPTER_URL.`,
      )
    }
    const text = await response.text()
    let answer: { data?: T; total?: number; error?: { code?: string; message?: string } }
    try {
      answer = JSON.parse(text) as typeof answer
    } catch {
      throw new CliFailure(
        'BAD_ANSWER',
        502,
        `${method} ${this.url}${path} answered ${response.status} with something that is not JSON: is ${this.url} the adapter?`,
      )
    }
    if (response.status === 401) {
      throw new CliFailure(
        'UNAUTHORIZED',
        401,
        this.token === undefined
          ? `The adapter at ${this.url} needs its API token: pass it with --token <token> or set CONAX_ADAPTER_API_TOKEN (the adapter prints a generated one at start).`
          : `The adapter at ${this.url} refused the API token given (--token or CONAX_ADAPTER_API_TOKEN): it is not the one the adapter was started with.`,
      )
    }
    if (!response.ok) {
      throw new CliFailure(
        answer.error?.code ?? `HTTP_${response.status}`,
        response.status,
        answer.error?.message ?? `${method} ${path} answered ${response.status}.`,
      )
    }
    return {
      data: answer.data as T,
      ...(answer.total === undefined ? {} : { total: answer.total }),
    }
  }

  async get<T>(path: string, signal?: AbortSignal): Promise<T> {
    return (await this.call<T>('GET', path, undefined, signal)).data
  }

  async post<T>(path: string, body?: unknown): Promise<T> {
    return (await this.call<T>('POST', path, body)).data
  }
}

const segment = (value: string): string => encodeURIComponent(value)

/** Reads a YAML or JSON file (JSON is YAML too); unusable input is exit code 2. */
async function readInput(file: string): Promise<unknown> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (error) {
    throw new CliFailure(
      'INPUT_UNREADABLE',
      400,
      `Cannot read ${file}: ${(error as Error).message}`,
    )
  }
  try {
    return parseYaml(text) as unknown
  } catch (error) {
    throw new CliFailure(
      'INPUT_INVALID',
      400,
      `${file} is not YAML or JSON: ${(error as Error).message}`,
    )
  }
}

function integer(name: string, min: number): (value: string) => number {
  return (value) => {
    if (!/^\d+$/.test(value) || Number(value) < min) {
      throw new InvalidArgumentError(`${name} must be an integer of at least ${min}.`)
    }
    return Number(value)
  }
}

// ----- text output ----------------------------------------------------------------------------

function table(rows: readonly (readonly string[])[]): string {
  const widths = rows.reduce<number[]>(
    (max, row) => row.map((cell, i) => Math.max(max[i] ?? 0, cell.length)),
    [],
  )
  return rows
    .map((row) =>
      row
        .map((cell, i) => cell.padEnd(widths[i] ?? 0))
        .join('  ')
        .trimEnd(),
    )
    .join('\n')
}

function seconds(value: number): string {
  const s = Math.max(0, Math.round(value))
  if (s < 60) {
    return `${s}s`
  }
  if (s < 3600) {
    return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`
  }
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`
}

/** The counts that mean something for the kind, in words (`all`: the summary's extra ones). */
function countsText(status: RunStatus, all = false): string {
  const c = status.counts
  const parts: Record<RunKind, [string, number][]> = {
    RESET_SUBSCRIPTION: [
      ['in sync', c.inSync],
      ['repaired', c.repaired],
      ['failed', c.failed],
      ['requests', c.requests],
      ['completed', c.sent],
      ...(all
        ? ([
            ['cards read', c.cards],
            ['CA calls', c.caCalls],
          ] as [string, number][])
        : []),
    ],
    MAIL_BARK_MESSAGE: [
      ['communications', c.communications],
      ['cards', c.cards],
      ['sent', c.sent],
      ['failed', c.failed],
      ['skipped', c.skipped],
      ['requests', c.requests],
      ...(c.communicationsFailed > 0
        ? ([['communications failed', c.communicationsFailed]] as [string, number][])
        : []),
    ],
    FINGERPRINTING: [
      ['cards', c.cards],
      ['sent', c.sent],
      ['failed', c.failed],
      ['skipped', c.skipped],
      ['requests', c.requests],
    ],
  }
  return parts[status.kind].map(([name, value]) => `${name} ${value}`).join(', ')
}

function processedText(status: RunStatus): string {
  return status.total === null
    ? `${status.counts.processed}`
    : `${status.counts.processed}/${status.total}`
}

const BAR_WIDTH = 24

/** One progress line: bar (terminal only), percentage, processed/total, rate, ETA, counts. */
function progressLine(status: RunStatus, withBar: boolean): string {
  const { fraction, rate, etaSeconds } = status.progress
  const bar =
    withBar && fraction !== null
      ? `[${'█'.repeat(Math.round(fraction * BAR_WIDTH)).padEnd(BAR_WIDTH, '░')}] `
      : ''
  const percent = fraction === null ? '' : `${String(Math.floor(fraction * 100)).padStart(3)}% `
  const speed = rate === null ? '' : ` | ${rate.toFixed(1)}/s`
  const eta = etaSeconds === null ? '' : ` | ETA ${seconds(etaSeconds)}`
  const waiting =
    status.state === 'DELIVERING'
      ? ` | ${status.progress.pendingRequests} request(s) waiting for the CA`
      : ''
  return `${status.state.padEnd(10)} ${bar}${percent}${processedText(status)}${speed}${eta}${waiting} | ${countsText(status)}`
}

function summary(status: RunStatus): string {
  const ran = seconds(status.activeMs / 1000)
  const lines = [
    `${status.state}: ${processedText(status)} processed in ${ran} of running (${status.kind}, execution ${status.id})`,
    `  ${countsText(status, true)}`,
  ]
  if (status.lastError) {
    lines.push(`  ${status.lastError}`)
  }
  if (status.failures.length > 0) {
    lines.push('  What failed or was skipped, and why:', ...failuresText(status.failures))
  }
  if (status.state === 'STOPPED' || status.state === 'FAILED') {
    lines.push(`  Resume it: conax-adapter runs resume ${status.id} --watch`)
  }
  return lines.join('\n')
}

/** The exit code an execution's state and counts call for: 0 only when it went through cleanly. */
function executionExit(status: RunStatus): number {
  if (!TERMINAL_STATES.has(status.state)) {
    return 0
  }
  return status.state === 'COMPLETED' &&
    status.counts.failed === 0 &&
    status.counts.communicationsFailed === 0
    ? 0
    : 1
}

function statusText(status: RunStatus): string {
  return [
    `Execution ${status.id} of run ${status.runId} (${status.kind}, process ${status.processName})`,
    `  ${progressLine(status, false)}`,
    `  started ${status.startedAt}${status.finishedAt ? `, finished ${status.finishedAt}` : ''}, running for ${seconds(status.activeMs / 1000)}`,
    `  counts: ${countsText(status, true)}`,
    `  cursor: offset ${status.cursor.offset}${status.cursor.communication ? `, communication ${status.cursor.communication}` : ''}`,
    ...(status.lastError ? [`  last error: ${status.lastError}`] : []),
    ...(status.failures.length > 0
      ? ['  what failed or was skipped, and why:', ...failuresText(status.failures)]
      : []),
  ].join('\n')
}

function requestsTable(requests: readonly RequestRow[]): string {
  return table([
    ['NUMBER', 'TYPE', 'STATE', 'SUBSCRIPTION', 'ERROR'],
    ...requests.map((r) => [
      r.number,
      r.type,
      r.life_cycle_state,
      r.subscription?.id ?? '-',
      r.error_code ? `${r.error_code} ${r.error_description ?? ''}`.trim() : '',
    ]),
  ])
}

function previewText(preview: RunPreview): string {
  if (preview.kind === 'RESET_SUBSCRIPTION') {
    return [
      `Checked ${preview.checked} subscriptions: ${preview.inSync} in sync, ${preview.outOfSync} out of sync, ${preview.failed} with cards that could not be checked.`,
      ...preview.subscriptions.flatMap((s) => [
        `  ${s.subscriptionId}: ${s.commands.map((c) => c.type).join(', ')}`,
        ...s.differences.map((d) => `    ${d}`),
      ]),
      ...(preview.truncated ? ['  ... more out of sync (raise --limit to list them)'] : []),
      ...(preview.failures.length > 0
        ? ['Cards that could not be checked, and why:', ...failuresText(preview.failures)]
        : []),
    ].join('\n')
  }
  return [
    `Would send ${preview.requests} requests to ${preview.cards} cards of ${preview.subscriptions} subscriptions${preview.communications === undefined ? '' : ` for ${preview.communications} pending communications`}; ${preview.skipped} recipient(s) skipped.`,
    ...(preview.failures.length > 0
      ? ['What would fail or be skipped, and why:', ...failuresText(preview.failures)]
      : []),
    ...(preview.cardsChecked
      ? []
      : ['(Cards were not asked of the CA; add --check-cards to find unknown ones.)']),
  ].join('\n')
}

// ----- watching -------------------------------------------------------------------------------

/** Where an action prints, and how it follows an execution. */
interface Output {
  readonly io: CliIo
  /** Whether --json was given: print what the API answered, as JSON. */
  readonly json: boolean
  readonly runtime: CliRuntime
}

/** An exit code: 130 when SIGINT stopped the watching. */
const INTERRUPTED = 130

/**
 * Polls an execution until it ends, drawing its progress; 0 when it COMPLETED cleanly, 1
 * otherwise, 130 when SIGINT (Ctrl-C) stopped the watching (the execution goes on).
 */
async function watch(client: AdapterClient, output: Output, first: RunStatus): Promise<number> {
  const { io, json, runtime } = output
  const stdout = io.stdout
  const tty = stdout.isTTY === true && !json
  const path = `/runs/executions/${segment(first.id)}`
  let status = first
  let logged = 0
  const interrupted = new AbortController()
  const interrupt = (): void => interrupted.abort()
  runtime.signals.on('SIGINT', interrupt)
  try {
    for (;;) {
      if (tty) {
        const width = Math.max(20, (stdout.columns || 100) - 1)
        stdout.write(`\r\x1b[2K${progressLine(status, true).slice(0, width)}`)
      } else if (
        !json &&
        (Date.now() - logged >= LOG_EVERY_MS || TERMINAL_STATES.has(status.state))
      ) {
        logged = Date.now()
        writeLine(
          stdout,
          `${new Date().toISOString().slice(11, 19)} ${progressLine(status, false)}`,
        )
      }
      if (TERMINAL_STATES.has(status.state)) {
        break
      }
      try {
        await sleep(runtime.pollMs, undefined, { signal: interrupted.signal })
        status = await client.get<RunStatus>(path, interrupted.signal)
      } catch (error) {
        if (interrupted.signal.aborted) {
          break
        }
        throw error
      }
    }
  } finally {
    runtime.signals.off('SIGINT', interrupt)
    // Ends the progress line even when a poll fails, so the error starts on a line of its own.
    if (tty) {
      stdout.write('\n')
    }
  }
  if (interrupted.signal.aborted) {
    // Ctrl-C stops the watching, not the run: say so, and how to stop the run itself.
    writeLine(
      io.stderr,
      `Stopped watching; execution ${first.id} goes on. Stop it with: conax-adapter runs stop ${first.id}`,
    )
    return INTERRUPTED
  }
  writeLine(stdout, json ? JSON.stringify(status, null, 2) : summary(status))
  return executionExit(status)
}

// ----- commands -------------------------------------------------------------------------------

/** How an action prints its answer. */
interface Printer {
  /** Prints `value` as JSON with --json, else `text()`; answers 0. */
  print(value: unknown, text: () => string): number
  /** Follows an execution until it ends; answers the exit code of {@link watch}. */
  watch(first: RunStatus): Promise<number>
}

/** What an action does with the client; resolves with the exit code. */
type Action = (client: AdapterClient, out: Printer) => Promise<number>

/** The printer of an action with `client` and `output`. */
function printer(client: AdapterClient, output: Output): Printer {
  return {
    print: (value, text) => {
      writeLine(output.io.stdout, output.json ? JSON.stringify(value, null, 2) : text())
      return 0
    },
    watch: (first) => watch(client, output, first),
  }
}

function communicationsOf(input: unknown): unknown {
  // A file may hold the API body, a list, or a single communication.
  if (Array.isArray(input)) {
    return { communications: input }
  }
  if (input !== null && typeof input === 'object' && 'communications' in input) {
    return input
  }
  return { communications: [input] }
}

async function utilityBody(argument: string): Promise<unknown> {
  if (argument.startsWith('@')) {
    return readInput(argument.slice(1))
  }
  try {
    return JSON.parse(argument) as unknown
  } catch (error) {
    throw new CliFailure(
      'INPUT_INVALID',
      400,
      `The utility is not JSON (${(error as Error).message}); give JSON or @file.`,
    )
  }
}

function addRunCommands(runs: Command, act: (action: Action) => () => Promise<void>): void {
  runs
    .command('define')
    .description('define a run from a YAML or JSON file (a RunDefinitionInput)')
    .argument('<file>')
    .action((file: string) =>
      act(async (client, out) => {
        const definition = await client.post<RunDefinition>('/runs', await readInput(file))
        return out.print(
          definition,
          () =>
            `Defined ${definition.kind} run '${definition.alternativeCode}' (id ${definition.id}).`,
        )
      })(),
    )

  runs
    .command('list')
    .description('list the run definitions')
    .action(
      act(async (client, out) => {
        const definitions = await client.get<RunDefinition[]>('/runs')
        return out.print(definitions, () =>
          definitions.length === 0
            ? 'No run defined yet: conax-adapter runs define <file>.'
            : table([
                ['CODE', 'KIND', 'NAME', 'ID', 'CREATED'],
                ...definitions.map((d) => [d.alternativeCode, d.kind, d.name, d.id, d.createdAt]),
              ]),
        )
      }),
    )

  runs
    .command('show')
    .description('show a run definition')
    .argument('<idOrCode>')
    .action((idOrCode: string) =>
      act(async (client, out) => {
        const definition = await client.get<RunDefinition>(`/runs/${segment(idOrCode)}`)
        return out.print(definition, () => toYaml(definition).trimEnd())
      })(),
    )

  runs
    .command('preview')
    .description('what the run would do, sending nothing (a reset preview reads the CA)')
    .argument('<idOrCode>')
    .addOption(
      new Option(
        '--limit <n>',
        'out-of-sync subscriptions and failures listed (default 100)',
      ).argParser(integer('--limit', 0)),
    )
    .option(
      '--check-cards',
      'message and fingerprinting runs: ask the CA about every card, to name the ones it would refuse',
    )
    .action((idOrCode: string, options: { limit?: number; checkCards?: boolean }) =>
      act(async (client, out) => {
        const query = new URLSearchParams({
          ...(options.limit === undefined ? {} : { limit: String(options.limit) }),
          ...(options.checkCards ? { check_cards: 'true' } : {}),
        }).toString()
        const preview = await client.post<RunPreview>(
          `/runs/${segment(idOrCode)}/preview${query ? `?${query}` : ''}`,
        )
        out.print(preview, () => previewText(preview))
        return failureExit(preview.failures)
      })(),
    )

  const watchOption = (): Option =>
    new Option('-w, --watch', 'follow the progress until the execution ends')

  runs
    .command('start')
    .description('start an execution of the run')
    .argument('<idOrCode>')
    .addOption(watchOption())
    .action((idOrCode: string, options: { watch?: boolean }) =>
      act(async (client, out) => {
        const status = await client.post<RunStatus>(`/runs/${segment(idOrCode)}/executions`)
        if (options.watch) {
          return out.watch(status)
        }
        return out.print(
          status,
          () =>
            `Started execution ${status.id} (${processedText(status)}).\nFollow it: conax-adapter runs status ${status.id} --watch`,
        )
      })(),
    )

  runs
    .command('status')
    .description('show an execution: state, counts, progress, cursor')
    .argument('<executionId>')
    .addOption(watchOption())
    .action((id: string, options: { watch?: boolean }) =>
      act(async (client, out) => {
        const status = await client.get<RunStatus>(`/runs/executions/${segment(id)}`)
        if (options.watch) {
          return out.watch(status)
        }
        out.print(status, () => statusText(status))
        return executionExit(status)
      })(),
    )

  runs
    .command('stop')
    .description('stop an execution after its current batch (waits until it has stopped)')
    .argument('<executionId>')
    .action((id: string) =>
      act(async (client, out) => {
        const status = await client.post<RunStatus>(`/runs/executions/${segment(id)}/stop`)
        return out.print(status, () => summary(status))
      })(),
    )

  runs
    .command('resume')
    .description('resume a stopped or failed execution from its cursor')
    .argument('<executionId>')
    .addOption(watchOption())
    .action((id: string, options: { watch?: boolean }) =>
      act(async (client, out) => {
        const status = await client.post<RunStatus>(`/runs/executions/${segment(id)}/resume`)
        if (options.watch) {
          return out.watch(status)
        }
        return out.print(status, () => `Resumed execution ${status.id}.\n${statusText(status)}`)
      })(),
    )

  runs
    .command('requests')
    .description('the provisioning requests an execution created')
    .argument('<executionId>')
    .addOption(new Option('--offset <n>').argParser(integer('--offset', 0)).default(0))
    .addOption(new Option('--limit <n>').argParser(integer('--limit', 1)).default(100))
    .action((id: string, options: { offset: number; limit: number }) =>
      act(async (client, out) => {
        const page = await client.call<RequestRow[]>(
          'GET',
          `/runs/executions/${segment(id)}/requests?offset=${options.offset}&limit=${options.limit}`,
        )
        const total = page.total ?? page.data.length
        return out.print({ requests: page.data, total }, () =>
          [
            requestsTable(page.data),
            `${page.data.length} of ${total} requests (from ${options.offset}).`,
          ].join('\n'),
        )
      })(),
    )

  runs
    .command('executions')
    .description('the executions of a run (or of every run), newest last')
    .argument('[idOrCode]')
    .action((idOrCode: string | undefined) =>
      act(async (client, out) => {
        const statuses = await client.get<RunStatus[]>(
          idOrCode === undefined ? '/runs/executions' : `/runs/${segment(idOrCode)}/executions`,
        )
        return out.print(statuses, () =>
          table([
            ['EXECUTION', 'KIND', 'STATE', 'PROCESSED', 'STARTED', 'RUN'],
            ...statuses.map((s) => [s.id, s.kind, s.state, processedText(s), s.startedAt, s.runId]),
          ]),
        )
      })(),
    )
}

function addOtherCommands(program: Command, act: (action: Action) => () => Promise<void>): void {
  const communications = program
    .command('communications')
    .description('the communication queue that message runs send')
  communications
    .command('add')
    .description(
      'enqueue communications from a YAML or JSON file ({ communications: [...] }, a list, or one)',
    )
    .argument('<file>')
    .action((file: string) =>
      act(async (client, out) => {
        const added = await client.post<Communication[]>(
          '/communications',
          communicationsOf(await readInput(file)),
        )
        return out.print(added, () =>
          added
            .map((c) => `Enqueued communication ${c.number} for ${c.externalSystem}.`)
            .join('\n'),
        )
      })(),
    )
  communications
    .command('list')
    .description('list the communications')
    .option('--external-system <name>', 'only those of this external system')
    .addOption(
      new Option('--state <state>', 'only those in this state').choices([...COMMUNICATION_STATES]),
    )
    .action((options: { externalSystem?: string; state?: string }) =>
      act(async (client, out) => {
        const query = new URLSearchParams({
          ...(options.externalSystem ? { externalSystem: options.externalSystem } : {}),
          ...(options.state ? { state: options.state } : {}),
        }).toString()
        const list = await client.get<Communication[]>(`/communications${query ? `?${query}` : ''}`)
        return out.print(list, () =>
          table([
            ['NUMBER', 'SYSTEM', 'STATE', 'RECIPIENTS', 'MESSAGE'],
            ...list.map((c) => [
              c.number,
              c.externalSystem,
              c.state,
              c.recipients.subscriptionIds
                ? `${c.recipients.subscriptionIds.length} subscriptions`
                : 'segment',
              c.message.length > 40 ? `${c.message.slice(0, 39)}…` : c.message,
            ]),
          ]),
        )
      })(),
    )

  program
    .command('reset-subscription')
    .description('compare one subscription with the CA and repair it (reset single subscription)')
    .argument('<subscriptionId>')
    .option('--preview', 'compare only; create no request')
    .action((id: string, options: { preview?: boolean }) =>
      act(async (client, out) => {
        const reset = await client.post<ResetAnswer>(
          `/crm/subscriptions/${segment(id)}/reset?preview=${options.preview === true}`,
        )
        out.print(reset, () =>
          [
            ...(reset.inSync
              ? [
                  `${id} is in sync with the CA${reset.failures.length > 0 ? ' but for the cards below' : ''}.`,
                ]
              : [
                  `${id} is out of sync:`,
                  ...reset.differences.map((d) => `  ${d}`),
                  options.preview
                    ? `Would send: ${reset.commands.map((c) => c.type).join(', ')}`
                    : requestsTable(reset.requests),
                ]),
            ...(reset.failures.length > 0
              ? ['Cards that could not be checked, and why:', ...failuresText(reset.failures)]
              : []),
          ].join('\n'),
        )
        return failureExit(reset.failures)
      })(),
    )

  program
    .command('utility')
    .description(
      'run a single-subscription utility (a POST /crm/utilities body) and print the outcome',
    )
    .argument('<json-or-@file>', 'the utility as JSON, or @file for a YAML or JSON file')
    .action((argument: string) =>
      act(async (client, out) => {
        const outcome = await client.post<UtilityAnswer>(
          '/crm/utilities',
          await utilityBody(argument),
        )
        out.print(outcome, () =>
          [
            `${outcome.utility} (${outcome.processName})`,
            requestsTable(outcome.requests),
            ...(outcome.result === null ? [] : ['result:', toYaml(outcome.result).trimEnd()]),
          ].join('\n'),
        )
        // A request still PENDING (the CA is down) is not a failure yet; a REJECTED one is.
        return outcome.requests.some((r) => r.life_cycle_state === 'REJECTED') ? 1 : 0
      })(),
    )
}

/**
 * The client commands of `conax-adapter` (runs, communications, reset-subscription, utility),
 * writing to `io` and reading the environment of `io.env`; `onExit` receives the exit code.
 */
export function buildClientCommand(
  io: CliIo,
  runtime: CliRuntime,
  onExit: (code: number) => void,
): Command {
  const program = useIo(withVersion(new Command('conax-adapter')), io)
    .description('Talks to a running conax-adapter over its HTTP API.')
    .addOption(envOption('--url <url>', 'the running adapter', 'CONAX_ADAPTER_URL', DEFAULT_URL))
    .addOption(
      envOption(
        '--token <token>',
        "the adapter's API token (printed by the adapter at start)",
        'CONAX_ADAPTER_API_TOKEN',
      ),
    )
    .option('--json', 'print the JSON the API answers instead of text')
    .exitOverride()
    .showHelpAfterError()
    // Inherited by every subcommand: their help lists --url and --json too.
    .configureHelp({ showGlobalOptions: true })
  const act = (action: Action) => async (): Promise<void> => {
    applyEnv(program, io.env)
    const options = program.opts<GlobalOptions>()
    const client = new AdapterClient(options.url, options.token)
    onExit(await action(client, printer(client, { io, json: options.json === true, runtime })))
  }
  addRunCommands(
    program.command('runs').description('batch runs: define, preview, start, watch, stop, resume'),
    act,
  )
  addOtherCommands(program, act)
  return program
}

/**
 * Runs a client command on `argv` (node, script, ...), writing to `io`; resolves with the exit
 * code (2: unusable input or 4xx, 1: connection or run failure, 130: a watch stopped by SIGINT).
 */
export async function runClientCli(
  argv: readonly string[],
  io: CliIo = processIo(),
  runtime: CliRuntime = processRuntime(),
): Promise<number> {
  let exitCode = 0
  const program = buildClientCommand(io, runtime, (code) => (exitCode = code))
  try {
    await program.parseAsync(argv)
    return exitCode
  } catch (error) {
    if (error instanceof CommanderError) {
      return error.code === 'commander.helpDisplayed' || error.code === 'commander.version' ? 0 : 2
    }
    if (error instanceof CliFailure) {
      writeLine(io.stderr, errorLine('conax-adapter', error))
      return error.exitCode
    }
    throw error
  }
}
