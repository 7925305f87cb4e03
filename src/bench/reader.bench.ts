import { existsSync } from 'node:fs'
import { availableParallelism, loadavg } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { parseArgs } from 'node:util'
import type { CaReader } from '../application/runs/run-ports.js'
import type { ObservedCard } from '../domain/runs.js'
import { createConaxClient, type ConaxClientOptions } from '../infrastructure/conax/conax-client.js'
import {
  createFastCaReader,
  readAnswer,
  type ReadOperation,
  type WireAnswer,
} from '../infrastructure/conax/fast-reader.js'
import { gatewayCaReader } from '../infrastructure/conax/gateway-reader.js'
import { SimulatorChild } from './simulator-child.js'
import { benchMain, positiveInteger } from './bench-main.js'

/**
 * `npm run bench:reader`: how fast the reset run can read the CA. The built simulator CLI runs in a
 * child process (in-memory store) with N cards whose state is set up over SOAP: every card has
 * GFA1 on Main, even cards EFA2 on TWIN1, every third AF1 without distributor; three cards in four
 * are paired with their STB. Then every card is read with the fast reader (both queries per card,
 * `--concurrency` cards in flight), and the first `--gateway-cards` with the gateway reader (over
 * the Conax client), each result checked against that pattern. Last, the answers of the first 12
 * cards are read again and again in process, without the network (`readAnswer`), whole and in
 * 64-byte chunks: the reader's own cost per answer, a steadier figure than the end-to-end one on a busy
 * machine. With `--compare <file>` (another build's dist/src/infrastructure/conax/fast-reader.js),
 * this reader and that one first read in alternating rounds in this process, against the same
 * simulator: on a shared machine, the fair way to tell two builds apart. Prints a table and, last,
 * one JSON line; exits 1 when a card reads wrong.
 *
 * Flags: --cards <n> (20000), --gateway-cards <n> (2000), --concurrency <n> (64),
 * --max-sockets <n> (64), --warmup <n> (1000 cards read first, not measured), --compare <file>,
 * --rounds <n> (10 rounds of up to 2000 cards each reader, for --compare).
 */

interface BenchOptions {
  readonly cards: number
  readonly gatewayCards: number
  readonly concurrency: number
  readonly maxSockets: number
  readonly warmup: number
  readonly compare: string | null
  readonly rounds: number
}

interface ReadFigures {
  readonly reader: string
  readonly cards: number
  readonly calls: number
  readonly ms: number
  readonly callsPerSec: number
  readonly cardsPerSec: number
  /** readCard latency (both queries, in parallel), ms. */
  readonly p50Ms: number
  readonly p99Ms: number
  readonly maxMs: number
  readonly cpuMs: number
  readonly simCpuMs: number
  /** CPU per call: the stable figure when other processes share the machine. */
  readonly readerCpuUsPerCall: number
  readonly simCpuUsPerCall: number
  /** The machine's 1-minute load average (the higher of before and after). */
  readonly loadAverage: number
  readonly wrong: readonly string[]
  readonly wrongCount: number
}

interface ParseFigures {
  /** null: each answer read as one chunk. */
  readonly chunkBytes: number | null
  readonly answers: number
  /** The best of the repeats, in CPU and in wall-clock time. */
  readonly cpuUsPerAnswer: number
  readonly wallUsPerAnswer: number
}

/** Target of the reset run: 200,000 cards (400,000 calls) in under 60 s. */
const TARGET_CARDS = 200_000
const TARGET_SECONDS = 60
const SETUP_BATCH = 500
const SETUP_CONCURRENCY = 32
/** Answers read per repeat of the in-process phase, and how many repeats (the best one counts). */
const PARSE_ANSWERS = 96_000
const PARSE_REPEATS = 5
const PARSE_CHUNK_BYTES = 64
/** Cards 1..12 cover every combination of the pattern (products by n mod 2 and 3, pairing mod 4). */
const PARSE_SAMPLE_CARDS = 12

