import { describe, expect, it } from 'vitest'
import { compareCalls, wireLinesOfCommand, wireLinesOfJournal } from './wire.js'

const entry = (operation: string, request: unknown, statusCode = 'OK') => ({
  seq: 1,
  service: 'subscription',
  operation,
  request,
  statusCode,
})

describe('SOAP-call lines', () => {
  it('render a command and the journal entry of the same call identically', () => {
    const expected = wireLinesOfCommand(
      {
        type: 'DISPLAY_FINGERPRINT',
        smartcardCaIds: ['01450250001'],
        displayTime: null,
        durationInSeconds: 10,
        positionX: null,
        positionY: null,
        height: 12,
        slot: 'A',
        distributor: 'Main',
      },
      'OK',
    )
    // A CRM that leaves out the contract's defaults sends the same call.
    const received = wireLinesOfJournal(
      entry('DisplayFingerprint', { CaClientIds: { CaClientId: '01450250001' } }),
    )
    expect(received).toEqual(expected)
    expect(expected).toEqual([
      'DisplayFingerprint cards=01450250001 duration=10 height=12 slot=A → OK',
    ])
  })

  it('split a batched AddSubscriptions into one line per item', () => {
    const lines = wireLinesOfJournal(
      entry('AddSubscriptions', {
        Subscriptions: {
          Subscription: [
            { CaClientId: '01450250001', ProductId: 'GFA1', Distributor: 'Main' },
            { CaClientId: '01450250001', ProductId: 'EFA2', Distributor: 'Main' },
          ],
        },
      }),
    )
    expect(lines).toEqual([
      'AddSubscriptions card=01450250001 product=GFA1 distributor=Main → OK',
      'AddSubscriptions card=01450250001 product=EFA2 distributor=Main → OK',
    ])
  })

  it('show a call the CA refused or could not read with its status', () => {
    expect(wireLinesOfJournal({ ...entry('', null, 'HTTP_401'), operation: null })).toEqual([
      '(subscription) → HTTP_401',
    ])
  })
})

describe('compareCalls', () => {
  const pair2 = 'CreatePairing cards=01450250002 stbs=1000000002 distributor=TWIN1 → OK'
  const add2 = 'AddSubscriptions card=01450250002 product=EFA2 distributor=TWIN1 → OK'
  const cancel1 = 'CancelSubscriptions card=01450250001 product=EFA2 distributor=Main → OK'

  it('accepts calls of different cards in another order', () => {
    expect(compareCalls([pair2, add2, cancel1], [pair2, cancel1, add2], true)).toBeNull()
  })

  it("refuses one card's calls in another order, showing the ordered diff", () => {
    const diff = compareCalls([pair2, add2, cancel1], [add2, pair2, cancel1], true)
    expect(diff?.firstDivergence).toBe(0)
    expect(diff?.ordered).toBe(true)
  })

  it('refuses a missing call whatever the order rule', () => {
    expect(compareCalls([pair2, add2], [pair2], false)?.missing).toEqual([add2])
    expect(compareCalls([pair2, add2], [add2, pair2], false)).toBeNull()
  })
})
