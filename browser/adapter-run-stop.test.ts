import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, expect, it } from 'vitest'
import type { Simulator } from '../simulator/src/index.js'
import type { Adapter } from '../src/index.js'
import type { CaReader } from '../src/application/runs/run-ports.js'
import {
  apiAgent,
  cardItem,
  providerFor,
  startTestAdapter,
  startTestCa,
  stbItem,
} from '../src/test-support/adapter-harness.js'
import { fastReader } from '../src/test-support/ports.js'
import { expectAccessible, launchBrowser, newPage, screenshot } from './browser-support.js'

// Stop and resume from the adapter console. The run's first CA read is held until the stop has
// been taken, so the stop lands between batches by construction, not by timing.

/** A CA reader whose reads can be held; `hold` resolves once a read waits. */
function holdableReader(inner: CaReader) {
  let held: Promise<void> | null = null
  let letGo: () => void = () => undefined
  let waiting: () => void = () => undefined
  return {
    reader: {
      readCard: async (caId: string) => {
        if (held) {
          waiting()
          await held
        }
        return inner.readCard(caId)
      },
      close: () => inner.close(),
    } satisfies CaReader,
    hold(): Promise<void> {
      held = new Promise((resolve) => (letGo = resolve))
      return new Promise((resolve) => (waiting = resolve))
    },
    release(): void {
      held = null
      letGo()
    },
  }
}

let browser: Browser | undefined
let sim: Simulator
let adapter: Adapter
let gate: ReturnType<typeof holdableReader>

beforeAll(async () => {
  sim = await startTestCa(5)
  gate = holdableReader(fastReader(await providerFor(sim)))
  // One subscription per batch, so that a stop lands between batches.
  adapter = await startTestAdapter(sim, {
    port: 0,
    autoDeliver: true,
    runPageSize: 1,
    reader: gate.reader,
  })
  for (const n of [1, 2, 3]) {
    await apiAgent(adapter)
      .post('/crm/actions')
      .send({
        action: 'BECOME_SUBSCRIBER',
        subscriptionId: `S${n}`,
        type: 'RESIDENTIAL',
        services: [{ service: 'GEOLOGICAL', distributor: 'Main' }],
        installedItems: [cardItem(n), stbItem(n)],
      })
      .expect(201)
  }
  await apiAgent(adapter)
    .post('/runs')
    .send({ name: 'Reset all', alternativeCode: 'RESET-ALL', kind: 'RESET_SUBSCRIPTION' })
    .expect(201)
  browser = await launchBrowser()
}, 60_000)

afterAll(async () => {
  await browser?.close()
  await adapter?.close()
  await sim?.close()
})

it('stops a running execution from the console and resumes it to the end', async () => {
  const { context, page, problems } = await newPage(browser!)
  await page.goto(`${adapter.url!}/console/?view=runs#token=${adapter.apiToken}`)
  const reading = gate.hold()
  await page.getByRole('button', { name: 'Start run RESET-ALL' }).click()
  await reading
  const state = page.getByTestId('execution-state')
  await state.filter({ hasText: 'RUNNING' }).waitFor()
  await page.getByRole('button', { name: 'Stop' }).click()
  await state.filter({ hasText: 'STOPPING' }).waitFor()
  gate.release()
  await state.filter({ hasText: 'STOPPED' }).waitFor()
  expect(await page.getByRole('button', { name: 'Resume' }).isDisabled()).toBe(false)
  await expectAccessible(page, 'a stopped execution')
  await screenshot(page, 'adapter-execution-stopped')

  await page.getByRole('button', { name: 'Resume' }).click()
  await state.filter({ hasText: 'COMPLETED' }).waitFor()
  const processed = page.getByTestId('execution-counts').locator('[data-count="processed"]')
  expect(await processed.textContent()).toBe('3')
  expect(problems).toEqual([])
  await context.close()
})
