import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createServer } from 'node:net'
import { createInterface } from 'node:readline'
import { describe, expect, it, onTestFinished } from 'vitest'
import { SIM_BIN as BIN, serveSim, simCli, type ServingSim } from '../test-support/sim-cli.js'
import { requestEnvelope } from '../test-support/soap.js'

// `conax-sim` through its main function in process (captured output, an environment of the
// test's own, SIGTERM sent by the test); the last block runs the built launcher in a child process
// for what only a real process shows: a real signal, and a SIGKILL in the middle of writes.

const AUTH = `Basic ${Buffer.from('sms:sms').toString('base64')}`

/** A simulator served by the CLI in process: its URL and admin token, read from what it printed. */
interface Served {
  readonly cli: ServingSim
  readonly url: string
  readonly token: string
}

async function serve(args: string[], env: Record<string, string> = {}): Promise<Served> {
  const cli = serveSim(['--port', '0', '--log-level', 'silent', ...args], env)
  onTestFinished(async () => {
    await cli.stop()
  })
  const [, url] = await cli.printed(/listening on (http:\/\/\S+)/)
  const [line] = await cli.printed(/Admin token.*\n/)
  const token = /Admin token \(generated\): (\S+)/.exec(line)?.[1] ?? env.CONTEGO_SIM_ADMIN_TOKEN
  return { cli, url: url as string, token: token ?? '' }
}

interface Running {
  readonly child: ChildProcess
  readonly url: string
  /** The admin token the CLI printed (generated at start). */
  readonly token: string
  readonly exited: Promise<number | null>
}

/** This process's environment without an admin token, so the CLI generates one. */
function withoutToken(): NodeJS.ProcessEnv {
  const env = { ...process.env }
  delete env.CONTEGO_SIM_ADMIN_TOKEN
  return env
}

function startCli(args: string[], env: Record<string, string> = {}): Promise<Running> {
  const child = spawn(process.execPath, [BIN, '--port', '0', '--log-level', 'silent', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...withoutToken(), ...env },
  })
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  onTestFinished(() => {
    child.kill('SIGKILL')
  })
  return new Promise((resolve, reject) => {
    let stderr = ''
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
    void exited.then((code) => reject(new Error(`conax-sim exited with ${code}: ${stderr}`)))
    let url = ''
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      url = /listening on (http:\/\/\S+)/.exec(line)?.[1] ?? url
      const token =
        /Admin token \(generated\): (\S+)/.exec(line)?.[1] ?? env.CONTEGO_SIM_ADMIN_TOKEN
      if (/Admin token/.test(line) && token) {
        resolve({ child, url, token, exited })
      }
    })
  })
}

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'conax-cli-'))
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

const bearer = (sim: { readonly token: string }): Record<string, string> => ({
  Authorization: `Bearer ${sim.token}`,
})

async function firstCards(
  sim: { readonly url: string; readonly token: string },
  count: number,
): Promise<string[]> {
  const res = await fetch(`${sim.url}/admin/cards?limit=${count}`, { headers: bearer(sim) })
  return ((await res.json()) as { ids: string[] }).ids
}

function addSubscription(
  url: string,
  card: string,
  product: string,
  sequenceNumber?: number,
): Promise<Response> {
  return fetch(`${url}/ca-server/webservices/caclient/subscription`, {
    method: 'POST',
    headers: { Authorization: AUTH, 'Content-Type': 'text/xml; charset=utf-8' },
    body: requestEnvelope('subscription', 'AddSubscriptions', {
      Subscriptions: { Subscription: [{ CaClientId: card, ProductId: product }] },
      ...(sequenceNumber === undefined ? {} : { SequenceNumber: sequenceNumber }),
    }),
  })
}

