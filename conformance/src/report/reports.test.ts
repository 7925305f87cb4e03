import { XMLParser, XMLValidator } from 'fast-xml-parser'
import { describe, expect, it } from 'vitest'
import type { RunResult, ScenarioResult } from '../result.js'
import { renderConsole, renderConsoleScenario, renderConsoleSummary } from './console.js'
import { renderHtml } from './html.js'
import { classNameOf, renderJunit } from './junit.js'

const ADD = 'ADD_SUBSCRIPTIONS card=01450250001 service=GFA1 distributor=Main'
const CANCEL = 'CANCEL_SUBSCRIPTIONS card=01450250001 service=GFA1 distributor=Main'
const ADD_2 = 'ADD_SUBSCRIPTIONS card=01450250002 service=GFA1 distributor=Main'
const LONG = `ADD_SUBSCRIPTIONS card=01450250003 service=${'X'.repeat(120)}`
/** Text a scenario author may well write, plus a bell and an escape a broken target may send. */
const NASTY = `Renew <card> & "gold" 'pack'\u0007 \u001b[31mred`

const passed: ScenarioResult = {
  file: 'conformance/scenarios/subscriptions.yaml',
  name: 'Add a subscription',
  source: 'seed §3.1',
  verdict: 'passed',
  durationMs: 35,
  checks: [
    { name: 'adapter: requests', side: 'adapter', passed: true, failures: [] },
    {
      name: 'ca: state',
      side: 'ca',
      passed: true,
      failures: [],
      skipped: ['PIN of card 01450250001'],
    },
  ],
}

const orderedFailure: ScenarioResult = {
  file: 'conformance/scenarios/subscriptions.yaml',
  name: 'Cancel then add',
  source: null,
  verdict: 'failed',
  durationMs: 1250,
  checks: [
    {
      name: 'adapter: requests',
      side: 'adapter',
      passed: false,
      failures: [
        {
          message: 'requests differ',
          path: 'then.adapter.requests',
          diff: {
            expected: [ADD, CANCEL, LONG],
            actual: [ADD, ADD_2, LONG],
            firstDivergence: 1,
            ordered: true,
            missing: [CANCEL],
            unexpected: [ADD_2],
          },
        },
      ],
    },
    {
      name: 'ca: state',
      side: 'ca',
      passed: false,
      failures: [
        {
          message: `card 01450250001: ${NASTY}`,
          path: 'then.ca.cards.01450250001.products',
          expected: ['GFA1'],
          actual: { products: [], note: NASTY },
        },
      ],
    },
  ],
}

const unorderedFailure: ScenarioResult = {
  file: 'conformance/scenarios/bulk/cards.yml',
  name: NASTY,
  source: null,
  verdict: 'failed',
  durationMs: 80,
  checks: [
    {
      name: 'journal: calls',
      side: 'journal',
      passed: false,
      failures: [
        {
          message: 'calls differ',
          diff: {
            expected: [ADD, CANCEL],
            actual: [ADD_2, ADD],
            firstDivergence: 1,
            ordered: false,
            missing: [CANCEL],
            unexpected: [ADD_2],
          },
        },
      ],
    },
  ],
}

const errored: ScenarioResult = {
  file: 'conformance/scenarios/bulk/cards.yml',
  name: 'Broken scenario',
  source: null,
  verdict: 'error',
  durationMs: 3,
  checks: [],
  error: {
    code: 'SCENARIO_INVALID',
    message: `then.ca: expected a mapping, got ${NASTY}`,
    location: 'conformance/scenarios/bulk/cards.yml:12:5',
  },
}

const run: RunResult = {
  target: 'in-process adapter + simulator',
  startedAt: '2025-03-01T10:00:00.000Z',
  durationMs: 12_345,
  scenarios: [passed, orderedFailure, unorderedFailure, errored],
}

