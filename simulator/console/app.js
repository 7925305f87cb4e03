// The simulator console: cards, a virtual set-top box per card, the SOAP journal (live), faults,
// resets and inventory import, products and statistics, all over the admin API (simulator/README.md).
import {
  ErrorNote,
  Folded,
  Labeled,
  Link,
  Pager,
  Shell,
  followEvents,
  html,
  startConsole,
  useEffect,
  useLoad,
  useRef,
  useRoute,
  useState,
  when,
} from './common/console.js'

const OPERATIONS = [
  'AddSubscriptions',
  'CancelSubscriptions',
  'GetActiveSubscriptions',
  'CreatePairing',
  'AddToExistingPairing',
  'GetPairingStatusForCard',
  'GetPairingStatusForPairingModule',
  'SendMailMessageToClients',
  'SendBarkMessageToClients',
  'SendRepeatingBarkMessageToClients',
  'DisplayFingerprint',
  'UpdateCaPinToDefaultValue',
  'UpdateCaPinToGivenValue',
]
const SERVICES = ['subscription', 'pairing', 'user-text-messaging', 'fingerprint', 'ca-pin']
const FAULT_KINDS = [
  ['HTTP_STATUS', 'HTTP status (CA answers an HTTP error)'],
  ['RESET', 'Down (connection dropped, nothing applied)'],
  ['DELAY', 'Delay (then answers normally)'],
  ['SOAP_FAULT', 'SOAP fault (soap:Server)'],
  ['SYSTEM_ERROR', 'SYSTEM_ERROR status'],
  ['RESET_AFTER_APPLY', 'Applied, then connection dropped'],
]
const VIEWS = [
  ['cards', 'Cards'],
  ['journal', 'Journal'],
  ['faults', 'Faults & reset'],
  ['products', 'Products & statistics'],
]
const CARD_PAGE = 25
/** The virtual screen's coordinate space for fingerprint positions (PAL: 720 x 576). */
const SCREEN_W = 720
const SCREEN_H = 576

const enc = encodeURIComponent

function App({ api, tokens, onLogout }) {
  const [route, navigate] = useRoute()
  const view = route.view ?? 'cards'
  const current = ['card', 'stb', 'pairing', 'screen'].includes(view) ? 'cards' : view
  const pages = {
    cards: CardsView,
    card: CardView,
    stb: StbView,
    pairing: PairingView,
    screen: ScreenView,
    journal: JournalView,
    faults: FaultsView,
    products: ProductsView,
  }
  const Page = pages[view] ?? CardsView
  useEffect(() => {
    document.title = `${VIEWS.find(([name]) => name === current)?.[1] ?? 'Console'} · conax-sim console`
  }, [current])
  return html`<${Shell} title="conax-sim console" views=${VIEWS} current=${current}
    navigate=${navigate} onLogout=${onLogout}>
    <${Page} api=${api} tokens=${tokens} route=${route} navigate=${navigate} />
  </${Shell}>`
}

// ----- cards ----------------------------------------------------------------------------------

function CardsView({ api, route, navigate }) {
  const q = route.q ?? ''
  const offset = Number(route.offset ?? 0) || 0
  const [text, setText] = useState(q)
  useEffect(() => setText(q), [q])
  const { data, error } = useLoad(
    () =>
      api(
        'GET',
        `/admin/cards?offset=${offset}&limit=${CARD_PAGE}${q ? `&contains=${enc(q)}` : ''}`,
      ),
    `${q}|${offset}`,
  )
  const search = (event) => {
    event.preventDefault()
    navigate({ view: 'cards', q: text.trim() })
  }
  return html`<h1>Cards</h1>
    <form class="inline" role="search" onSubmit=${search}>
      <label for="card-search">CaClientId contains</label>
      <input
        id="card-search"
        type="search"
        inputmode="numeric"
        value=${text}
        onInput=${(event) => setText(event.currentTarget.value)}
      />
      <button type="submit">Search</button>
    </form>
    <${ErrorNote} error=${error} />
    ${
      data &&
      html`<${Pager}
          label="Card pages"
          offset=${offset}
          limit=${CARD_PAGE}
          total=${data.total}
          onPage=${(next) => navigate({ view: 'cards', q, offset: next })}
        />
        <table>
          <caption class="hint">
            Cards in registration order${q ? `, containing “${q}”` : ''}
          </caption>
          <thead>
            <tr>
              <th scope="col">CaClientId</th>
              <th scope="col">Views</th>
            </tr>
          </thead>
          <tbody>
            ${data.ids.map(
              (id) => html`<tr key=${id}>
              <td><${Link} to=${{ view: 'card', card: id }} navigate=${navigate}>${id}</${Link}></td>
              <td><${Link} to=${{ view: 'screen', card: id }} navigate=${navigate}
                aria-label=${`Screen of card ${id}`}>screen</${Link}></td>
            </tr>`,
            )}
          </tbody>
        </table>`
    }`
}

