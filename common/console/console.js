// What both consoles share: the token, JSON calls, server-sent events over fetch, the view state in
// the URL, and the page frame. Plain ES modules served as they are (docs/decisions/0018): preact
// and htm come from the `htm` package's standalone build, served by the server at ../vendor/.
import { html, render, useCallback, useEffect, useRef, useState } from '../vendor/preact-htm.js'

export { html, render, useCallback, useEffect, useRef, useState }

// ----- the token ------------------------------------------------------------------------------

/**
 * The API token lives in this tab's sessionStorage only (gone when the tab closes, never in a
 * cookie, so no other site's page can make the browser send it). A link may carry it once in the
 * URL fragment (`#token=...`), which never reaches a server; it is moved to sessionStorage and
 * taken off the address bar at once.
 */
export class TokenStore {
  /** @param {string} key the sessionStorage key of this console */
  constructor(key) {
    this.key = key
    const fragment = new URLSearchParams(location.hash.slice(1))
    const given = fragment.get('token')
    if (given) {
      sessionStorage.setItem(key, given)
      fragment.delete('token')
      const rest = fragment.toString()
      history.replaceState(
        history.state,
        '',
        `${location.pathname}${location.search}${rest ? `#${rest}` : ''}`,
      )
    }
  }

  /** The token, or null before login. */
  get() {
    return sessionStorage.getItem(this.key)
  }

  /** @param {string} token */
  set(token) {
    sessionStorage.setItem(this.key, token)
  }

  clear() {
    sessionStorage.removeItem(this.key)
  }
}

// ----- JSON calls -----------------------------------------------------------------------------

/** An API refusal: the server's code and message, and the HTTP status. */
export class ApiError extends Error {
  /** @param {number} status @param {string} code @param {string} message */
  constructor(status, code, message) {
    super(message)
    this.status = status
    this.code = code
  }
}

/** The event fired on window when the API refuses the token: the console shows its login form. */
export const UNAUTHORIZED_EVENT = 'console-unauthorized'

/**
 * A JSON client of this origin's API that sends the token as `Authorization: Bearer`.
 * @param {TokenStore} tokens
 */
export function apiClient(tokens) {
  /**
   * @param {string} method
   * @param {string} path
   * @param {unknown} [body]
   * @returns {Promise<any>} the parsed answer (null for 204)
   */
  return async function call(method, path, body) {
    const headers = { Accept: 'application/json', Authorization: `Bearer ${tokens.get() ?? ''}` }
    const response = await fetch(path, {
      method,
      headers: body === undefined ? headers : { ...headers, 'Content-Type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      credentials: 'omit',
      cache: 'no-store',
    })
    if (response.status === 204) {
      return null
    }
    const text = await response.text()
    let parsed = null
    try {
      parsed = text === '' ? null : JSON.parse(text)
    } catch {
      parsed = null
    }
    if (!response.ok) {
      if (response.status === 401) {
        window.dispatchEvent(new Event(UNAUTHORIZED_EVENT))
      }
      const error = parsed && typeof parsed === 'object' ? parsed.error : null
      throw new ApiError(
        response.status,
        error?.code ?? `HTTP_${response.status}`,
        error?.message ??
          `${method} ${path} answered HTTP ${response.status}: ${text.slice(0, 200)}`,
      )
    }
    return parsed
  }
}

/** Reads `text/event-stream` text into events, as EventSource does. */
class EventParser {
  constructor(onEvent) {
    this.onEvent = onEvent
    this.buffer = ''
    this.lastId = null
    this.retryMs = 1000
    this.event = { id: null, event: 'message', data: [] }
  }

  /** Takes a chunk of the stream; calls onEvent for each complete event. */
  push(chunk) {
    this.buffer += chunk
    let end = this.buffer.search(/\r\n|\r|\n/)
    while (end !== -1) {
      const line = this.buffer.slice(0, end)
      this.buffer = this.buffer.slice(end + (this.buffer.startsWith('\r\n', end) ? 2 : 1))
      this.line(line)
      end = this.buffer.search(/\r\n|\r|\n/)
    }
  }

  line(line) {
    if (line === '') {
      this.dispatch()
      return
    }
    if (line.startsWith(':')) {
      return
    }
    const colon = line.indexOf(':')
    const field = colon === -1 ? line : line.slice(0, colon)
    const text = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '')
    if (field === 'data') {
      this.event.data.push(text)
    } else if (field === 'id') {
      this.event.id = text
    } else if (field === 'event') {
      this.event.event = text
    } else if (field === 'retry' && /^\d+$/.test(text)) {
      this.retryMs = Number(text)
    }
  }

  dispatch() {
    const { id, event, data } = this.event
    this.event = { id: null, event: 'message', data: [] }
    if (data.length === 0) {
      return
    }
    if (id !== null) {
      this.lastId = id
    }
    this.onEvent({ id, event, data: data.join('\n') })
  }
}

