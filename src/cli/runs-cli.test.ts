import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest'
import type { Simulator } from '../../simulator/src/index.js'
import type { Adapter } from '../create-adapter.js'
import {
  card,
  cardItem,
  startTestAdapter,
  startTestCa,
  stbItem,
} from '../test-support/adapter-harness.js'
import {
  ADAPTER_BIN,
  TestSignals,
  adapterCli,
  testRuntime,
  watchedIo,
  type CliResult,
} from '../test-support/adapter-cli.js'
import { runAdapterCli } from './adapter-main.js'

// The client commands through the CLI's main function in process, against an adapter this test
// starts on an in-process simulator. The captured stdout is not a terminal, so --watch writes
// its non-terminal output: a line every few seconds and a summary.

/** The adapter's API token; the CLI gets it from CONAX_ADAPTER_API_TOKEN unless a test says otherwise. */
const TOKEN = 'runs-cli-test-token-0123456789'

/** `conax-adapter <args>` in process, with CONAX_ADAPTER_API_TOKEN and `env` as its environment. */
function cli(args: string[], env: Record<string, string | undefined> = {}): Promise<CliResult> {
  return adapterCli(args, { CONAX_ADAPTER_API_TOKEN: TOKEN, ...env })
}

describe('conax-adapter runs (client commands)', () => {
  let sim: Simulator
  let adapter: Adapter
  let url: string
  let dir: string

  beforeAll(async () => {
    sim = await startTestCa(5)
    adapter = await startTestAdapter(sim, { port: 0, runPageSize: 2, apiToken: TOKEN })
    url = adapter.url as string
    dir = mkdtempSync(join(tmpdir(), 'conax-runs-cli-'))
    for (const n of [1, 2, 3]) {
      await adapter.service.applyAction({
        action: 'BECOME_SUBSCRIBER',
        subscriptionId: `S${n}`,
        services: [{ service: 'GEOLOGICAL', distributor: 'Main' }],
        installedItems: [cardItem(n), stbItem(n)],
      })
    }
    await adapter.deliverDue()
    sim.model.forceRemoveProduct(card(3), 'GFA1')
    // Delivery in the background, so that a watched execution gets its verdict and completes.
    adapter.dispatcher.start()
  })
  afterAll(async () => {
    await adapter.close()
    await sim.close()
    rmSync(dir, { recursive: true, force: true })
  })

  it('defines a run from YAML, starts it with --watch to COMPLETED and shows its status as JSON', async () => {
    const file = join(dir, 'nightly.yaml')
    writeFileSync(
      file,
      [
        '# every subscription',
        'name: Nightly reset',
        'alternativeCode: NIGHTLY',
        'kind: RESET_SUBSCRIPTION',
        'criteria: {}',
        '',
      ].join('\n'),
    )
    const defined = await cli(['runs', 'define', file, '--url', url])
    expect(defined).toMatchObject({ code: 0, stderr: '' })
    expect(defined.stdout).toMatch(/^Defined RESET_SUBSCRIPTION run 'NIGHTLY' \(id [\w-]+\)\.$/m)

    const listed = await cli(['runs', 'list'], { CONAX_ADAPTER_URL: url })
    expect(listed.code).toBe(0)
    expect(listed.stdout).toMatch(/^NIGHTLY\s+RESET_SUBSCRIPTION\s+Nightly reset/m)

    const preview = await cli(['runs', 'preview', 'NIGHTLY', '--url', url])
    expect(preview.stdout).toContain(
      'Checked 3 subscriptions: 2 in sync, 1 out of sync, 0 with cards that could not be checked.',
    )
    expect(preview.stdout).toContain(`card ${card(3)}: GFA1 missing`)

    const watched = await cli(['runs', 'start', 'NIGHTLY', '--watch', '--url', url])
    expect(watched.stderr).toBe('')
    expect(watched.code).toBe(0)
    // No terminal: plain lines (no bar, no carriage return), the last one at 100%, then the summary.
    expect(watched.stdout).not.toContain('\r')
    expect(watched.stdout).toMatch(
      /^\d\d:\d\d:\d\d COMPLETED +100% 3\/3 \| [\d.]+\/s \| in sync 2, repaired 1, failed 0, requests 1, completed 1$/m,
    )
    const summary =
      /^COMPLETED: 3\/3 processed in \d+s of running \(RESET_SUBSCRIPTION, execution (\w+)\)$/m.exec(
        watched.stdout,
      )
    expect(summary).not.toBeNull()
    expect(watched.stdout).toContain(
      'in sync 2, repaired 1, failed 0, requests 1, completed 1, cards read 3, CA calls 6',
    )
    const id = summary?.[1] as string

    const status = await cli(['runs', 'status', id, '--json', '--url', url])
    expect(status.code).toBe(0)
    expect(JSON.parse(status.stdout)).toMatchObject({
      id,
      state: 'COMPLETED',
      total: 3,
      counts: { processed: 3, repaired: 1, requests: 1 },
      progress: { fraction: 1 },
      cursor: { offset: 3 },
    })

    const requests = await cli(['runs', 'requests', id, '--url', url])
    expect(requests.stdout).toMatch(/ADD_SUBSCRIPTIONS\s+COMPLETED\s+S3/)
    expect(requests.stdout).toContain('1 of 1 requests (from 0).')

    const executions = await cli(['runs', 'executions', 'NIGHTLY', '--json', '--url', url])
    expect(JSON.parse(executions.stdout).map((e: { id: string }) => e.id)).toEqual([id])
  })

  it('enqueues communications, resets one subscription and runs a utility', async () => {
    const file = join(dir, 'communications.json')
    writeFileSync(
      file,
      JSON.stringify([
        { externalSystem: 'SMS-GW', message: 'Hello', recipients: { subscriptionIds: ['S1'] } },
      ]),
    )
    const added = await cli(['communications', 'add', file, '--url', url])
    expect(added.stdout).toMatch(/^Enqueued communication \d+ for SMS-GW\.$/m)
    const listed = await cli([
      'communications',
      'list',
      '--external-system',
      'SMS-GW',
      '--state',
      'PENDING',
      '--json',
      '--url',
      url,
    ])
    expect(JSON.parse(listed.stdout)).toMatchObject([{ message: 'Hello', state: 'PENDING' }])

    sim.model.forceRemoveProduct(card(2), 'GFA1')
    const preview = await cli(['reset-subscription', 'S2', '--preview', '--url', url])
    expect(preview.stdout).toContain(`S2 is out of sync:\n  card ${card(2)}: GFA1 missing`)
    expect(preview.stdout).toContain('Would send: ADD_SUBSCRIPTIONS')
    const reset = await cli(['reset-subscription', 'S2', '--json', '--url', url])
    expect(JSON.parse(reset.stdout)).toMatchObject({
      inSync: false,
      requests: [{ type: 'ADD_SUBSCRIPTIONS', process_name: 'RESET_SINGLE_SUBSCRIPTION' }],
    })

    const utility = await cli([
      'utility',
      JSON.stringify({
        utility: 'GET_CONAX_INFORMATION',
        query: 'SMARTCARD_PAIRING',
        smartcard: card(1),
      }),
      '--url',
      url,
    ])
    expect(utility.code).toBe(0)
    expect(utility.stdout).toContain('GET_CONAX_INFORMATION (CONAX_INFORMATION_UTILITY)')
    expect(utility.stdout).toMatch(/GET_PAIRING_STATUS_FOR_CARD\s+COMPLETED/)
    expect(utility.stdout).toContain('paired: true')
  })

  it('exits 2 with the code for an unknown run or bad input, 1 when the adapter cannot be reached', async () => {
    const unknown = await cli(['runs', 'show', 'NOPE', '--url', url])
    expect(unknown.code).toBe(2)
    expect(unknown.stderr).toMatch(
      /^conax-adapter: RUN_NOT_FOUND: No run definition has id or alternative code 'NOPE'/,
    )

    const bad = join(dir, 'bad.yaml')
    writeFileSync(bad, 'name: x\nalternativeCode: BAD\nkind: FINGERPRINTING\nheight: tall\n')
    const refused = await cli(['runs', 'define', bad, '--url', url])
    expect(refused.code).toBe(2)
    expect(refused.stderr).toContain('conax-adapter: INVALID_REQUEST: Invalid body: height:')

    const missing = await cli(['runs', 'define', join(dir, 'nope.yaml'), '--url', url])
    expect([missing.code, missing.stderr]).toEqual([2, expect.stringContaining('INPUT_UNREADABLE')])
    const usage = await cli(['runs', 'preview', 'NIGHTLY', '--limit', 'many', '--url', url])
    expect(usage.code).toBe(2)

    const down = await cli(['runs', 'list', '--url', 'http://127.0.0.1:9'])
    expect(down.code).toBe(1)
    expect(down.stderr).toContain('CONNECTION_FAILED')
    expect(down.stderr).toContain('is the adapter running at http://127.0.0.1:9?')
  })

  it('sends the token of --token or CONAX_ADAPTER_API_TOKEN, and says how to pass it on 401', async () => {
    const none = await cli(['runs', 'list', '--url', url], { CONAX_ADAPTER_API_TOKEN: undefined })
    expect(none.code).toBe(2)
    expect(none.stderr).toBe(
      `conax-adapter: UNAUTHORIZED: The adapter at ${url} needs its API token: pass it with --token <token> or set CONAX_ADAPTER_API_TOKEN (the adapter prints a generated one at start).\n`,
    )
    const wrong = await cli(['runs', 'list', '--url', url, '--token', 'wrong-token-0123456789'])
    expect(wrong.code).toBe(2)
    expect(wrong.stderr).toContain('refused the API token given')
    const flag = await cli(['--token', TOKEN, '--url', url, 'runs', 'list'], {
      CONAX_ADAPTER_API_TOKEN: undefined,
    })
    expect([flag.code, flag.stderr]).toEqual([0, ''])
    const equals = await cli([`--token=${TOKEN}`, '--url', url, 'runs', 'list'], {
      CONAX_ADAPTER_API_TOKEN: undefined,
    })
    expect(equals.code).toBe(0)
  })

  it('takes the global options before the command too', async () => {
    const listed = await cli(['--url', url, 'runs', 'list'])
    expect([listed.code, listed.stderr]).toEqual([0, ''])
    expect(listed.stdout).toMatch(/^NIGHTLY\s+RESET_SUBSCRIPTION/m)
    const json = await cli(['--json', `--url=${url}`, 'runs', 'show', 'NIGHTLY'])
    expect(json.code).toBe(0)
    expect(JSON.parse(json.stdout)).toMatchObject({ alternativeCode: 'NIGHTLY' })
  })

  it('exits 1 when an item failed, naming it and why, in a run, a preview and a reset', async () => {
    await adapter.store.commit(
      {
        subscription: {
          id: 'S9',
          type: null,
          state: 'EFFECTIVE',
          services: [],
          installedItems: [
            {
              serialNumber: 'SC9',
              product: 'SC-CONAX',
              kind: 'SMARTCARD',
              caId: card(4),
              distributor: 'Main',
            },
            {
              serialNumber: 'LOST',
              product: 'SC-CONAX',
              kind: 'SMARTCARD',
              caId: '09999999999',
              distributor: 'Main',
            },
          ],
          swaps: [],
          createdAt: '2026-11-26T10:00:00.000Z',
          updatedAt: '2026-11-26T10:00:00.000Z',
        },
        requests: [],
      },
      '2026-11-26T10:00:00.000Z',
    )
    const file = join(dir, 'sweep.yaml')
    writeFileSync(
      file,
      'name: Sweep\nalternativeCode: SWEEP9\nkind: FINGERPRINTING\nincluded: [{ name: s9, ids: [S9] }]\nexcluded: []\n',
    )
    expect((await cli(['runs', 'define', file, '--url', url])).code).toBe(0)

    const preview = await cli(['runs', 'preview', 'SWEEP9', '--check-cards', '--url', url])
    const watched = await cli(['runs', 'start', 'SWEEP9', '--watch', '--url', url])
    const reset = await cli(['reset-subscription', 'S9', '--preview', '--url', url])

    expect(preview.code).toBe(1)
    expect(preview.stdout).toContain('subscription S9, card 09999999999: CLIENT_NOT_FOUND')
    expect(watched.code).toBe(1)
    expect(watched.stdout).toMatch(/^COMPLETED: \d+\/\d+ processed/m)
    expect(watched.stdout).toContain('sent 1, failed 1')
    expect(watched.stdout).toContain('subscription S9, card 09999999999: CLIENT_NOT_FOUND')
    expect(reset.code).toBe(1)
    expect(reset.stdout).toContain('subscription S9, card 09999999999: CLIENT_NOT_FOUND')
  })

  it('draws the progress of --watch in place on a terminal, cut to its width', async () => {
    const file = join(dir, 'print.yaml')
    writeFileSync(
      file,
      'name: Print S1\nalternativeCode: PRINT1\nkind: FINGERPRINTING\nincluded: [{ name: s1, ids: [S1] }]\nexcluded: []\n',
    )
    expect((await cli(['runs', 'define', file, '--url', url])).code).toBe(0)
    const captured = watchedIo({ CONAX_ADAPTER_API_TOKEN: TOKEN })
    const terminal = { ...captured, stdout: { ...captured.stdout, isTTY: true, columns: 60 } }

    const code = await runAdapterCli(
      ['node', ADAPTER_BIN, 'runs', 'start', 'PRINT1', '--watch', '--url', url],
      terminal,
      testRuntime(),
    )

    expect(code).toBe(0)
    const [drawn, summary] = captured.out().split('\n')
    // Each redraw goes back to the start of the line and clears it; none is wider than 59.
    const frames = (drawn ?? '').split('\r\x1b[2K').slice(1)
    expect(frames.length).toBeGreaterThan(0)
    expect(frames.every((frame) => frame.length > 0 && frame.length <= 59)).toBe(true)
    expect(frames.at(-1)).toMatch(/^COMPLETED +\[█{24}\] 100%/)
    expect(summary).toMatch(/^COMPLETED: (\d+)\/\1 processed in \d+s of running \(FINGERPRINTING/)
  })

  it('stops watching on SIGINT with exit code 130, and the execution goes on', async () => {
    // An adapter that delivers nothing: its execution waits for the CA (DELIVERING) until stopped.
    const holding = await startTestAdapter(sim, { port: 0, apiToken: TOKEN })
    onTestFinished(() => holding.close())
    await holding.service.applyAction({
      action: 'BECOME_SUBSCRIBER',
      subscriptionId: 'H1',
      services: [],
      installedItems: [cardItem(5)],
    })
    const holdingUrl = holding.url as string
    const file = join(dir, 'hold.yaml')
    writeFileSync(
      file,
      'name: Hold\nalternativeCode: HOLD\nkind: FINGERPRINTING\nincluded: [{ name: h1, ids: [H1] }]\nexcluded: []\n',
    )
    expect((await cli(['runs', 'define', file, '--url', holdingUrl])).code).toBe(0)
    const io = watchedIo({ CONAX_ADAPTER_API_TOKEN: TOKEN })
    const signals = new TestSignals()

    const watching = runAdapterCli(
      ['node', ADAPTER_BIN, 'runs', 'start', 'HOLD', '--watch', '--url', holdingUrl],
      io,
      testRuntime(signals),
    )
    const [, state] = await io.printed(/^\d\d:\d\d:\d\d (\w+) /m)
    signals.send('SIGINT')

    expect(await watching).toBe(130)
    expect(state).not.toBe('COMPLETED')
    const id = /execution (\w+) goes on/.exec(io.err())?.[1] as string
    expect(io.err()).toBe(
      `Stopped watching; execution ${id} goes on. Stop it with: conax-adapter runs stop ${id}\n`,
    )
    expect(signals.listening('SIGINT')).toBe(0)
    const status = await cli(['runs', 'status', id, '--json', '--url', holdingUrl])
    expect(JSON.parse(status.stdout)).toMatchObject({
      id,
      state: expect.stringMatching(/^(RUNNING|DELIVERING)$/),
    })
  })

  it('exits 1 when the watched execution fails (the CA is gone)', async () => {
    await sim.close()
    const watched = await cli(['runs', 'start', 'NIGHTLY', '--watch', '--url', url])
    expect(watched.code).toBe(1)
    expect(watched.stdout).toMatch(/^FAILED: 0\/4 processed/m)
    expect(watched.stdout).toContain('Resume it: conax-adapter runs resume')
  })
})
