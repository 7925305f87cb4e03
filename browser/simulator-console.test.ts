import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { serviceNamespace, startSimulator, type Simulator } from '../simulator/src/index.js'
import { callSoap } from '../simulator/src/test-support/soap.js'
import { expectAccessible, launchBrowser, newPage, screenshot } from './browser-support.js'

// The simulator console in Chromium, over a simulator of 100,000 cards: find a card, see a bark
// sent over SOAP on its virtual screen and gone once the simulator's clock passes its duration,
// follow the journal, add and remove a fault; every page checked by axe-core and photographed.

let browser: Browser | undefined
let sim: Simulator

beforeAll(async () => {
  sim = await startSimulator({ fixtures: { size: 100_000, seed: 7 } })
  browser = await launchBrowser()
}, 60_000)

afterAll(async () => {
  await browser?.close()
  await sim?.close()
})

describe('simulator console', () => {
  it('signs in with the admin token and refuses a wrong one', async () => {
    const { context, page, problems } = await newPage(browser!)
    await page.goto(`${sim.url}/console/`)
    await page.getByLabel('API token').fill('not-the-token-at-all')
    await page.getByRole('button', { name: 'Sign in' }).click()
    await page.getByRole('alert').filter({ hasText: 'UNAUTHORIZED' }).waitFor()
    await expectAccessible(page, 'the login form')
    await screenshot(page, 'sim-login')

    await page.getByLabel('API token').fill(sim.adminToken)
    await page.getByRole('button', { name: 'Sign in' }).click()
    await page.getByRole('heading', { name: 'Cards' }).waitFor()
    expect(await page.evaluate("sessionStorage.getItem('conax-sim-admin-token')")).toBe(
      sim.adminToken,
    )
    expect(problems).toEqual([])
    await context.close()
  })

  it('finds a card among 100,000, sees a bark on its screen and then not, after its duration', async () => {
    const card = sim.model.cardIds(73_210, 1).ids[0]!
    const { context, page, problems } = await newPage(browser!)
    await page.goto(`${sim.url}/console/#token=${sim.adminToken}`)
    await page.getByText('1–25 of 100000').waitFor()
    expect(page.url()).not.toContain('token')
    await expectAccessible(page, 'the card list')
    await screenshot(page, 'sim-cards')

    await page.getByLabel('CaClientId contains').fill(card.slice(2))
    await page.getByRole('button', { name: 'Search' }).click()
    await page.getByRole('link', { name: card, exact: true }).click()
    await page.getByRole('heading', { name: `Card ${card}` }).waitFor()
    expect(page.url()).toContain(`card=${card}`)
    await page.getByText('No active products.').waitFor()
    await expectAccessible(page, 'a card')
    await screenshot(page, 'sim-card')

    // Card, STB and pairing link to each other.
    await sim.loadInventory({
      pairingModules: [
        {
          pairingModuleId: '1999999999',
          serialNumber: 'SN1',
          productCode: 'P',
          productDescription: 'An STB',
        },
      ],
    })
    const paired = await callSoap(sim, 'pairing', 'CreatePairing', {
      CaClientIds: { CaClientId: [card] },
      PairingModuleIds: { PairingModuleId: ['1999999999'] },
    })
    expect(paired.statusCode).toBe('OK')
    await page.getByRole('link', { name: '1999999999' }).click()
    await page.getByRole('heading', { name: 'STB 1999999999' }).waitFor()
    await expectAccessible(page, 'an STB')
    const pairingId = sim.model.pairingModule('1999999999')!.pairingId!
    await page.getByRole('link', { name: pairingId }).click()
    await page.getByRole('heading', { name: `Pairing ${pairingId}` }).waitFor()
    await expectAccessible(page, 'a pairing')
    await page.getByRole('link', { name: card }).click()
    await page.getByRole('heading', { name: `Card ${card}` }).waitFor()

    await page.getByRole('link', { name: 'Show the virtual screen' }).click()
    await page.getByTestId('screen-empty').waitFor()
    const sent = await callSoap(sim, 'user-text-messaging', 'SendBarkMessageToClients', {
      CaClientIds: { CaClientId: [card] },
      Message: 'The match starts in 5 minutes',
      DisplayDurationInSeconds: 30,
    })
    expect(sent.statusCode).toBe('OK')
    const bark = page.getByTestId('bark')
    await bark.waitFor()
    expect(await bark.textContent()).toBe('The match starts in 5 minutes')
    await callSoap(sim, 'fingerprint', 'DisplayFingerprint', {
      CaClientIds: { CaClientId: [card] },
      DurationInSeconds: 60,
      PositionX: 500,
      PositionY: 80,
      Height: 60,
      Slot: 'B',
    })
    await page.getByTestId('fingerprint').waitFor()
    await expectAccessible(page, 'the virtual screen')
    await screenshot(page, 'sim-screen')

    // 30 s of simulator time later the bark is gone; the fingerprint (60 s) is still there.
    await page.getByLabel('Advance the simulator clock by (seconds)').fill('31')
    await page.getByRole('button', { name: 'Advance clock' }).click()
    await bark.waitFor({ state: 'detached' })
    expect(await page.getByTestId('fingerprint').count()).toBe(1)
    expect(problems).toEqual([])
    await context.close()
  })

  it('shows the journal live, filtered by operation, card and status, with the request folded', async () => {
    const { context, page, problems } = await newPage(browser!)
    const card = sim.model.cardIds(5, 1).ids[0]!
    await page.goto(`${sim.url}/console/?view=journal&card=${card}#token=${sim.adminToken}`)
    await page.getByTestId('journal-state').filter({ hasText: 'live' }).waitFor()
    expect(await page.getByTestId('journal-row').count()).toBe(0)
    await callSoap(sim, 'subscription', 'AddSubscriptions', {
      Subscriptions: {
        Subscription: [{ CaClientId: card, ProductId: 'NOPE-1', Distributor: 'Main' }],
      },
    })
    await callSoap(sim, 'ca-pin', 'UpdateCaPinToDefaultValue', { CaClientId: card })
    const rows = page.getByTestId('journal-row')
    await rows.filter({ hasText: 'UpdateCaPinToDefaultValue' }).waitFor()
    expect(await rows.count()).toBe(2)
    await page.getByLabel('Status', { exact: true }).selectOption('failed')
    await rows.filter({ hasText: 'UpdateCaPinToDefaultValue' }).waitFor({ state: 'detached' })
    expect(await rows.count()).toBe(1)
    expect(await rows.first().textContent()).toContain('PRODUCT_NOT_FOUND')
    expect(page.url()).toContain('status=failed')
    // The real bodies, folded until opened, one element per line.
    const folds = rows.first().locator('details')
    expect(await folds.count()).toBe(2)
    expect([
      await folds.nth(0).getAttribute('open'),
      await folds.nth(1).getAttribute('open'),
    ]).toEqual([null, null])
    await rows.first().getByText('Request', { exact: true }).click()
    const request = (await rows.first().locator('pre').first().textContent()) ?? ''
    expect(request).toContain(
      `<c:AddSubscriptions xmlns:c="${serviceNamespace('subscription')}">\n`,
    )
    expect(request).toMatch(/\n {12}<ProductId>NOPE-1<\/ProductId>\n/)
    await rows
      .first()
      .getByText(/^Answer: HTTP 200/)
      .click()
    const answer = (await rows.first().locator('pre').last().textContent()) ?? ''
    expect(answer).toContain(
      `<ns2:AddSubscriptionsResponse xmlns:ns2="${serviceNamespace('subscription')}">\n      <TransactionStatus>\n`,
    )
    expect(answer).toContain('        <StatusCode>PRODUCT_NOT_FOUND</StatusCode>\n')
    await expectAccessible(page, 'the journal')
    await screenshot(page, 'sim-journal')

    // The same address shows the same view.
    await page.reload()
    await rows.first().waitFor()
    expect(await rows.count()).toBe(1)
    expect(problems).toEqual([])
    await context.close()
  })

  it('adds, lists and removes a fault rule, and shows the refusal of a bad one', async () => {
    const { context, page, problems } = await newPage(browser!)
    await page.goto(`${sim.url}/console/?view=faults#token=${sim.adminToken}`)
    await page.getByTestId('no-faults').waitFor()
    await page.getByLabel('Kind', { exact: true }).selectOption('DELAY')
    await page.getByLabel('Delay (ms)').fill('0')
    await page.getByRole('button', { name: 'Add fault' }).click()
    await page.getByRole('alert').filter({ hasText: 'INVALID_REQUEST' }).waitFor()
    expect(sim.faults.list()).toEqual([])

    await page.getByLabel('Kind', { exact: true }).selectOption('HTTP_STATUS')
    await page.getByLabel('Operation', { exact: true }).selectOption('AddSubscriptions')
    await page.getByLabel('until removed').check()
    await page.getByRole('button', { name: 'Add fault' }).click()
    await page.getByTestId('faults').getByText('AddSubscriptions').waitFor()
    expect(sim.faults.list()).toMatchObject([
      { kind: 'HTTP_STATUS', operation: 'AddSubscriptions', remaining: null },
    ])
    await expectAccessible(page, 'the faults')
    await screenshot(page, 'sim-faults')

    await page.getByRole('button', { name: /Remove fault rule/ }).click()
    await page.getByTestId('no-faults').waitFor()
    expect(sim.faults.list()).toEqual([])
    expect(problems).toEqual([])
    await context.close()
  })

  it('imports an inventory from a CSV file and resets keeping the inventory', async () => {
    const { context, page, problems } = await newPage(browser!)
    await page.goto(`${sim.url}/console/?view=faults#token=${sim.adminToken}`)
    await page.getByLabel(/Inventory file/).setInputFiles({
      name: 'cards.csv',
      mimeType: 'text/csv',
      buffer: Buffer.from('caClientId,sms\n09000000001,\n09000000002,sms\n'),
    })
    await page.getByRole('button', { name: 'Import' }).click()
    await page.getByRole('status').filter({ hasText: 'Registered 2 cards' }).waitFor()
    expect(sim.model.card('09000000002')).not.toBeNull()

    await page.getByLabel('I mean it: state and journal are forgotten').check()
    await page.getByRole('button', { name: 'Reset' }).click()
    await page.getByRole('status').filter({ hasText: 'inventory kept' }).waitFor()
    expect(sim.model.card('09000000002')).not.toBeNull()
    expect(sim.journal.size()).toBe(0)
    expect(problems).toEqual([])
    await context.close()
  })

  it('works from the keyboard: skip link, search with Enter, links and buttons by Tab', async () => {
    const card = sim.model.cardIds(12, 1).ids[0]!
    const { context, page, problems } = await newPage(browser!)
    await page.goto(`${sim.url}/console/#token=${sim.adminToken}`)
    await page.getByText('1–25 of').waitFor()
    await page.keyboard.press('Tab')
    expect(await page.evaluate('document.activeElement.textContent')).toBe('Skip to content')
    await page.keyboard.press('Enter')
    expect(await page.evaluate('document.activeElement.id')).toBe('main')

    await page.keyboard.press('Tab')
    expect(await page.evaluate('document.activeElement.id')).toBe('card-search')
    await page.keyboard.type(card)
    await page.keyboard.press('Enter')
    await page.getByText('1–1 of 1').waitFor()
    // Search button, Previous and Next (disabled, skipped), then the card's link.
    await page.keyboard.press('Tab')
    await page.keyboard.press('Tab')
    expect(await page.evaluate('document.activeElement.textContent')).toBe(card)
    await page.keyboard.press('Enter')
    await page.getByRole('heading', { name: `Card ${card}` }).waitFor()
    expect(problems).toEqual([])
    await context.close()
  })

  it('shows the products and statistics', async () => {
    const { context, page, problems } = await newPage(browser!)
    await page.goto(`${sim.url}/console/?view=products#token=${sim.adminToken}`)
    const cards = String(sim.model.stats().smartcards)
    await page.getByTestId('stats').getByText(cards, { exact: true }).first().waitFor()
    await page.getByRole('heading', { name: 'Catalogue' }).waitFor()
    await expectAccessible(page, 'products and statistics')
    await screenshot(page, 'sim-products')
    expect(problems).toEqual([])
    await context.close()
  })
})
