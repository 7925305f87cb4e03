// The adapter console: provisioning requests and the SOAP exchange each caused, batch runs with
// live progress, the communications queue, and the utilities as forms, over the adapter's API
// (src/README.md). Refusals are the API's own, shown as it words them.
import {
  ErrorNote,
  Folded,
  Labeled,
  Link,
  Pager,
  Shell,
  html,
  prettyXml,
  startConsole,
  useEffect,
  useLoad,
  useRoute,
  useState,
  when,
} from './common/console.js'

const BASE = '/conax_web_services/provisioning_requests'
const REQUEST_TYPES = [
  'ADD_SUBSCRIPTIONS',
  'CANCEL_SUBSCRIPTIONS',
  'GET_ACTIVE_SUBSCRIPTIONS',
  'CREATE_PAIRING',
  'ADD_TO_EXISTING_PAIRING',
  'GET_PAIRING_STATUS_FOR_CARD',
  'GET_PAIRING_STATUS_FOR_PAIRING_MODULE',
  'DISPLAY_FINGERPRINT',
  'UPDATE_CA_PIN_TO_DEFAULT_VALUE',
  'UPDATE_CA_PIN_TO_GIVEN_VALUE',
  'SEND_MAIL_MESSAGE_TO_CLIENT',
  'SEND_BARK_MESSAGE_TO_CLIENT',
  'SEND_REPEATING_BARK_MESSAGE_TO_CLIENT',
]
const STATES = ['PENDING', 'COMPLETED', 'REJECTED']
const PROCESS_NAMES = [
  'PROVISIONING_REQUEST_PROCESSING',
  'MAIL_BARK_MESSAGE_UTILITY',
  'PAIRING_UTILITY',
  'FIINGERPRINTING_UTILITY',
  'RESET_PIN',
  'MANUAL',
  'CONAX_INFORMATION_UTILITY',
  'RESET_SUBSCRIPTION_RUN',
  'RESET_SINGLE_SUBSCRIPTION',
  'MAIL_BARK_MESSAGE_RUN',
  'FINGERPRINTING_RUN',
]
const VIEWS = [
  ['requests', 'Requests'],
  ['runs', 'Runs'],
  ['communications', 'Communications'],
  ['utilities', 'Utilities'],
]
const PAGE = 25
const FINAL_EXECUTION = ['COMPLETED', 'STOPPED', 'FAILED']

const enc = encodeURIComponent
const data = (answer) => answer?.data

function App({ api, onLogout }) {
  const [route, navigate] = useRoute()
  const view = route.view ?? 'requests'
  const current = { request: 'requests', execution: 'runs' }[view] ?? view
  const pages = {
    requests: RequestsView,
    request: RequestView,
    runs: RunsView,
    execution: ExecutionView,
    communications: CommunicationsView,
    utilities: UtilitiesView,
  }
  const Page = pages[view] ?? RequestsView
  useEffect(() => {
    document.title = `${VIEWS.find(([name]) => name === current)?.[1] ?? 'Console'} · conax-adapter console`
  }, [current])
  return html`<${Shell} title="conax-adapter console" views=${VIEWS} current=${current}
    navigate=${navigate} onLogout=${onLogout}>
    <${Page} api=${api} route=${route} navigate=${navigate} />
  </${Shell}>`
}

// ----- provisioning requests ------------------------------------------------------------------

const FILTERS = [
  'life_cycle_state',
  'type',
  'ca_id',
  'subscription_id',
  'process_name',
  'process_id',
]

