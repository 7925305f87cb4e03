import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
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

function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
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
      },
    )
    onTestFinished(() => {
      child.kill('SIGKILL')
    })
    const url = await new Promise<string>((resolve) => {
      createInterface({ input: child.stdout }).on('line', (line) => {
        const match = /listening on (http:\/\/\S+)/.exec(line)
        if (match?.[1]) {
          resolve(match[1])
        }
      })
    })
    const res = await fetch(`${url}/crm/actions`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
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
})