const cardId = (n: number): string => `6${String(n).padStart(10, '0')}`
const stbId = (n: number): string => `9${String(n).padStart(9, '0')}`

function expectedCard(n: number): ObservedCard {
  return {
    known: true,
    products: [
      { productId: 'GFA1', distributor: 'Main' },
      ...(n % 2 === 0 ? [{ productId: 'EFA2', distributor: 'TWIN1' }] : []),
      ...(n % 3 === 0 ? [{ productId: 'AF1', distributor: null }] : []),
    ],
    pairedStbs: n % 4 === 0 ? [] : [stbId(n)],
  }
}

function readOptions(): BenchOptions {
  const { values } = parseArgs({
    options: {
      cards: { type: 'string' },
      'gateway-cards': { type: 'string' },
      concurrency: { type: 'string' },
      'max-sockets': { type: 'string' },
      warmup: { type: 'string' },
      compare: { type: 'string' },
      rounds: { type: 'string' },
    },
    strict: true,
  })
  const cards = positiveInteger('cards', values.cards, 20_000)
  return {
    cards,
    gatewayCards: Math.min(cards, positiveInteger('gateway-cards', values['gateway-cards'], 2000)),
    concurrency: positiveInteger('concurrency', values.concurrency, 64),
    maxSockets: positiveInteger('max-sockets', values['max-sockets'], 64),
    warmup: Math.min(cards, positiveInteger('warmup', values.warmup, 1000)),
    compare: values.compare ?? null,
    rounds: positiveInteger('rounds', values.rounds, 10),
  }
}

/** The package root: the first folder up from this file that holds bin/conax-sim.js. */
function packageRoot(): string {
  let dir = import.meta.dirname
  while (!existsSync(join(dir, 'bin', 'conax-sim.js'))) {
    const parent = dirname(dir)
    if (parent === dir) {
      throw new Error(`No bin/conax-sim.js above ${import.meta.dirname}.`)
    }
    dir = parent
  }
  return dir
}

/** Runs `task(i)` for i in 0..count-1, at most `concurrency` at once. */
async function pool(
  count: number,
  concurrency: number,
  task: (i: number) => Promise<void>,
): Promise<void> {
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < count) {
      await task(next++)
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker))
}

const SOAP_ENV = 'http://schemas.xmlsoap.org/soap/envelope/'

async function soap(
  connection: ConaxClientOptions,
  service: string,
  operation: string,
  children: string,
): Promise<void> {
  const ns = `http://www.conax.com/cas/xsd/${service}/v1`
  const body = `<?xml version="1.0" encoding="UTF-8"?><s:Envelope xmlns:s="${SOAP_ENV}" xmlns:c="${ns}"><s:Body><c:${operation}><${operation}Request>${children}</${operation}Request></c:${operation}></s:Body></s:Envelope>`
  const auth = Buffer.from(`${connection.username}:${connection.password}`).toString('base64')
  const response = await fetch(`${connection.endpoint}/${service}`, {
    method: 'POST',
    headers: { 'Content-Type': 'text/xml; charset=utf-8', Authorization: `Basic ${auth}` },
    body,
  })
  const text = await response.text()
  if (response.status !== 200 || !text.includes('<StatusCode>OK</StatusCode>')) {
    throw new Error(
      `${operation} failed during set-up: HTTP ${response.status} ${text.slice(0, 300)}`,
    )
  }
}

