import { existsSync, readFileSync, readdirSync } from 'node:fs'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { dirname, extname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

/**
 * The web console's static files, served by both servers under `/console/` (docs/decisions/0018):
 * the page and script of one server's console, the shared script and style sheet
 * (`/console/common/`), and preact with htm from the `htm` package (`/console/vendor/`), all read
 * from the package at start, so the console works offline and nothing is fetched from elsewhere.
 *
 * The files are public (no token): they hold no data. The page asks for the API token and sends it
 * as `Authorization: Bearer` on its own `fetch` calls, so the API's rules are the same for the
 * console as for any client. Every answer carries a Content-Security-Policy without inline script.
 */

/** URL prefix of the console. */
export const CONSOLE_PATH = '/console'

/** The console pages' Content-Security-Policy: this origin's files only, no inline script or style, no framing. */
export const CONSOLE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ')

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
}

/** The folder holding `common/console/`: the repository root, from source or from `dist/`. */
function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  while (!existsSync(join(dir, 'common', 'console', 'console.js'))) {
    const parent = dirname(dir)
    if (parent === dir) {
      throw new Error(
        'Failed to find the console files: no common/console/console.js above this module. Run from a full checkout of the package.',
      )
    }
    dir = parent
  }
  return dir
}

interface Asset {
  readonly body: Buffer
  readonly type: string
}

/** Every file of a folder (not its subfolders) whose type is served, by name. */
function readFolder(folder: string, prefix: string, into: Map<string, Asset>): void {
  for (const name of readdirSync(folder)) {
    const type = TYPES[extname(name)]
    if (type !== undefined && !name.endsWith('.test.ts')) {
      into.set(`${prefix}${name}`, { body: readFileSync(join(folder, name)), type })
    }
  }
}

/** Whether a request path is the console's. */
export function isConsolePath(pathname: string): boolean {
  return pathname === CONSOLE_PATH || pathname.startsWith(`${CONSOLE_PATH}/`)
}

/** Serves one console: `app` names its folder under the repository root (e.g. `simulator/console`). */
export class ConsoleFiles {
  private readonly assets = new Map<string, Asset>()

  constructor(app: string) {
    const root = packageRoot()
    readFolder(join(root, app), '/', this.assets)
    readFolder(join(root, 'common', 'console'), '/common/', this.assets)
    const standalone = fileURLToPath(import.meta.resolve('htm/preact/standalone'))
    this.assets.set('/vendor/preact-htm.js', {
      body: readFileSync(standalone),
      type: TYPES['.js'] as string,
    })
    const index = this.assets.get('/index.html')
    if (!index) {
      throw new Error(`Failed to find the console page ${join(root, app, 'index.html')}.`)
    }
    this.assets.set('/', index)
  }

  /** Answers a request under {@link CONSOLE_PATH}: a file, a redirect to the page, 404 or 405. */
  handle(req: IncomingMessage, res: ServerResponse, pathname: string): void {
    const headers = {
      'Content-Security-Policy': CONSOLE_CSP,
      'X-Content-Type-Options': 'nosniff',
      'X-Frame-Options': 'DENY',
      'Referrer-Policy': 'no-referrer',
      'Cache-Control': 'no-cache',
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { ...headers, Allow: 'GET, HEAD', 'Content-Type': TYPES['.html'] })
      res.end('The console serves files only: GET or HEAD.\n')
      return
    }
    if (pathname === CONSOLE_PATH) {
      res.writeHead(308, { ...headers, Location: `${CONSOLE_PATH}/` })
      res.end()
      return
    }
    const asset = this.assets.get(pathname.slice(CONSOLE_PATH.length))
    if (!asset) {
      res.writeHead(404, { ...headers, 'Content-Type': 'text/plain; charset=utf-8' })
      res.end(`No console file ${pathname}. Open ${CONSOLE_PATH}/.\n`)
      return
    }
    res.writeHead(200, {
      ...headers,
      'Content-Type': asset.type,
      'Content-Length': asset.body.length,
    })
    res.end(req.method === 'HEAD' ? undefined : asset.body)
  }
}
