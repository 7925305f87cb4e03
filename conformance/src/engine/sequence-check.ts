import type { ProvisioningRequest } from '../../../src/index.js'
import { diffSequences, partialMismatches, sequenceFailed } from '../compare.js'
import type { CheckFailure } from '../result.js'
import { actualLine, expectedLine, type RequestExpectation } from './lines.js'
import type { ExpectedList } from './plan.js'

/**
 * Compares the requests an adapter created with an expected list: the lines (command, final state
 * and the error code of a rejection), then, for lines that agree, the process name and query
 * results the expectation names. Returns the failures ([] when it holds).
 */
export function compareRequests(
  expected: ExpectedList,
  actual: readonly ProvisioningRequest[],
  label: string,
  path: string,
): CheckFailure[] {
  const expectedLines = expected.list.map(expectedLine)
  const actualLines = actual.map(actualLine)
  const diff = diffSequences(expectedLines, actualLines, expected.ordered)
  if (sequenceFailed(diff)) {
    return [{ message: `${label}: the requests differ from the expectation`, path, diff }]
  }
  return resultFailures(
    expected.list.map((want, index) => ({ want, line: expectedLines[index] ?? '' })),
    actual.map((got, index) => ({ got, line: actualLines[index] ?? '' })),
    { label, path },
  )
}

/**
 * Process names and query results (matched partially), pairing each expectation with the actual
 * request of the same line.
 */
export function resultFailures(
  expected: readonly { readonly want: RequestExpectation; readonly line: string }[],
  actual: readonly {
    readonly got: {
      readonly result: unknown
      readonly processName?: string
      readonly attempts?: number
      readonly errorClass?: string | null
      readonly errorCode?: string | null
    }
    readonly line: string
  }[],
  where: { readonly label: string; readonly path: string },
): CheckFailure[] {
  const { label, path } = where
  const failures: CheckFailure[] = []
  const used = new Set<number>()
  expected.forEach(({ want, line: wantedLine }, index) => {
    const delivery = want.attempts !== null || want.errorClass !== null
    const pendingCode = want.state === 'PENDING' && want.errorCode !== null
    if (want.result === undefined && want.processName === null && !delivery && !pendingCode) {
      return
    }
    const match = actual.findIndex((candidate, i) => !used.has(i) && candidate.line === wantedLine)
    if (match === -1) {
      return
    }
    used.add(match)
    const got = actual[match]?.got
    if (
      want.processName !== null &&
      got?.processName !== undefined &&
      got.processName !== want.processName
    ) {
      failures.push({
        message: `${label}: request ${index + 1} processName`,
        path: `${path}[${index}].processName`,
        expected: want.processName,
        actual: got.processName,
      })
    }
    failures.push(
      ...deliveryFailures(want, got, {
        label: `${label}: request ${index + 1}`,
        path: `${path}[${index}]`,
      }),
    )
    if (want.result === undefined) {
      return
    }
    for (const mismatch of partialMismatches(want.result, got?.result, 'result')) {
      failures.push({
        message: `${label}: request ${index + 1} ${mismatch.path}`,
        path: `${path}[${index}].${mismatch.path}`,
        expected: mismatch.expected,
        actual: mismatch.actual,
      })
    }
  })
  return failures
}

/** Attempts, error class and the last failure's code of a PENDING request, where the expectation names them. */
function deliveryFailures(
  want: RequestExpectation,
  got:
    | {
        readonly attempts?: number
        readonly errorClass?: string | null
        readonly errorCode?: string | null
      }
    | undefined,
  where: { readonly label: string; readonly path: string },
): CheckFailure[] {
  const fields = [
    ['attempts', want.attempts, got?.attempts],
    ['errorClass', want.errorClass, got?.errorClass],
    ['errorCode', want.state === 'PENDING' ? want.errorCode : null, got?.errorCode],
  ] as const
  return fields
    .filter(
      ([, expected, actual]) => expected !== null && actual !== undefined && expected !== actual,
    )
    .map(([field, expected, actual]) => ({
      message: `${where.label} ${field}`,
      path: `${where.path}.${field}`,
      expected,
      actual: actual ?? null,
    }))
}