/** Products in batches of AddSubscriptions, then one CreatePairing per paired card. */
async function setUpState(connection: ConaxClientOptions, cards: number): Promise<void> {
  const items: string[] = []
  for (let n = 1; n <= cards; n++) {
    for (const product of expectedCard(n).products) {
      const distributor = product.distributor
        ? `<Distributor>${product.distributor}</Distributor>`
        : ''
      items.push(
        `<Subscription><CaClientId>${cardId(n)}</CaClientId><ProductId>${product.productId}</ProductId>${distributor}</Subscription>`,
      )
    }
  }
  const batches = Math.ceil(items.length / SETUP_BATCH)
  await pool(batches, SETUP_CONCURRENCY, async (b) => {
    const batch = items.slice(b * SETUP_BATCH, (b + 1) * SETUP_BATCH).join('')
    await soap(
      connection,
      'subscription',
      'AddSubscriptions',
      `<Subscriptions>${batch}</Subscriptions>`,
    )
  })
  const paired = Array.from({ length: cards }, (_, i) => i + 1).filter((n) => n % 4 !== 0)
  await pool(paired.length, SETUP_CONCURRENCY, async (i) => {
    const n = paired[i] ?? 1
    await soap(
      connection,
      'pairing',
      'CreatePairing',
      `<CaClientIds><CaClientId>${cardId(n)}</CaClientId></CaClientIds><PairingModuleIds><PairingModuleId>${stbId(n)}</PairingModuleId></PairingModuleIds><Distributor>Main</Distributor>`,
    )
  })
}

/** A card as JSON with its products in productId order (the CA's order carries no meaning). */
function canonical(card: ObservedCard): string {
  const products = [...card.products].sort((a, b) => a.productId.localeCompare(b.productId))
  return JSON.stringify({ ...card, products })
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? Number.NaN
}

/** Reads cards 1..count (after `warmup` unmeasured reads) and checks each against the pattern. */
async function measure(
  name: string,
  reader: CaReader,
  count: number,
  options: BenchOptions,
  sim: SimulatorChild,
): Promise<ReadFigures> {
  await pool(Math.min(options.warmup, count), options.concurrency, async (i) => {
    await reader.readCard(cardId(i + 1))
  })
  const latencies = new Float64Array(count)
  const observed: ObservedCard[] = new Array<ObservedCard>(count)
  const load = loadavg()[0] ?? 0
  const cpuStart = process.cpuUsage()
  const simCpuStart = sim.cpuMs()
  const started = performance.now()
  await pool(count, options.concurrency, async (i) => {
    const begun = performance.now()
    observed[i] = await reader.readCard(cardId(i + 1))
    latencies[i] = performance.now() - begun
  })
  const ms = performance.now() - started
  const cpu = process.cpuUsage(cpuStart)
  const simCpuMs = sim.cpuMs() - simCpuStart
  // Checked after the clock stopped, so that the reader's CPU figure is the reader's own.
  const wrong: string[] = []
  let wrongCount = 0
  for (const [i, card] of observed.entries()) {
    const expected = canonical(expectedCard(i + 1))
    if (canonical(card) !== expected) {
      wrongCount++
      if (wrong.length < 10) {
        wrong.push(`card ${cardId(i + 1)}: read ${canonical(card)}, expected ${expected}`)
      }
    }
  }
  const sorted = Array.from(latencies).sort((a, b) => a - b)
  const cpuMs = (cpu.user + cpu.system) / 1000
  return {
    reader: name,
    cards: count,
    calls: count * 2,
    ms,
    callsPerSec: (count * 2 * 1000) / ms,
    cardsPerSec: (count * 1000) / ms,
    p50Ms: percentile(sorted, 50),
    p99Ms: percentile(sorted, 99),
    maxMs: sorted[sorted.length - 1] ?? Number.NaN,
    cpuMs,
    simCpuMs,
    readerCpuUsPerCall: (cpuMs * 1000) / (count * 2),
    simCpuUsPerCall: (simCpuMs * 1000) / (count * 2),
    loadAverage: Math.max(load, loadavg()[0] ?? 0),
    wrong,
    wrongCount,
  }
}

interface SampleAnswer {
  readonly n: number
  readonly operation: ReadOperation
  readonly status: number
  readonly contentType: string
  readonly body: Buffer
}

