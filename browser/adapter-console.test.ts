import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Simulator } from '../simulator/src/index.js'
import type { Adapter } from '../src/index.js'
import {
  apiAgent,
  cardItem,
  startTestAdapter,
  startTestCa,
  stbItem,
} from '../src/test-support/adapter-harness.js'
import { expectAccessible, launchBrowser, newPage, screenshot } from './browser-support.js'

// The adapter console in Chromium, next to the simulator's: a fault added in the simulator console
// keeps the adapter's requests PENDING in the adapter console, and once removed they complete; a
// run started from the console is followed to its end; the utilities' refusals are the API's.

let browser: Browser | undefined
let sim: Simulator
let adapter: Adapter

const subscriber = (n: number) => ({
  action: 'BECOME_SUBSCRIBER',
  subscriptionId: `S${n}`,
  type: 'RESIDENTIAL',
  services: [
    { service: 'GEOLOGICAL', distributor: 'Main' },
    { service: 'ENTERTAIN', distributor: 'Main' },
  ],
  installedItems: [cardItem(n), stbItem(n)],
})

async function openConsole(
  url: string,
  token: string,
  query: string,
): Promise<{ page: Page; problems: string[]; close: () => Promise<void> }> {
  const { context, page, problems } = await newPage(browser!)
  await page.goto(`${url}/console/${query}#token=${token}`)
  return { page, problems, close: () => context.close() }
}

beforeAll(async () => {
  sim = await startTestCa(20)
  // Background delivery on, with the harness's short retry delays.
  adapter = await startTestAdapter(sim, { port: 0, autoDeliver: true })
  browser = await launchBrowser()
}, 60_000)

afterAll(async () => {
  await browser?.close()
  await adapter?.close()
  await sim?.close()
})

describe('adapter console', () => {
  it('shows requests PENDING while the simulator fails, and COMPLETED once the fault is removed', async () => {
    const simConsole = await openConsole(sim.url, sim.adminToken, '?view=faults')
    await simConsole.page.getByTestId('no-faults').waitFor()
    await simConsole.page.getByLabel('Kind', { exact: true }).selectOption('HTTP_STATUS')
    await simConsole.page.getByLabel('until removed').check()
    await simConsole.page.getByRole('button', { name: 'Add fault' }).click()
    await simConsole.page.getByTestId('faults').waitFor()

    await apiAgent(adapter).post('/crm/actions').send(subscriber(1)).expect(201)
    const adapterConsole = await openConsole(
      adapter.url!,
      adapter.apiToken,
      '?view=requests&subscription_id=S1',
    )
    const { page } = adapterConsole
    const states = page.getByTestId('request-state')
    // Every attempt so far was refused with HTTP 503: the requests wait for their next attempt.
    await page.getByTestId('request-row').filter({ hasText: 'HTTP_503' }).first().waitFor()
    expect(await states.allTextContents()).toEqual(Array(await states.count()).fill('PENDING'))
    expect(sim.journal.list().some((entry) => entry.statusCode === 'HTTP_503')).toBe(true)
    await expectAccessible(page, 'the requests')
    await screenshot(page, 'adapter-requests-pending')

    await simConsole.page.getByRole('button', { name: /Remove fault rule/ }).click()
    await simConsole.page.getByTestId('no-faults').waitFor()
    await states.filter({ hasText: 'PENDING' }).first().waitFor({ state: 'detached' })
    const final = await states.allTextContents()
    expect(final.length).toBeGreaterThan(1)
    expect(new Set(final)).toEqual(new Set(['COMPLETED']))
    await screenshot(page, 'adapter-requests')

    await page.getByTestId('request-row').first().getByRole('link').click()
    await page.getByText('Request sent to the CA').waitFor()
    expect(await page.locator('details.folded pre').first().textContent()).toContain('Envelope')
    await expectAccessible(page, 'a request')
    await screenshot(page, 'adapter-request')
    expect([...simConsole.problems, ...adapterConsole.problems]).toEqual([])
    await simConsole.close()
    await adapterConsole.close()
  })

  it('starts a run and follows its progress to the end', async () => {
    await apiAgent(adapter).post('/crm/actions').send(subscriber(2)).expect(201)
    await apiAgent(adapter)
      .post('/runs')
      .send({ name: 'Fingerprint all', alternativeCode: 'FP-ALL', kind: 'FINGERPRINTING' })
      .expect(201)
    const { page, problems, close } = await openConsole(
      adapter.url!,
      adapter.apiToken,
      '?view=runs',
    )
    await page.getByRole('button', { name: 'Preview run FP-ALL' }).click()
    await page.getByRole('heading', { name: 'Preview of FP-ALL' }).waitFor()
    await expectAccessible(page, 'the runs')
    await screenshot(page, 'adapter-runs')

    await page.getByRole('button', { name: 'Start run FP-ALL' }).click()
    await page.getByTestId('execution-state').filter({ hasText: 'COMPLETED' }).waitFor()
    expect(page.url()).toContain('view=execution')
    const sent = page.getByTestId('execution-counts').locator('[data-count="sent"]')
    expect(Number(await sent.textContent())).toBe(2)
    // A COMPLETED execution can be neither stopped nor resumed (the API would refuse).
    expect(await page.getByRole('button', { name: 'Stop' }).isDisabled()).toBe(true)
    expect(await page.getByRole('button', { name: 'Resume' }).isDisabled()).toBe(true)
    await expectAccessible(page, 'an execution')
    await screenshot(page, 'adapter-execution')
    expect(problems).toEqual([])
    await close()
  })

  it("runs a utility from its form, showing the API's refusal of a bad input", async () => {
    const { page, problems, close } = await openConsole(
      adapter.url!,
      adapter.apiToken,
      '?view=utilities&utility=SEND_MESSAGE',
    )
    await page.getByLabel('subscriptionId (required)').fill('S1')
    await page.getByLabel('messageType (required)').selectOption('BARK')
    await page.getByLabel('message (required)').fill('x'.repeat(130))
    await page.getByRole('button', { name: 'Run SEND_MESSAGE' }).click()
    await page.getByRole('alert').filter({ hasText: 'MESSAGE_TOO_LONG' }).waitFor()

    await page.getByLabel('message (required)').fill('Your subscription renews tomorrow')
    await page.getByRole('button', { name: 'Run SEND_MESSAGE' }).click()
    await page.getByRole('heading', { name: /Done: SEND_MESSAGE/ }).waitFor()
    // The outcome goes below the form (a view that first rendered without the schema once put it on top).
    expect(await page.locator('main h1, main h2').allTextContents()).toEqual([
      'Utilities',
      'Done: SEND_MESSAGE (MAIL_BARK_MESSAGE_UTILITY)',
    ])
    await expectAccessible(page, 'the utilities')
    await screenshot(page, 'adapter-utilities')

    await apiAgent(adapter)
      .post('/communications')
      .send({
        communications: [
          {
            externalSystem: 'CRM',
            message: 'New channels from Monday',
            recipients: { subscriptionIds: ['S1'] },
          },
        ],
      })
      .expect(201)
    await page.getByRole('link', { name: 'Communications' }).click()
    await page.getByRole('cell', { name: 'New channels from Monday' }).waitFor()
    await expectAccessible(page, 'the communications')
    await screenshot(page, 'adapter-communications')
    expect(problems).toEqual([])
    await close()
  })
})
