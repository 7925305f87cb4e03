import { performance } from 'node:perf_hooks'
import { parseArgs } from 'node:util'
import { readXml, type XmlLimits } from '../src/soap/xml-input.js'

/**
 * `npm run bench:parse`: how long the SOAP body reader takes to refuse hostile documents (the
 * timing bounds the unit tests used to assert, which a loaded machine made flaky). Each document
 * is read `--iterations` times (default 20); the table shows the median and the slowest read, and
 * the exit code is 1 when a slowest read is over its budget or a document was not refused as
 * expected. Last line: one JSON object with every figure.
 */

/** The simulator's default limits (create-simulator.ts). */
const LIMITS: XmlLimits = { maxDepth: 32, maxElements: 20_000 }
const BUDGET_MS = 1000

interface Case {
  readonly name: string
  readonly body: Buffer
  readonly expected: 'OK' | 'PARSE' | 'DOCTYPE' | 'LIMIT'
}

function billionLaughs(): string {
  const entities = Array.from(
    { length: 9 },
    (_, i) => ` <!ENTITY lol${i + 1} "${`&lol${i === 0 ? '' : i};`.repeat(10)}">`,
  )
  return ['<?xml version="1.0"?>', '<!DOCTYPE lolz [', ' <!ENTITY lol "lol">', ...entities]
    .concat([']>', '<lolz>&lol9;</lolz>'])
    .join('\n')
}

function cases(): Case[] {
  const utf8 = (text: string): Buffer => Buffer.from(text, 'utf8')
  return [
    { name: 'billion laughs', body: utf8(billionLaughs()), expected: 'DOCTYPE' },
    {
      name: 'external entity (XXE)',
      body: utf8('<!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]><a>&x;</a>'),
      expected: 'DOCTYPE',
    },
    {
      name: '100,000-deep nesting',
      body: utf8('<a>'.repeat(100_000) + '</a>'.repeat(100_000)),
      expected: 'LIMIT',
    },
    {
      name: '1 MiB of empty elements',
      body: utf8(`<a>${'<b/>'.repeat(262_143)}</a>`),
      expected: 'LIMIT',
    },
    {
      name: '1 MiB text value',
      body: utf8(`<a>${'x'.repeat(1024 * 1024 - 7)}</a>`),
      expected: 'OK',
    },
    {
      name: '1 MiB unclosed attribute',
      body: utf8(`<a b="${'x'.repeat(1024 * 1024 - 6)}`),
      expected: 'PARSE',
    },
  ]
}

interface Figures {
  readonly name: string
  readonly bytes: number
  readonly kind: string
  readonly expected: string
  readonly medianMs: number
  readonly maxMs: number
  readonly pass: boolean
}

function measure(item: Case, iterations: number): Figures {
  const times: number[] = []
  let kind = ''
  for (let i = 0; i < iterations; i++) {
    const started = performance.now()
    const result = readXml(item.body, 'text/xml; charset=utf-8', LIMITS)
    times.push(performance.now() - started)
    kind = result.ok ? 'OK' : result.kind
  }
  times.sort((a, b) => a - b)
  const medianMs = times[Math.floor(times.length / 2)] ?? 0
  const maxMs = times.at(-1) ?? 0
  return {
    name: item.name,
    bytes: item.body.length,
    kind,
    expected: item.expected,
    medianMs,
    maxMs,
    pass: kind === item.expected && maxMs < BUDGET_MS,
  }
}

function main(): void {
  const { values } = parseArgs({ options: { iterations: { type: 'string' } }, strict: true })
  const iterations = Number(values.iterations ?? 20)
  if (!Number.isInteger(iterations) || iterations < 1) {
    throw new Error(`--iterations must be a positive whole number, not '${values.iterations}'.`)
  }
  const all = cases().map((item) => measure(item, iterations))
  console.log(
    `SOAP body reader, ${iterations} reads per document, budget ${BUDGET_MS} ms for the slowest`,
  )
  console.log(
    `${'document'.padEnd(26)}${'bytes'.padStart(9)}  ${'result'.padEnd(8)}${'median ms'.padStart(10)}${'max ms'.padStart(9)}  verdict`,
  )
  for (const f of all) {
    const result = f.kind === f.expected ? f.kind : `${f.kind} (expected ${f.expected})`
    console.log(
      `${f.name.padEnd(26)}${String(f.bytes).padStart(9)}  ${result.padEnd(8)}` +
        `${f.medianMs.toFixed(3).padStart(10)}${f.maxMs.toFixed(3).padStart(9)}  ${f.pass ? 'PASS' : 'FAIL'}`,
    )
  }
  console.log(JSON.stringify({ bench: 'parse', node: process.version, iterations, results: all }))
  process.exitCode = all.every((f) => f.pass) ? 0 : 1
}

try {
  main()
} catch (error) {
  console.error('bench:parse FAILED:', error instanceof Error ? error.message : error)
  process.exitCode = 1
}