/** The raw answers of both queries for cards 1..PARSE_SAMPLE_CARDS, as the CA sent them. */
async function sampleAnswers(connection: ConaxClientOptions): Promise<SampleAnswer[]> {
  const auth = Buffer.from(`${connection.username}:${connection.password}`).toString('base64')
  const samples: SampleAnswer[] = []
  for (let n = 1; n <= PARSE_SAMPLE_CARDS; n++) {
    for (const [service, operation] of [
      ['subscription', 'GetActiveSubscriptions'],
      ['pairing', 'GetPairingStatusForCard'],
    ] as const) {
      const ns = `http://www.conax.com/cas/xsd/${service}/v1`
      const response = await fetch(`${connection.endpoint}/${service}`, {
        method: 'POST',
        headers: { 'Content-Type': 'text/xml; charset=utf-8', Authorization: `Basic ${auth}` },
        body: `<?xml version="1.0" encoding="UTF-8"?><s:Envelope xmlns:s="${SOAP_ENV}" xmlns:c="${ns}"><s:Body><c:${operation}><${operation}Request><CaClientId>${cardId(n)}</CaClientId></${operation}Request></c:${operation}></s:Body></s:Envelope>`,
      })
      samples.push({
        n,
        operation,
        status: response.status,
        contentType: response.headers.get('content-type') ?? '',
        body: Buffer.from(await response.arrayBuffer()),
      })
    }
  }
  return samples
}

function chunked(body: Buffer, size: number | null): Buffer[] {
  if (size === null) {
    return [body]
  }
  const chunks: Buffer[] = []
  for (let at = 0; at < body.length; at += size) {
    chunks.push(body.subarray(at, at + size))
  }
  return chunks
}

/** What `readAnswer` made of a sample, or null when it is what the pattern says. */
function wrongReading(sample: SampleAnswer, chunkBytes: number | null): string | null {
  const answer = { ...sample, chunks: chunked(sample.body, chunkBytes) }
  const reading = readAnswer(sample.operation, answer)
  const expected = expectedCard(sample.n)
  const want =
    sample.operation === 'GetActiveSubscriptions' ? expected.products : expected.pairedStbs
  const got = 'value' in reading ? reading.value : reading.failure
  const sorted = (value: unknown): string =>
    JSON.stringify(
      Array.isArray(value)
        ? [...(value as unknown[])].sort((a, b) =>
            JSON.stringify(a).localeCompare(JSON.stringify(b)),
          )
        : value,
    )
  return sorted(got) === sorted(want)
    ? null
    : `card ${cardId(sample.n)} ${sample.operation} in ${chunkBytes ?? 'one'}-byte chunks: read ${sorted(got)}, expected ${sorted(want)}`
}

/** The reader's own cost: answers read in process, best of PARSE_REPEATS repeats. */
function timeReading(
  samples: readonly SampleAnswer[],
  chunkBytes: number | null,
  read: typeof readAnswer = readAnswer,
): ParseFigures {
  const inputs: { operation: ReadOperation; answer: WireAnswer }[] = samples.map((sample) => ({
    operation: sample.operation,
    answer: { ...sample, chunks: chunked(sample.body, chunkBytes) },
  }))
  const rounds = Math.ceil(PARSE_ANSWERS / inputs.length)
  let cpuBest = Number.POSITIVE_INFINITY
  let wallBest = Number.POSITIVE_INFINITY
  let failures = 0
  for (let repeat = 0; repeat < PARSE_REPEATS; repeat++) {
    const cpuStart = process.cpuUsage()
    const started = performance.now()
    for (let round = 0; round < rounds; round++) {
      for (const input of inputs) {
        // Counted so that the reading cannot be optimised away.
        failures += 'failure' in read(input.operation, input.answer) ? 1 : 0
      }
    }
    const wall = performance.now() - started
    const cpu = process.cpuUsage(cpuStart)
    cpuBest = Math.min(cpuBest, (cpu.user + cpu.system) / (rounds * inputs.length))
    wallBest = Math.min(wallBest, (wall * 1000) / (rounds * inputs.length))
  }
  if (failures > 0) {
    throw new Error(`${failures} sample answers failed to read while timing.`)
  }
  return {
    chunkBytes,
    answers: rounds * inputs.length,
    cpuUsPerAnswer: cpuBest,
    wallUsPerAnswer: wallBest,
  }
}

