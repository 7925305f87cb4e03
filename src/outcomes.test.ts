import { Writable } from 'node:stream'
import { pino } from 'pino'
import { afterEach, describe, expect, it } from 'vitest'
import { STATUS_CODES, type Simulator } from '../simulator/src/index.js'
import type { Adapter } from './create-adapter.js'
import { classifyStatusCode } from './infrastructure/conax/fault-classification.js'
import { card, ManualClock, startTestAdapter, startTestCa } from './test-support/adapter-harness.js'

// Issue 9, item 3: every status of the contract is either worth a retry (the CA or the network may
// recover) or a verdict on the request (final); the request record says which, and the log says
// what really happened (a 503 used to be logged as "delivered").

describe('the outcome of each contract status', () => {
  const retry = ['SYSTEM_ERROR']
  const reject = [
    'CLIENT_NOT_FOUND',
    'INPUT_VALIDATION_ERROR',
    'CLIENT_NOT_MANAGED_BY_SMS',
    'FEATURE_NOT_AVAILABLE',
    'PAIRING_MODULE_NOT_FOUND',
    'PRODUCT_NOT_FOUND',
    'NOT_PAIRED',
  ]

  it('is decided for every status the simulator can answer', () => {
    expect([...STATUS_CODES].sort()).toEqual(['OK', ...retry, ...reject].sort())
    expect(classifyStatusCode('OK')).toBe('COMPLETED')
    for (const code of retry) {
      expect(classifyStatusCode(code), code).toBe('TRANSIENT')
    }
    for (const code of reject) {
      expect(classifyStatusCode(code), code).toBe('REJECTED')
    }
  })
})

describe('a request that fails', () => {
  let sim: Simulator
  let adapter: Adapter
  const lines: Record<string, unknown>[] = []

  afterEach(async () => {
    await adapter.close()
    await sim.close()
    lines.length = 0
  })

  async function setUp(): Promise<void> {
    sim = await startTestCa(3)
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(
          ...chunk
            .toString()
            .trim()
            .split('\n')
            .map((line) => JSON.parse(line) as Record<string, unknown>),
        )
        done()
      },
    })
    // The clock stands still, so the 503's retry cannot come due inside deliverDue however slow
    // the machine is.
    adapter = await startTestAdapter(sim, {
      logger: pino({ level: 'info' }, sink),
      clock: new ManualClock(),
    })
  }

  const resetPin = (smartcard: string) =>
    adapter.service.createRequests(
      [{ type: 'UPDATE_CA_PIN_TO_DEFAULT_VALUE', smartcardCaId: smartcard, distributor: null }],
      { processName: 'RESET_PIN' },
    )

  it('is RETRY and logged as not delivered when the CA answers 503, REJECT when it refuses the card', async () => {
    await setUp()
    sim.faults.add({ kind: 'HTTP_STATUS', httpStatus: 503, times: 1 })
    const [down] = await resetPin(card(1))
    const [unknown] = await resetPin('09999999999')

    await adapter.deliverDue()

    expect(await adapter.store.getRequest(down!.id)).toMatchObject({
      lifeCycleState: 'PENDING',
      errorCode: 'HTTP_503',
      errorClass: 'RETRY',
      attempts: 1,
    })
    expect(await adapter.store.getRequest(unknown!.id)).toMatchObject({
      lifeCycleState: 'REJECTED',
      errorCode: 'CLIENT_NOT_FOUND',
      errorClass: 'REJECT',
    })
    const outcomes = lines.filter((line) => typeof line.number === 'string')
    expect(outcomes.map((line) => [line.number, line.msg, line.errorClass])).toEqual(
      expect.arrayContaining([
        [
          down!.number,
          'provisioning request not delivered; it stays PENDING and will be retried',
          'RETRY',
        ],
        [unknown!.number, 'provisioning request rejected', 'REJECT'],
      ]),
    )
    expect(lines.map((line) => line.msg)).not.toContain('provisioning request delivered')
  })
})
