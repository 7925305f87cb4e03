/**
 * The HTML report for QA: one self-contained file (inline style, no script, no external asset) that
 * can be mailed or archived as a CI artefact and still open anywhere. Per scenario, the checks of
 * each step come first, in `when` order, then those of the whole scenario; in a side-by-side diff,
 * the tokens that differ are marked rather than the whole row.
 */
import type {
  CheckFailure,
  CheckResult,
  RunResult,
  ScenarioErrorInfo,
  ScenarioResult,
  SequenceDiff,
  Verdict,
} from '../result.js'
import { summaryOf } from '../result.js'
import {
  checkTitle,
  compactJson,
  formatDuration,
  groupChecks,
  visible,
  type CheckGroup,
} from './text.js'
import { markRow, type MarkedRow, type Piece } from './tokens.js'

const MARKS: Readonly<Record<Verdict, string>> = { passed: '✓', failed: '✗', error: '!' }

const STYLE = `
:root { color-scheme: light dark; --passed: #1a7f37; --failed: #cf222e; --error: #9a6700;
  --muted: #6e7781; --line: #d0d7de; --first: #fff8c5; --code: #f6f8fa;
  --mark-expected: #aceebb; --mark-actual: #ffcecb; }
@media (prefers-color-scheme: dark) { :root { --passed: #3fb950; --failed: #f85149;
  --error: #d29922; --muted: #8b949e; --line: #30363d; --first: #3b2e00; --code: #161b22;
  --mark-expected: #1b4721; --mark-actual: #67060c; } }
body { font: 14px/1.45 system-ui, sans-serif; margin: 1.5rem auto; max-width: 90rem; padding: 0 1rem; }
h1 { font-size: 1.4rem; margin: 0 0 .25rem; }
.meta, .legend, .file, .duration, .source, .side, .skipped, .outcome { color: var(--muted); }
.counts { display: flex; gap: 1.25rem; margin: 1rem 0 .4rem; font-weight: 600; }
.count.passed { color: var(--passed); } .count.failed { color: var(--failed); }
.count.error { color: var(--error); }
.bar { display: flex; height: .8rem; border-radius: .4rem; overflow: hidden; background: var(--line); }
.bar span { display: block; min-width: 2px; }
.bar .passed { background: var(--passed); } .bar .failed { background: var(--failed); }
.bar .error { background: var(--error); }
.scenarios { margin-top: 1.5rem; }
details.scenario { border: 1px solid var(--line); border-left-width: .35rem; border-radius: .3rem;
  margin: .5rem 0; padding: .3rem .8rem; }
details.scenario.passed { border-left-color: var(--passed); }
details.scenario.failed { border-left-color: var(--failed); }
details.scenario.error { border-left-color: var(--error); }
summary { cursor: pointer; }
summary h2, summary h3 { display: inline; font-size: 1em; font-weight: normal; margin: 0; }
summary h2 > span { margin-right: .75rem; }
summary .name { font-weight: 600; }
details.step { margin: .3rem 0 .3rem .5rem; }
details.step > summary .label, section.whole > h3 { font-weight: 600; }
section.whole > h3 { font-size: 1em; margin: .6rem 0 .2rem .5rem; }
.mark { font-weight: 700; display: inline-block; min-width: 1em; }
.passed > summary .mark, .check.passed .mark { color: var(--passed); }
.failed > summary .mark, .check.failed .mark { color: var(--failed); }
.error > summary .mark, .error-info strong { color: var(--error); }
ul.checks { list-style: none; padding-left: .5rem; }
.check { margin: .4rem 0; }
.failure { margin: .4rem 0 .8rem 1.5rem; }
.failure .message { margin: .2rem 0; font-weight: 600; white-space: pre-wrap; }
code, pre, .diff td.line { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace;
  font-size: 12.5px; }
pre { background: var(--code); padding: .5rem; border-radius: .3rem; white-space: pre-wrap;
  overflow-wrap: anywhere; margin: .3rem 0; }
dl.values { display: grid; grid-template-columns: max-content 1fr; gap: .2rem .8rem; margin: .3rem 0; }
dl.values dt { color: var(--muted); } dl.values dd { margin: 0; overflow-wrap: anywhere; }
table.diff { border-collapse: collapse; margin: .4rem 0; width: 100%; table-layout: fixed; }
table.diff caption { text-align: left; color: var(--muted); padding-bottom: .2rem; }
table.diff th, table.diff td { border: 1px solid var(--line); padding: .15rem .4rem; vertical-align: top;
  text-align: left; }
table.diff td.line { white-space: pre-wrap; overflow-wrap: anywhere; }
table.diff col.marker { width: 2.2rem; } table.diff col.row { width: 3.2rem; }
table.diff tr.differ td:first-child { color: var(--failed); font-weight: 700; }
table.diff tr.first td:first-child, table.diff tr.first th { background: var(--first); font-weight: 700; }
mark { color: inherit; text-decoration: underline; text-decoration-thickness: 2px;
  text-underline-offset: 2px; }
mark.expected { background: var(--mark-expected); } mark.actual { background: var(--mark-actual); }
ul.unmatched { list-style: none; padding-left: 0; margin: .3rem 0; }
ul.unmatched li { font-family: ui-monospace, monospace; white-space: pre-wrap; overflow-wrap: anywhere; }
.missing { color: var(--passed); } .unexpected { color: var(--failed); }
.error-info { margin: .5rem 0; }
`

