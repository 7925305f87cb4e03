import type { ConaxCommand } from '../../domain/commands.js'
import type { Subscription } from '../../domain/crm.js'
import type { CommunicationVerdict, RunFailure, RunVerdict } from '../../domain/run-tally.js'
import {
  checkMessageText,
  messageCommands,
  smartcardsOf,
  type MessageRunSettings,
  type RunDefinition,
} from '../../domain/runs.js'
import { AdapterError } from '../adapter-error.js'
import type { PreviewOptions, SendPreview } from './run-previews.js'
import type { Communication, RunCounts, RunExecution } from './run-ports.js'
import {
  addCounts,
  fenceOf,
  filterOf,
  keepListed,
  lastPage,
  skippedRecipient,
  uncovered,
  withoutCard,
  withSubscriptions,
  ZERO_COUNTS,
  type Covered,
  type PageStep,
  type RunContext,
  type RunStrategy,
} from './run-strategy.js'

type MessageRun = RunDefinition & MessageRunSettings

/** A page of a communication's recipients. */
interface Recipients {
  readonly found: readonly Subscription[]
  /** Recipients the page covers (found or not). */
  readonly length: number
  readonly skipped: readonly RunFailure[]
}

const NEXT_COMMUNICATION: RunExecution['cursor'] = { offset: 0, communication: null }

/**
 * The mail and bark message run: sends the PENDING communications of its queue (external system)
 * to the smartcards of their recipients (process MAIL_BARK_MESSAGE_RUN), one communication at a
 * time, or several small ones together.
 */
export function messageRun(context: RunContext, definition: MessageRun): RunStrategy {
  return {
    lane: {
      key: `queue ${definition.externalSystem}`,
      busy: (holder) =>
        `Execution ${holder} is sending the communications of '${definition.externalSystem}'; a second one would send them twice. Wait for it, or stop it first.`,
    },
    tally: 'CARDS',
    total: async () => {
      let total = 0
      for (const communication of await context.runs.listCommunications({
        externalSystem: definition.externalSystem,
        state: 'PENDING',
      })) {
        total += await recipientCount(context, communication)
      }
      return total
    },
    beforeStart: () => refuseHalfSent(context, definition),
    preview: (options) => previewMessages(context, definition, options),
    pages: () => new MessagePages(context, definition),
    settle: (execution, verdict) => settleCommunications(context, execution, verdict),
  }
}

/**
 * A message execution stopped (or failed) in the middle of a communication still has to send it
 * to the rest of its recipients; a new execution would start that communication over and send it
 * twice to those already reached. Refuses (RUN_RUNNING) while there is one: resume it instead.
 */
async function refuseHalfSent(context: RunContext, definition: MessageRun): Promise<void> {
  for (const execution of await context.runs.listExecutions()) {
    if (
      execution.kind !== 'MAIL_BARK_MESSAGE' ||
      execution.state === 'COMPLETED' ||
      execution.cursor.communication === null
    ) {
      continue
    }
    const other = await context.runs.getDefinition(execution.runId)
    const communication = await context.runs.getCommunication(execution.cursor.communication)
    if (
      other?.kind === 'MAIL_BARK_MESSAGE' &&
      other.externalSystem === definition.externalSystem &&
      communication?.state === 'PENDING'
    ) {
      throw new AdapterError(
        'RUN_RUNNING',
        `Execution ${execution.id} (${execution.state}) stopped half-way through communication ${communication.number} of '${definition.externalSystem}'; a new execution would send it again to the recipients already reached. Resume that execution instead.`,
        { details: { executionId: execution.id } },
      )
    }
  }
}

async function recipientCount(context: RunContext, communication: Communication): Promise<number> {
  const { subscriptionIds, segment } = communication.recipients
  if (subscriptionIds) {
    return subscriptionIds.length
  }
  return (await context.store.listSubscriptions({ ...filterOf(segment ?? {}), limit: 0 })).total
}