/** Reads `count` cards from the `first`; its CPU per call, and the cards read wrong. */
async function timedRound(
  reader: CaReader | undefined,
  first: number,
  count: number,
  options: BenchOptions,
): Promise<{ readonly cpuUsPerCall: number; readonly wrong: readonly string[] }> {
  if (!reader) {
    throw new Error('No reader to time.')
  }
  const n = (i: number): number => ((first + i) % options.cards) + 1
  const observed: ObservedCard[] = new Array<ObservedCard>(count)
  const cpuStart = process.cpuUsage()
  await pool(count, options.concurrency, async (i) => {
    observed[i] = await reader.readCard(cardId(n(i)))
  })
  const cpu = process.cpuUsage(cpuStart)
  const wrong = observed
    .map((card, i) => [card, n(i)] as const)
    .filter(([card, number]) => canonical(card) !== canonical(expectedCard(number)))
    .map(([card, number]) => `reader read card ${cardId(number)} as ${canonical(card)}`)
  return { cpuUsPerCall: (cpu.user + cpu.system) / (count * 2), wrong: wrong.slice(0, 10) }
}

/** What `--compare` needs of another build of fast-reader.js. */
interface ReaderModule {
  readonly createFastCaReader: typeof createFastCaReader
  readonly readAnswer: typeof readAnswer
}

async function loadReaderModule(file: string): Promise<ReaderModule> {
  const loaded: unknown = await import(pathToFileURL(resolve(file)).href)
  const fields = loaded as Partial<Record<keyof ReaderModule, unknown>>
  if (typeof fields.createFastCaReader !== 'function' || typeof fields.readAnswer !== 'function') {
    throw new Error(
      `--compare ${file}: not a build of fast-reader.js with createFastCaReader and readAnswer (commit 54ab75c or later).`,
    )
  }
  return loaded as ReaderModule
}

interface Comparison {
  readonly against: string
  readonly rounds: number
  readonly cardsPerRound: number
  /** Reader CPU µs per call over the rounds, this build's then the other's. */
  readonly medianCpuUsPerCall: readonly [number, number]
  readonly bestCpuUsPerCall: readonly [number, number]
  /** readAnswer on whole answers, best of the repeats, this build's then the other's. */
  readonly readAnswerCpuUs: readonly [number, number]
  readonly wrong: readonly string[]
}

/**
 * This build's reader and another's, in alternating rounds (the order swapped each round) against
 * the same simulator; cards checked after each round's clock stopped.
 */
