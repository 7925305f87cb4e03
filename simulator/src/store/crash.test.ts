import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { describe, expect, it, onTestFinished } from 'vitest'
import { packageRoot } from '../runtime/package-root.js'
import { requestEnvelope } from '../test-support/soap.js'

/**
 * kill -9 during load, many times over one store (docs/decisions/0013): the CLI (the built one,
 * as `npx conax-sim` runs it; npm test builds first) gets writes from a few clients at once and is
 * killed the moment a seeded number of them has been answered OK, with the rest in flight; the
 * log is compacted every few rounds (a small --compact-at), so kills also land in compactions.
 * Every round starts on what the last one left; at the end every write answered OK must be in
 * the CA state and the journal. No clock: each kill follows a count of answers.
 */

const BIN = join(packageRoot(), 'bin', 'conax-sim.js')
const TOKEN = 'crash-test-admin-token-0123456789'
const AUTH = `Basic ${Buffer.from('sms:sms').toString('base64')}`
const PRODUCTS = ['GFA1', 'EFA2', 'RFB1', 'BFB2', 'AF1']
const CARDS = 200
/** Two stores killed in turn, side by side: the rounds of one start while the other's run. */
const LANES = 2
const ROUNDS_PER_LANE = 25
const CLIENTS = 4

interface Running {
  readonly child: ChildProcess
  readonly url: string
  readonly exited: Promise<void>
  readonly stderr: () => string
}

function startCli(file: string): Promise<Running> {
  const child = spawn(
    process.execPath,
    [
      BIN,
      ...['--port', '0', '--log-level', 'silent', '--data', file, '--fixtures', String(CARDS)],
      ...['--compact-at', '12k', '--journal-retain', '24k'],
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, CONTEGO_SIM_ADMIN_TOKEN: TOKEN } },
  )
  onTestFinished(() => {
    child.kill('SIGKILL')
  })
  let stderr = ''
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()))
  return new Promise((resolve, reject) => {
    void exited.then(() => reject(new Error(`conax-sim exited before it was ready: ${stderr}`)))
    let url = ''
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      url = /listening on (http:\/\/\S+)/.exec(line)?.[1] ?? url
      if (line.includes('Store: snapshot')) {
        resolve({ child, url, exited, stderr: () => stderr })
      }
    })
  })
}

const admin = (url: string, path: string) =>
  fetch(`${url}${path}`, { headers: { Authorization: `Bearer ${TOKEN}` } })

/** A small seeded random number generator (mulberry32). */
function seeded(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

interface Acknowledged {
  readonly card: string
  readonly product: string
  readonly transactionId: string
}

/** One AddSubscriptions; the TransactionId when it was answered OK, else null (killed, refused). */
async function add(url: string, card: string, product: string): Promise<string | null> {
  try {
    const res = await fetch(`${url}/ca-server/webservices/caclient/subscription`, {
      method: 'POST',
      headers: { Authorization: AUTH, 'Content-Type': 'text/xml; charset=utf-8' },
      body: requestEnvelope('subscription', 'AddSubscriptions', {
        Subscriptions: { Subscription: [{ CaClientId: card, ProductId: product }] },
      }),
    })
    const text = await res.text()
    return text.includes('<StatusCode>OK</StatusCode>')
      ? (/<TransactionId>([^<]+)<\/TransactionId>/.exec(text)?.[1] ?? null)
      : null
  } catch {
    return null
  }
}

/** One lane: rounds of start, load, kill -9 on one store. */
async function lane(
  seed: number,
  acknowledged: Acknowledged[],
  warnings: string[],
): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'conax-crash-'))
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }))
  const file = join(dir, 'sim.json')
  const random = seeded(seed)
  // Each (card, product) is added once, so an acknowledged one must be there in the end.
  const pairs: [string, string][] = []
  let cards: string[] = []
  for (let round = 0; round < ROUNDS_PER_LANE; round++) {
    const sim = await startCli(file)
    if (cards.length === 0) {
      cards = (
        (await (await admin(sim.url, `/admin/cards?limit=${CARDS}`)).json()) as {
          ids: string[]
        }
      ).ids
      for (const product of PRODUCTS) {
        pairs.push(...cards.map((card): [string, string] => [card, product]))
      }
    }
    const killAfter = 1 + Math.floor(random() * 12)
    let answered = 0
    let killed = false
    const client = async (): Promise<void> => {
      while (!killed) {
        const [card, product] = pairs.splice(Math.floor(random() * pairs.length), 1)[0] ?? []
        if (card === undefined || product === undefined) {
          return
        }
        const transactionId = await add(sim.url, card, product)
        if (transactionId !== null) {
          acknowledged.push({ card, product, transactionId })
          if (++answered === killAfter) {
            killed = true
            sim.child.kill('SIGKILL')
          }
        }
      }
    }
    await Promise.all(Array.from({ length: CLIENTS }, client))
    // Never killed means fewer writes were answered OK than the kill waited for: fail, not hang.
    sim.child.kill('SIGKILL')
    await sim.exited
    warnings.push(
      ...sim
        .stderr()
        .split('\n')
        .filter((line) => line.includes('warning')),
    )
    expect(answered, `round ${round} of lane ${seed}: ${sim.stderr()}`).toBeGreaterThanOrEqual(
      killAfter,
    )
  }
  return file
}

describe('kill -9 at random points during load', () => {
  it('loses no acknowledged write and never fails to start (50 rounds)', async () => {
    const acknowledged: Acknowledged[][] = Array.from({ length: LANES }, () => [])
    const warnings: string[] = []
    const files = await Promise.all(acknowledged.map((list, i) => lane(1200 + i, list, warnings)))

    for (const [i, file] of files.entries()) {
      const sim = await startCli(file)
      const journal = (await (
        await admin(sim.url, '/admin/journal?after=0&limit=10000')
      ).json()) as {
        transactionId: string | null
        statusCode: string
      }[]
      const okIds = new Set(
        journal.filter((e) => e.statusCode === 'OK').map((e) => e.transactionId),
      )
      const missing: string[] = []
      for (const { card, product, transactionId } of acknowledged[i] ?? []) {
        const view = (await (await admin(sim.url, `/admin/cards/${card}`)).json()) as {
          subscriptions: { productId: string }[]
        }
        if (!view.subscriptions.some((s) => s.productId === product)) {
          missing.push(`${card} ${product} (state)`)
        }
        if (!okIds.has(transactionId)) {
          missing.push(`${card} ${product} ${transactionId} (journal)`)
        }
      }
      expect(missing).toEqual([])
      expect(acknowledged[i]?.length).toBeGreaterThan(ROUNDS_PER_LANE)
      sim.child.kill('SIGKILL')
    }
    // A start that repaired a torn tail said so, naming the bytes it dropped.
    for (const line of warnings) {
      expect(line).toMatch(
        /^conax-sim: warning: dropped bytes \d+ to \d+ \(\d+ bytes\) at the end of /,
      )
    }
  }, 120_000)
})