const ANSI = /\u001b\[/

describe('renderConsole', () => {
  const plain = renderConsole(run, { color: false })
  const lines = plain.split('\n')

  it('has no ANSI codes without colour, even from scenario text', () => {
    expect(plain).not.toMatch(ANSI)
    expect(plain).toContain('\\u0007 \\u001b[31mred')
    expect(plain).not.toMatch(/[\u0000-\u0008\u000b-\u001f]/)
  })

  it('colours with colour', () => {
    expect(renderConsole(run, { color: true })).toMatch(ANSI)
  })

  it('gives one line per scenario with its verdict mark, name, file and duration', () => {
    expect(lines).toContain('✓ Add a subscription  conformance/scenarios/subscriptions.yaml  35 ms')
    expect(lines).toContain('✗ Cancel then add  conformance/scenarios/subscriptions.yaml  1.3 s')
    expect(lines).toContain('! Broken scenario  conformance/scenarios/bulk/cards.yml  3 ms')
  })

  it('shows an ordered diff side by side and marks the first divergence row', () => {
    const marked = lines.filter((line) => line.includes('>>'))
    expect(marked).toHaveLength(1)
    expect(marked[0]).toMatch(
      /^\s+>> 2 {2}CANCEL_SUBSCRIPTIONS .* │ ADD_SUBSCRIPTIONS card=01450250002/,
    )
    expect(lines).toContain('      first divergence at row 2:')
    expect(lines.some((line) => line.startsWith('        expected: CANCEL_SUBSCRIPTIONS'))).toBe(
      true,
    )
    const row1 = lines.find((line) => /^\s+1 {2}ADD_SUBSCRIPTIONS card=01450250001/.test(line))
    expect(row1).toMatch(/│ ADD_SUBSCRIPTIONS card=01450250001/)
    // Both columns line up: the separator sits at the same place on every row.
    const rows = lines.filter((line) => line.includes(' │ '))
    const columns = new Set(rows.filter((l) => !l.includes('bulk')).map((l) => l.indexOf('│')))
    expect(columns.size).toBe(1)
  })

  it('fits each diff row in 120 columns, cutting long lines with …', () => {
    const rows = lines.filter((line) => line.includes(' │ '))
    expect(rows.length).toBeGreaterThan(0)
    for (const row of rows) {
      expect(Array.from(row).length).toBeLessThanOrEqual(120)
    }
    const row3 = lines.find((line) => /^\s+3 {2}/.test(line))!
    const [left, right] = row3.split(' │ ')
    expect(left!.trim()).toMatch(/…$/)
    expect(Array.from(left!.replace(/^\s+3 {2}/, '')).length).toBe(52)
    expect(Array.from(right!).length).toBe(52)
  })

  it('keeps the difference of a long diverging row in view in both columns', () => {
    const expected = `ADD_SUBSCRIPTIONS smartcardCaId=01450250001 serviceCaId=BFB3 distributor=Main → COMPLETED`
    const actual = `ADD_SUBSCRIPTIONS smartcardCaId=01450250001 serviceCaId=BFB2 distributor=Main → COMPLETED`
    const diffRun: RunResult = {
      ...run,
      scenarios: [
        {
          ...orderedFailure,
          checks: [
            {
              name: 'adapter: requests',
              side: 'adapter',
              passed: false,
              failures: [
                {
                  message: 'requests differ',
                  diff: {
                    expected: [expected],
                    actual: [actual],
                    firstDivergence: 0,
                    ordered: true,
                    missing: [expected],
                    unexpected: [actual],
                  },
                },
              ],
            },
          ],
        },
      ],
    }
    const marked = renderConsole(diffRun, { color: false })
      .split('\n')
      .find((line) => line.includes('>>'))!
    const [left, right] = marked.replace(/^\s+>> 1 {2}/, '').split(' │ ')
    expect(left).toContain('serviceCaId=BFB3 distributor=Main → COMPLETED')
    expect(right).toContain('serviceCaId=BFB2 distributor=Main → COMPLETED')
    expect(left!.startsWith('…')).toBe(true)

    // A wider terminal shows the rows whole.
    const wide = renderConsole(diffRun, { color: false, width: 220 })
    expect(wide).toContain(`${expected} │ ${actual}`)
  })

  it('lists missing and unexpected lines of an unordered diff', () => {
    expect(lines).toContain(`      - ${CANCEL}`)
    expect(lines).toContain(`      + ${ADD_2}`)
  })

  it('shows expected and actual values compactly, skipped items, errors and a summary', () => {
    expect(lines).toContain('      expected: ["GFA1"]')
    expect(plain).toContain('      actual:   {"products":[],"note":"Renew <card>')
    expect(lines).toContain('    skipped: PIN of card 01450250001')
    expect(plain).toContain(
      '  error SCENARIO_INVALID at conformance/scenarios/bulk/cards.yml:12:5: then.ca: expected a mapping',
    )
    expect(lines.at(-2)).toBe('4 scenarios: 1 passed, 2 failed, 1 errors (12.3 s)')
  })
})

describe('renderJunit', () => {
  const xml = renderJunit(run)
  const parser = new XMLParser({
    ignoreAttributes: false,
    attributeNamePrefix: '',
    parseAttributeValue: false,
    isArray: (name) => ['testsuite', 'testcase', 'property'].includes(name),
  })

  it('is well-formed XML with no character illegal in XML 1.0', () => {
    expect(xml.startsWith('<?xml version="1.0" encoding="UTF-8"?>\n')).toBe(true)
    expect(XMLValidator.validate(xml)).toBe(true)
    expect(xml).not.toMatch(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/)
  })

  it('has testsuites > testsuite per file > testcase per scenario with the right counts', () => {
    const doc = parser.parse(xml)
    const root = doc.testsuites
    expect(root).toMatchObject({
      name: 'conax-conformance',
      tests: '4',
      failures: '2',
      errors: '1',
      time: '12.345',
    })
    expect(root.testsuite).toHaveLength(2)
    const [first, second] = root.testsuite
    expect(first).toMatchObject({
      name: 'conformance/scenarios/subscriptions.yaml',
      tests: '2',
      failures: '1',
      errors: '0',
      skipped: '0',
      time: '1.285',
      timestamp: '2025-03-01T10:00:00.000Z',
    })
    expect(second).toMatchObject({ name: 'conformance/scenarios/bulk/cards.yml', tests: '2' })
    expect(second).toMatchObject({ failures: '1', errors: '1' })

    const cases = [...first.testcase, ...second.testcase]
    expect(cases.map((c: { classname: string }) => c.classname)).toEqual([
      'conformance.scenarios.subscriptions',
      'conformance.scenarios.subscriptions',
      'conformance.scenarios.bulk.cards',
      'conformance.scenarios.bulk.cards',
    ])
    expect(cases[0].failure).toBeUndefined()
    expect(cases[0].name).toBe('Add a subscription')
    expect(cases[0].time).toBe('0.035')
    expect(cases[0]['system-out']).toContain('skipped: PIN of card 01450250001')
  })

  it('puts the plain failure rendering in failure and the error code in error', () => {
    const [first, second] = parser.parse(xml).testsuites.testsuite
    const failure = first.testcase[1].failure
    expect(failure.type).toBe('adapter: requests')
    expect(failure.message).toBe('requests differ (+1 more)')
    expect(failure['#text']).toContain('first divergence at row 2')
    expect(failure['#text']).not.toMatch(ANSI)

    const unordered = second.testcase[0]
    expect(unordered.name).toBe(`Renew <card> & "gold" 'pack' [31mred`)
    expect(unordered.failure.type).toBe('journal: calls')
    expect(unordered.failure['#text']).toContain(`+ ${ADD_2}`)

    const error = second.testcase[1].error
    expect(error.type).toBe('SCENARIO_INVALID')
    expect(error.message).toBe(
      `then.ca: expected a mapping, got Renew <card> & "gold" 'pack' [31mred`,
    )
    expect(error['#text']).toContain('conformance/scenarios/bulk/cards.yml:12:5')
  })

  it('gives a scenario outside the working directory a class name without a leading dot', () => {
    const outside: RunResult = {
      ...run,
      scenarios: [{ ...passed, file: '/tmp/ci/scenarios/add.yaml' }],
    }
    const doc = parser.parse(renderJunit(outside))
    expect(doc.testsuites.testsuite[0].testcase[0].classname).toBe('tmp.ci.scenarios.add')
    expect(classNameOf('C:\\ci\\add.yml')).toBe('ci.add')
    expect(classNameOf('./conformance/add.yaml')).toBe('conformance.add')
  })

  it('keeps newlines in attributes as character references', () => {
    const single: RunResult = {
      ...run,
      scenarios: [{ ...errored, error: { code: 'E', message: 'a\nb' } }],
    }
    expect(renderJunit(single)).toContain('message="a&#10;b"')
  })
})

describe('renderHtml', () => {
  const html = renderHtml(run)

  it('is an HTML5 document', () => {
    expect(html.startsWith('<!DOCTYPE html>')).toBe(true)
    expect(html).toContain('<meta charset="utf-8">')
    expect(html.trimEnd().endsWith('</html>')).toBe(true)
  })

  it('references nothing outside itself', () => {
    expect(html).not.toMatch(/\b(src|href)\s*=\s*["']?\s*(https?:)?\/\//i)
    expect(html).not.toMatch(/@import/i)
    expect(html).not.toMatch(/url\(\s*["']?(?!data:)/i)
    expect(html).not.toMatch(/<script/i)
    expect(html).not.toMatch(/<link/i)
  })

  it('escapes scenario text', () => {
    expect(html).toContain(
      'Renew &lt;card&gt; &amp; &quot;gold&quot; &#39;pack&#39;\\u0007 \\u001b[31mred',
    )
    expect(html).not.toContain('<card>')
    expect(html).not.toContain('& "gold"')
    expect(html).not.toMatch(/[\u0000-\u0008\u000b-\u001f]/)
  })

  it('shows counts, opens the scenarios that did not pass, and highlights the first divergence', () => {
    expect(html).toContain('<span class="count passed">1 passed</span>')
    expect(html).toContain('<span class="count failed">2 failed</span>')
    expect(html).toContain('<span class="count error">1 errors</span>')
    expect(html).toContain('style="flex-grow:2"')
    expect(html.match(/<details class="scenario passed">/g)).toHaveLength(1)
    expect(html.match(/<details class="scenario failed" open>/g)).toHaveLength(2)
    expect(html.match(/<details class="scenario error" open>/g)).toHaveLength(1)
    expect(html).toMatch(
      /<tr class="first"><td>&gt;&gt;<\/td><th scope="row">2<\/th><td class="line"><mark class="expected" title="differs from actual">CANCEL_SUBSCRIPTIONS<\/mark>/,
    )
    expect(html).toContain('first divergence at row 2')
    expect(html).toContain(
      '<strong>SCENARIO_INVALID</strong> at <code>conformance/scenarios/bulk/cards.yml:12:5</code>',
    )
    expect(html).toContain('skipped: PIN of card 01450250001')
  })
})

describe('renderConsoleScenario and renderConsoleSummary', () => {
  it('stream the same text renderConsole prints at once', () => {
    const options = { color: false }
    const streamed = [
      'target: in-process adapter + simulator\n\n',
      ...run.scenarios.map((scenario) => renderConsoleScenario(scenario, options)),
      `${renderConsoleSummary(run, options)}\n`,
    ].join('')
    expect(streamed).toBe(renderConsole(run, options))
  })
})

describe('checks of steps', () => {
  const PFA2 =
    'ADD_SUBSCRIPTIONS smartcardCaId=01450250001 serviceCaId=PFA2 distributor=Main → COMPLETED'
  const EFA2 =
    'ADD_SUBSCRIPTIONS smartcardCaId=01450250001 serviceCaId=EFA2 distributor=Main → COMPLETED'
  const PAIR = 'CREATE_PAIRING smartcardCaIds=01450250001 stbCaIds=1000000001 → COMPLETED'
  const HOSTILE = 'step 3 (advance 90s): </failure>]]><script>alert(1)</script>'
  const STEP_1 = { index: 0, label: 'step 1 (ADD_SERVICE)' }
  const STEP_3 = { index: 2, label: 'step 3 (advance 90s)' }
  const stepDiff = {
    expected: [PAIR, PFA2, PAIR],
    actual: [PAIR, EFA2],
    firstDivergence: 1,
    ordered: true,
    missing: [PFA2, PAIR],
    unexpected: [EFA2],
  }
  // In the order a run makes no promise about: a check of the whole scenario first, steps reversed.
  const stepped: ScenarioResult = {
    file: 'conformance/scenarios/steps.yaml',
    name: 'Steps with expectations',
    source: null,
    verdict: 'failed',
    durationMs: 40,
    checks: [
      {
        name: 'adapter: then.requests',
        side: 'adapter',
        passed: false,
        failures: [{ message: 'all steps: the requests differ', path: 'then.requests' }],
      },
      {
        name: STEP_3.label,
        step: STEP_3,
        side: 'adapter',
        passed: false,
        failures: [
          { message: 'step 3 (advance 90s): the requests differ', diff: stepDiff },
          { message: HOSTILE, expected: 'COMPLETED', actual: ']]>' },
        ],
      },
      { name: STEP_1.label, step: STEP_1, side: 'adapter', passed: true, failures: [] },
      {
        name: 'ca: state',
        side: 'ca',
        passed: true,
        failures: [],
        skipped: ['PIN of card 01450250001'],
      },
      {
        name: 'adapter: communications',
        step: STEP_3,
        side: 'adapter',
        passed: false,
        failures: [{ message: 'communication 4 state', expected: 'SENT', actual: 'FAILED' }],
      },
    ],
  }
  const steppedRun: RunResult = { ...run, scenarios: [stepped, passed] }

  describe('renderHtml', () => {
    const html = renderHtml(steppedRun)
    const body = html.slice(
      html.indexOf('Steps with expectations'),
      html.indexOf('Add a subscription'),
    )

    it('groups checks by step in when order, then those of the whole scenario', () => {
      const step1 = body.indexOf('<details class="step passed">')
      const step3 = body.indexOf('<details class="step failed" open>')
      const whole = body.indexOf('<section class="whole"><h3>Whole scenario</h3>')
      expect(step1).toBeGreaterThan(-1)
      expect(step3).toBeGreaterThan(step1)
      expect(whole).toBeGreaterThan(step3)
      expect(body.indexOf('step 1 (ADD_SERVICE)')).toBeGreaterThan(step1)
      expect(body.indexOf('step 1 (ADD_SERVICE)')).toBeLessThan(step3)
      expect(body.indexOf('adapter: then.requests')).toBeGreaterThan(whole)
      expect(body.indexOf('ca: state')).toBeGreaterThan(whole)
      // A second check of step 3 stays under step 3, named after what it checks.
      const communications = body.indexOf('adapter: communications')
      expect(communications).toBeGreaterThan(step3)
      expect(communications).toBeLessThan(whole)
    })

    it('heads each step with its label, passed steps closed and failed ones open', () => {
      expect(body).toContain(
        '<summary><h3><span class="mark">✓</span> <span class="label">step 1 (ADD_SERVICE)</span> <span class="outcome">passed</span></h3></summary>',
      )
      expect(body).toContain(
        '<summary><h3><span class="mark">✗</span> <span class="label">step 3 (advance 90s)</span> <span class="outcome">failed</span></h3></summary>',
      )
      expect(body.match(/<details class="step/g)).toHaveLength(2)
      // A scenario without step checks keeps its flat list.
      expect(html.slice(html.indexOf('Add a subscription'))).not.toContain('class="step')
    })

    it('marks exactly the differing tokens of a differing row', () => {
      const row = /<tr class="first">.*?<\/tr>/.exec(body)?.[0] ?? ''
      expect(row).toContain(
        '<td class="line">ADD_SUBSCRIPTIONS smartcardCaId=01450250001 <mark class="expected" title="differs from actual">serviceCaId=PFA2</mark> distributor=Main → COMPLETED</td>',
      )
      expect(row).toContain(
        '<td class="line">ADD_SUBSCRIPTIONS smartcardCaId=01450250001 <mark class="actual" title="differs from expected">serviceCaId=EFA2</mark> distributor=Main → COMPLETED</td>',
      )
      expect(row.match(/<mark/g)).toHaveLength(2)
    })

    it('leaves equal rows unmarked and marks every token of a row only one side has', () => {
      const rows = body.match(
        /<tr(?: class="\w+")?><td>[^<]*<\/td><th scope="row">\d+<\/th>.*?<\/tr>/g,
      )
      expect(rows).toHaveLength(3)
      expect(rows?.[0]).not.toContain('<mark')
      expect(rows?.[2]).toContain('<tr class="differ"><td>≠</td>')
      expect(rows?.[2]?.match(/<mark class="expected"/g)).toHaveLength(4)
      expect(rows?.[2]).toContain('<td class="line"></td></tr>')
    })

    it('escapes hostile text inside and around the marks', () => {
      const hostile: RunResult = {
        ...run,
        scenarios: [
          {
            ...stepped,
            checks: [
              {
                name: '<b>step</b>',
                step: { index: 0, label: '<b>step</b>' },
                side: 'adapter',
                passed: false,
                failures: [
                  {
                    message: 'differ',
                    diff: {
                      expected: ['SEND_MAIL message="<i>&amp;</i>" slot=A'],
                      actual: ['SEND_MAIL message="]]><script>x</script>" slot=A'],
                      firstDivergence: 0,
                      ordered: true,
                      missing: [],
                      unexpected: [],
                    },
                  },
                ],
              },
            ],
          },
        ],
      }
      const page = renderHtml(hostile)
      expect(page).not.toMatch(/<script|<i>|<b>/)
      expect(page).toContain('<span class="label">&lt;b&gt;step&lt;/b&gt;</span>')
      expect(page).toContain(
        '<td class="line">SEND_MAIL <mark class="expected" title="differs from actual">message=&quot;&lt;i&gt;&amp;amp;&lt;/i&gt;&quot;</mark> slot=A</td>',
      )
      expect(page).toContain(
        '<mark class="actual" title="differs from expected">message=&quot;]]&gt;&lt;script&gt;x&lt;/script&gt;&quot;</mark>',
      )
    })

    it('escapes hostile text in step checks', () => {
      expect(html).not.toMatch(/<script/i)
      expect(html).not.toContain('</failure>')
      expect(body).toContain(
        'step 3 (advance 90s): &lt;/failure&gt;]]&gt;&lt;script&gt;alert(1)&lt;/script&gt;',
      )
    })
  })

  describe('renderJunit', () => {
    const xml = renderJunit(steppedRun)
    const parser = new XMLParser({
      ignoreAttributes: false,
      attributeNamePrefix: '',
      isArray: (name) => ['testsuite', 'testcase'].includes(name),
    })
    const doc = parser.parse(xml)
    const [steps] = doc.testsuites.testsuite[0].testcase

    it('stays well-formed, with hostile text carried through, and one testcase per scenario', () => {
      expect(XMLValidator.validate(xml)).toBe(true)
      expect(xml).not.toContain('<script>')
      expect(xml).not.toContain(']]><')
      expect(doc.testsuites.tests).toBe('2')
      expect(doc.testsuites.testsuite[0].testcase).toHaveLength(1)
      expect(steps.failure['#text']).toContain(HOSTILE)
    })

    it('lists every check in its failure text grouped by step, with failures and diffs', () => {
      const failure = steps.failure
      expect(failure.type).toBe('step 3 (advance 90s)')
      expect(failure.message).toBe('step 3 (advance 90s): the requests differ (+3 more)')
      const lines: string[] = failure['#text'].split('\n')
      const at = (line: string): number => lines.indexOf(line)
      expect(at('step 1 (ADD_SERVICE): passed')).toBe(0)
      expect(at('step 3 (advance 90s): FAILED')).toBe(1)
      expect(at('    step 3 (advance 90s): the requests differ')).toBe(2)
      expect(at('      first divergence at row 2:')).toBeGreaterThan(2)
      expect(at('step 3 (advance 90s): adapter: communications: FAILED')).toBeGreaterThan(
        at('      first divergence at row 2:'),
      )
      expect(at('whole scenario:')).toBeGreaterThan(
        at('step 3 (advance 90s): adapter: communications: FAILED'),
      )
      expect(at('  adapter: then.requests: FAILED')).toBe(at('whole scenario:') + 1)
      expect(at('    all steps: the requests differ (at then.requests)')).toBe(
        at('whole scenario:') + 2,
      )
      expect(at('  ca: state: passed')).toBe(at('whole scenario:') + 3)
      expect(at('    skipped: PIN of card 01450250001')).toBe(at('whole scenario:') + 4)
    })

    it('lists every check with its outcome in system-out', () => {
      expect(steps['system-out'].split('\n')).toEqual([
        'step 1 (ADD_SERVICE): passed',
        'step 3 (advance 90s): FAILED',
        'step 3 (advance 90s): adapter: communications: FAILED',
        'whole scenario:',
        '  adapter: then.requests: FAILED',
        '  ca: state: passed',
        '    skipped: PIN of card 01450250001',
      ])
    })
  })

  describe('renderConsole', () => {
    const lines = renderConsoleScenario(stepped, { color: false }).split('\n')

    it('prints failed checks in step order, each with its step label', () => {
      const heads = lines.filter((line) => /^ {2}[✓✗] /.test(line))
      expect(heads).toEqual([
        '  ✗ step 3 (advance 90s)',
        '  ✗ step 3 (advance 90s): adapter: communications',
        '  ✗ adapter: then.requests',
        '  ✓ ca: state',
      ])
    })

    it('keeps diff rows within 120 columns', () => {
      // The header and three rows, the last one with nothing on the right.
      const rows = lines.filter((line) => line.includes('│'))
      expect(rows.length).toBe(4)
      for (const row of rows) {
        expect(Array.from(row).length).toBeLessThanOrEqual(120)
      }
    })
  })
})