function RequestsView({ api, route, navigate }) {
  const filters = Object.fromEntries(FILTERS.map((name) => [name, route[name] ?? '']))
  const offset = Number(route.offset ?? 0) || 0
  const query = new URLSearchParams({ number_of_results: String(PAGE), offset: String(offset) })
  for (const [name, value] of Object.entries(filters)) {
    if (value) {
      query.set(name, value)
    }
  }
  const { data: page, error } = useLoad(
    () => api('GET', `${BASE}/list?${query}`),
    query.toString(),
    1000,
  )
  const set = (name) => (event) =>
    navigate({ view: 'requests', ...filters, [name]: event.currentTarget.value.trim() }, true)
  const select = (name, label, options) => html`<${Labeled} id=${`filter-${name}`} label=${label}>
    <select id=${`filter-${name}`} value=${filters[name]} onChange=${set(name)}>
      <option value="">any</option>
      ${options.map((option) => html`<option value=${option}>${option}</option>`)}
    </select></${Labeled}>`
  const text = (name, label) => html`<${Labeled} id=${`filter-${name}`} label=${label}>
    <input id=${`filter-${name}`} type="search" value=${filters[name]} onChange=${set(name)} /></${Labeled}>`
  return html`<h1>Provisioning requests</h1>
    <form
      class="filters"
      onSubmit=${(event) => event.preventDefault()}
      aria-label="Filter requests"
    >
      ${select('life_cycle_state', 'State', STATES)} ${select('type', 'Type', REQUEST_TYPES)}
      ${text('ca_id', 'Card or STB CA ID')} ${text('subscription_id', 'Subscription')}
      ${select('process_name', 'Process name', PROCESS_NAMES)}
      ${text('process_id', 'Process id (run execution)')}
    </form>
    <${ErrorNote} error=${error} />
    ${
      page &&
      html`<${Pager}
          label="Request pages"
          offset=${offset}
          limit=${PAGE}
          total=${page.total}
          onPage=${(next) => navigate({ view: 'requests', ...filters, offset: next })}
        />
        <table>
          <thead>
            <tr>
              <th scope="col">Number</th>
              <th scope="col">Type</th>
              <th scope="col">State</th>
              <th scope="col">Parameters</th>
              <th scope="col">Subscription</th>
              <th scope="col">Process</th>
              <th scope="col">Attempts</th>
              <th scope="col">Error</th>
            </tr>
          </thead>
          <tbody data-testid="request-rows">
            ${data(page).map(
              (request) => html`<tr key=${request.id} data-testid="request-row">
            <td><${Link} to=${{ view: 'request', id: request.id }} navigate=${navigate}>${request.number}</${Link}></td>
            <td>${request.type}</td>
            <td class=${`state-${request.life_cycle_state}`} data-testid="request-state">${request.life_cycle_state}</td>
            <td>${parameters(request)}</td>
            <td>${request.subscription?.id ?? '–'}</td>
            <td>${request.process_name}</td>
            <td>${request.attempts}${request.next_attempt_at ? html`<br /><span class="hint">next ${when(request.next_attempt_at)}</span>` : ''}</td>
            <td>${request.error_code ? html`<strong>${request.error_code}</strong> ${request.error_description}` : ''}</td>
          </tr>`,
            )}
          </tbody>
        </table>`
    }`
}

/** The CA IDs a request names, from its parameters_set (an object of name to value). */
function parameters(request) {
  return Object.entries(request.parameters_set ?? {})
    .filter(([name]) => /ca_id|smartcard|stb/i.test(name))
    .flatMap(([, value]) => (Array.isArray(value) ? value : [value]))
    .filter((value) => value !== null)
    .slice(0, 4)
    .join(', ')
}