function CardView({ api, route, navigate }) {
  const id = route.card ?? ''
  const { data: card, error } = useLoad(() => api('GET', `/admin/cards/${enc(id)}`), id, 3000)
  return html`<h1>Card ${id}</h1>
    <p><${Link} to=${{ view: 'screen', card: id }} navigate=${navigate}>Show the virtual screen</${Link}>${' · '}<${Link} to=${{ view: 'journal', card: id }} navigate=${navigate}>SOAP calls for this card</${Link}></p>
    <${ErrorNote} error=${error} />
    ${
      card &&
      html`<div class="grid">
          <section class="panel" aria-labelledby="card-state">
            <h2 id="card-state">State</h2>
            <dl>
              <dt>SMS user</dt>
              <dd>${card.sms}</dd>
              <dt>PIN</dt>
              <dd>${card.pin}</dd>
              <dt>Messages</dt>
              <dd>
                ${card.inbox.length} mail, ${card.screen.length} bark, ${card.fingerprints.length}
                fingerprint
              </dd>
            </dl>
          </section>
          <section class="panel" aria-labelledby="card-pairing">
            <h2 id="card-pairing">Pairing</h2>
            ${
              card.pairing === null
                ? html`<p>Not paired.</p>`
                : html`<dl>
                    <dt>Distributor</dt>
                    <dd>${card.pairing.distributor ?? '–'}</dd>
                    <dt>STBs</dt>
                    <dd>
                      ${card.pairing.pairingModuleIds.map(
                        (stb) =>
                          html`<${Link} to=${{ view: 'stb', stb }} navigate=${navigate}>${stb}</${Link}> `,
                      )}
                    </dd>
                    <dt>Cards</dt>
                    <dd>
                      ${card.pairing.caClientIds.map(
                        (other) =>
                          html`<${Link} to=${{ view: 'card', card: other }} navigate=${navigate}>${other}</${Link}> `,
                      )}
                    </dd>
                  </dl>`
            }
          </section>
        </div>
        <h2>Products</h2>
        ${
          card.subscriptions.length === 0
            ? html`<p>No active products.</p>`
            : html`<table>
                <thead>
                  <tr>
                    <th scope="col">Product</th>
                    <th scope="col">Distributor</th>
                    <th scope="col">Start</th>
                    <th scope="col">End</th>
                  </tr>
                </thead>
                <tbody>
                  ${card.subscriptions.map(
                    (p) =>
                      html`<tr key=${p.productId}>
                        <td>${p.productId}</td>
                        <td>${p.distributor ?? '–'}</td>
                        <td>${when(p.startDate)}</td>
                        <td>${when(p.endDate)}</td>
                      </tr>`,
                  )}
                </tbody>
              </table>`
        }
        <${Inbox} inbox=${card.inbox} />`
    }`
}

function Inbox({ inbox }) {
  return html`<h2>Inbox</h2>
    ${
      inbox.length === 0
        ? html`<p>No mail.</p>`
        : html`<table>
            <thead>
              <tr>
                <th scope="col">Received</th>
                <th scope="col">Shown from</th>
                <th scope="col">Message</th>
              </tr>
            </thead>
            <tbody>
              ${[...inbox].reverse().map(
                (mail) =>
                  html`<tr key=${mail.transactionId}>
                    <td>${when(mail.receivedAt)}</td>
                    <td>${when(mail.startIndicationTime ?? mail.receivedAt)}</td>
                    <td>${mail.message}</td>
                  </tr>`,
              )}
            </tbody>
          </table>`
    }`
}

function StbView({ api, route, navigate }) {
  const id = route.stb ?? ''
  const { data: stb, error } = useLoad(() => api('GET', `/admin/pairing-modules/${enc(id)}`), id)
  return html`<h1>STB ${id}</h1>
    <${ErrorNote} error=${error} />
    ${
      stb &&
      html`<dl class="panel">
        <dt>Serial number</dt>
        <dd>${stb.serialNumber}</dd>
        <dt>Product</dt>
        <dd>${stb.productCode} (${stb.productDescription})</dd>
        <dt>SMS user</dt>
        <dd>${stb.sms ?? '–'}</dd>
        <dt>Pairing</dt>
        <dd>
          ${
            stb.pairingId === null
              ? 'not paired'
              : html`<${Link} to=${{ view: 'pairing', pairing: stb.pairingId }} navigate=${navigate}
                >${stb.pairingId}</${Link}
              >`
          }
        </dd>
      </dl>`
    }`
}

