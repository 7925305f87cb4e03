import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { Simulator } from '../simulator/src/index.js'
import type { CaReader } from './application/runs/run-ports.js'
import type { Adapter } from './create-adapter.js'
import type { CrmAction } from './domain/planner.js'
import { MemoryRunStore } from './infrastructure/runs/memory-run-store.js'
import {
  card,
  cardItem,
  startTestAdapter,
  startTestCa,
  stb,
  stbItem,
} from './test-support/adapter-harness.js'

// The batch runs against an in-process simulator: out of sync made through the simulator's admin
// API and by stopping it while actions are applied; stops and resumes that send nothing twice.

/** Subscription n: card n + STB n on Main (GFA1, EFA2), card n+100 + STB n+100 on TWIN1 (AF1). */
function subscribe(n: number, type = 'RESIDENTIAL'): CrmAction {
  return {
    action: 'BECOME_SUBSCRIBER',
    subscriptionId: `S${n}`,
    type,
    services: [
      { service: 'GEOLOGICAL', distributor: 'Main' },
      { service: 'ENTERTAIN', distributor: 'Main' },
      { service: 'AGRICULTURE', distributor: 'TWIN1' },
    ],
    installedItems: [
      cardItem(n),
      stbItem(n),
      cardItem(n + 100, 'TWIN1'),
      stbItem(n + 100, 'TWIN1'),
    ],
  }
}

async function admin(sim: Simulator, method: string, path: string, body?: unknown): Promise<void> {
  const response = await fetch(`${sim.url}${path}`, {
    method,
    headers: { 'content-type': 'application/json', Authorization: `Bearer ${sim.adminToken}` },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  })
  expect(response.status, `${method} ${path}`).toBeLessThan(300)
  await response.arrayBuffer()
}

/** Delivers every pending request and waits for the execution's verdict (COMPLETED). */
async function delivered(id: string): Promise<Awaited<ReturnType<Adapter['runs']['finished']>>> {
  await adapter.deliverDue()
  return adapter.runs.finished(id)
}

const products = (sim: Simulator, n: number): string[] =>
  (sim.model.card(card(n))?.subscriptions.map((s) => s.productId) ?? []).sort()

let sim: Simulator
let adapter: Adapter
let runStore: MemoryRunStore

async function setUp(
  count: number,
  options: Parameters<typeof startTestAdapter>[1] = {},
): Promise<void> {
  sim = await startTestCa(220)
  runStore = new MemoryRunStore()
  adapter = await startTestAdapter(sim, { runPageSize: 2, runStore, ...options })
  for (let n = 1; n <= count; n++) {
    await adapter.service.applyAction(subscribe(n))
  }
  await adapter.deliverDue()
}

afterEach(async () => {
  await adapter.close()
  await sim.close()
})

