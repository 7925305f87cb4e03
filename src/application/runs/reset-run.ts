import { LISTED_FAILURES, type RunFailure } from '../../domain/run-tally.js'
import type { ResetRunSettings, RunDefinition } from '../../domain/runs.js'
import type { SubscriptionFilter } from '../ports.js'
import type { OutOfSync, ResetPreview } from './run-previews.js'
import type { RunExecution } from './run-ports.js'
import {
  fenceOf,
  filterOf,
  keepListed,
  lastPage,
  runLane,
  ZERO_COUNTS,
  type Covered,
  type PageStep,
  type RunContext,
  type RunStrategy,
} from './run-strategy.js'

/**
 * The reset subscription run: reads the smartcards of every subscription its criteria take from
 * the CA and creates the requests that repair those out of sync (process RESET_SUBSCRIPTION_RUN).
 */
export function resetRun(
  context: RunContext,
  definition: RunDefinition & ResetRunSettings,
): RunStrategy {
  const filter = filterOf(definition.criteria)
  return {
    lane: runLane(definition),
    tally: 'SUBSCRIPTIONS',
    total: async () => (await context.store.listSubscriptions({ ...filter, limit: 0 })).total,
    beforeStart: () => Promise.resolve(),
    preview: ({ limit }) => previewReset(context, filter, limit),
    pages: () => ({ next: (execution, covered) => resetPage(context, filter, execution, covered) }),
    settle: () => Promise.resolve({}),
  }
}

async function resetPage(
  context: RunContext,
  filter: SubscriptionFilter,
  execution: RunExecution,
  covered: Covered | null,
): Promise<PageStep> {
  const page = await context.store.listSubscriptions({
    ...filter,
    offset: execution.cursor.offset,
    limit: context.pageSize,
  })
  if (page.items.length === 0) {
    return lastPage(execution)
  }
  const todo = page.items.filter((s) => !covered?.subscriptions.has(s.id))
  const results = await context.cards.check(todo)
  const repairs = results.filter((r) => !r.plan.inSync)
  const created = await context.provisioning.createBatch(
    repairs.flatMap((r) =>
      r.plan.commands.map((command) => ({ command, subscriptionId: r.subscription.id })),
    ),
    {
      processName: 'RESET_SUBSCRIPTION_RUN',
      processId: execution.id,
      inOrder: true,
      ...fenceOf(execution),
    },
  )
  const skipped = page.items.length - todo.length
  const failed = results.filter((r) => r.failures.length > 0)
  return {
    finished: false,
    cursor: { offset: execution.cursor.offset + page.items.length, communication: null },
    counts: {
      ...ZERO_COUNTS,
      processed: page.items.length,
      checked: results.length + skipped,
      inSync: results.filter((r) => r.plan.inSync && r.failures.length === 0).length,
      failed: failed.length,
      cards: results.reduce((n, r) => n + r.calls / 2, 0),
      caCalls: results.reduce((n, r) => n + r.calls, 0),
      requests: created.length,
    },
    failures: failed.flatMap((r) => r.failures).slice(0, LISTED_FAILURES),
  }
}

async function previewReset(
  context: RunContext,
  filter: SubscriptionFilter,
  limit: number,
): Promise<ResetPreview> {
  let offset = 0
  let checked = 0
  let inSync = 0
  let failed = 0
  let outOfSync = 0
  const listed: OutOfSync[] = []
  let failures: RunFailure[] = []
  for (;;) {
    const page = await context.store.listSubscriptions({
      ...filter,
      offset,
      limit: context.pageSize,
    })
    if (page.items.length === 0) {
      break
    }
    offset += page.items.length
    for (const result of await context.cards.check(page.items)) {
      checked += 1
      if (result.failures.length > 0) {
        failed += 1
        failures = keepListed(failures, result.failures, limit)
      }
      if (result.plan.inSync) {
        inSync += result.failures.length === 0 ? 1 : 0
      } else {
        outOfSync += 1
        listed.push({
          subscriptionId: result.subscription.id,
          differences: result.plan.differences,
          commands: result.plan.commands,
        })
        // Keep memory bounded: only the first `limit` are listed.
        listed.length = Math.min(listed.length, limit)
      }
    }
  }
  return {
    kind: 'RESET_SUBSCRIPTION',
    checked,
    inSync,
    outOfSync,
    failed,
    subscriptions: listed,
    truncated: outOfSync > listed.length,
    failures,
  }
}