async function compareWith(
  file: string,
  connection: ConaxClientOptions,
  samples: readonly SampleAnswer[],
  options: BenchOptions,
): Promise<Comparison> {
  const other = await loadReaderModule(file)
  const readers = [createFastCaReader, other.createFastCaReader].map((create) =>
    create({ ...connection, maxSockets: options.maxSockets }),
  )
  const cardsPerRound = Math.min(options.cards, 2000)
  const figures: [number[], number[]] = [[], []]
  const wrong: string[] = []
  try {
    for (const reader of readers) {
      await pool(Math.min(options.warmup, options.cards), options.concurrency, async (i) => {
        await reader.readCard(cardId(i + 1))
      })
    }
    for (let round = 0; round < options.rounds; round++) {
      for (const side of round % 2 === 0 ? [0, 1] : [1, 0]) {
        const first = (round * cardsPerRound) % options.cards
        const timed = await timedRound(readers[side], first, cardsPerRound, options)
        figures[side === 0 ? 0 : 1].push(timed.cpuUsPerCall)
        wrong.push(
          ...timed.wrong.map((problem) => `${side === 0 ? 'this' : 'the other'} ${problem}`),
        )
      }
    }
  } finally {
    await Promise.all(readers.map((reader) => reader.close()))
  }
  const reads = [readAnswer, other.readAnswer]
  const parseBest: [number, number] = [Number.POSITIVE_INFINITY, Number.POSITIVE_INFINITY]
  for (let turn = 0; turn < 4; turn++) {
    const side = turn % 2
    const read = reads[side] ?? readAnswer
    parseBest[side] = Math.min(
      parseBest[side] ?? 0,
      timeReading(samples, null, read).cpuUsPerAnswer,
    )
  }
  const median = (values: readonly number[]): number =>
    [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? Number.NaN
  return {
    against: file,
    rounds: options.rounds,
    cardsPerRound,
    medianCpuUsPerCall: [median(figures[0]), median(figures[1])],
    bestCpuUsPerCall: [Math.min(...figures[0]), Math.min(...figures[1])],
    readAnswerCpuUs: parseBest,
    wrong,
  }
}

const fix = (value: number, digits = 0): string => value.toFixed(digits)

function printResults(
  options: BenchOptions,
  setupMs: number,
  results: readonly ReadFigures[],
  parsing: readonly ParseFigures[],
  parsingWrong: readonly string[],
  comparison: Comparison | null,
): void {
  console.log('')
  console.log(
    `CA reader benchmark: node ${process.version}, ${availableParallelism()} CPUs shared by the ` +
      `reader and the simulator child; ${options.cards} cards, concurrency ${options.concurrency} ` +
      `cards (2 calls each), maxSockets ${options.maxSockets}; set-up ${fix(setupMs / 1000, 1)} s`,
  )
  const header = [
    'reader',
    'cards',
    'calls/s',
    'p50 ms',
    'p99 ms',
    'max ms',
    'CPU µs/call reader/sim',
    'load',
  ]
  const rows = results.map((r) => [
    r.reader,
    String(r.cards),
    fix(r.callsPerSec),
    fix(r.p50Ms, 1),
    fix(r.p99Ms, 1),
    fix(r.maxMs, 1),
    `${fix(r.readerCpuUsPerCall)} / ${fix(r.simCpuUsPerCall)}`,
    fix(r.loadAverage, 1),
  ])
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]?.length ?? 0)))
  for (const row of [header, ...rows]) {
    console.log(row.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join('  '))
  }
  for (const r of results) {
    const projected = TARGET_CARDS / r.cardsPerSec
    // With a core each, the busier process bounds the rate.
    const ceiling = 1e6 / Math.max(r.readerCpuUsPerCall, r.simCpuUsPerCall)
    console.log(
      `${r.reader}: ${TARGET_CARDS} cards (${TARGET_CARDS * 2} calls) would take ${fix(projected, 1)} s ` +
        `at the measured rate (target ${TARGET_SECONDS} s: ${projected < TARGET_SECONDS ? 'met' : 'missed'}); ` +
        `CPU-bound ceiling with a core each ${fix(ceiling)} calls/s (${fix((TARGET_CARDS * 2) / ceiling, 1)} s)`,
    )
    if (r.wrongCount > 0) {
      console.log(`!! ${r.wrongCount} cards read wrong, e.g.:`)
    }
    for (const problem of r.wrong) {
      console.log(`!! ${problem}`)
    }
  }
  for (const p of parsing) {
    console.log(
      `answers read in process (readAnswer, ${p.chunkBytes === null ? 'whole' : `in ${p.chunkBytes}-byte chunks`}), ` +
        `best of ${PARSE_REPEATS} × ${p.answers}: ${fix(p.cpuUsPerAnswer, 2)} µs CPU, ${fix(p.wallUsPerAnswer, 2)} µs wall an answer`,
    )
  }
  for (const problem of parsingWrong) {
    console.log(`!! ${problem}`)
  }
  if (comparison) {
    const [mine, theirs] = comparison.medianCpuUsPerCall
    console.log(
      `against ${comparison.against}, ${comparison.rounds} alternating rounds of ${comparison.cardsPerRound} cards: ` +
        `reader CPU ${fix(mine, 1)} µs a call (this build) / ${fix(theirs, 1)} µs (the other), median; ` +
        `best ${fix(comparison.bestCpuUsPerCall[0], 1)} / ${fix(comparison.bestCpuUsPerCall[1], 1)}; ` +
        `readAnswer ${fix(comparison.readAnswerCpuUs[0], 2)} / ${fix(comparison.readAnswerCpuUs[1], 2)} µs CPU an answer`,
    )
    for (const problem of comparison.wrong) {
      console.log(`!! ${problem}`)
    }
  }
  console.log(
    JSON.stringify({
      bench: 'reader',
      node: process.version,
      cpus: availableParallelism(),
      options,
      setupMs,
      results,
      parsing,
      comparison,
    }),
  )
}