describe('reset subscription run', () => {
  beforeEach(() => setUp(5))

  it('previews the out-of-sync subscriptions and the commands, then sends only the difference', async () => {
    await admin(sim, 'DELETE', `/admin/cards/${card(2)}/subscriptions/EFA2`)
    await admin(sim, 'PUT', `/admin/cards/${card(4)}/subscriptions/RFB1`, { distributor: 'Main' })
    await admin(sim, 'DELETE', `/admin/cards/${card(104)}/pairing`)
    const run = await adapter.runs.define({
      name: 'Nightly reset',
      alternativeCode: 'NIGHTLY',
      kind: 'RESET_SUBSCRIPTION',
      criteria: {},
    })

    const preview = await adapter.runs.preview('NIGHTLY')
    expect(preview).toMatchObject({ checked: 5, inSync: 3, outOfSync: 2, failed: 0 })
    expect(preview.kind === 'RESET_SUBSCRIPTION' && preview.subscriptions).toEqual([
      {
        subscriptionId: 'S2',
        differences: [`card ${card(2)}: EFA2 missing`],
        commands: [
          {
            type: 'ADD_SUBSCRIPTIONS',
            smartcardCaId: card(2),
            serviceCaId: 'EFA2',
            distributor: 'Main',
          },
        ],
      },
      {
        subscriptionId: 'S4',
        differences: [
          `card ${card(104)}: paired with [], expected [${stb(104)}] (TWIN1)`,
          `card ${card(4)}: RFB1 active, not expected`,
        ],
        commands: [
          {
            type: 'CREATE_PAIRING',
            smartcardCaIds: [card(104)],
            stbCaIds: [stb(104)],
            distributor: 'TWIN1',
          },
          {
            type: 'CANCEL_SUBSCRIPTIONS',
            smartcardCaId: card(4),
            serviceCaId: 'RFB1',
            distributor: 'Main',
          },
        ],
      },
    ])
    // A preview sends nothing.
    expect(products(sim, 2)).toEqual(['GFA1'])

    const started = await adapter.runs.start(run.id)
    expect(started.processName).toBe('RESET_SUBSCRIPTION_RUN')
    const done = await adapter.runs.settled(started.id)
    // Every request is created; the verdict waits for the CA's answers.
    expect(done.state).toBe('DELIVERING')
    expect(done.counts).toMatchObject({
      processed: 5,
      checked: 5,
      inSync: 3,
      repaired: 0,
      failed: 0,
      requests: 3,
      caCalls: 20,
    })
    expect(done.progress).toMatchObject({ fraction: 1, pendingRequests: 3 })
    const created = await adapter.runs.requests(started.id)
    expect(
      created.items.map((r) => [r.type, r.subscriptionId, r.processName, r.processId]),
    ).toEqual([
      ['ADD_SUBSCRIPTIONS', 'S2', 'RESET_SUBSCRIPTION_RUN', started.id],
      ['CREATE_PAIRING', 'S4', 'RESET_SUBSCRIPTION_RUN', started.id],
      ['CANCEL_SUBSCRIPTIONS', 'S4', 'RESET_SUBSCRIPTION_RUN', started.id],
    ])
    const finished = await delivered(started.id)
    expect(finished.state).toBe('COMPLETED')
    expect(finished.counts).toMatchObject({ repaired: 2, failed: 0, sent: 3 })
    expect(finished.failures).toEqual([])
    expect(products(sim, 2)).toEqual(['EFA2', 'GFA1'])
    expect(products(sim, 4)).toEqual(['EFA2', 'GFA1'])
    expect(sim.model.card(card(104))?.pairing?.pairingModuleIds).toEqual([stb(104)])
    expect(await adapter.runs.preview('NIGHTLY')).toMatchObject({ inSync: 5, outOfSync: 0 })
  })

  it('repairs what was missed while the CA was down', async () => {
    const port = Number(new URL(sim.url).port)
    await sim.close()
    // The CRM goes on: a service added, another removed; their requests wait for the CA.
    await adapter.service.applyAction({
      action: 'ADD_SERVICE',
      subscriptionId: 'S1',
      service: 'RELIGION',
      distributor: 'Main',
    })
    await adapter.service.applyAction({
      action: 'REMOVE_SERVICE',
      subscriptionId: 'S3',
      service: 'ENTERTAIN',
    })
    const pending = await adapter.store.pendingRequests()
    expect(pending).toHaveLength(2)
    // A CA that lost its state in the meantime (a restore from backup) comes back on the same port.
    const restored = await startTestCa(220, { port })
    const loader = await startTestAdapter(restored, { runPageSize: 10 })
    for (let n = 1; n <= 5; n++) {
      await loader.service.applyAction(subscribe(n))
    }
    await loader.deliverDue()
    await loader.close()
    sim = restored

    await adapter.runs.define({
      name: 'Reset',
      alternativeCode: 'R',
      kind: 'RESET_SUBSCRIPTION',
      criteria: { ids: ['S1', 'S3'] },
    })
    const preview = await adapter.runs.preview('R')
    expect(preview).toMatchObject({ checked: 2, outOfSync: 2 })
    const execution = await delivered((await adapter.runs.start('R')).id)
    expect(execution.counts).toMatchObject({ checked: 2, repaired: 2, requests: 2 })
    expect(products(sim, 1)).toEqual(['EFA2', 'GFA1', 'RFB1'])
    expect(products(sim, 3)).toEqual(['GFA1'])
  })

  it('counts a subscription whose card the CA does not know as failed, and goes on', async () => {
    await adapter.service.applyAction({
      action: 'ADD_INSTALLED_ITEM',
      subscriptionId: 'S5',
      item: { serialNumber: 'LOST', product: 'SC-CONAX', caId: '09999999999', distributor: 'Main' },
    })
    await adapter.runs.define({
      name: 'Reset',
      alternativeCode: 'R',
      kind: 'RESET_SUBSCRIPTION',
      criteria: {},
    })
    const done = await adapter.runs.finished((await adapter.runs.start('R')).id)
    expect(done.state).toBe('COMPLETED')
    expect(done.counts).toMatchObject({ checked: 5, inSync: 4, failed: 1, repaired: 0 })
    expect(done.failures).toEqual([
      expect.objectContaining({
        subscriptionId: 'S5',
        card: '09999999999',
        code: 'CLIENT_NOT_FOUND',
      }),
    ])
  })

  it('shows STOPPING while the batch in hand finishes', async () => {
    let release: () => void = () => undefined
    const gate = new Promise<void>((resolve) => (release = resolve))
    const slow = await startTestAdapter(sim, {
      store: adapter.store,
      runStore: new MemoryRunStore(),
      reader: {
        readCard: async () => {
          await gate
          return { known: true, products: [], pairedStbs: [] }
        },
        close: () => Promise.resolve(),
      },
    })
    try {
      await slow.runs.define({
        name: 'Reset',
        alternativeCode: 'R',
        kind: 'RESET_SUBSCRIPTION',
        criteria: {},
      })
      const started = await slow.runs.start('R')
      const stopping = slow.runs.stop(started.id)
      expect((await slow.runs.get(started.id)).state).toBe('STOPPING')
      release()
      expect((await stopping).state).toBe('STOPPED')
    } finally {
      release()
      await slow.runs.close()
    }
  })

  it('stops after its current batch and resumes without sending anything twice', async () => {
    for (const n of [1, 2, 3, 4, 5]) {
      await admin(sim, 'DELETE', `/admin/cards/${card(n)}/subscriptions/GFA1`)
    }
    await adapter.runs.define({
      name: 'Reset',
      alternativeCode: 'R',
      kind: 'RESET_SUBSCRIPTION',
      criteria: {},
    })
    const started = await adapter.runs.start('R')
    const stopped = await adapter.runs.stop(started.id)
    expect(stopped.state).toBe('STOPPED')
    expect(stopped.counts.processed).toBeGreaterThan(0)
    expect(stopped.counts.processed).toBeLessThan(5)
    expect(stopped.cursor.offset).toBe(stopped.counts.processed)
    await adapter.runs.resume(started.id)
    const resumed = await delivered(started.id)
    expect(resumed.state).toBe('COMPLETED')
    expect(resumed.counts).toMatchObject({ processed: 5, repaired: 5, requests: 5, sent: 5 })
    const created = await adapter.runs.requests(started.id)
    expect(created.items.map((r) => r.subscriptionId)).toEqual(['S1', 'S2', 'S3', 'S4', 'S5'])
  })

  it('after a crash between storing requests and saving its cursor, a resume skips what was created', async () => {
    await admin(sim, 'DELETE', `/admin/cards/${card(1)}/subscriptions/GFA1`)
    await adapter.runs.define({
      name: 'Reset',
      alternativeCode: 'R',
      kind: 'RESET_SUBSCRIPTION',
      criteria: {},
    })
    const done = await adapter.runs.settled((await adapter.runs.start('R')).id)
    expect(done.counts.requests).toBe(1)
    // Put the execution back as a crash right after the first batch's commit would leave it.
    await runStore.saveExecution({
      ...done,
      state: 'STOPPED',
      finishedAt: null,
      cursor: { offset: 0, communication: null },
      counts: { ...done.counts, processed: 0, requests: 0 },
    })
    const again = await adapter.runs.settled((await adapter.runs.resume(done.id)).id)
    expect(again.state).toBe('DELIVERING')
    expect((await adapter.runs.requests(done.id)).total).toBe(1)
    expect((await delivered(done.id)).counts).toMatchObject({ repaired: 1, sent: 1 })
  })

  it('fails when the CA cannot be reached, and completes once resumed', async () => {
    const port = Number(new URL(sim.url).port)
    {
      await admin(sim, 'DELETE', `/admin/cards/${card(5)}/subscriptions/GFA1`)
      const snapshot = sim.model.toSnapshot()
      await sim.close()
      await adapter.runs.define({
        name: 'Reset',
        alternativeCode: 'R',
        kind: 'RESET_SUBSCRIPTION',
        criteria: {},
      })
      const failed = await adapter.runs.settled((await adapter.runs.start('R')).id)
      expect(failed.state).toBe('FAILED')
      expect(failed.lastError).toMatch(/Resume the execution/)
      sim = await startTestCa(1, { port })
      sim.model.loadSnapshot(snapshot)
      const done = await adapter.runs.settled((await adapter.runs.resume(failed.id)).id)
      expect(done.state).toBe('DELIVERING')
      expect(done.counts).toMatchObject({ processed: 5, failed: 0, requests: 1 })
    }
  })

  it('resets a single subscription, previewing first', async () => {
    await admin(sim, 'DELETE', `/admin/cards/${card(3)}/subscriptions/GFA1`)
    const preview = await adapter.runs.resetSubscription('S3', { preview: true })
    expect(preview).toMatchObject({ inSync: false, requests: [] })
    const reset = await adapter.runs.resetSubscription('S3')
    expect(reset.requests.map((r) => [r.type, r.processName])).toEqual([
      ['ADD_SUBSCRIPTIONS', 'RESET_SINGLE_SUBSCRIPTION'],
    ])
    await adapter.deliverDue()
    expect(products(sim, 3)).toEqual(['EFA2', 'GFA1'])
    expect((await adapter.runs.resetSubscription('S3')).inSync).toBe(true)
  })
})