/** Reads a stream's body to its end into the parser. */
async function readBody(response, parser) {
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader()
  for (;;) {
    const { value, done } = await reader.read()
    if (done) {
      return
    }
    parser.push(value)
  }
}

/**
 * Follows a `text/event-stream` with fetch (EventSource cannot send the Authorization header).
 * Calls `onEvent({ id, event, data })` per event; reconnects after `retry` ms with
 * `Last-Event-ID`, until `signal` aborts. `onState` hears 'open', 'closed' or an error message.
 * Resolves 'missing' when the server has no such stream (404), else when aborted or refused.
 * @param {TokenStore} tokens
 * @param {string} path
 * @param {{ onEvent: (event: {id: string|null, event: string, data: string}) => void, onState?: (state: string) => void, signal: AbortSignal }} handlers
 */
export async function followEvents(tokens, path, { onEvent, onState = () => {}, signal }) {
  const parser = new EventParser(onEvent)
  while (!signal.aborted) {
    try {
      const response = await fetch(path, {
        headers: {
          Accept: 'text/event-stream',
          Authorization: `Bearer ${tokens.get() ?? ''}`,
          ...(parser.lastId === null ? {} : { 'Last-Event-ID': parser.lastId }),
        },
        credentials: 'omit',
        cache: 'no-store',
        signal,
      })
      if (response.status === 401) {
        window.dispatchEvent(new Event(UNAUTHORIZED_EVENT))
        onState('unauthorized')
        return 'refused'
      }
      if (response.status === 404) {
        return 'missing'
      }
      if (!response.ok || !response.body) {
        throw new Error(`the stream answered HTTP ${response.status}`)
      }
      onState('live')
      await readBody(response, parser)
      onState('closed')
    } catch (error) {
      if (signal.aborted) {
        return 'aborted'
      }
      onState(`reconnecting: ${error instanceof Error ? error.message : String(error)}`)
    }
    await new Promise((resolve) => setTimeout(resolve, parser.retryMs))
  }
  return 'aborted'
}

// ----- view state in the URL ------------------------------------------------------------------

/** The query string as a plain object. */
function readParams() {
  return Object.fromEntries(new URLSearchParams(location.search))
}

/** A link to a view: `?view=cards&card=...` (empty values are left out). @param {Record<string, unknown>} params */
export function href(params) {
  const search = new URLSearchParams()
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== '') {
      search.set(key, String(value))
    }
  }
  const text = search.toString()
  return `${location.pathname}${text ? `?${text}` : ''}`
}

/**
 * The view state (the query string) and a way to change it: every view is a link, so reloading
 * or sharing the address shows the same view.
 * @returns {[Record<string, string>, (params: Record<string, unknown>, replace?: boolean) => void]}
 */
