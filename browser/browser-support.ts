import { mkdirSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core'
import { expect } from 'vitest'

/**
 * The browser tests' Chromium: Debian's (`apt-get install chromium`, see .ci/run), driven by
 * playwright-core through its executable path, with a fresh profile and none of the background
 * connections Chromium makes on its own (they fail on a closed network and slow the start).
 * playwright-core gives every launch a fresh profile folder (--user-data-dir) of its own and
 * removes it on close.
 */

/** Where the screenshots go (gitignored); docs/console-*.png are copies of three of them. */
export const ARTIFACTS = join(import.meta.dirname, '..', 'artifacts', 'console')

/** The Chromium binary: CHROMIUM_PATH, else Debian's. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'

/** A headless Chromium with a fresh profile. */
export async function launchBrowser(): Promise<Browser> {
  mkdirSync(ARTIFACTS, { recursive: true })
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  })
}

/** A page that fails the test on a script error or a Content-Security-Policy violation. */
export async function newPage(
  browser: Browser,
): Promise<{ context: BrowserContext; page: Page; problems: string[] }> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } })
  const page = await context.newPage()
  const problems: string[] = []
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`))
  page.on('console', (message) => {
    // The browser logs every answer of 400 and above; the refusals a test provokes are expected.
    if (message.type() === 'error' && !message.text().startsWith('Failed to load resource')) {
      problems.push(`console error: ${message.text()}`)
    }
  })
  return { context, page, problems }
}

const AXE_SOURCE = readFileSync(
  createRequire(import.meta.url).resolve('axe-core/axe.min.js'),
  'utf8',
)

interface AxeViolation {
  readonly id: string
  readonly impact: string | null
  readonly help: string
  readonly nodes: readonly { readonly target: readonly string[] }[]
}

/**
 * Runs axe-core in the page (injected through the DevTools protocol, so the page's CSP does not
 * apply) and fails on any serious or critical violation, naming rule and elements.
 */
export async function expectAccessible(page: Page, what: string): Promise<void> {
  await page.evaluate(AXE_SOURCE)
  // A string, evaluated in the page: these tests are compiled without the DOM's types.
  const violations = await page.evaluate<AxeViolation[]>(
    'axe.run(document).then((result) => result.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => ({ target: n.target })) })))',
  )
  const bad = violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map(
      (v) =>
        `${v.impact ?? ''} ${v.id}: ${v.help} (${v.nodes
          .map((n) => n.target.join(' '))
          .slice(0, 3)
          .join('; ')})`,
    )
  expect(bad, `axe-core on ${what}`).toEqual([])
}

/** Saves a full-page screenshot as artifacts/console/<name>.png. */
export async function screenshot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true })
}