describe('conax-sim CLI', () => {
  it('documents every option in --help', async () => {
    const { code, stdout } = await simCli(['--help'])
    const help = stdout.replace(/\s+/g, ' ')
    expect(code).toBe(0)
    for (const option of [
      '--port',
      '--host',
      '--data',
      '--fsync',
      '--compact-at',
      '--journal-retain',
      '--users',
      '--fixtures',
      '--log-level',
      '--profile',
      'env: CONTEGO_SIM_PORT',
    ]) {
      expect(help).toContain(option)
    }
  })

  it('refuses bad options with exit code 2 and a message naming the option', async () => {
    const port = await simCli(['--port', 'eighty'])
    expect(port.code).toBe(2)
    expect(port.stderr).toContain('--port must be an integer')
    const users = await simCli(['--users', 'nopassword'])
    expect(users.code).toBe(2)
    expect(users.stderr).toContain('user:password')
    const fromEnv = await simCli([], { CONTEGO_SIM_PORT: 'eighty' })
    expect(fromEnv.code).toBe(2)
    expect(fromEnv.stderr).toContain("from env 'CONTEGO_SIM_PORT' is invalid")
  })

  it('prints the generated admin token once, keeps it out of the request log, and the admin API needs it', async () => {
    const sim = await serve(['--fixtures', '1', '--log-level', 'info'])
    expect(sim.token).toMatch(/^[A-Za-z0-9_-]{43}$/)
    const without = await fetch(`${sim.url}/admin/cards`)
    expect(without.status).toBe(401)
    expect(((await without.json()) as { error: { code: string } }).error.code).toBe('UNAUTHORIZED')
    expect((await fetch(`${sim.url}/admin/cards`, { headers: bearer(sim) })).status).toBe(200)
    expect(await sim.cli.stop()).toBe(0)
    const lines = sim.cli.io.out().split('\n')
    // The request log was on: it logged the two admin requests, without the token.
    expect(lines.filter((line) => line.includes('/admin/cards')).length).toBeGreaterThanOrEqual(2)
    expect(lines.filter((line) => line.includes(sim.token))).toEqual([
      expect.stringContaining('Admin token (generated)'),
    ])
  })

  it('takes the port and the token from its environment, and does not print the token', async () => {
    const token = 'cli-test-token-0123456789'
    const sim = await serve(['--fixtures', '1'], { CONTEGO_SIM_ADMIN_TOKEN: token })
    expect(sim.token).toBe(token)
    expect(sim.cli.io.out()).not.toContain(token)
    expect((await fetch(`${sim.url}/admin/cards`, { headers: bearer(sim) })).status).toBe(200)
    const taken = createServer()
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve))
    onTestFinished(() => {
      taken.close()
    })
    const port = String((taken.address() as { port: number }).port)
    const { code, stderr } = await simCli(['--log-level', 'silent'], { CONTEGO_SIM_PORT: port })
    expect(code).toBe(2)
    expect(stderr).toContain(`port ${port} is already in use`)
  })

  it('refuses to listen on a non-loopback host without a configured token, exit code 2', async () => {
    const { code, stdout, stderr } = await simCli(['--host', '0.0.0.0', '--port', '0'])
    expect(code).toBe(2)
    expect(stdout).toBe('')
    expect(stderr).toMatch(
      /^conax-sim: INSECURE_BIND: Refusing to listen on 0\.0\.0\.0 without a configured admin token: .*Set CONTEGO_SIM_ADMIN_TOKEN .*--tls-cert.*or listen on 127\.0\.0\.1\.\n$/,
    )
  })

  it('says PORT_IN_USE, naming the port, with exit code 2 when the port is taken', async () => {
    const taken = createServer()
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve))
    onTestFinished(() => {
      taken.close()
    })
    const port = (taken.address() as { port: number }).port
    const { code, stderr } = await simCli(['--port', String(port)])
    expect(code).toBe(2)
    expect(stderr).toBe(
      `conax-sim: PORT_IN_USE: Failed to listen on 127.0.0.1:${port}: port ${port} is already in use (another instance or another program holds it). Choose another --port, or --port 0 to pick a free one.\n`,
    )
  })

  it('takes the reusedSequenceNumber and stbOwnership rules from a --profile file', async () => {
    const profile = join(tempDir(), 'profile.json')
    writeFileSync(
      profile,
      JSON.stringify({ rules: { reusedSequenceNumber: 'SYSTEM_ERROR', stbOwnership: 'off' } }),
    )
    const sim = await serve(['--fixtures', '2', '--profile', profile])
    const [card] = await firstCards(sim, 1)
    const first = await addSubscription(sim.url, card as string, 'GFA1', 5)
    const reused = await addSubscription(sim.url, card as string, 'EFA2', 5)

    expect(await first.text()).toContain('<StatusCode>OK</StatusCode>')
    const text = await reused.text()
    expect(text).toContain('<StatusCode>SYSTEM_ERROR</StatusCode>')
    expect(text).toContain('SequenceNumber 5 of AddSubscriptions was already used')
  })

  it('starts with fixtures, prints its URLs, serves SOAP and stops cleanly on SIGTERM', async () => {
    const sim = await serve(['--fixtures', '5'])
    expect(sim.cli.io.out()).toContain(
      `SOAP ${sim.url}/ca-server/webservices/caclient/subscription`,
    )
    const cards = await firstCards(sim, 5)
    expect(cards).toHaveLength(5)
    const res = await addSubscription(sim.url, cards[0] as string, 'GFA1')
    expect(await res.text()).toContain('<StatusCode>OK</StatusCode>')
    expect(await sim.cli.stop()).toBe(0)
  })

  it('replays its store at start and says so, then stops without losing a write', async () => {
    const file = join(tempDir(), 'sim.json')
    const first = await serve(['--data', file, '--fixtures', '3'])
    const [card] = await firstCards(first, 1)
    const res = await addSubscription(first.url, card as string, 'GFA1')
    expect(await res.text()).toContain('<StatusCode>OK</StatusCode>')
    expect(await first.cli.stop()).toBe(0)

    const second = await serve(['--data', file])
    expect(second.cli.io.out()).toMatch(
      /Store: snapshot .* log groups \(\d+ bytes\) replayed in \d+ ms, fsync group/,
    )
    const view = (await (
      await fetch(`${second.url}/admin/cards/${card}`, { headers: bearer(second) })
    ).json()) as { subscriptions: { productId: string }[] }
    expect(view.subscriptions.map((s) => s.productId)).toContain('GFA1')
  })
})