/**
 * One page of a communication's recipients, from `offset`: the subscriptions found, how many
 * recipients the page covers, and the recipients skipped (unknown to the CRM, or with no
 * smartcard) with the reason.
 */
async function recipients(
  context: RunContext,
  communication: Communication,
  offset: number,
): Promise<Recipients> {
  const { subscriptionIds, segment } = communication.recipients
  if (subscriptionIds) {
    const ids = subscriptionIds.slice(offset, offset + context.pageSize)
    if (ids.length === 0) {
      return { found: [], length: 0, skipped: [] }
    }
    const found = (await context.store.listSubscriptions({ ids })).items
    const known = new Set(found.map((s) => s.id))
    const unknown = ids
      .filter((id) => !known.has(id))
      .map((id) => skippedRecipient(id, communication.number, 'SUBSCRIPTION_NOT_FOUND'))
    return {
      found,
      length: ids.length,
      skipped: [...unknown, ...withoutCard(found, communication.number)],
    }
  }
  const found = (
    await context.store.listSubscriptions({
      ...filterOf(segment ?? {}),
      offset,
      limit: context.pageSize,
    })
  ).items
  return { found, length: found.length, skipped: withoutCard(found, communication.number) }
}

function refusedCommunication(
  number: string,
  refusal: { readonly code: string; readonly message: string },
): RunFailure {
  return {
    subscriptionId: null,
    card: null,
    communication: number,
    code: refusal.code,
    message: refusal.message,
  }
}

/**
 * A communication taken by a run: SENDING while its requests wait for the CA (the verdict comes
 * when the execution completes), or FAILED with `refusal` when its text cannot be sent.
 */
function markCommunication(
  context: RunContext,
  number: string,
  executionId: string,
  refusal: string | null,
): Promise<void> {
  return context.runs.updateCommunication(number, {
    state: refusal === null ? 'SENDING' : 'FAILED',
    processedAt: context.now(),
    error: refusal,
    processedBy: executionId,
  })
}

/** The pages of one message execution's loop; it remembers the last communication it finished. */
class MessagePages {
  private readonly context: RunContext
  private readonly definition: MessageRun
  /** The last communication this loop finished (so the queue is not rescanned). */
  private lastCommunication: string | null = null

  constructor(context: RunContext, definition: MessageRun) {
    this.context = context
    this.definition = definition
  }

  async next(execution: RunExecution, covered: Covered | null): Promise<PageStep> {
    const { context, definition } = this
    const { runs, provider } = context
    if (!execution.cursor.communication) {
      const grouped = await this.personalCommunications(execution, covered)
      if (grouped) {
        return grouped
      }
    }
    const current = execution.cursor.communication
      ? await runs.getCommunication(execution.cursor.communication)
      : ((
          await runs.pendingCommunications(definition.externalSystem, this.lastCommunication, 1)
        )[0] ?? null)
    if (!current || current.state !== 'PENDING') {
      // Finished by an earlier pass whose cursor was not saved: go on with the next one.
      return current
        ? { finished: false, cursor: NEXT_COMMUNICATION, counts: ZERO_COUNTS, failures: [] }
        : lastPage(execution)
    }
    const offset = execution.cursor.communication ? execution.cursor.offset : 0
    const refused = checkMessageText(provider, definition, current.message, context.now())
    if (refused) {
      await markCommunication(context, current.number, execution.id, refused.message)
      return {
        finished: false,
        cursor: NEXT_COMMUNICATION,
        counts: {
          ...ZERO_COUNTS,
          processed: await recipientCount(context, current),
          communications: 1,
          communicationsFailed: 1,
        },
        failures: [refusedCommunication(current.number, refused)],
      }
    }
    const page = await recipients(context, current, offset)
    if (page.length <= 0) {
      this.lastCommunication = current.number
      await markCommunication(context, current.number, execution.id, null)
      return {
        finished: false,
        cursor: NEXT_COMMUNICATION,
        counts: { ...ZERO_COUNTS, communications: 1 },
        failures: [],
      }
    }
    const cards = uncovered(smartcardsOf(page.found), covered, current.number)
    const commands =
      cards.length === 0
        ? { ok: true as const, value: [] }
        : messageCommands(provider, definition, {
            text: current.message,
            cards,
            now: context.now(),
            communicationQueueNumber: current.number,
          })
    if (!commands.ok) {
      throw new AdapterError(commands.error.code, commands.error.message)
    }
    const only = page.found.length === 1 ? (page.found[0]?.id ?? null) : null
    const created = await context.provisioning.createBatch(
      commands.value.map((command) => ({ command, subscriptionId: only })),
      { processName: 'MAIL_BARK_MESSAGE_RUN', processId: execution.id, ...fenceOf(execution) },
    )
    return {
      finished: false,
      cursor: { offset: offset + page.length, communication: current.number },
      counts: {
        ...ZERO_COUNTS,
        processed: page.length,
        cards: cards.length,
        skipped: page.skipped.length,
        requests: created.length,
      },
      failures: page.skipped,
    }
  }