function RequestView({ api, route, navigate }) {
  const id = route.id ?? ''
  const { data: answer, error } = useLoad(() => api('GET', `${BASE}/show?id=${enc(id)}`), id, 2000)
  const request = data(answer)
  return html`<h1>Request ${request?.number ?? id}</h1>
    <p><${Link} to=${{ view: 'requests' }} navigate=${navigate}>All requests</${Link}></p>
    <${ErrorNote} error=${error} />
    ${
      request &&
      html`<dl class="panel">
          <dt>Type</dt>
          <dd>${request.type}</dd>
          <dt>State</dt>
          <dd class=${`state-${request.life_cycle_state}`}>${request.life_cycle_state}</dd>
          <dt>Sequence number</dt>
          <dd>${request.sequence_number}</dd>
          <dt>Process</dt>
          <dd>
            ${request.process_name}
            ${request.process_id ? html`(<${Link} to=${{ view: 'execution', id: request.process_id }} navigate=${navigate}>${request.process_id}</${Link}>)` : ''}
          </dd>
          <dt>Subscription</dt>
          <dd>${request.subscription?.id ?? '–'}</dd>
          <dt>Priority</dt>
          <dd>${request.priority}</dd>
          <dt>Attempts</dt>
          <dd>
            ${request.attempts}${request.next_attempt_at ? `, next at ${when(request.next_attempt_at)}` : ''}${request.error_class ? ` (last failure: ${request.error_class})` : ''}
          </dd>
          <dt>Error</dt>
          <dd>
            ${request.error_code ? `${request.error_code}: ${request.error_description}` : '–'}
          </dd>
          <dt>Reference</dt>
          <dd>${request.reference_number ?? '–'}</dd>
          <dt>Created / updated</dt>
          <dd>
            ${when(request.log_information.created_date)} /
            ${when(request.log_information.updated_date)}
          </dd>
          <dt>Executed</dt>
          <dd>${when(request.executed_date)}</dd>
        </dl>
        <p class="hint">
          The API has no retry or cancel: a PENDING request is retried by the adapter itself after a
          transient failure, and a final one (COMPLETED, REJECTED) does not change.
        </p>
        <h2>Parameters</h2>
        <table>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Value</th>
            </tr>
          </thead>
          <tbody>
            ${Object.entries(request.parameters_set ?? {}).map(
              ([name, value]) =>
                html`<tr>
                  <td>${name}</td>
                  <td>${scalar(value)}</td>
                </tr>`,
            )}
          </tbody>
        </table>
        <h2>SOAP exchange (last attempt)</h2>
        ${
          request.request
            ? html`<${Folded}
                summary="Request sent to the CA"
                text=${prettyXml(request.request)}
                open=${true}
              />`
            : html`<p>Nothing sent yet.</p>`
        }
        ${
          request.response
            ? html`<${Folded}
                summary="Answer of the CA"
                text=${prettyXml(request.response)}
                open=${true}
              />`
            : html`<p>No answer yet.</p>`
        }
        ${
          request.result !== null &&
          request.result !== undefined &&
          html`<${Folded} summary="Result" text=${JSON.stringify(request.result, null, 2)} />`
        }`
    }`
}

// ----- runs -----------------------------------------------------------------------------------

function RunsView({ api, navigate }) {
  const { data: answer, error } = useLoad(() => api('GET', '/runs'), 'runs')
  const { data: executions } = useLoad(() => api('GET', '/runs/executions'), 'executions', 2000)
  const [problem, setProblem] = useState(null)
  const [preview, setPreview] = useState(null)
  const act = async (what) => {
    try {
      setProblem(null)
      return await what()
    } catch (failure) {
      setProblem(failure)
      return null
    }
  }
  const start = async (code) => {
    const started = await act(() => api('POST', `/runs/${enc(code)}/executions`))
    if (started) {
      navigate({ view: 'execution', id: data(started).id })
    }
  }
  const showPreview = async (code) => {
    const answered = await act(() => api('POST', `/runs/${enc(code)}/preview?limit=20`))
    if (answered) {
      setPreview({ code, result: data(answered) })
    }
  }
  return html`<h1>Runs</h1>
    <${ErrorNote} error=${error ?? problem} />
    <h2>Definitions</h2>
    ${
      answer &&
      (data(answer).length === 0
        ? html`<p>No run definitions. Define one with POST /runs (src/README.md).</p>`
        : html`<table>
            <thead>
              <tr>
                <th scope="col">Code</th>
                <th scope="col">Name</th>
                <th scope="col">Kind</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              ${data(answer).map(
                (run) =>
                  html`<tr key=${run.id}>
                    <td>${run.alternativeCode}</td>
                    <td>${run.name}</td>
                    <td>${run.kind}</td>
                    <td>
                      <button
                        type="button"
                        class="quiet"
                        onClick=${() => showPreview(run.alternativeCode)}
                        aria-label=${`Preview run ${run.alternativeCode}`}
                      >
                        Preview
                      </button>
                      ${' '}
                      <button
                        type="button"
                        onClick=${() => start(run.alternativeCode)}
                        aria-label=${`Start run ${run.alternativeCode}`}
                      >
                        Start
                      </button>
                    </td>
                  </tr>`,
              )}
            </tbody>
          </table>`)
    }
    ${
      preview &&
      html`<section aria-labelledby="preview-title">
        <h2 id="preview-title">Preview of ${preview.code}</h2>
        <${DataView} value=${preview.result} />
      </section>`
    }
    <h2>Executions</h2>
    ${executions && html`<${ExecutionsTable} executions=${data(executions)} navigate=${navigate} />`}`
}