function PairingView({ api, route, navigate }) {
  const id = route.pairing ?? ''
  const { data: pairing, error } = useLoad(() => api('GET', `/admin/pairings/${enc(id)}`), id)
  const links = (ids, view) =>
    ids.map(
      (value) =>
        html`<li><${Link} to=${{ view, [view]: value }} navigate=${navigate}>${value}</${Link}></li>`,
    )
  return html`<h1>Pairing ${id}</h1>
    <${ErrorNote} error=${error} />
    ${
      pairing &&
      html`<dl class="panel">
          <dt>Distributor</dt>
          <dd>${pairing.distributor ?? '–'}</dd>
          <dt>Created</dt>
          <dd>${when(pairing.createdAt)}</dd>
        </dl>
        <div class="grid">
          <section aria-labelledby="pairing-cards">
            <h2 id="pairing-cards">Cards</h2>
            <ul>
              ${links(pairing.caClientIds, 'card')}
            </ul>
          </section>
          <section aria-labelledby="pairing-stbs">
            <h2 id="pairing-stbs">STBs</h2>
            <ul>
              ${links(pairing.pairingModuleIds, 'stb')}
            </ul>
          </section>
        </div>`
    }`
}

// ----- the virtual set-top box ----------------------------------------------------------------

function ScreenView({ api, route, navigate }) {
  const id = route.card ?? ''
  const {
    data: screen,
    error,
    reload,
  } = useLoad(() => api('GET', `/admin/cards/${enc(id)}/screen`), id, 1000)
  const { data: card } = useLoad(() => api('GET', `/admin/cards/${enc(id)}`), id, 2000)
  const [seconds, setSeconds] = useState('10')
  const [clockError, setClockError] = useState(null)
  const advance = async (event) => {
    event.preventDefault()
    try {
      await api('POST', '/admin/clock', { advanceMs: Math.round(Number(seconds) * 1000) })
      setClockError(null)
      reload()
    } catch (failure) {
      setClockError(failure)
    }
  }
  return html`<h1>Screen of card ${id}</h1>
    <p><${Link} to=${{ view: 'card', card: id }} navigate=${navigate}>Card details</${Link}></p>
    <${ErrorNote} error=${error} />
    ${
      screen &&
      html`<p>
          Simulator time:${' '}
          <time data-testid="sim-now" datetime=${screen.at}>${when(screen.at)}</time>
          ${screen.nextChangeAt ? html` · next change at ${when(screen.nextChangeAt)}` : ''}
        </p>
        <div class="tv" role="img" aria-label=${describeScreen(screen)} data-testid="tv">
          <span class="channel" aria-hidden="true">CH 1</span>
          ${screen.fingerprints.map((fp) => html`<${FingerprintOverlay} fp=${fp} card=${id} />`)}
          <ul class="barks" aria-hidden="true">
            ${screen.barks.map(
              (bark) =>
                html`<li class="bark" key=${bark.transactionId} data-testid="bark">
                  ${bark.message}
                </li>`,
            )}
          </ul>
        </div>
        <h2>On screen now</h2>
        ${
          screen.barks.length === 0 && screen.fingerprints.length === 0
            ? html`<p data-testid="screen-empty">Nothing on screen.</p>`
            : html`<ul data-testid="screen-list">
                ${screen.barks.map(
                  (bark) =>
                    html`<li key=${bark.transactionId}>
                      ${bark.kind === 'BARK' ? 'Bark' : `Repeating bark (show ${bark.show} of ${bark.shows})`}:${' '}
                      “${bark.message}” until ${when(bark.until)}
                    </li>`,
                )}
                ${screen.fingerprints.map(
                  (fp) =>
                    html`<li key=${fp.transactionId}>
                      Fingerprint slot ${fp.slot} at${' '} ${fp.positionX ?? 'default'},
                      ${fp.positionY ?? 'default'}, height ${fp.height}, until ${when(fp.until)}
                    </li>`,
                )}
              </ul>`
        }`
    }
    <form class="inline" onSubmit=${advance}>
      <label for="advance">Advance the simulator clock by (seconds)</label>
      <input id="advance" type="number" min="0" step="1" value=${seconds}
        onInput=${(event) => setSeconds(event.currentTarget.value)} />
      <button type="submit">Advance clock</button>
    </form>
    <${ErrorNote} error=${clockError} />
    ${card && html`<${Inbox} inbox=${card.inbox} />`}`
}

