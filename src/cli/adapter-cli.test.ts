import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { describe, expect, it, onTestFinished } from 'vitest'
import {
  PROVIDER_FILE,
  card,
  cardItem,
  startTestCa,
  stbItem,
} from '../test-support/adapter-harness.js'

// The built CLI (bin/conax-adapter.js -> dist/), as `npx conax-adapter` runs it; npm test builds first.
const BIN = join(import.meta.dirname, '..', '..', 'bin', 'conax-adapter.js')

/** This process's environment without an API token, so the adapter generates one. */
function withoutToken(): NodeJS.ProcessEnv {
  const env = { ...process.env }
  delete env.CONAX_ADAPTER_API_TOKEN
  return env
}

function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [BIN, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: withoutToken(),
  })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, stdout, stderr })))
}

describe('conax-adapter CLI', () => {
  it('documents its options and refuses a bad provider file with exit code 2', async () => {
    const help = await run(['--help'])
    expect(help.code).toBe(0)
    for (const option of [
      '--provider',
      '--port',
      '--data',
      '--memory',
      '--concurrency',
      '--no-deliver',
      '--log-level',
    ]) {
      expect(help.stdout).toContain(option)
    }
    const missing = await run(['--provider', 'nope.yaml', '--memory'])
    expect(missing.code).toBe(2)
    expect(missing.stderr).toContain('CONFIG_UNREADABLE')
  })

  it('starts against a provider file, applies an action over HTTP and delivers it', async () => {
    const sim = await startTestCa(3)
    const dir = mkdtempSync(join(tmpdir(), 'conax-adapter-cli-'))
    onTestFinished(async () => {
      await sim.close()
      rmSync(dir, { recursive: true, force: true })
    })
    const provider = readFileSync(PROVIDER_FILE, 'utf8').replace('http://127.0.0.1:8280', sim.url)
    writeFileSync(join(dir, 'provider.yaml'), provider)
    const child = spawn(
      process.execPath,
      [
        BIN,
        '--provider',
        join(dir, 'provider.yaml'),
        '--port',
        '0',
        '--data',
        join(dir, 'store.json'),
        '-l',
        'silent',
      ],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: withoutToken(),
      },
    )
    onTestFinished(() => {
      child.kill('SIGKILL')
    })
    const { url, token } = await new Promise<{ url: string; token: string }>((resolve) => {
      let listening = ''
      createInterface({ input: child.stdout }).on('line', (line) => {
        listening = /listening on (http:\/\/\S+)/.exec(line)?.[1] ?? listening
        const token = /API token \(generated\): (\S+)/.exec(line)?.[1]
        if (token) {
          resolve({ url: listening, token })
        }
      })
    })
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/)
    const anonymous = await fetch(`${url}/crm/actions`, { method: 'POST' })
    expect(anonymous.status).toBe(401)
    const res = await fetch(`${url}/crm/actions`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
      body: JSON.stringify({
        action: 'BECOME_SUBSCRIBER',
        subscriptionId: 'S1',
        services: [{ service: 'GEOLOGICAL', distributor: 'Main' }],
        installedItems: [cardItem(1), stbItem(1)],
        processImmediately: true,
      }),
    })
    const body = (await res.json()) as {
      data: { provisioning_requests: { life_cycle_state: string }[] }
    }
    expect(res.status).toBe(201)
    expect(body.data.provisioning_requests.map((r) => r.life_cycle_state)).toEqual([
      'COMPLETED',
      'COMPLETED',
    ])
    expect(sim.model.card(card(1))?.subscriptions.map((s) => s.productId)).toEqual(['GFA1'])
    child.kill('SIGTERM')
    expect(await new Promise((resolve) => child.on('exit', resolve))).toBe(0)
  })

  it('refuses a non-loopback host without a configured token, exit code 2', async () => {
    const refused = await run(['--provider', PROVIDER_FILE, '--memory', '--host', '0.0.0.0'])
    expect(refused.code).toBe(2)
    expect(refused.stderr).toMatch(
      /^conax-adapter: INSECURE_BIND: Refusing to listen on 0\.0\.0\.0 without a configured API token: .*Set CONAX_ADAPTER_API_TOKEN .*or listen on 127\.0\.0\.1\.\n$/,
    )
  })

  it('says PORT_IN_USE, naming the port, with exit code 2 when the port is taken', async () => {
    const taken = createServer()
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve))
    onTestFinished(() => {
      taken.close()
    })
    const port = (taken.address() as { port: number }).port
    const refused = await run(['--provider', PROVIDER_FILE, '--memory', '--port', String(port)])
    expect(refused.code).toBe(2)
    expect(refused.stderr).toBe(
      `conax-adapter: PORT_IN_USE: Failed to listen on 127.0.0.1:${port}: port ${port} is already in use (another instance or another program holds it). Choose another --port, or --port 0 to pick a free one.\n`,
    )
  })
})
