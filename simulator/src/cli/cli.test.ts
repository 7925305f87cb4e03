import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { describe, expect, it, onTestFinished } from 'vitest'
import { packageRoot } from '../runtime/package-root.js'
import { requestEnvelope } from '../test-support/soap.js'

// These tests run the built CLI (bin/conax-sim.js -> dist/), as `npx conax-sim` does; npm test builds first.
const BIN = join(packageRoot(), 'bin', 'conax-sim.js')
const AUTH = `Basic ${Buffer.from('sms:sms').toString('base64')}`

interface Running {
  readonly child: ChildProcess
  readonly url: string
  readonly exited: Promise<number | null>
}

function startCli(args: string[]): Promise<Running> {
  const child = spawn(process.execPath, [BIN, '--port', '0', '--log-level', 'silent', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  onTestFinished(() => {
    child.kill('SIGKILL')
  })
  return new Promise((resolve, reject) => {
    let stderr = ''
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
    void exited.then((code) => reject(new Error(`conax-sim exited with ${code}: ${stderr}`)))
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      const match = /listening on (http:\/\/\S+)/.exec(line)
      if (match?.[1]) {
        resolve({ child, url: match[1], exited })
      }
    })
  })
}

function runCli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, stdout, stderr })))
}

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'conax-cli-'))
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

async function firstCards(url: string, count: number): Promise<string[]> {
  const res = await fetch(`${url}/admin/cards?limit=${count}`)
  return ((await res.json()) as { ids: string[] }).ids
}

function addSubscription(url: string, card: string, product: string): Promise<Response> {
  return fetch(`${url}/ca-server/webservices/caclient/subscription`, {
    method: 'POST',
    headers: { Authorization: AUTH, 'Content-Type': 'text/xml; charset=utf-8' },
    body: requestEnvelope('subscription', 'AddSubscriptions', {
      Subscriptions: { Subscription: [{ CaClientId: card, ProductId: product }] },
    }),
  })
}

describe('conax-sim CLI', () => {
  it('documents every option in --help', async () => {
    const { code, stdout } = await runCli(['--help'])
    expect(code).toBe(0)
    for (const option of [
      '--port',
      '--host',
      '--data',
      '--users',
      '--fixtures',
      '--log-level',
      '--profile',
    ]) {
      expect(stdout).toContain(option)
    }
  })

  it('refuses bad options with exit code 2 and a message naming the option', async () => {
    const port = await runCli(['--port', 'eighty'])
    expect(port.code).toBe(2)
    expect(port.stderr).toContain('--port must be an integer')
    const users = await runCli(['--users', 'nopassword'])
    expect(users.code).toBe(2)
    expect(users.stderr).toContain('user:password')
  })

  it('starts with fixtures, prints its URLs, serves SOAP and stops cleanly on SIGTERM', async () => {
    const sim = await startCli(['--fixtures', '5'])
    const cards = await firstCards(sim.url, 5)
    expect(cards).toHaveLength(5)
    const res = await addSubscription(sim.url, cards[0] as string, 'GFA1')
    expect(await res.text()).toContain('<StatusCode>OK</StatusCode>')
    sim.child.kill('SIGTERM')
    expect(await sim.exited).toBe(0)
  })

  it('leaves a readable store holding every acknowledged write when killed with SIGKILL mid-write', async () => {
    const file = join(tempDir(), 'sim.json')
    const acknowledged: { card: string; product: string }[] = []
    for (const [round, product] of ['GFA1', 'EFA2', 'AF1'].entries()) {
      const sim = await startCli(['--data', file, '--fixtures', '3000'])
      const cards = await firstCards(sim.url, 300)
      // The kill follows a count of acknowledged writes, not a guess at how long they take, so
      // it lands with the rest of the 300 still in flight however loaded the machine is.
      const killAfter = 40 * (round + 1)
      let answered = 0
      const writes = cards.map(async (card) => {
        const res = await addSubscription(sim.url, card, product).catch(() => null)
        const text = res ? await res.text().catch(() => '') : ''
        if (text.includes('<StatusCode>OK</StatusCode>')) {
          acknowledged.push({ card, product })
          if (++answered === killAfter) {
            sim.child.kill('SIGKILL')
          }
        }
      })
      await Promise.all(writes)
      // Never killed means fewer writes were acknowledged than the kill waited for: fail, not hang.
      sim.child.kill('SIGKILL')
      await sim.exited
      expect(answered).toBeGreaterThanOrEqual(killAfter)
      const stored = JSON.parse(readFileSync(file, 'utf8')) as { format: string }
      expect(stored.format).toBe('conax-sim/1')
    }
    const sim = await startCli(['--data', file])
    for (const { card, product } of acknowledged) {
      const view = (await (await fetch(`${sim.url}/admin/cards/${card}`)).json()) as {
        subscriptions: { productId: string }[]
      }
      expect(view.subscriptions.map((s) => s.productId)).toContain(product)
    }
    const journal = (await (
      await fetch(`${sim.url}/admin/journal?operation=AddSubscriptions`)
    ).json()) as {
      statusCode: string
    }[]
    expect(journal.filter((entry) => entry.statusCode === 'OK').length).toBeGreaterThanOrEqual(
      acknowledged.length,
    )
    expect(acknowledged.length).toBeGreaterThan(0)
  }, 60_000)
})
