/**
 * The JUnit XML report, for CI servers: one testsuite per scenario file, one testcase per scenario
 * (CI systems count scenarios). Its failure text lists every check grouped by step, the failed ones
 * with their failures and plain-text diffs; its system-out lists every check with its outcome.
 */
import type { RunResult, ScenarioResult } from '../result.js'
import { summaryOf } from '../result.js'
import { renderCheckList, renderScenarioError } from './console.js'
import { checkTitle, orderedChecks, seconds, visible } from './text.js'

const PLAIN = { color: false } as const

/** The whole run as a JUnit XML document. */
export function renderJunit(run: RunResult): string {
  const { total, failed, errors } = summaryOf(run)
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites${attributes({
      name: 'conax-conformance',
      tests: total,
      failures: failed,
      errors,
      time: seconds(run.durationMs),
      timestamp: run.startedAt,
    })}>`,
  ]
  for (const [file, scenarios] of byFile(run.scenarios)) {
    lines.push(...suiteLines(file, scenarios, run))
  }
  lines.push('</testsuites>')
  return `${lines.join('\n')}\n`
}

function byFile(scenarios: readonly ScenarioResult[]): Map<string, ScenarioResult[]> {
  const files = new Map<string, ScenarioResult[]>()
  for (const scenario of scenarios) {
    const list = files.get(scenario.file)
    if (list === undefined) {
      files.set(scenario.file, [scenario])
    } else {
      list.push(scenario)
    }
  }
  return files
}

function suiteLines(file: string, scenarios: readonly ScenarioResult[], run: RunResult): string[] {
  const count = (verdict: ScenarioResult['verdict']): number =>
    scenarios.filter((scenario) => scenario.verdict === verdict).length
  const duration = scenarios.reduce((sum, scenario) => sum + scenario.durationMs, 0)
  return [
    `  <testsuite${attributes({
      name: file,
      tests: scenarios.length,
      failures: count('failed'),
      errors: count('error'),
      // Skipped items live inside checks; no scenario is ever skipped as a whole.
      skipped: 0,
      time: seconds(duration),
      timestamp: run.startedAt,
    })}>`,
    '    <properties>',
    `      <property${attributes({ name: 'target', value: run.target })}/>`,
    '    </properties>',
    ...scenarios.flatMap(testcaseLines),
    '  </testsuite>',
  ]
}

function testcaseLines(scenario: ScenarioResult): string[] {
  const lines = [
    `    <testcase${attributes({
      classname: classNameOf(scenario.file),
      name: scenario.name,
      time: seconds(scenario.durationMs),
    })}>`,
  ]
  if (scenario.verdict === 'failed') {
    lines.push(failureLine(scenario))
  } else if (scenario.verdict === 'error') {
    lines.push(errorLine(scenario))
  }
  lines.push(`      <system-out>${text(checksRun(scenario))}</system-out>`, '    </testcase>')
  return lines
}

function failureLine(scenario: ScenarioResult): string {
  const failedChecks = orderedChecks(scenario.checks).filter((check) => !check.passed)
  const firstCheck = failedChecks[0]
  const failures = failedChecks.flatMap((check) => check.failures)
  const first = failures[0]
  const more = failures.length > 1 ? ` (+${failures.length - 1} more)` : ''
  const type = firstCheck === undefined ? undefined : checkTitle(firstCheck)
  const message = first === undefined ? `${type ?? 'a check'} failed` : first.message + more
  return `      <failure${attributes({
    message,
    type: type ?? 'failed',
  })}>${text(renderCheckList(scenario, { ...PLAIN, details: true }))}</failure>`
}

function errorLine(scenario: ScenarioResult): string {
  const error = scenario.error ?? { code: 'ERROR', message: 'the scenario could not be run' }
  return `      <error${attributes({
    message: error.message,
    type: error.code,
  })}>${text(renderScenarioError(error, PLAIN))}</error>`
}

function checksRun(scenario: ScenarioResult): string {
  // visible(): the same escapes as in the failure text, rather than characters silently stripped.
  const lines = scenario.source === null ? [] : [`source: ${visible(scenario.source)}`]
  lines.push(
    scenario.checks.length === 0
      ? 'no checks run'
      : renderCheckList(scenario, { ...PLAIN, details: false }),
  )
  return lines.join('\n')
}

/**
 * `conformance/scenarios/add.yaml` becomes `conformance.scenarios.add`, as CI tools group by dots;
 * an absolute path (`/tmp/x/add.yaml`, `C:\\x\\add.yaml`) loses its root, so no class name starts
 * with a dot (Jenkins would show an empty package).
 */
export function classNameOf(file: string): string {
  const path = file.replace(/^\.[/\\]/, '').replace(/^(?:[A-Za-z]:)?[/\\]+/, '')
  const withoutExtension = path.replace(/\.[^./\\]+$/, '')
  return withoutExtension.replace(/[/\\]+/g, '.')
}

// XML 1.0 allows only these characters (https://www.w3.org/TR/xml/#charsets); the `u` flag makes
// lone surrogates count as single code points, so they are stripped too.
const ILLEGAL_XML = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu

function legal(value: string): string {
  return value.replace(ILLEGAL_XML, '')
}

function text(value: string): string {
  return legal(value).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
}

const ATTRIBUTE_ESCAPES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&apos;',
  // Attribute-value normalisation would turn raw whitespace into spaces: keep it as references.
  '\t': '&#9;',
  '\n': '&#10;',
  '\r': '&#13;',
}

function attributes(values: Readonly<Record<string, string | number>>): string {
  return Object.entries(values)
    .map(([name, value]) => {
      const escaped = legal(String(value)).replace(
        /[&<>"'\t\n\r]/g,
        (c) => ATTRIBUTE_ESCAPES[c] ?? c,
      )
      return ` ${name}="${escaped}"`
    })
    .join('')
}