function ExecutionsTable({ executions, navigate }) {
  if (executions.length === 0) {
    return html`<p>No executions yet.</p>`
  }
  return html`<table>
    <thead>
      <tr>
        <th scope="col">Execution</th>
        <th scope="col">Kind</th>
        <th scope="col">State</th>
        <th scope="col">Processed</th>
        <th scope="col">Sent</th>
        <th scope="col">Failed</th>
        <th scope="col">Started</th>
      </tr>
    </thead>
    <tbody>
      ${[...executions].reverse().map(
        (execution) => html`<tr key=${execution.id}>
        <td><${Link} to=${{ view: 'execution', id: execution.id }} navigate=${navigate}>${execution.id}</${Link}></td>
        <td>${execution.kind}</td><td class=${`state-${execution.state}`}>${execution.state}</td>
        <td>${execution.counts.processed}${execution.total === null ? '' : ` of ${execution.total}`}</td>
        <td>${execution.counts.sent}</td><td>${execution.counts.failed}</td><td>${when(execution.startedAt)}</td>
      </tr>`,
      )}
    </tbody>
  </table>`
}

function ExecutionView({ api, route, navigate }) {
  const id = route.id ?? ''
  const {
    data: answer,
    error,
    reload,
  } = useLoad(() => api('GET', `/runs/executions/${enc(id)}`), id, 1000)
  const [problem, setProblem] = useState(null)
  const execution = data(answer)
  const act = async (what) => {
    try {
      await api('POST', `/runs/executions/${enc(id)}/${what}`)
      setProblem(null)
      reload()
    } catch (failure) {
      setProblem(failure)
    }
  }
  const done = execution ? execution.counts.processed : 0
  const total = execution?.total ?? null
  return html`<h1>Execution ${id}</h1>
    <p><${Link} to=${{ view: 'runs' }} navigate=${navigate}>All runs</${Link}>${' · '}<${Link} to=${{ view: 'requests', process_id: id }} navigate=${navigate}>its requests</${Link}></p>
    <${ErrorNote} error=${error ?? problem} />
    ${
      execution &&
      html`<p>
          State:${' '}<strong class=${`state-${execution.state}`} data-testid="execution-state"
            >${execution.state}</strong
          >
          ${FINAL_EXECUTION.includes(execution.state) ? '' : html` <span class="hint">(updating)</span>`}
        </p>
        <label for="progress"
          >Progress: ${done}${total === null ? '' : ` of ${total}`} processed</label
        >
        <progress
          id="progress"
          class="progress"
          max=${total ?? 1}
          value=${total === null ? undefined : done}
        ></progress>
        <p class="hint">
          Stop works while the execution is RUNNING (creating requests); once DELIVERING, its
          requests are stored and it completes by itself. A STOPPED or FAILED one resumes from its
          cursor.
        </p>
        <p>
          <button
            type="button"
            class="danger"
            disabled=${execution.state !== 'RUNNING'}
            onClick=${() => act('stop')}
          >
            Stop
          </button>
          ${' '}
          <button
            type="button"
            disabled=${!['STOPPED', 'FAILED'].includes(execution.state)}
            onClick=${() => act('resume')}
          >
            Resume
          </button>
        </p>
        <h2>Counts</h2>
        <dl class="panel" data-testid="execution-counts">
          ${Object.entries(execution.counts).map(
            ([name, value]) =>
              html`<dt>${name}</dt>
                <dd data-count=${name}>${value}</dd>`,
          )}
        </dl>
        <dl>
          <dt>Started</dt>
          <dd>${when(execution.startedAt)}</dd>
          <dt>Finished</dt>
          <dd>${when(execution.finishedAt)}</dd>
          <dt>Last error</dt>
          <dd>${execution.lastError ?? '–'}</dd>
        </dl>
        <h2>Failures</h2>
        ${
          (execution.failures ?? []).length === 0
            ? html`<p>None.</p>`
            : html`<${DataView} value=${execution.failures} />`
        }`
    }`
}