function describeScreen(screen) {
  const parts = screen.barks.map((bark) => `message: ${bark.message}`)
  parts.push(...screen.fingerprints.map((fp) => `fingerprint in slot ${fp.slot}`))
  return parts.length === 0
    ? 'Virtual TV screen, nothing shown'
    : `Virtual TV screen showing ${parts.join('; ')}`
}

/** The card number at the fingerprint's position and height, in a 720 x 576 screen. */
function FingerprintOverlay({ fp, card }) {
  const ref = useRef(null)
  useEffect(() => {
    // Set through the CSSOM: the page's CSP allows no inline style attributes.
    const style = ref.current?.style
    if (style) {
      style.left = `${(100 * (fp.positionX ?? SCREEN_W / 2)) / SCREEN_W}%`
      style.top = `${(100 * (fp.positionY ?? SCREEN_H / 2)) / SCREEN_H}%`
      style.fontSize = `${Math.max(8, fp.height) / 40}rem`
    }
  }, [fp.positionX, fp.positionY, fp.height])
  return html`<span ref=${ref} class="fingerprint" data-testid="fingerprint" data-slot=${fp.slot}
    >${card}</span
  >`
}

// ----- journal --------------------------------------------------------------------------------

const JOURNAL_KEEP = 5000

/** The journal, live: the SSE stream when the simulator has one, else polling `?since=`. */
function useJournal(api, tokens) {
  const [entries, setEntries] = useState([])
  const [state, setState] = useState('connecting')
  useEffect(() => {
    const abort = new AbortController()
    let last = 0
    const add = (batch) => {
      if (batch.length > 0) {
        last = batch[batch.length - 1].seq
        setEntries((old) => [...old, ...batch].slice(-JOURNAL_KEEP))
      }
    }
    const poll = async () => {
      setState('polling')
      while (!abort.signal.aborted) {
        try {
          add(await api('GET', `/admin/journal?since=${last}&limit=1000`))
        } catch {
          setState('reconnecting')
        }
        await new Promise((resolve) => setTimeout(resolve, 1000))
      }
    }
    const start = async () => {
      // Start with the last JOURNAL_KEEP entries, not a journal kept on disk since the beginning.
      const stats = await api('GET', '/admin/stats').catch(() => null)
      const after = Math.max(0, (stats?.lastSeq ?? 0) - JOURNAL_KEEP)
      last = after
      const outcome = await followEvents(tokens, `/admin/journal/stream?after=${after}`, {
        signal: abort.signal,
        onState: setState,
        onEvent: (event) => {
          if (event.event === 'message') {
            add([JSON.parse(event.data)])
          }
        },
      })
      // A simulator without the stream (404): poll the journal instead.
      if (outcome === 'missing') {
        await poll()
      }
    }
    void start()
    return () => abort.abort()
  }, [])
  return { entries, state }
}

const isOk = (entry) => entry.statusCode === 'OK'