export function useRoute() {
  const [params, setParams] = useState(readParams)
  useEffect(() => {
    const changed = () => setParams(readParams())
    window.addEventListener('popstate', changed)
    return () => window.removeEventListener('popstate', changed)
  }, [])
  const navigate = useCallback((next, replace = false) => {
    const target = href(next)
    if (replace) {
      history.replaceState(null, '', target)
    } else {
      history.pushState(null, '', target)
    }
    setParams(readParams())
  }, [])
  return [params, navigate]
}

/** A link that changes the view without reloading the page. */
export function Link({ to, navigate, children, ...rest }) {
  const onClick = (event) => {
    if (event.button === 0 && !event.metaKey && !event.ctrlKey && !event.shiftKey) {
      event.preventDefault()
      navigate(to)
    }
  }
  return html`<a href=${href(to)} onClick=${onClick} ...${rest}>${children}</a>`
}

// ----- data ---------------------------------------------------------------------------------

/**
 * Loads with `load()` now and every `everyMs` (0: once), again when `key` changes.
 * @returns {{ data: any, error: Error|null, reload: () => void }}
 */
export function useLoad(load, key, everyMs = 0) {
  const [state, setState] = useState({ data: null, error: null, key: null })
  const [tick, setTick] = useState(0)
  const loadRef = useRef(load)
  loadRef.current = load
  useEffect(() => {
    let live = true
    let timer = null
    const run = async () => {
      try {
        const data = await loadRef.current()
        if (live) {
          setState({ data, error: null, key })
        }
      } catch (error) {
        if (live) {
          setState((old) => ({ data: old.key === key ? old.data : null, error, key }))
        }
      }
      if (live && everyMs > 0) {
        timer = setTimeout(run, everyMs)
      }
    }
    void run()
    return () => {
      live = false
      clearTimeout(timer)
    }
  }, [key, tick, everyMs])
  const reload = useCallback(() => setTick((n) => n + 1), [])
  return { data: state.key === key ? state.data : null, error: state.error, reload }
}

// ----- formatting -----------------------------------------------------------------------------

/** XML indented one element per line, for reading a SOAP message. @param {string} xml */
export function prettyXml(xml) {
  if (typeof xml !== 'string' || xml.trim() === '') {
    return ''
  }
  const tokens = xml
    .replace(/>\s+</g, '><')
    .split(/(<[^>]+>)/)
    .filter((part) => part !== '')
  let depth = 0
  const lines = []
  for (let index = 0; index < tokens.length; index++) {
    const token = tokens[index]
    if (token.startsWith('</')) {
      depth = Math.max(0, depth - 1)
      lines.push(`${'  '.repeat(depth)}${token}`)
    } else if (token.startsWith('<?') || token.startsWith('<!') || token.endsWith('/>')) {
      lines.push(`${'  '.repeat(depth)}${token}`)
    } else if (token.startsWith('<')) {
      const text = tokens[index + 1]
      const close = tokens[index + 2]
      if (text !== undefined && !text.startsWith('<') && close?.startsWith('</')) {
        lines.push(`${'  '.repeat(depth)}${token}${text}${close}`)
        index += 2
      } else {
        lines.push(`${'  '.repeat(depth)}${token}`)
        depth++
      }
    } else {
      lines.push(`${'  '.repeat(depth)}${token.trim()}`)
    }
  }
  return lines.join('\n')
}

/** A date-time as `2026-11-26 10:00:00` UTC. @param {string|null|undefined} iso */
export function when(iso) {
  return iso ? iso.replace('T', ' ').replace(/\.\d+Z$|Z$/, ' UTC') : '–'
}

// ----- components -----------------------------------------------------------------------------

/** A folded block of text (XML or JSON) with a summary line. */
export function Folded({ summary, text, open = false }) {
  return html`<details class="folded" open=${open}>
    <summary>${summary}</summary>
    <pre tabindex="0">${text}</pre>
  </details>`
}

/** An error as the API said it: code and message, announced to screen readers. */
export function ErrorNote({ error }) {
  if (!error) {
    return null
  }
  return html`<p class="error" role="alert">
    <strong>${error.code ?? 'ERROR'}</strong>: ${error.message}
  </p>`
}