describe('mail and bark message run', () => {
  beforeEach(() =>
    setUp(5, {
      providerChanges: {
        delivery: {
          maxCardsPerRequest: 3,
          retryInitialDelayMs: 20,
          retryMaxDelayMs: 200,
          splitRefusedBatches: 'named-or-bisect',
        },
      },
    }),
  )

  it('sends each pending communication to its subscribers’ smartcards in batches, with its queue number', async () => {
    const [broadcast, personal, tooLong, other] = await adapter.runs.enqueue([
      { externalSystem: 'SMS-GW', message: 'Free preview weekend!', recipients: { segment: {} } },
      {
        externalSystem: 'SMS-GW',
        message: 'Your bill is ready',
        recipients: { subscriptionIds: ['S2'] },
      },
      {
        externalSystem: 'SMS-GW',
        message: 'x'.repeat(130),
        recipients: { subscriptionIds: ['S1'] },
      },
      { externalSystem: 'EMAIL', message: 'not ours', recipients: { subscriptionIds: ['S1'] } },
    ])
    await adapter.runs.define({
      name: 'Barks',
      alternativeCode: 'BARKS',
      kind: 'MAIL_BARK_MESSAGE',
      messageType: 'BARK',
      externalSystem: 'SMS-GW',
      displayDurationInSeconds: 30,
    })
    const preview = await adapter.runs.preview('BARKS')
    expect(preview).toMatchObject({ communications: 3, subscriptions: 6, cards: 12 })
    expect(preview.kind === 'MAIL_BARK_MESSAGE' && preview.refused).toEqual([
      { number: tooLong?.number, error: expect.stringContaining('129') as unknown },
    ])

    const done = await adapter.runs.settled((await adapter.runs.start('BARKS')).id)
    expect(done.state).toBe('DELIVERING')
    expect(done.counts).toMatchObject({
      communications: 3,
      communicationsFailed: 1,
      failed: 0,
      cards: 12,
    })
    expect(done.failures).toEqual([
      expect.objectContaining({ communication: tooLong?.number, code: 'MESSAGE_TOO_LONG' }),
    ])
    const created = (await adapter.runs.requests(done.id)).items
    // 5 Main cards in batches of 3 and 5 TWIN1 cards in batches of 3 (pages of 2 subscriptions).
    expect(created.every((r) => r.processName === 'MAIL_BARK_MESSAGE_RUN')).toBe(true)
    const toBroadcast = created.filter(
      (r) =>
        'communicationQueueNumber' in r.command &&
        r.command.communicationQueueNumber === broadcast?.number,
    )
    expect(
      toBroadcast.flatMap((r) => ('smartcardCaIds' in r.command ? r.command.smartcardCaIds : [])),
    ).toHaveLength(10)
    expect(
      toBroadcast.every(
        (r) => 'smartcardCaIds' in r.command && r.command.smartcardCaIds.length <= 3,
      ),
    ).toBe(true)
    expect(created.find((r) => r.subscriptionId === 'S2')?.command).toMatchObject({
      type: 'SEND_BARK_MESSAGE_TO_CLIENT',
      message: 'Your bill is ready',
      displayDurationInSeconds: 30,
      communicationQueueNumber: personal?.number,
    })
    expect((await delivered(done.id)).counts).toMatchObject({ sent: 12, failed: 0 })
    expect(sim.model.card(card(2))?.screen.map((m) => m.message)).toEqual([
      'Free preview weekend!',
      'Your bill is ready',
    ])
    expect(sim.model.card(card(101))?.screen.map((m) => m.message)).toEqual([
      'Free preview weekend!',
    ])
    const states = await Promise.all(
      [broadcast, personal, tooLong, other].map((c) => adapter.runs.communication(c?.number ?? '')),
    )
    expect(states.map((c) => c?.state)).toEqual(['PROCESSED', 'PROCESSED', 'FAILED', 'PENDING'])
    expect(states[2]?.error).toMatch(/129/)
    // Nothing left: a second execution sends nothing.
    const second = await adapter.runs.settled((await adapter.runs.start('BARKS')).id)
    expect(second.counts.requests).toBe(0)
  })

  it('sends many personal communications a batch at a time, each once, with its own number', async () => {
    const personal = await adapter.runs.enqueue(
      [1, 2, 3, 4, 5, 1, 2].map((n, i) => ({
        externalSystem: 'SMS-GW',
        message: `Note ${i + 1}`,
        recipients: { subscriptionIds: [`S${n}`] },
      })),
    )
    await adapter.runs.enqueue([
      {
        externalSystem: 'SMS-GW',
        message: 'x'.repeat(142),
        recipients: { subscriptionIds: ['S3'] },
      },
    ])
    await adapter.runs.define({
      name: 'Notes',
      alternativeCode: 'NOTES',
      kind: 'MAIL_BARK_MESSAGE',
      messageType: 'MAIL',
      externalSystem: 'SMS-GW',
    })
    const done = await adapter.runs.settled((await adapter.runs.start('NOTES')).id)
    expect(done.state).toBe('DELIVERING')
    expect(done.counts).toMatchObject({
      communications: 8,
      communicationsFailed: 1,
      failed: 0,
      cards: 14,
      processed: 8,
    })
    const created = (await adapter.runs.requests(done.id)).items
    const numbers = created.map((r) =>
      'communicationQueueNumber' in r.command ? r.command.communicationQueueNumber : null,
    )
    // One request per distributor (Main, TWIN1) for each communication, each with its number.
    expect(numbers).toEqual(personal.flatMap((c) => [c.number, c.number]))
    expect((await delivered(done.id)).counts).toMatchObject({ sent: 14, failed: 0 })
    expect(sim.model.card(card(1))?.inbox.map((m) => m.message)).toEqual(['Note 1', 'Note 6'])
    expect(sim.model.card(card(102))?.inbox.map((m) => m.message)).toEqual(['Note 2', 'Note 7'])
    const states = await adapter.runs.communications({ externalSystem: 'SMS-GW' })
    expect(states.map((c) => c.state)).toEqual([...Array(7).fill('PROCESSED'), 'FAILED'])
  })

  it('stops in the middle of a communication and resumes where it stopped', async () => {
    await adapter.runs.enqueue([
      { externalSystem: 'SMS-GW', message: 'Hello', recipients: { segment: {} } },
    ])
    await adapter.runs.define({
      name: 'Mail',
      alternativeCode: 'MAIL',
      kind: 'MAIL_BARK_MESSAGE',
      messageType: 'MAIL',
      externalSystem: 'SMS-GW',
    })
    const started = await adapter.runs.start('MAIL')
    const stopped = await adapter.runs.stop(started.id)
    expect(stopped.state).toBe('STOPPED')
    const done = await adapter.runs.settled((await adapter.runs.resume(started.id)).id)
    expect(done.state).toBe('DELIVERING')
    const cards = (await adapter.runs.requests(started.id)).items.flatMap((r) =>
      'smartcardCaIds' in r.command ? r.command.smartcardCaIds : [],
    )
    expect(cards).toHaveLength(10)
    expect(new Set(cards).size).toBe(10)
  })
})