  /**
   * Several small communications (named recipients, together at most a batch) in one batch: one
   * commit of their requests, their states saved together and one cursor save, so a queue of
   * many personal messages costs a few store writes per batch, not three per message. Null when
   * the next communication is large (a segment, or more recipients than a batch): it goes alone.
   */
  private async personalCommunications(
    execution: RunExecution,
    covered: Covered | null,
  ): Promise<PageStep | null> {
    const { context, definition } = this
    const { runs, provider, pageSize } = context
    const pending = await runs.pendingCommunications(
      definition.externalSystem,
      this.lastCommunication,
      pageSize,
    )
    const group: Communication[] = []
    let size = 0
    for (const communication of pending) {
      const count = communication.recipients.subscriptionIds?.length
      if (count === undefined || size + count > pageSize) {
        break
      }
      group.push(communication)
      size += count
    }
    if (group.length < 2) {
      return null
    }
    const items: { command: ConaxCommand; subscriptionId: string | null }[] = []
    const outcomes: { number: string; refusal: string | null }[] = []
    const failures: RunFailure[] = []
    let counts: RunCounts = { ...ZERO_COUNTS, processed: size }
    for (const communication of group) {
      const refused = checkMessageText(provider, definition, communication.message, context.now())
      if (refused) {
        outcomes.push({ number: communication.number, refusal: refused.message })
        failures.push(refusedCommunication(communication.number, refused))
        counts = addCounts(counts, { ...ZERO_COUNTS, communications: 1, communicationsFailed: 1 })
        continue
      }
      const page = await recipients(context, communication, 0)
      const cards = uncovered(smartcardsOf(page.found), covered, communication.number)
      const commands = messageCommands(provider, definition, {
        text: communication.message,
        cards,
        now: context.now(),
        communicationQueueNumber: communication.number,
      })
      const subscriptionId = page.found.length === 1 ? (page.found[0]?.id ?? null) : null
      if (commands.ok) {
        items.push(...commands.value.map((command) => ({ command, subscriptionId })))
      }
      outcomes.push({ number: communication.number, refusal: null })
      failures.push(...page.skipped)
      counts = addCounts(counts, {
        ...ZERO_COUNTS,
        cards: cards.length,
        skipped: page.skipped.length,
        communications: 1,
      })
    }
    const created = await context.provisioning.createBatch(items, {
      processName: 'MAIL_BARK_MESSAGE_RUN',
      processId: execution.id,
      ...fenceOf(execution),
    })
    // Saved together: the store's group commit writes them in one go.
    await Promise.all(
      outcomes.map((outcome) =>
        markCommunication(context, outcome.number, execution.id, outcome.refusal),
      ),
    )
    this.lastCommunication = group[group.length - 1]?.number ?? ''
    return {
      finished: false,
      cursor: NEXT_COMMUNICATION,
      counts: { ...counts, requests: created.length },
      failures,
    }
  }
}