/** A form control with its label (for/id, so the label alone names it) and an optional hint. */
export function Labeled({ id, label, hint, children }) {
  return html`<div class="field">
    <label for=${id}>${label}</label>
    ${children} ${hint ? html`<span class="hint" id=${`${id}-hint`}>${hint}</span>` : ''}
  </div>`
}

/** Previous / next page buttons with the range shown. */
export function Pager({ offset, limit, total, onPage, label }) {
  const last = Math.min(offset + limit, total)
  return html`<nav class="pager" aria-label=${label}>
    <button
      type="button"
      disabled=${offset === 0}
      onClick=${() => onPage(Math.max(0, offset - limit))}
    >
      Previous
    </button>
    <span aria-live="polite">${total === 0 ? 'none' : `${offset + 1}–${last} of ${total}`}</span>
    <button type="button" disabled=${last >= total} onClick=${() => onPage(offset + limit)}>
      Next
    </button>
  </nav>`
}

/** The login form: the token is checked with `check(token)` before it is kept. */
export function Login({ title, hint, tokens, check, onLogin }) {
  const [token, setToken] = useState('')
  const [error, setError] = useState(null)
  const submit = async (event) => {
    event.preventDefault()
    tokens.set(token.trim())
    try {
      await check()
      setError(null)
      onLogin()
    } catch (failure) {
      tokens.clear()
      setError(failure)
    }
  }
  return html`<main id="main" class="login">
    <h1>${title}</h1>
    <form onSubmit=${submit}>
      <label for="token">API token</label>
      <input
        id="token"
        name="token"
        type="password"
        autocomplete="off"
        required
        value=${token}
        onInput=${(event) => setToken(event.currentTarget.value)}
      />
      <p class="hint" id="token-hint">${hint}</p>
      <button type="submit">Sign in</button>
    </form>
    <${ErrorNote} error=${error} />
  </main>`
}

/** The frame of every page: a skip link, the title, the navigation and the view. */
export function Shell({ title, views, current, navigate, onLogout, children }) {
  return html`<a class="skip" href="#main">Skip to content</a>
    <header class="top">
      <span class="brand">${title}</span>
      <nav aria-label="Views">
        <ul>
          ${views.map(
            ([view, label]) => html`<li>
              <${Link} to=${{ view }} navigate=${navigate}
                aria-current=${current === view ? 'page' : undefined}>${label}</${Link}>
            </li>`,
          )}
        </ul>
      </nav>
      <button type="button" class="quiet" onClick=${onLogout}>Sign out</button>
    </header>
    <main id="main" tabindex="-1">${children}</main>`
}

/**
 * Starts a console: the login form until a token works, then `App`.
 * @param {{ title: string, tokenKey: string, hint: string, check: (api: Function) => Promise<unknown>, App: Function }} options
 */
export function startConsole({ title, tokenKey, hint, check, App }) {
  const tokens = new TokenStore(tokenKey)
  const api = apiClient(tokens)
  function Root() {
    const [signedIn, setSignedIn] = useState(tokens.get() !== null)
    useEffect(() => {
      const out = () => {
        tokens.clear()
        setSignedIn(false)
      }
      window.addEventListener(UNAUTHORIZED_EVENT, out)
      return () => window.removeEventListener(UNAUTHORIZED_EVENT, out)
    }, [])
    if (!signedIn) {
      return html`<${Login}
        title=${title}
        hint=${hint}
        tokens=${tokens}
        check=${() => check(api)}
        onLogin=${() => setSignedIn(true)}
      />`
    }
    const logout = () => {
      tokens.clear()
      setSignedIn(false)
    }
    return html`<${App} api=${api} tokens=${tokens} onLogout=${logout} />`
  }
  const container = document.getElementById('app')
  container.textContent = ''
  render(html`<${Root} />`, container)
}