describe('fingerprinting run', () => {
  beforeEach(() => setUp(4))

  it('fingerprints the smartcards of the included segments, not the excluded ones', async () => {
    await adapter.service.applyAction(subscribe(9, 'BUSINESS'))
    await adapter.deliverDue()
    await adapter.runs.define({
      name: 'Piracy sweep',
      alternativeCode: 'SWEEP',
      kind: 'FINGERPRINTING',
      included: [{ name: 'homes', types: ['RESIDENTIAL'] }],
      excluded: [{ name: 'vip', ids: ['S2'] }],
      displayDurationInSeconds: 15,
      slot: 'B',
    })
    expect(await adapter.runs.preview('SWEEP')).toMatchObject({ subscriptions: 3, cards: 6 })
    const done = await adapter.runs.settled((await adapter.runs.start('SWEEP')).id)
    expect(done.counts).toMatchObject({ processed: 5, cards: 6 })
    await adapter.deliverDue()
    const fingerprinted = [1, 2, 3, 4, 9, 101, 102].map(
      (n) => sim.model.card(card(n))?.fingerprints.length,
    )
    expect(fingerprinted).toEqual([1, 0, 1, 1, 0, 1, 0])
    expect(sim.model.card(card(1))?.fingerprints[0]).toMatchObject({
      durationInSeconds: 15,
      slot: 'B',
      height: 12,
    })
  })
})