async function run(options: BenchOptions, sims: SimulatorChild[]): Promise<boolean> {
  const sim = await SimulatorChild.start(join(packageRoot(), 'bin', 'conax-sim.js'), [
    ...['--port', '0', '--log-level', 'silent', '--journal-limit', '1000'],
  ])
  sims.push(sim)
  const connection: ConaxClientOptions = {
    endpoint: `${sim.url}/ca-server/webservices/caclient`,
    username: 'sms',
    password: 'sms',
    timeoutMs: 10_000,
  }
  const numbers = Array.from({ length: options.cards }, (_, i) => i + 1)
  console.error(`registering ${options.cards} cards and STBs, setting up their state ...`)
  const setupStart = performance.now()
  const registered = await sim.admin('/admin/inventory', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({
      smartcards: numbers.map((n) => ({ caClientId: cardId(n) })),
      pairingModules: numbers.map((n) => ({
        pairingModuleId: stbId(n),
        serialNumber: `RB${String(n).padStart(8, '0')}`,
        productCode: 'KSTB5043',
        productDescription: 'Kaon KSTB5043 HD Conax Zapper',
      })),
      products: ['GFA1', 'EFA2', 'AF1'].map((productId) => ({ productId })),
    }),
  })
  if (!registered.ok) {
    throw new Error(`POST /admin/inventory: HTTP ${registered.status} ${await registered.text()}`)
  }
  await setUpState(connection, options.cards)
  const setupMs = performance.now() - setupStart
  const samples = await sampleAnswers(connection)
  // First, so that neither build's code has read anything else yet (the JIT keeps a history).
  let comparison: Comparison | null = null
  if (options.compare !== null) {
    console.error(`reading with this reader and ${options.compare} in alternating rounds ...`)
    comparison = await compareWith(options.compare, connection, samples, options)
  }

  console.error(`reading ${options.cards} cards with the fast reader ...`)
  const fast = createFastCaReader({ ...connection, maxSockets: options.maxSockets })
  const results: ReadFigures[] = []
  try {
    results.push(await measure('fast', fast, options.cards, options, sim))
  } finally {
    await fast.close()
  }
  console.error(
    `reading ${options.gatewayCards} cards with the gateway reader (the Conax client) ...`,
  )
  const client = await createConaxClient(connection)
  try {
    const gateway = gatewayCaReader(client)
    results.push(await measure('gateway', gateway, options.gatewayCards, options, sim))
  } finally {
    await client.close()
  }
  console.error('reading sample answers in process ...')
  const chunkings = [null, PARSE_CHUNK_BYTES]
  const parsingWrong = chunkings.flatMap((size) =>
    samples.map((sample) => wrongReading(sample, size)).filter((problem) => problem !== null),
  )
  const parsing = chunkings.map((size) => timeReading(samples, size))
  printResults(options, setupMs, results, parsing, parsingWrong, comparison)
  return (
    results.every((r) => r.wrongCount === 0) &&
    parsingWrong.length === 0 &&
    (comparison?.wrong.length ?? 0) === 0
  )
}

benchMain('reader', (_dir, sims) => run(readOptions(), sims))
