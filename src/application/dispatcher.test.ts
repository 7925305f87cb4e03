import { describe, expect, it } from 'vitest'
import type { ConaxCommand } from '../domain/commands.js'
import { memoryStore } from '../test-support/ports.js'
import { Dispatcher } from './dispatcher.js'
import type { CaGateway, DeliveryOutcome } from './ports.js'

const NOW = '2026-11-26T10:00:00.000Z'
const clock = { now: () => new Date(NOW) }

const pin = (card: string): ConaxCommand => ({
  type: 'UPDATE_CA_PIN_TO_DEFAULT_VALUE',
  smartcardCaId: card,
  distributor: null,
})

/** A CA that completes every command at once and records what it got. */
function acceptingCa(): CaGateway & { sent: ConaxCommand[] } {
  const sent: ConaxCommand[] = []
  return {
    sent,
    send: (command): Promise<DeliveryOutcome> => {
      sent.push(command)
      return Promise.resolve({
        kind: 'COMPLETED',
        referenceNumber: `T${sent.length}`,
        message: 'OK',
        request: '<r/>',
        response: '<a/>',
        result: null,
      })
    },
  }
}

describe('Dispatcher', () => {
  it('delivers a request handed over just as the previous run ends (no lost wake-up)', async () => {
    // A run ends a few microtasks after its last request settles; whatever the number of ticks
    // between that settling and the next hand-over, the next request must be delivered.
    for (let ticks = 0; ticks < 12; ticks++) {
      const store = memoryStore()
      const gateway = acceptingCa()
      const dispatcher = new Dispatcher({
        store,
        gateway,
        clock,
        retryInitialDelayMs: 10,
        retryMaxDelayMs: 100,
      })
      const [first] = await store.commit(
        { requests: [{ command: pin('01000000001'), processName: 'RESET_PIN' }] },
        NOW,
      )
      const firstDone = dispatcher.settled(first!.id)
      void dispatcher.deliverDue()
      await firstDone
      for (let tick = 0; tick < ticks; tick++) {
        await Promise.resolve()
      }
      const [second] = await store.commit(
        { requests: [{ command: pin('01000000002'), processName: 'RESET_PIN' }] },
        NOW,
      )
      await dispatcher.deliverDue()

      expect((await store.getRequest(second!.id))?.lifeCycleState, `${ticks} ticks`).toBe(
        'COMPLETED',
      )
    }
  })

  it('answers settled at once for a request that is already final', async () => {
    const store = memoryStore()
    const dispatcher = new Dispatcher({
      store,
      gateway: acceptingCa(),
      clock,
      retryInitialDelayMs: 10,
      retryMaxDelayMs: 100,
    })
    const [request] = await store.commit(
      { requests: [{ command: pin('01000000001'), processName: 'RESET_PIN' }] },
      NOW,
    )
    await dispatcher.deliverDue()

    expect(await dispatcher.settled(request!.id)).toMatchObject({ lifeCycleState: 'COMPLETED' })
  })
})
