import { describe, expect, it } from 'vitest'
import { REQUEST_TYPES } from '../../domain/commands.js'
import {
  readActiveSubscriptions,
  readPairingStatus,
  readTransactionStatus,
} from './conax-answers.js'
import { OPERATION_OF, findUnsendableText, toConaxRequest } from './conax-requests.js'

describe('toConaxRequest', () => {
  it('maps every command type to an operation of its own', () => {
    expect(Object.keys(OPERATION_OF).sort()).toEqual([...REQUEST_TYPES].sort())
    const operations = REQUEST_TYPES.map((type) => OPERATION_OF[type].operation)
    expect(new Set(operations).size).toBe(REQUEST_TYPES.length)
  })

  it('keeps the XSD order and leaves out null optionals', () => {
    const request = toConaxRequest(
      {
        type: 'SEND_REPEATING_BARK_MESSAGE_TO_CLIENT',
        smartcardCaIds: ['01450253313'],
        message: 'm',
        startIndicationTime: '2026-01-01T00:00:00Z',
        displayDurationInSeconds: 20,
        repetitionCount: 2,
        repetitionIntervalInSeconds: 30,
        distributor: 'Main',
      },
      3,
    )
    expect(request.service).toBe('user-text-messaging')
    expect(request.operation).toBe('SendRepeatingBarkMessageToClients')
    expect(Object.keys(request.children)).toEqual([
      'CaClientIds',
      'Message',
      'DisplayDurationInSeconds',
      'StartIndicationTime',
      'RepetitionCount',
      'RepetitionIntervalInSeconds',
      'SequenceNumber',
    ])
    const fingerprint = toConaxRequest(
      {
        type: 'DISPLAY_FINGERPRINT',
        smartcardCaIds: ['01450253313'],
        displayTime: null,
        durationInSeconds: 5,
        positionX: 0,
        positionY: null,
        height: 12,
        slot: 'A',
        distributor: null,
      },
      4,
    )
    expect(fingerprint.children).toEqual({
      CaClientIds: { CaClientId: ['01450253313'] },
      DurationInSeconds: 5,
      PositionX: 0,
      Height: 12,
      Slot: 'A',
      SequenceNumber: 4,
    })
  })

  it('sends queries without SequenceNumber', () => {
    expect(
      toConaxRequest(
        { type: 'GET_PAIRING_STATUS_FOR_PAIRING_MODULE', stbCaId: '007', distributor: 'x' },
        9,
      ).children,
    ).toEqual({ PairingModuleId: '007' })
  })

  it('refuses a sequence number that is not an xs:int', () => {
    const command = {
      type: 'UPDATE_CA_PIN_TO_DEFAULT_VALUE',
      smartcardCaId: '1',
      distributor: null,
    } as const
    expect(() => toConaxRequest(command, -1)).toThrow(RangeError)
    expect(() => toConaxRequest(command, 2_147_483_648)).toThrow(RangeError)
    expect(toConaxRequest(command, 2_147_483_647).children.SequenceNumber).toBe(2_147_483_647)
  })
})

describe('texts', () => {
  it('finds text that XML cannot carry, with its path', () => {
    expect(findUnsendableText({ A: { B: ['ok', 'x\u0000'] } })).toBe(
      'A/B holds U+0000, a character that XML cannot carry.',
    )
    expect(findUnsendableText({ M: 'lone \uD800 surrogate' })).toMatch(/U\+D800/)
    expect(findUnsendableText({ M: 'tab\tnew\nline\r 𝄞 \uFFFD', N: 5 })).toBeNull()
  })
})

describe('reading answers', () => {
  it('reads TransactionStatus, and refuses answers without one', () => {
    expect(
      readTransactionStatus({
        TransactionStatus: { StatusCode: 'OK', TransactionId: 't', Message: '' },
      }),
    ).toEqual({ statusCode: 'OK', transactionId: 't', message: '' })
    expect(readTransactionStatus({ TransactionStatus: { StatusCode: 'OK' } })).toEqual({
      statusCode: 'OK',
      transactionId: null,
      message: '',
    })
    expect(readTransactionStatus({ TransactionStatus: { TransactionId: 't' } })).toBeNull()
    expect(readTransactionStatus(undefined)).toBeNull()
    expect(
      readTransactionStatus({ TransactionStatus: { StatusCode: 'OK', Message: 42 } }),
    ).toBeNull()
  })

  it('reads active subscriptions, a single item as a list', () => {
    expect(
      readActiveSubscriptions({
        Subscriptions: {
          Subscription: { ProductId: '007', StartDate: '2026-01-01T00:00:00.000Z' },
        },
      }),
    ).toEqual({
      subscriptions: [
        {
          serviceCaId: '007',
          distributor: null,
          startDate: '2026-01-01T00:00:00.000Z',
          endDate: null,
        },
      ],
    })
    expect(readActiveSubscriptions({})).toEqual({ subscriptions: [] })
    // A number would mean that leading zeros were lost.
    expect(
      readActiveSubscriptions({
        Subscriptions: { Subscription: [{ ProductId: 7, StartDate: 'x' }] },
      }),
    ).toBeNull()
    expect(readActiveSubscriptions({ Subscriptions: 'text' })).toBeNull()
  })

  it('reads a pairing status', () => {
    expect(
      readPairingStatus({
        Paired: true,
        CaClientIds: { CaClientId: '00000000042' },
        PairingModules: { PairingModule: [{ PairingModuleId: '0001', SerialNumber: 'S' }] },
      }),
    ).toEqual({
      paired: true,
      smartcardCaIds: ['00000000042'],
      stbs: [{ stbCaId: '0001', serialNumber: 'S', productCode: '', productDescription: '' }],
    })
    expect(readPairingStatus({ Paired: 'false' })).toEqual({
      paired: false,
      smartcardCaIds: [],
      stbs: [],
    })
    expect(readPairingStatus({})).toBeNull()
    expect(readPairingStatus({ Paired: true, CaClientIds: { CaClientId: [42] } })).toBeNull()
  })
})