/** The whole run as one self-contained HTML5 document. */
export function renderHtml(run: RunResult): string {
  const { total, passed, failed, errors } = summaryOf(run)
  const title = `Conax conformance: ${passed}/${total} passed`
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escape(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<header>
<h1>Conax conformance report</h1>
<p class="meta">${escape(run.target)} · started ${escape(run.startedAt)} · ${escape(formatDuration(run.durationMs))}</p>
<div class="counts"><span class="count total">${total} scenarios</span><span class="count passed">${passed} passed</span><span class="count failed">${failed} failed</span><span class="count error">${errors} errors</span></div>
${bar(passed, failed, errors)}
${hasDiff(run) ? LEGEND : ''}</header>
<main class="scenarios">
${run.scenarios.map(scenarioHtml).join('\n')}
</main>
</body>
</html>
`
}

const LEGEND =
  '<p class="legend">In the tables, &gt;&gt; marks the first row that differs and ≠ any other row that differs; within such a row, the parts that differ are highlighted and underlined.</p>\n'

function hasDiff(run: RunResult): boolean {
  return run.scenarios.some((scenario) =>
    scenario.checks.some((check) => check.failures.some((failure) => failure.diff !== undefined)),
  )
}

function bar(passed: number, failed: number, errors: number): string {
  const segments = [
    ['passed', passed],
    ['failed', failed],
    ['error', errors],
  ] as const
  // flex-grow instead of computed percentages: the browser does the arithmetic, nothing to round.
  const spans = segments
    .filter(([, count]) => count > 0)
    .map(([name, count]) => `<span class="${name}" style="flex-grow:${count}"></span>`)
    .join('')
  const label = `${passed} passed, ${failed} failed, ${errors} errors`
  return `<div class="bar" role="img" aria-label="${escape(label)}">${spans}</div>`
}

function scenarioHtml(scenario: ScenarioResult): string {
  const open = scenario.verdict === 'passed' ? '' : ' open'
  const source =
    scenario.source === null ? '' : `<p class="source">Source: ${escape(scenario.source)}</p>`
  return `<details class="scenario ${scenario.verdict}"${open}>
<summary><h2><span class="mark">${MARKS[scenario.verdict]}</span><span class="name">${escape(scenario.name)}</span><span class="file">${escape(scenario.file)}</span><span class="duration">${escape(formatDuration(scenario.durationMs))}</span></h2></summary>
${source}${scenario.error === undefined ? '' : errorHtml(scenario.error)}${checksHtml(scenario.checks)}
</details>`
}

/**
 * A disclosure per step that has checks (open when one failed), then the checks of the whole
 * scenario under their own heading; a scenario without step checks lists its checks as they are.
 */
function checksHtml(checks: readonly CheckResult[]): string {
  const groups = groupChecks(checks)
  if (groups.every((group) => group.step === null)) {
    return checkListHtml(checks)
  }
  return groups.map(groupHtml).join('\n')
}

function groupHtml(group: CheckGroup): string {
  const list = checkListHtml(group.checks)
  if (group.step === null) {
    return `<section class="whole"><h3>Whole scenario</h3>\n${list}\n</section>`
  }
  const passed = group.checks.every((check) => check.passed)
  const state = passed ? 'passed' : 'failed'
  return `<details class="step ${state}"${passed ? '' : ' open'}>
<summary><h3><span class="mark">${passed ? '✓' : '✗'}</span> <span class="label">${escape(group.step.label)}</span> <span class="outcome">${state}</span></h3></summary>
${list}
</details>`
}

function checkListHtml(checks: readonly CheckResult[]): string {
  return checks.length === 0
    ? ''
    : `<ul class="checks">\n${checks.map(checkHtml).join('\n')}\n</ul>`
}

function errorHtml(error: ScenarioErrorInfo): string {
  const location = error.location === undefined ? '' : ` at <code>${escape(error.location)}</code>`
  return `<div class="error-info"><p><strong>${escape(error.code)}</strong>${location}</p><pre>${escapeMultiline(error.message)}</pre></div>`
}

function checkHtml(check: CheckResult): string {
  const state = check.passed ? 'passed' : 'failed'
  const failures = check.failures.map(failureHtml).join('\n')
  const skipped = (check.skipped ?? [])
    .map((item) => `<p class="skipped">skipped: ${escape(item)}</p>`)
    .join('\n')
  // Under its step's heading, a check named after the step is what that step's `expect` said.
  const name =
    check.step !== undefined && check.name === check.step.label
      ? '<code>expect</code>'
      : escape(checkTitle(check))
  return `<li class="check ${state}"><span class="mark">${check.passed ? '✓' : '✗'}</span> ${name} <span class="side">${escape(check.side)}</span>
${failures}${skipped}</li>`
}

function failureHtml(failure: CheckFailure): string {
  const path =
    failure.path === undefined ? '' : `<p class="path">at <code>${escape(failure.path)}</code></p>`
  let detail = ''
  if (failure.diff !== undefined) {
    detail = diffHtml(failure.diff)
  } else if (Object.hasOwn(failure, 'expected') || Object.hasOwn(failure, 'actual')) {
    detail = `<dl class="values"><dt>expected</dt><dd><code>${escape(compactJson(failure.expected))}</code></dd><dt>actual</dt><dd><code>${escape(compactJson(failure.actual))}</code></dd></dl>`
  }
  return `<div class="failure"><p class="message">${escapeMultiline(failure.message)}</p>${path}${detail}</div>`
}

function diffHtml(diff: SequenceDiff): string {
  const rows = Math.max(diff.expected.length, diff.actual.length)
  const body: string[] = []
  for (let index = 0; index < rows; index += 1) {
    const first = index === diff.firstDivergence
    // Unordered sequences may legitimately differ row by row; only their first divergence counts.
    const differs = diff.ordered && diff.expected[index] !== diff.actual[index]
    const rowClass = first ? ' class="first"' : differs ? ' class="differ"' : ''
    const marker = first ? '&gt;&gt;' : differs ? '≠' : ''
    const expected = diff.expected[index]
    const actual = diff.actual[index]
    const [left, right] = differs
      ? cellsOf(markRow(expected, actual))
      : [escape(expected ?? ''), escape(actual ?? '')]
    body.push(
      `<tr${rowClass}><td>${marker}</td><th scope="row">${index + 1}</th><td class="line">${left}</td><td class="line">${right}</td></tr>`,
    )
  }
  const table = `<table class="diff"><caption>${diffCaption(diff)}</caption><colgroup><col class="marker"><col class="row"><col><col></colgroup><thead><tr><th scope="col" title="&gt;&gt; first divergence, ≠ another row that differs">≠</th><th scope="col">#</th><th scope="col">expected</th><th scope="col">actual</th></tr></thead><tbody>${body.join('')}</tbody></table>`
  return diff.ordered ? table : table + unmatchedHtml(diff)
}

/** Both cells of a differing row, each differing token in a `<mark>` whose title says against what. */
function cellsOf(row: MarkedRow): [string, string] {
  const cell = (pieces: readonly Piece[], side: 'expected' | 'actual', other: string): string =>
    pieces
      .map((piece) =>
        piece.differs
          ? `<mark class="${side}" title="differs from ${other}">${escape(piece.text)}</mark>`
          : escape(piece.text),
      )
      .join('')
  return [cell(row.expected, 'expected', 'actual'), cell(row.actual, 'actual', 'expected')]
}

function diffCaption(diff: SequenceDiff): string {
  const order = diff.ordered ? '' : 'order not checked; '
  if (diff.firstDivergence === null) {
    return diff.ordered ? 'the sequences agree' : `${order}the same lines`
  }
  return `${order}first divergence at row ${diff.firstDivergence + 1}`
}

function unmatchedHtml(diff: SequenceDiff): string {
  const items = [
    ...diff.missing.map((line) => `<li class="missing">- ${escape(line)}</li>`),
    ...diff.unexpected.map((line) => `<li class="unexpected">+ ${escape(line)}</li>`),
  ]
  return items.length === 0 ? '' : `<ul class="unmatched">${items.join('')}</ul>`
}

const HTML_ESCAPES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
}

/** Text for an element or a quoted attribute, control characters shown as escapes. */
function escape(value: string): string {
  return visible(value).replace(/[&<>"']/g, (c) => HTML_ESCAPES[c] ?? c)
}

function escapeMultiline(value: string): string {
  return value
    .split(/\r\n|\n|\r/)
    .map(escape)
    .join('\n')
}