describe('run definitions', () => {
  beforeEach(() => setUp(1))

  it('are checked before they are saved, naming the field', async () => {
    await expect(
      adapter.runs.define({
        name: 'Bad',
        alternativeCode: 'BAD',
        kind: 'MAIL_BARK_MESSAGE',
        messageType: 'REPEATING_BARK',
        externalSystem: 'SMS-GW',
        repetitionCount: 2,
        repetitionIntervalInSeconds: 2560,
      }),
    ).rejects.toMatchObject({
      code: 'INVALID_FIELD',
      details: { field: 'repetitionIntervalInSeconds' },
    })
    await adapter.runs.define({
      name: 'A',
      alternativeCode: 'A',
      kind: 'RESET_SUBSCRIPTION',
      criteria: {},
    })
    await expect(
      adapter.runs.define({
        name: 'A again',
        alternativeCode: 'A',
        kind: 'RESET_SUBSCRIPTION',
        criteria: {},
      }),
    ).rejects.toMatchObject({ code: 'RUN_EXISTS' })
    await expect(adapter.runs.start('NOPE')).rejects.toMatchObject({ code: 'RUN_NOT_FOUND' })
  })
})

describe('executions that meet', () => {
  beforeEach(() => setUp(6))

  const cardsSent = async (executionId: string): Promise<string[]> =>
    (await adapter.runs.requests(executionId)).items.flatMap((r) =>
      'smartcardCaIds' in r.command ? r.command.smartcardCaIds : [],
    )

  it('refuse a second execution on the same communication queue while one runs', async () => {
    await adapter.runs.enqueue([
      { externalSystem: 'SMS-GW', message: 'Hi', recipients: { segment: {} } },
    ])
    for (const code of ['MAIL', 'MAIL2']) {
      await adapter.runs.define({
        name: code,
        alternativeCode: code,
        kind: 'MAIL_BARK_MESSAGE',
        messageType: 'MAIL',
        externalSystem: 'SMS-GW',
      })
    }
    const first = await adapter.runs.start('MAIL')
    await expect(adapter.runs.start('MAIL')).rejects.toMatchObject({
      code: 'RUN_RUNNING',
      details: { executionId: first.id },
    })
    await expect(adapter.runs.start('MAIL2')).rejects.toMatchObject({ code: 'RUN_RUNNING' })
    await adapter.runs.settled(first.id)
    const sent = await cardsSent(first.id)
    expect(sent).toHaveLength(12)
    expect(new Set(sent).size).toBe(12)
    // Once it has created its requests, the queue is free again.
    expect((await adapter.runs.settled((await adapter.runs.start('MAIL2')).id)).state).toBe(
      'DELIVERING',
    )
  })

  it('refuse a new message execution while a stopped one is half-way through a communication', async () => {
    await adapter.runs.enqueue([
      { externalSystem: 'SMS-GW', message: 'Hi', recipients: { segment: {} } },
    ])
    await adapter.runs.define({
      name: 'Mail',
      alternativeCode: 'MAIL',
      kind: 'MAIL_BARK_MESSAGE',
      messageType: 'MAIL',
      externalSystem: 'SMS-GW',
    })
    const started = await adapter.runs.start('MAIL')
    const stopped = await adapter.runs.stop(started.id)
    expect(stopped.cursor.communication).toBe('1')
    await expect(adapter.runs.start('MAIL')).rejects.toMatchObject({
      code: 'RUN_RUNNING',
      details: { executionId: started.id },
    })
    await adapter.runs.settled((await adapter.runs.resume(started.id)).id)
    const sent = await cardsSent(started.id)
    expect(new Set(sent).size).toBe(sent.length)
    expect(sent).toHaveLength(12)
  })

  it('run one loop when resumed twice at once', async () => {
    await adapter.runs.define({
      name: 'Sweep',
      alternativeCode: 'SWEEP',
      kind: 'FINGERPRINTING',
      included: [],
      excluded: [],
    })
    const started = await adapter.runs.start('SWEEP')
    await adapter.runs.stop(started.id)
    await Promise.all([adapter.runs.resume(started.id), adapter.runs.resume(started.id)])
    const done = await adapter.runs.settled(started.id)
    expect(done.state).toBe('DELIVERING')
    const sent = await cardsSent(started.id)
    expect(sent).toHaveLength(12)
    expect(new Set(sent).size).toBe(12)
    expect(done.counts).toMatchObject({ processed: 6, cards: 12 })
    expect((await delivered(started.id)).counts).toMatchObject({ sent: 12, failed: 0 })
  })

  it('end FAILED, without an unhandled rejection, when the run store cannot save', async () => {
    await adapter.runs.define({
      name: 'Sweep',
      alternativeCode: 'SWEEP',
      kind: 'FINGERPRINTING',
      included: [],
      excluded: [],
    })
    const save = runStore.saveExecution.bind(runStore)
    let saves = 0
    runStore.saveExecution = (execution) =>
      ++saves > 2 ? Promise.reject(new Error('disk full')) : save(execution)
    const started = await adapter.runs.start('SWEEP')
    const ended = await adapter.runs.settled(started.id)
    expect(ended).toMatchObject({ state: 'FAILED', lastError: expect.stringMatching(/disk full/) })
    runStore.saveExecution = save
    // The store still says RUNNING: a stop settles it, a resume finishes the run.
    expect((await adapter.runs.stop(started.id)).state).toBe('STOPPED')
    const done = await adapter.runs.settled((await adapter.runs.resume(started.id)).id)
    expect(done.state).toBe('DELIVERING')
    const sent = await cardsSent(started.id)
    expect(new Set(sent).size).toBe(sent.length)
  })

  it('read, on a resume, only the requests of the batch the crash interrupted', async () => {
    for (const n of [1, 2, 3, 4]) {
      await admin(sim, 'DELETE', `/admin/cards/${card(n)}/subscriptions/GFA1`)
    }
    await adapter.runs.define({
      name: 'Reset',
      alternativeCode: 'R',
      kind: 'RESET_SUBSCRIPTION',
      criteria: {},
    })
    const done = await adapter.runs.settled((await adapter.runs.start('R')).id)
    expect(done.counts.requests).toBe(4)
    // As a crash right after the second batch's commit leaves it: only the first batch saved.
    await runStore.saveExecution({
      ...done,
      state: 'STOPPED',
      finishedAt: null,
      cursor: { offset: 2, communication: null },
      counts: { ...done.counts, processed: 2, requests: 2 },
    })
    const list = adapter.store.listRequests.bind(adapter.store)
    const offsets: (number | undefined)[] = []
    adapter.store.listRequests = (filter) => {
      if (filter.processId === done.id) {
        offsets.push(filter.offset)
      }
      return list(filter)
    }
    const again = await adapter.runs.settled((await adapter.runs.resume(done.id)).id)
    adapter.store.listRequests = list
    expect(offsets).toEqual([2])
    expect(again.state).toBe('DELIVERING')
    const created = await adapter.runs.requests(done.id)
    expect(created.items.map((r) => r.subscriptionId)).toEqual(['S1', 'S2', 'S3', 'S4'])
  })
})

