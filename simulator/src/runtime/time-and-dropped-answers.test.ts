import { describe, expect, it, onTestFinished } from 'vitest'
import { CARD_A, adminApi, callSoap, startTestSimulator } from '../test-support/soap.js'

// Issue 10: scenarios move the CA's clock with the adapter's (`advance`), and drop the answer of a
// write the CA applied (the hardest fault for a client: it cannot know the write went through).

const addGfa1 = (sequence: number) => ({
  Subscriptions: { Subscription: [{ CaClientId: CARD_A, ProductId: 'GFA1' }] },
  SequenceNumber: sequence,
})

describe('RESET_AFTER_APPLY', () => {
  it('applies and journals the write, drops the answer, and answers the retry as a replay', async () => {
    const sim = await startTestSimulator()
    onTestFinished(() => sim.close())
    sim.faults.add({ kind: 'RESET_AFTER_APPLY', operation: 'AddSubscriptions' })

    const dropped = await callSoap(sim, 'subscription', 'AddSubscriptions', addGfa1(7)).catch(
      (error: unknown) => error,
    )
    const retry = await callSoap(sim, 'subscription', 'AddSubscriptions', addGfa1(7))

    // The client saw no answer: fetch failed on the destroyed connection.
    expect(dropped).toBeInstanceOf(Error)
    expect(sim.model.card(CARD_A)?.subscriptions.map((s) => s.productId)).toEqual(['GFA1'])
    const [first, second] = sim.journal.list({ operation: 'AddSubscriptions' })
    expect(first).toMatchObject({ statusCode: 'OK', replay: false })
    expect(first?.message).toMatch(/answer was dropped.*RESET_AFTER_APPLY/)
    expect(retry.statusCode).toBe('OK')
    expect(second).toMatchObject({ statusCode: 'OK', replay: true })
    expect(retry.transactionId).toBe(first?.transactionId)
  })
})

describe('the simulator clock', () => {
  it('moves forward by advanceClock and POST /admin/clock, and dates what it receives by it', async () => {
    let real = Date.parse('2026-11-26T10:00:00.000Z')
    const sim = await startTestSimulator({ now: () => new Date(real) })
    onTestFinished(() => sim.close())

    sim.advanceClock(60_000)
    const moved = await adminApi(sim).post('/admin/clock').send({ advanceMs: 30_000 }).expect(200)
    real += 1000
    await callSoap(sim, 'user-text-messaging', 'SendMailMessageToClients', {
      CaClientIds: { CaClientId: [CARD_A] },
      Message: 'Hi',
    })

    expect(moved.body).toEqual({ now: '2026-11-26T10:01:30.000Z' })
    expect((await adminApi(sim).get('/admin/clock').expect(200)).body).toEqual({
      now: '2026-11-26T10:01:31.000Z',
    })
    expect(sim.model.card(CARD_A)?.inbox[0]?.receivedAt).toBe('2026-11-26T10:01:31.000Z')
  })

  it('refuses to move back, or a body that is not {"advanceMs": n}, changing nothing', async () => {
    const sim = await startTestSimulator({ now: () => new Date('2026-11-26T10:00:00.000Z') })
    onTestFinished(() => sim.close())

    for (const body of [
      { advanceMs: -1 },
      { advanceMs: 1.5 },
      { advanceMs: '10' },
      { set: 1 },
      [],
    ]) {
      const res = await adminApi(sim).post('/admin/clock').send(body).expect(400)
      expect(res.body.error.code).toBe('INVALID_REQUEST')
    }
    expect(() => sim.advanceClock(-5)).toThrow(/forward only/)
    expect((await adminApi(sim).get('/admin/clock').expect(200)).body.now).toBe(
      '2026-11-26T10:00:00.000Z',
    )
  })
})