describe('conax-sim CLI (real process)', () => {
  it('starts from the built launcher and stops on a real SIGTERM with exit code 0', async () => {
    const sim = await startCli(['--fixtures', '2'])
    expect((await fetch(`${sim.url}/admin/cards`, { headers: bearer(sim) })).status).toBe(200)
    sim.child.kill('SIGTERM')
    expect(await sim.exited).toBe(0)
  })

  it('leaves a readable store holding every acknowledged write when killed with SIGKILL mid-write', async () => {
    const file = join(tempDir(), 'sim.json')
    const acknowledged: { card: string; product: string }[] = []
    for (const [round, product] of ['GFA1', 'EFA2', 'AF1'].entries()) {
      const sim = await startCli(['--data', file, '--fixtures', '3000'])
      const cards = await firstCards(sim, 300)
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
    }
    const sim = await startCli(['--data', file])
    for (const { card, product } of acknowledged) {
      const view = (await (
        await fetch(`${sim.url}/admin/cards/${card}`, { headers: bearer(sim) })
      ).json()) as {
        subscriptions: { productId: string }[]
      }
      expect(view.subscriptions.map((s) => s.productId)).toContain(product)
    }
    const journal = (await (
      await fetch(`${sim.url}/admin/journal?operation=AddSubscriptions`, { headers: bearer(sim) })
    ).json()) as {
      statusCode: string
    }[]
    expect(journal.filter((entry) => entry.statusCode === 'OK').length).toBeGreaterThanOrEqual(
      acknowledged.length,
    )
    expect(acknowledged.length).toBeGreaterThan(0)
  }, 60_000)
})