describe('a reset run whose CA cannot be asked', () => {
  it('stops reading at the first unreachable card rather than timing out on every card', async () => {
    let reads = 0
    const reader: CaReader = {
      readCard: (caId) => {
        reads += 1
        return Promise.reject(
          Object.assign(new Error(`Failed to read card ${caId}: timed out.`), {
            code: 'CA_TIMEOUT',
          }),
        )
      },
      close: () => Promise.resolve(),
    }
    await setUp(6, { reader, runPageSize: 6, readConcurrency: 2 })
    await adapter.runs.define({
      name: 'Reset',
      alternativeCode: 'R',
      kind: 'RESET_SUBSCRIPTION',
      criteria: {},
    })
    const ended = await adapter.runs.settled((await adapter.runs.start('R')).id)
    expect(ended.state).toBe('FAILED')
    expect(ended.lastError).toMatch(/timed out/)
    // Two in flight when the first failed; none of the other ten cards was tried.
    expect(reads).toBe(2)
  })
})

describe('progress', () => {
  beforeEach(() => setUp(6))

  it('counts the time spent saving as running time, and none while stopped', async () => {
    await adapter.runs.define({
      name: 'Sweep',
      alternativeCode: 'SWEEP',
      kind: 'FINGERPRINTING',
      included: [],
      excluded: [],
    })
    const save = runStore.saveExecution.bind(runStore)
    runStore.saveExecution = async (execution) => {
      await new Promise((resolve) => setTimeout(resolve, 40))
      return save(execution)
    }
    const done = await adapter.runs.settled((await adapter.runs.start('SWEEP')).id)
    runStore.saveExecution = save
    // Three batches, each saved (40 ms) before the next one starts.
    expect(done.activeMs).toBeGreaterThanOrEqual(80)
  })

  it('gives rate and ETA over running time, surviving a stop', async () => {
    await adapter.runs.define({
      name: 'Sweep',
      alternativeCode: 'SWEEP',
      kind: 'FINGERPRINTING',
      included: [],
      excluded: [],
    })
    const done = await adapter.runs.settled((await adapter.runs.start('SWEEP')).id)
    const base = { ...done, finishedAt: null, total: 150, activeMs: 10_000 }
    const counts = { ...done.counts, processed: 50 }
    await runStore.saveExecution({ ...base, state: 'RUNNING', counts })
    expect((await adapter.runs.get(done.id)).progress).toEqual({
      fraction: 50 / 150,
      rate: 5,
      etaSeconds: 20,
      pendingRequests: 6,
    })
    await runStore.saveExecution({ ...base, state: 'STOPPED', counts })
    expect((await adapter.runs.get(done.id)).progress).toEqual({
      fraction: 50 / 150,
      rate: 5,
      etaSeconds: null,
      pendingRequests: 6,
    })
  })
})