/** Any JSON value readably: objects as definition lists, arrays of objects as tables. */
function DataView({ value }) {
  if (Array.isArray(value)) {
    if (value.length === 0) {
      return html`<p>None.</p>`
    }
    if (value.every((item) => item && typeof item === 'object' && !Array.isArray(item))) {
      const keys = [...new Set(value.flatMap((item) => Object.keys(item)))]
      return html`<table>
        <thead>
          <tr>
            ${keys.map((key) => html`<th scope="col">${key}</th>`)}
          </tr>
        </thead>
        <tbody>
          ${value.map(
            (item) =>
              html`<tr>
                ${keys.map((key) => html`<td>${scalar(item[key])}</td>`)}
              </tr>`,
          )}
        </tbody>
      </table>`
    }
    return html`<p>${value.map(scalar).join(', ')}</p>`
  }
  if (value && typeof value === 'object') {
    return html`<dl class="panel">
      ${Object.entries(value).map(
        ([key, item]) =>
          html`<dt>${key}</dt>
            <dd>
              ${item && typeof item === 'object' ? html`<${DataView} value=${item} />` : scalar(item)}
            </dd>`,
      )}
    </dl>`
  }
  return html`<p>${scalar(value)}</p>`
}

function scalar(value) {
  if (value === null || value === undefined) {
    return '–'
  }
  return typeof value === 'object' ? JSON.stringify(value) : String(value)
}

// ----- communications -------------------------------------------------------------------------

function CommunicationsView({ api, route, navigate }) {
  const state = route.state ?? ''
  const { data: answer, error } = useLoad(
    () => api('GET', `/communications${state ? `?state=${enc(state)}` : ''}`),
    state,
    2000,
  )
  return html`<h1>Communications queue</h1>
    <form class="filters" onSubmit=${(event) => event.preventDefault()}>
      <${Labeled} id="communication-state" label="State">
        <select id="communication-state" value=${state} onChange=${(event) => navigate({ view: 'communications', state: event.currentTarget.value }, true)}>
          <option value="">any</option>
          ${['PENDING', 'SENDING', 'PROCESSED', 'FAILED'].map((s) => html`<option value=${s}>${s}</option>`)}
        </select>
      </${Labeled}>
    </form>
    <${ErrorNote} error=${error} />
    ${
      answer &&
      (data(answer).length === 0
        ? html`<p>The queue is empty.</p>`
        : html`<table>
            <thead>
              <tr>
                <th scope="col">Number</th>
                <th scope="col">External system</th>
                <th scope="col">State</th>
                <th scope="col">Message</th>
                <th scope="col">Recipients</th>
                <th scope="col">Processed by</th>
                <th scope="col">Error</th>
              </tr>
            </thead>
            <tbody>
              ${data(answer).map(
                (c) =>
                  html`<tr key=${c.number}>
                    <td>${c.number}</td>
                    <td>${c.externalSystem}</td>
                    <td class=${`state-${c.state}`}>${c.state}</td>
                    <td>${c.message}</td>
                    <td>
                      ${c.recipients.subscriptionIds ? c.recipients.subscriptionIds.join(', ') : `segment ${JSON.stringify(c.recipients.segment)}`}
                    </td>
                    <td>
                      ${c.processedBy ? html`<${Link} to=${{ view: 'execution', id: c.processedBy }} navigate=${navigate}>${c.processedBy}</${Link}>` : '–'}
                    </td>
                    <td>
                      ${c.error ?? (c.delivery ? `${c.delivery.sent} sent, ${c.delivery.failed} failed` : '')}
                    </td>
                  </tr>`,
              )}
            </tbody>
          </table>`)
    }`
}

// ----- utilities ------------------------------------------------------------------------------

/** The utilities' request schema from the adapter's own OpenAPI document: one form per utility. */
function utilitySchemas(openapi) {
  const schema = openapi.paths['/crm/utilities'].post.requestBody.content['application/json'].schema
  return (schema.oneOf ?? schema.anyOf ?? []).map((variant) => ({
    name: variant.properties.utility.const,
    required: new Set(variant.required ?? []),
    fields: Object.entries(variant.properties).filter(([name]) => name !== 'utility'),
  }))
}

/** A field's kind from its JSON schema: enum, list, number, or text. */
function fieldKind(schema) {
  const types = [schema.type, ...(schema.anyOf ?? []).map((s) => s.type)].flat()
  if (schema.enum) {
    return 'enum'
  }
  if (types.includes('array')) {
    return 'list'
  }
  if (types.includes('number') || types.includes('integer')) {
    return 'number'
  }
  if (types.includes('boolean')) {
    return 'boolean'
  }
  return 'text'
}

