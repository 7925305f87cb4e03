import type { RunFailure } from '../../domain/run-tally.js'
import {
  fingerprintCommands,
  inSegments,
  smartcardsOf,
  type FingerprintRunSettings,
  type RunDefinition,
} from '../../domain/runs.js'
import { AdapterError } from '../adapter-error.js'
import type { PreviewOptions, SendPreview } from './run-previews.js'
import type { RunExecution } from './run-ports.js'
import {
  fenceOf,
  keepListed,
  lastPage,
  runLane,
  uncovered,
  withoutCard,
  ZERO_COUNTS,
  type Covered,
  type PageStep,
  type RunContext,
  type RunStrategy,
} from './run-strategy.js'

type FingerprintRun = RunDefinition & FingerprintRunSettings

/**
 * The fingerprinting run: shows a fingerprint on the smartcards of every subscription in its
 * included segments and in none of its excluded ones (process FINGERPRINTING_RUN).
 */
export function fingerprintRun(context: RunContext, definition: FingerprintRun): RunStrategy {
  return {
    lane: runLane(definition),
    tally: 'CARDS',
    total: async () => (await context.store.listSubscriptions({ limit: 0 })).total,
    beforeStart: () => Promise.resolve(),
    preview: (options) => previewFingerprints(context, definition, options),
    pages: () => ({
      next: (execution, covered) => fingerprintPage(context, definition, execution, covered),
    }),
    settle: () => Promise.resolve({}),
  }
}

async function fingerprintPage(
  context: RunContext,
  definition: FingerprintRun,
  execution: RunExecution,
  covered: Covered | null,
): Promise<PageStep> {
  const page = await context.store.listSubscriptions({
    offset: execution.cursor.offset,
    limit: context.pageSize,
  })
  if (page.items.length === 0) {
    return lastPage(execution)
  }
  const taken = page.items.filter((s) => inSegments(s, definition.included, definition.excluded))
  const cards = uncovered(smartcardsOf(taken), covered, '')
  const commands =
    cards.length === 0
      ? { ok: true as const, value: [] }
      : fingerprintCommands(context.provider, definition, cards, execution.startedAt)
  if (!commands.ok) {
    throw new AdapterError(commands.error.code, commands.error.message)
  }
  const created = await context.provisioning.createBatch(
    commands.value.map((command) => ({ command, subscriptionId: null })),
    { processName: 'FINGERPRINTING_RUN', processId: execution.id, ...fenceOf(execution) },
  )
  const skipped = withoutCard(taken, null)
  return {
    finished: false,
    cursor: { offset: execution.cursor.offset + page.items.length, communication: null },
    counts: {
      ...ZERO_COUNTS,
      processed: page.items.length,
      cards: cards.length,
      skipped: skipped.length,
      requests: created.length,
    },
    failures: skipped,
  }
}

async function previewFingerprints(
  context: RunContext,
  definition: FingerprintRun,
  options: PreviewOptions,
): Promise<SendPreview> {
  const { pageSize } = context
  let subscriptions = 0
  let cards = 0
  let requests = 0
  let skipped = 0
  let failures: RunFailure[] = []
  for (let offset = 0; ; offset += pageSize) {
    const page = await context.store.listSubscriptions({ offset, limit: pageSize })
    if (page.items.length === 0) {
      break
    }
    const taken = page.items.filter((s) => inSegments(s, definition.included, definition.excluded))
    const pageCards = smartcardsOf(taken)
    const none = withoutCard(taken, null)
    subscriptions += taken.length
    cards += pageCards.length
    skipped += none.length
    failures = keepListed(failures, none, options.limit)
    if (options.checkCards) {
      failures = keepListed(failures, await context.cards.refusedCards(taken, null), options.limit)
    }
    const planned =
      pageCards.length === 0
        ? null
        : fingerprintCommands(context.provider, definition, pageCards, context.now())
    requests += planned?.ok ? planned.value.length : 0
  }
  return {
    kind: 'FINGERPRINTING',
    subscriptions,
    cards,
    requests,
    skipped,
    failures,
    cardsChecked: options.checkCards,
  }
}
