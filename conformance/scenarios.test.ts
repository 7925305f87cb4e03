import { describe, expect, it } from 'vitest'
import { findScenarioFiles } from './src/scenario/load.js'
import { renderFailedChecks, renderScenarioError } from './src/report/console.js'
import { runScenarioFile } from './src/runner.js'
import { defaultScenarioFolder } from './src/cli/main.js'

// Every shipped scenario, both sides (the adapter against the expectations, the expected sequence
// against a fresh simulator), through the same engine as `conax-conformance run`. Scenarios parked
// in _disputed/ document a disagreement with the seed and are not part of the suite.
const files = (await findScenarioFiles([defaultScenarioFolder()])).filter(
  (file) => !file.includes('_disputed'),
)

describe('the shipped scenarios', () => {
  it('are there: the business examples and the mapping table', () => {
    expect(files.some((file) => file.includes('business/'))).toBe(true)
    expect(files.some((file) => file.includes('mapping/'))).toBe(true)
  })

  it.each(files)('%s passes', async (file) => {
    const result = await runScenarioFile(file, { kind: 'in-process' })
    const details = result.error
      ? renderScenarioError(result.error, { color: false })
      : renderFailedChecks(result, { color: false })
    expect(result.verdict, details).toBe('passed')
    // Both sides ran: the adapter's checks and the replay to a fresh simulator.
    expect(result.checks.some((check) => check.side === 'adapter')).toBe(true)
    expect(result.checks.some((check) => check.side === 'ca')).toBe(true)
  })
})