function UtilitiesView({ api, route, navigate }) {
  const { data: openapi, error } = useLoad(
    () => fetch('/openapi.json').then((r) => r.json()),
    'openapi',
  )
  const [outcome, setOutcome] = useState(null)
  const [problem, setProblem] = useState(null)
  if (!openapi) {
    return html`<div class="view">
      <h1>Utilities</h1>
      <${ErrorNote} error=${error} />
    </div>`
  }
  const utilities = utilitySchemas(openapi)
  const chosen = utilities.find((u) => u.name === route.utility) ?? utilities[0]
  const submit = async (event) => {
    event.preventDefault()
    const form = new FormData(event.currentTarget)
    const body = { utility: chosen.name }
    for (const [name, schema] of chosen.fields) {
      const raw = String(form.get(name) ?? '').trim()
      const kind = fieldKind(schema)
      if (kind === 'boolean') {
        if (form.get(name) !== null) {
          body[name] = true
        }
      } else if (raw !== '') {
        body[name] =
          kind === 'number'
            ? Number(raw)
            : kind === 'list'
              ? raw.split(/[\s,]+/).filter(Boolean)
              : raw
      }
    }
    try {
      const answer = await api('POST', '/crm/utilities', body)
      setProblem(null)
      setOutcome(data(answer))
    } catch (failure) {
      setOutcome(null)
      setProblem(failure)
    }
  }
  return html`<div class="view">
    <h1>Utilities</h1>
    <form class="filters" onSubmit=${(event) => event.preventDefault()}>
      <${Labeled} id="utility" label="Utility">
        <select id="utility" value=${chosen.name} onChange=${(event) => {
          setOutcome(null)
          setProblem(null)
          navigate({ view: 'utilities', utility: event.currentTarget.value }, true)
        }}>
          ${utilities.map((u) => html`<option value=${u.name}>${u.name}</option>`)}
        </select>
      </${Labeled}>
    </form>
    <div>
      <form key=${chosen.name} class="utility" onSubmit=${submit} aria-label=${`Run ${chosen.name}`}>
        <div class="grid">
          ${chosen.fields.map(([name, schema]) => html`<${Field} name=${name} schema=${schema} required=${chosen.required.has(name)} />`)}
        </div>
        <p><button type="submit">Run ${chosen.name}</button></p>
      </form>
    </div>
    <${ErrorNote} error=${problem} />
    ${
      outcome &&
      html`<section aria-labelledby="outcome-title" role="status">
        <h2 id="outcome-title">Done: ${outcome.utility} (${outcome.processName})</h2>
        <${RequestsList} requests=${outcome.requests} navigate=${navigate} />
        ${outcome.result !== null && outcome.result !== undefined && html`<${DataView} value=${outcome.result} />`}
      </section>`
    }
  </div>`
}

function Field({ name, schema, required }) {
  const id = `field-${name}`
  const described = schema.description ? `${id}-hint` : undefined
  const kind = fieldKind(schema)
  if (kind === 'boolean') {
    return html`<label class="check"
      ><input type="checkbox" name=${name} id=${id} /> ${name}</label
    >`
  }
  const label = `${name}${required ? ' (required)' : ''}${kind === 'list' ? ' (comma-separated)' : ''}`
  return html`<${Labeled} id=${id} label=${label} hint=${schema.description}>
    ${
      kind === 'enum'
        ? html`<select name=${name} id=${id} aria-describedby=${described}>
            ${required ? '' : html`<option value="">default</option>`}
            ${schema.enum.map((value) => html`<option value=${value}>${value}</option>`)}
          </select>`
        : html`<input
            name=${name}
            id=${id}
            type=${kind === 'number' ? 'number' : 'text'}
            aria-describedby=${described}
          />`
    }
  </${Labeled}>`
}

function RequestsList({ requests, navigate }) {
  if (requests.length === 0) {
    return html`<p>No provisioning requests were needed.</p>`
  }
  return html`<ul>
    ${requests.map(
      (
        request,
      ) => html`<li><${Link} to=${{ view: 'request', id: request.id }} navigate=${navigate}>${request.number}</${Link}>${' '}
      ${request.type}: ${request.life_cycle_state}</li>`,
    )}
  </ul>`
}

startConsole({
  title: 'conax-adapter console',
  tokenKey: 'conax-adapter-api-token',
  hint: 'The API token: printed by conax-adapter at start, or CONAX_ADAPTER_API_TOKEN. It is kept in this tab only.',
  check: (api) => api('GET', '/runs'),
  App,
})