const escapeXml = (text) =>
  String(text).replace(/[<>&]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;' })[c])

/** One element and its children, indented; a list is the element repeated. */
function xmlOf(name, value, depth) {
  const pad = '  '.repeat(depth)
  if (Array.isArray(value)) {
    return value.map((item) => xmlOf(name, item, depth)).join('\n')
  }
  if (value === null || value === undefined) {
    return `${pad}<${name}/>`
  }
  if (typeof value === 'object') {
    const children = Object.entries(value).map(([child, item]) => xmlOf(child, item, depth + 1))
    return `${pad}<${name}>\n${children.join('\n')}\n${pad}</${name}>`
  }
  return `${pad}<${name}>${escapeXml(value)}</${name}>`
}

/**
 * A raw XML body indented one element per line. Works on text, not a DOM, so a body cut at 16 KiB
 * or not well-formed still shows; the text of an element without children stays as sent.
 */
function prettyXml(text) {
  const tokens = text.split(/(<[^>]*>)/).filter((token) => token.trim() !== '')
  const lines = []
  let depth = 0
  for (let index = 0; index < tokens.length; index++) {
    const token = tokens[index]
    const pad = '  '.repeat(depth)
    if (token.startsWith('</')) {
      depth = Math.max(0, depth - 1)
      lines.push(`${'  '.repeat(depth)}${token}`)
    } else if (!token.startsWith('<') || /^<[?!]/.test(token) || token.endsWith('/>')) {
      lines.push(`${pad}${token.startsWith('<') ? token : token.trim()}`)
    } else {
      const next = tokens[index + 1]
      const after = tokens[index + 2]
      if (next?.startsWith('</')) {
        lines.push(`${pad}${token}${next}`)
        index += 1
      } else if (next !== undefined && !next.startsWith('<') && after?.startsWith('</')) {
        lines.push(`${pad}${token}${next}${after}`)
        index += 2
      } else {
        lines.push(`${pad}${token}`)
        depth += 1
      }
    }
  }
  return lines.join('\n')
}

/**
 * The request of a journal entry as XML: the raw body while the simulator holds it in memory,
 * else rebuilt from the elements it read, without namespaces or the envelope.
 */
function requestXml(entry) {
  if (typeof entry.requestXml === 'string') {
    return prettyXml(entry.requestXml)
  }
  if (entry.request === null) {
    return '(the request could not be read)'
  }
  return xmlOf(`${entry.operation ?? 'Request'}Request`, entry.request, 0)
}

/**
 * The answer as XML: the raw body while the simulator holds it in memory; else its
 * TransactionStatus rebuilt from what the journal keeps of it (status, TransactionId, message), a
 * fault, HTTP error or dropped connection said as such.
 */
function answerXml(entry) {
  if (typeof entry.answerXml === 'string') {
    return prettyXml(entry.answerXml)
  }
  if (!/^[A-Z_]+$/.test(entry.statusCode) || entry.statusCode === 'RESET') {
    return `(no TransactionStatus: ${entry.statusCode}, HTTP ${entry.httpStatus}${entry.message ? `: ${entry.message}` : ''})`
  }
  return xmlOf(
    'TransactionStatus',
    {
      StatusCode: entry.statusCode,
      TransactionId: entry.transactionId,
      ...(entry.message ? { Message: entry.message } : {}),
    },
    0,
  )
}

function matches(entry, { operation, card, status }) {
  if (operation && entry.operation !== operation) {
    return false
  }
  if (status === 'ok' && !isOk(entry)) {
    return false
  }
  if (status === 'failed' && isOk(entry)) {
    return false
  }
  if (status === 'replay' && !entry.replay) {
    return false
  }
  return !card || JSON.stringify(entry.request ?? '').includes(card)
}

/** The card ids a request names (CaClientId fields at any depth). */
function cardsOf(request) {
  const found = new Set()
  const walk = (value, key) => {
    if (Array.isArray(value)) {
      value.forEach((item) => walk(item, key))
    } else if (value && typeof value === 'object') {
      Object.entries(value).forEach(([name, item]) => walk(item, name))
    } else if (key === 'CaClientId' && typeof value === 'string') {
      found.add(value)
    }
  }
  walk(request, '')
  return [...found]
}

function JournalView({ api, tokens, route, navigate }) {
  const { entries, state } = useJournal(api, tokens)
  const filters = {
    operation: route.operation ?? '',
    card: route.card ?? '',
    status: route.status ?? '',
  }
  const set = (name) => (event) =>
    navigate({ view: 'journal', ...filters, [name]: event.currentTarget.value }, true)
  const shown = entries
    .filter((entry) => matches(entry, filters))
    .slice(-200)
    .reverse()
  return html`<h1>Journal</h1>
    <p class="hint" aria-live="polite">Stream: <span data-testid="journal-state">${state}</span>;${' '}
      ${entries.length} calls received, newest first${shown.length === 200 ? ' (the last 200 matching)' : ''}.</p>
    <form class="filters" onSubmit=${(event) => event.preventDefault()}>
      <${Labeled} id="journal-operation" label="Operation">
        <select id="journal-operation" value=${filters.operation} onChange=${set('operation')}>
          <option value="">any</option>
          ${OPERATIONS.map((op) => html`<option value=${op}>${op}</option>`)}
        </select>
      </${Labeled}>
      <${Labeled} id="journal-card" label="Card">
        <input id="journal-card" type="search" value=${filters.card} onChange=${set('card')} inputmode="numeric" />
      </${Labeled}>
      <${Labeled} id="journal-status" label="Status">
        <select id="journal-status" value=${filters.status} onChange=${set('status')}>
          <option value="">any</option>
          <option value="ok">OK</option>
          <option value="failed">not OK</option>
          <option value="replay">replays</option>
        </select>
      </${Labeled}>
    </form>
    <table>
      <thead><tr><th scope="col">#</th><th scope="col">At</th><th scope="col">Operation</th>
        <th scope="col">Cards</th><th scope="col">Status</th><th scope="col">ms</th><th scope="col">Request and answer</th></tr></thead>
      <tbody data-testid="journal-rows">
        ${shown.map(
          (entry) =>
            html`<tr key=${entry.seq} data-testid="journal-row">
              <td>${entry.seq}</td>
              <td>${when(entry.at)}</td>
              <td>
                ${entry.operation ?? entry.service}${entry.replay ? html` <span class="tag">replay</span>` : ''}
              </td>
              <td>
                ${cardsOf(entry.request)
                  .slice(0, 5)
                  .map(
                    (card) =>
                      html`<${Link} to=${{ view: 'card', card }} navigate=${navigate}>${card}</${Link}> `,
                  )}
              </td>
              <td class=${isOk(entry) ? 'status-OK' : 'status-bad'}>
                ${entry.statusCode}${entry.message ? html`<br /><span class="hint">${entry.message}</span>` : ''}
              </td>
              <td>${entry.durationMs}</td>
              <td>
                <${Folded}
                  summary=${typeof entry.requestXml === 'string' ? 'Request' : 'Request (rebuilt)'}
                  text=${requestXml(entry)}
                />
                <${Folded}
                  summary=${`Answer: HTTP ${entry.httpStatus} · ${entry.transactionId ?? 'no TransactionId'}${typeof entry.answerXml === 'string' ? '' : ' (rebuilt)'}`}
                  text=${answerXml(entry)}
                />
              </td>
            </tr>`,
        )}
      </tbody>
    </table>`
}

// ----- faults, reset and import ---------------------------------------------------------------

function FaultsView({ api }) {
  const { data: faults, error, reload } = useLoad(() => api('GET', '/admin/faults'), 'faults', 2000)
  const [problem, setProblem] = useState(null)
  const [notice, setNotice] = useState('')
  const act = async (what, done) => {
    try {
      const answer = await what()
      setProblem(null)
      setNotice(done(answer))
      reload()
    } catch (failure) {
      setNotice('')
      setProblem(failure)
    }
  }
  return html`<h1>Faults & reset</h1>
    <${ErrorNote} error=${error ?? problem} />
    ${notice && html`<p class="notice" role="status">${notice}</p>`}
    <h2>Active fault rules</h2>
    ${
      faults &&
      (faults.length === 0
        ? html`<p data-testid="no-faults">No fault rules: every call is answered normally.</p>`
        : html`<table data-testid="faults">
              <thead>
                <tr>
                  <th scope="col">Id</th>
                  <th scope="col">Kind</th>
                  <th scope="col">Service</th>
                  <th scope="col">Operation</th>
                  <th scope="col">Calls left</th>
                  <th scope="col">Details</th>
                  <th scope="col"><span class="visually-hidden">Remove</span></th>
                </tr>
              </thead>
              <tbody>
                ${faults.map(
                  (rule) =>
                    html`<tr key=${rule.id}>
                      <td>${rule.id}</td>
                      <td>${rule.kind}</td>
                      <td>${rule.service ?? 'any'}</td>
                      <td>${rule.operation ?? 'any'}</td>
                      <td>${rule.remaining ?? 'until removed'}</td>
                      <td>
                        ${rule.kind === 'HTTP_STATUS' ? `HTTP ${rule.httpStatus}` : rule.kind === 'DELAY' ? `${rule.delayMs} ms` : ''}
                        ${rule.message}
                      </td>
                      <td>
                        <button
                          type="button"
                          class="danger"
                          aria-label=${`Remove fault rule ${rule.id}`}
                          onClick=${() =>
                            act(
                              () => api('DELETE', `/admin/faults/${rule.id}`),
                              () => `Removed fault rule ${rule.id}.`,
                            )}
                        >
                          Remove
                        </button>
                      </td>
                    </tr>`,
                )}
              </tbody>
            </table>
            <button
              type="button"
              class="quiet"
              onClick=${() =>
                act(
                  () => api('DELETE', '/admin/faults'),
                  () => 'Removed every fault rule.',
                )}
            >
              Remove all
            </button>`)
    }
    <${AddFault}
      onAdd=${(rule) =>
        act(
          () => api('POST', '/admin/faults', rule),
          (added) => `Added fault rule ${added.id}.`,
        )}
    />
    <h2>Reset</h2>
    <${ResetForm}
      onReset=${(keep) =>
        act(
          () => api('POST', '/admin/reset', { keepInventory: keep }),
          () =>
            keep
              ? 'Reset: state and journal forgotten, inventory kept.'
              : 'Reset: everything forgotten.',
        )}
    />
    <h2>Import inventory</h2>
    <${ImportForm}
      onImport=${(inventory) =>
        act(
          () => api('POST', '/admin/inventory', inventory),
          (answer) =>
            `Registered ${answer.registered.smartcards} cards, ${answer.registered.pairingModules} STBs and ${answer.registered.products} products.`,
        )}
      onProblem=${setProblem}
    />`
}

function AddFault({ onAdd }) {
  const [form, setForm] = useState({
    kind: 'HTTP_STATUS',
    service: '',
    operation: '',
    times: '1',
    every: false,
    httpStatus: '503',
    delayMs: '1000',
    message: '',
  })
  const field = (name) => (event) => {
    const target = event.currentTarget
    setForm({ ...form, [name]: target.type === 'checkbox' ? target.checked : target.value })
  }
  const submit = (event) => {
    event.preventDefault()
    const rule = {
      kind: form.kind,
      times: form.every ? null : form.times === '' ? 1 : Number(form.times),
    }
    if (form.service) {
      rule.service = form.service
    }
    if (form.operation) {
      rule.operation = form.operation
    }
    if (form.kind === 'HTTP_STATUS') {
      rule.httpStatus = Number(form.httpStatus)
    }
    if (form.kind === 'DELAY') {
      rule.delayMs = Number(form.delayMs)
    }
    if (form.message) {
      rule.message = form.message
    }
    onAdd(rule)
  }
  return html`<h2>Add a fault rule</h2>
    <form class="inline" onSubmit=${submit} aria-label="Add a fault rule" noValidate>
      <${Labeled} id="fault-kind" label="Kind">
        <select id="fault-kind" value=${form.kind} onChange=${field('kind')}>
          ${FAULT_KINDS.map(([kind, label]) => html`<option value=${kind}>${label}</option>`)}
        </select>
      </${Labeled}>
      <${Labeled} id="fault-service" label="Service">
        <select id="fault-service" value=${form.service} onChange=${field('service')}>
          <option value="">any</option>
          ${SERVICES.map((s) => html`<option value=${s}>${s}</option>`)}
        </select>
      </${Labeled}>
      <${Labeled} id="fault-operation" label="Operation">
        <select id="fault-operation" value=${form.operation} onChange=${field('operation')}>
          <option value="">any</option>
          ${OPERATIONS.map((op) => html`<option value=${op}>${op}</option>`)}
        </select>
      </${Labeled}>
      <${Labeled} id="fault-times" label="Calls to hit">
        <input id="fault-times" type="number" value=${form.times} disabled=${form.every} onInput=${field('times')} />
      </${Labeled}>
      <label class="check"><input type="checkbox" checked=${form.every} onChange=${field('every')} /> until removed</label>
      ${
        form.kind === 'HTTP_STATUS' &&
        html`<${Labeled} id="fault-status" label="HTTP status"><input id="fault-status" type="number" value=${form.httpStatus} onInput=${field('httpStatus')} /></${Labeled}>`
      }
      ${
        form.kind === 'DELAY' &&
        html`<${Labeled} id="fault-delay" label="Delay (ms)"><input id="fault-delay" type="number" value=${form.delayMs} onInput=${field('delayMs')} /></${Labeled}>`
      }
      <${Labeled} id="fault-message" label="Message"><input id="fault-message" value=${form.message} onInput=${field('message')} /></${Labeled}>
      <button type="submit">Add fault</button>
    </form>`
}

function ResetForm({ onReset }) {
  const [keep, setKeep] = useState(true)
  const [sure, setSure] = useState(false)
  const submit = (event) => {
    event.preventDefault()
    onReset(keep)
    setSure(false)
  }
  return html`<form class="inline" onSubmit=${submit} aria-label="Reset the simulator">
    <label class="check"
      ><input type="checkbox" checked=${keep} onChange=${(e) => setKeep(e.currentTarget.checked)} />
      keep the inventory (cards, STBs, products)</label
    >
    <label class="check"
      ><input type="checkbox" checked=${sure} onChange=${(e) => setSure(e.currentTarget.checked)} />
      I mean it: state and journal are forgotten</label
    >
    <button type="submit" class="danger" disabled=${!sure}>Reset</button>
  </form>`
}

/** A CSV inventory: a header row, then rows with caClientId, or pairingModuleId (and its fields), or productId. */
function csvInventory(text) {
  const rows = text
    .split(/\r?\n/)
    .filter((line) => line.trim() !== '')
    .map((line) => line.split(',').map((cell) => cell.trim()))
  const header = rows.shift() ?? []
  const inventory = { smartcards: [], pairingModules: [], products: [] }
  rows.forEach((cells, index) => {
    const row = Object.fromEntries(header.map((name, at) => [name, cells[at] ?? '']))
    const sms = row.sms ? { sms: row.sms } : {}
    if (row.caClientId) {
      inventory.smartcards.push({ caClientId: row.caClientId, ...sms })
    } else if (row.pairingModuleId) {
      inventory.pairingModules.push({
        pairingModuleId: row.pairingModuleId,
        serialNumber: row.serialNumber ?? '',
        productCode: row.productCode ?? '',
        productDescription: row.productDescription ?? '',
        ...sms,
      })
    } else if (row.productId) {
      inventory.products.push({ productId: row.productId, ...(row.name ? { name: row.name } : {}) })
    } else {
      throw new Error(
        `CSV row ${index + 2} has no caClientId, pairingModuleId or productId. Nothing was sent.`,
      )
    }
  })
  return inventory
}

function ImportForm({ onImport, onProblem }) {
  const submit = async (event) => {
    event.preventDefault()
    const file = event.currentTarget.elements.inventory.files[0]
    if (!file) {
      return
    }
    try {
      const text = await file.text()
      onImport(file.name.toLowerCase().endsWith('.csv') ? csvInventory(text) : JSON.parse(text))
    } catch (failure) {
      onProblem({
        code: 'INVALID_FILE',
        message: `${file.name} cannot be read: ${failure.message}`,
      })
    }
  }
  return html`<form class="inline" onSubmit=${submit} aria-label="Import inventory">
    <label for="inventory">Inventory file (JSON as POST /admin/inventory takes it, or CSV)</label>
    <input
      id="inventory"
      name="inventory"
      type="file"
      accept=".json,.csv,application/json,text/csv"
      required
      aria-describedby="inventory-hint"
    />
    <button type="submit">Import</button>
    <p class="hint" id="inventory-hint">
      CSV: a header row naming caClientId, or pairingModuleId, serialNumber, productCode,
      productDescription, or productId, name; sms optional.
    </p>
  </form>`
}

// ----- products and statistics ----------------------------------------------------------------

function ProductsView({ api }) {
  const { data: stats, error } = useLoad(() => api('GET', '/admin/stats'), 'stats', 3000)
  const { data: products, error: productsError } = useLoad(
    () => api('GET', '/admin/products'),
    'products',
  )
  return html`<h1>Products & statistics</h1>
    <${ErrorNote} error=${error ?? productsError} />
    ${
      stats &&
      html`<h2>Statistics</h2>
        <dl class="panel" data-testid="stats">
          <dt>Smartcards</dt>
          <dd>${stats.smartcards}</dd>
          <dt>STBs</dt>
          <dd>${stats.pairingModules}</dd>
          <dt>Pairings</dt>
          <dd>${stats.pairings}</dd>
          <dt>Products</dt>
          <dd>${stats.products}</dd>
          <dt>Journal entries</dt>
          <dd>${stats.journalEntries} (${stats.journalDropped} dropped)</dd>
          <dt>Started</dt>
          <dd>${when(stats.startedAt)}</dd>
        </dl>`
    }
    ${
      products &&
      html`<h2>Catalogue</h2>
        <table>
          <thead>
            <tr>
              <th scope="col">ProductId</th>
              <th scope="col">Name</th>
            </tr>
          </thead>
          <tbody>
            ${products.products.map(
              (p) =>
                html`<tr key=${p.productId}>
                  <td>${p.productId}</td>
                  <td>${p.name ?? '–'}</td>
                </tr>`,
            )}
          </tbody>
        </table>`
    }`
}

startConsole({
  title: 'conax-sim console',
  tokenKey: 'conax-sim-admin-token',
  hint: 'The admin token: printed by conax-sim at start, or CONTEGO_SIM_ADMIN_TOKEN. It is kept in this tab only.',
  check: (api) => api('GET', '/admin/stats'),
  App,
})