async function previewMessages(
  context: RunContext,
  definition: MessageRun,
  options: PreviewOptions,
): Promise<SendPreview> {
  const { runs, provider, pageSize } = context
  const pending = await runs.listCommunications({
    externalSystem: definition.externalSystem,
    state: 'PENDING',
  })
  let subscriptions = 0
  let cards = 0
  let requests = 0
  let skipped = 0
  let failures: RunFailure[] = []
  const refused: { number: string; error: string }[] = []
  for (const communication of pending) {
    const problem = checkMessageText(provider, definition, communication.message, context.now())
    if (problem) {
      refused.push({ number: communication.number, error: problem.message })
      failures = keepListed(
        failures,
        [refusedCommunication(communication.number, problem)],
        options.limit,
      )
      continue
    }
    for (let offset = 0; ; offset += pageSize) {
      const page = await recipients(context, communication, offset)
      if (page.length === 0) {
        break
      }
      const pageCards = smartcardsOf(page.found)
      subscriptions += page.found.length
      cards += pageCards.length
      skipped += page.skipped.length
      failures = keepListed(failures, page.skipped, options.limit)
      if (options.checkCards) {
        failures = keepListed(
          failures,
          await context.cards.refusedCards(page.found, communication.number),
          options.limit,
        )
      }
      const planned = messageCommands(provider, definition, {
        text: communication.message,
        cards: pageCards,
        now: context.now(),
      })
      requests += planned.ok ? planned.value.length : 0
    }
  }
  return {
    kind: 'MAIL_BARK_MESSAGE',
    subscriptions,
    cards,
    requests,
    communications: pending.length,
    refused,
    skipped,
    failures,
    cardsChecked: options.checkCards,
  }
}

/**
 * Gives each communication the execution sent its verdict: PROCESSED when at least one card got
 * it (or it had no card to reach), FAILED when the CA refused every card.
 */
async function settleCommunications(
  context: RunContext,
  execution: RunExecution,
  verdict: RunVerdict,
): Promise<Partial<RunCounts>> {
  const { runs, store } = context
  let communicationsFailed = 0
  for (const [number, delivery] of verdict.communications) {
    const communication = await runs.getCommunication(number)
    if (communication?.state !== 'SENDING') {
      continue
    }
    const failed = delivery.sent === 0 && delivery.failed > 0
    communicationsFailed += failed ? 1 : 0
    const failures = await withSubscriptions(store, delivery.failures)
    await runs.updateCommunication(number, {
      state: failed ? 'FAILED' : 'PROCESSED',
      processedAt: context.now(),
      error: delivery.failed === 0 ? null : summary(delivery),
      processedBy: communication.processedBy,
      delivery: { ...delivery, failures },
    })
  }
  // A communication taken but with no card to reach (every recipient skipped) has no request.
  for (const communication of await runs.listCommunications({ state: 'SENDING' })) {
    if (
      communication.processedBy === execution.id &&
      !verdict.communications.has(communication.number)
    ) {
      await runs.updateCommunication(communication.number, {
        state: 'PROCESSED',
        processedAt: context.now(),
        error: null,
        processedBy: execution.id,
        delivery: { sent: 0, failed: 0, failures: [] },
      })
    }
  }
  return { communicationsFailed }
}

/** One line on what a communication's requests came to, naming the first refused cards. */
function summary(delivery: CommunicationVerdict): string {
  const first = delivery.failures
    .slice(0, 3)
    .map((f) => `${f.card ?? '?'} ${f.code}`)
    .join(', ')
  const more = delivery.failed > 3 ? `, and ${delivery.failed - 3} more` : ''
  return `The CA refused ${delivery.failed} of ${delivery.sent + delivery.failed} card(s): ${first}${more}. See delivery.failures.`
}
