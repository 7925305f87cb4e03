import { spawn } from 'node:child_process'
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { createInterface } from 'node:readline'
import { describe, expect, it, onTestFinished } from 'vitest'
import {
  PROVIDER_FILE,
  card,
  cardItem,
  startTestCa,
  stbItem,
} from '../test-support/adapter-harness.js'
import { ADAPTER_BIN, adapterCli, serveCli, spawnedCli } from '../test-support/adapter-cli.js'

// `conax-adapter [serve]` through its main function in process (captured output, an environment
// of the test's own, SIGTERM sent by the test); the last block runs the built launcher in a child
// process for what only a real process shows: exit codes, signals, a missing build.

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'conax-adapter-cli-'))
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

describe('conax-adapter CLI', () => {
  it('documents its options and refuses a bad provider file with exit code 2', async () => {
    const help = await adapterCli(['--help'])
    expect(help.code).toBe(0)
    for (const option of [
      '--provider',
      '--port',
      '--data',
      '--memory',
      '--concurrency',
      '--no-deliver',
      '--log-level',
      'env: CONAX_ADAPTER_PORT',
    ]) {
      expect(help.stdout).toContain(option)
    }
    const missing = await adapterCli(['--provider', 'nope.yaml', '--memory'])
    expect(missing.code).toBe(2)
    expect(missing.stderr).toContain('CONFIG_UNREADABLE')
  })

  it('starts against a provider file, applies an action over HTTP, delivers it and stops on SIGTERM', async () => {
    const sim = await startTestCa(3)
    onTestFinished(() => sim.close())
    const dir = tempDir()
    const provider = readFileSync(PROVIDER_FILE, 'utf8').replace('http://127.0.0.1:8280', sim.url)
    writeFileSync(join(dir, 'provider.yaml'), provider)
    const serving = serveCli([
      '--provider',
      join(dir, 'provider.yaml'),
      '--port',
      '0',
      '--data',
      join(dir, 'store.json'),
      '-l',
      'info',
    ])
    onTestFinished(async () => {
      await serving.stop()
    })

    const [, url] = await serving.printed(/listening on (http:\/\/\S+)/)
    const [, token] = await serving.printed(/API token \(generated\): (\S+)/)

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
    // The log is the CLI's output too, so a caller running the CLI in process captures it.
    await serving.printed(/"level":30,.*"msg":"provisioning request completed"/)
    expect(await serving.stop()).toBe(0)
    expect(serving.io.err()).toBe('')
    // Stopped: the port is free again.
    await expect(fetch(`${url}/crm/actions`, { method: 'POST' })).rejects.toThrow()
  })

  it('takes --port, --data and the API token from CONAX_ADAPTER_* when the command line leaves them out', async () => {
    const dir = tempDir()
    const store = join(dir, 'env-store.json')
    const token = 'adapter-cli-env-token-0123456789'
    const serving = serveCli(['--provider', PROVIDER_FILE, '-l', 'silent'], {
      CONAX_ADAPTER_PORT: '0',
      CONAX_ADAPTER_DATA: store,
      CONAX_ADAPTER_API_TOKEN: token,
    })
    onTestFinished(async () => {
      await serving.stop()
    })

    const [, url] = await serving.printed(/listening on (http:\/\/\S+)/)
    await serving.printed(/API token: the configured one/)

    expect(existsSync(store)).toBe(true)
    const listed = await fetch(`${url}/conax_web_services/provisioning_requests/list`, {
      headers: { Authorization: `Bearer ${token}` },
    })
    expect(listed.status).toBe(200)
    expect(await serving.stop()).toBe(0)

    // The command line wins over the environment; a bad value from the environment is named.
    const bad = await adapterCli(['--provider', 'nope.yaml', '--memory'], {
      CONAX_ADAPTER_PORT: 'eighty',
    })
    expect(bad).toEqual({
      code: 2,
      stdout: '',
      stderr:
        "error: option '-p, --port <port>' value 'eighty' from env 'CONAX_ADAPTER_PORT' is invalid. --port must be an integer from 0 to 65535.\n",
    })
    const overridden = await adapterCli(['--provider', 'nope.yaml', '--memory', '--port', '0'], {
      CONAX_ADAPTER_PORT: 'eighty',
    })
    expect(overridden.stderr).toContain('CONFIG_UNREADABLE')
  })

  it('sizes the heap growth at start (--heap-growth, CONAX_ADAPTER_HEAP_GROWTH) and refuses a bad value', async () => {
    const flags: string[] = []
    const heap = { execArgv: [], setV8Flag: (flag: string) => void flags.push(flag) }
    const args = ['--provider', PROVIDER_FILE, '--memory', '--no-deliver', '--port', '0']

    const byDefault = serveCli(args, {}, heap)
    onTestFinished(async () => {
      await byDefault.stop()
    })
    await byDefault.printed(/Memory: the heap grows 30 % past the live heap/)
    expect(await byDefault.stop()).toBe(0)
    const fromEnv = serveCli(args, { CONAX_ADAPTER_HEAP_GROWTH: '0' }, heap)
    onTestFinished(async () => {
      await fromEnv.stop()
    })
    await fromEnv.printed(/Memory: V8's own heap sizing/)
    expect(await fromEnv.stop()).toBe(0)
    const kept = serveCli(
      [...args, '--heap-growth', '60'],
      { NODE_OPTIONS: '--heap-growing-percent=90' },
      heap,
    )
    onTestFinished(async () => {
      await kept.stop()
    })
    await kept.printed(/heap growth given to Node \(--heap-growing-percent\) is kept/)
    expect(await kept.stop()).toBe(0)

    expect(flags).toEqual(['--heap-growing-percent=30'])
    const refused = await adapterCli([...args, '--heap-growth', '5'])
    expect(refused.code).toBe(2)
    expect(refused.stderr).toContain('--heap-growth must be 0')
  })

  it('refuses a non-loopback host without a configured token, exit code 2', async () => {
    const refused = await adapterCli(['--provider', PROVIDER_FILE, '--memory', '--host', '0.0.0.0'])
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
    const refused = await adapterCli([
      '--provider',
      PROVIDER_FILE,
      '--memory',
      '--port',
      String(port),
      '-l',
      'silent',
    ])
    expect(refused.code).toBe(2)
    expect(refused.stderr).toBe(
      `conax-adapter: PORT_IN_USE: Failed to listen on 127.0.0.1:${port}: port ${port} is already in use (another instance or another program holds it). Choose another --port, or --port 0 to pick a free one.\n`,
    )
  })
})

describe('the conax-adapter launcher (a real process)', () => {
  it('exits with the code of the CLI: 2 for a bad provider file, 1 when the adapter cannot be reached', async () => {
    const bad = await spawnedCli(['--provider', 'nope.yaml', '--memory'])
    expect(bad.code).toBe(2)
    expect(bad.stderr).toMatch(/^conax-adapter: CONFIG_UNREADABLE: .*nope\.yaml/)
    const down = await spawnedCli(['runs', 'list', '--url', 'http://127.0.0.1:9'])
    expect(down.code).toBe(1)
    expect(down.stderr).toContain('conax-adapter: CONNECTION_FAILED: ')
  })

  it('starts with its store in .data/ of a fresh clone and stops cleanly on SIGTERM', async () => {
    const dir = tempDir()
    mkdirSync(join(dir, 'work'))
    const env = { ...process.env }
    delete env.CONAX_ADAPTER_DATA
    const child = spawn(
      process.execPath,
      [ADAPTER_BIN, '--provider', PROVIDER_FILE, '--port', '0', '-l', 'silent'],
      { cwd: join(dir, 'work'), stdio: ['ignore', 'pipe', 'pipe'], env },
    )
    onTestFinished(() => {
      child.kill('SIGKILL')
    })
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve))
    let stderr = ''
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
    const lines: string[] = []
    const started = await new Promise<boolean>((resolve) => {
      void exited.then(() => resolve(false))
      createInterface({ input: child.stdout }).on('line', (line) => {
        lines.push(line)
        if (line.includes('API token')) {
          resolve(true)
        }
      })
    })

    expect(stderr).toBe('')
    expect(started).toBe(true)
    // The real process sets V8's heap growth (an in-process test has no heap of its own to size).
    expect(lines).toContainEqual(expect.stringContaining('the heap grows 30 % past the live heap'))
    expect(existsSync(join(dir, 'work', '.data', 'conax-adapter.json'))).toBe(true)
    child.kill('SIGTERM')
    expect(await exited).toBe(0)
  })

  it('says BUILD_MISSING with exit code 2 when dist/ is not there', async () => {
    const dir = tempDir()
    mkdirSync(join(dir, 'bin'))
    copyFileSync(ADAPTER_BIN, join(dir, 'bin', 'conax-adapter.js'))
    copyFileSync(join(dirname(ADAPTER_BIN), 'launch.js'), join(dir, 'bin', 'launch.js'))
    const child = spawn(process.execPath, [join(dir, 'bin', 'conax-adapter.js'), '--help'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stderr = ''
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve))
    expect(code).toBe(2)
    expect(stderr).toMatch(/^conax-adapter: BUILD_MISSING: dist\/ is not there\. Run `npm install`/)
  })
})
