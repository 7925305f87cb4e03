import type { ServiceName } from './namespaces.js'

/**
 * A declarative description of the contract's messages. One table drives the WSDL the simulator
 * serves, the request reader that turns XML into typed arguments, and the response writer, so the
 * three cannot drift apart.
 */
export type SimpleType = 'string' | 'int' | 'dateTime' | 'boolean'

export interface ComplexType {
  readonly typeName: string
  /** `common` types live in the common-types namespace; the rest in the service namespace. */
  readonly home: 'service' | 'common'
  readonly children: readonly ElementSpec[]
}

export interface ElementSpec {
  readonly name: string
  readonly type: SimpleType | ComplexType
  readonly min: 0 | 1
  readonly many?: true
}

const el = (name: string, type: SimpleType | ComplexType): ElementSpec => ({ name, type, min: 1 })
const opt = (name: string, type: SimpleType | ComplexType): ElementSpec => ({ name, type, min: 0 })
const list = (name: string, type: SimpleType | ComplexType, min: 0 | 1 = 1): ElementSpec => ({
  name,
  type,
  min,
  many: true,
})

const complex = (
  typeName: string,
  children: readonly ElementSpec[],
  home: 'service' | 'common' = 'service',
): ComplexType => ({ typeName, home, children })

export const TRANSACTION_STATUS_TYPE = complex(
  'TransactionStatusType',
  [el('StatusCode', 'string'), el('TransactionId', 'string'), opt('Message', 'string')],
  'common',
)
const CA_CLIENT_IDS = complex('CaClientIdListType', [list('CaClientId', 'string')], 'common')
const OPTIONAL_CA_CLIENT_IDS = complex(
  'OptionalCaClientIdListType',
  [list('CaClientId', 'string', 0)],
  'common',
)
const PAIRING_MODULE_IDS = complex(
  'PairingModuleIdListType',
  [list('PairingModuleId', 'string')],
  'common',
)
const OPTIONAL_PAIRING_MODULE_IDS = complex(
  'OptionalPairingModuleIdListType',
  [list('PairingModuleId', 'string', 0)],
  'common',
)
const SEQUENCE_NUMBER = opt('SequenceNumber', 'int')

const ADD_ITEM = complex('AddSubscriptionItemType', [
  el('CaClientId', 'string'),
  el('ProductId', 'string'),
  opt('Distributor', 'string'),
  opt('StartDate', 'dateTime'),
  opt('EndDate', 'dateTime'),
])
const CANCEL_ITEM = complex('CancelSubscriptionItemType', [
  el('CaClientId', 'string'),
  el('ProductId', 'string'),
  opt('Distributor', 'string'),
])
const ACTIVE_ITEM = complex('ActiveSubscriptionType', [
  el('ProductId', 'string'),
  opt('Distributor', 'string'),
  el('StartDate', 'dateTime'),
  opt('EndDate', 'dateTime'),
])
const PAIRING_MODULE = complex(
  'PairingModuleType',
  [
    el('PairingModuleId', 'string'),
    el('SerialNumber', 'string'),
    el('ProductCode', 'string'),
    el('ProductDescription', 'string'),
  ],
  'common',
)
const PAIRING_STATUS_PAYLOAD: readonly ElementSpec[] = [
  opt('Paired', 'boolean'),
  opt('CaClientIds', CA_CLIENT_IDS),
  opt(
    'PairingModules',
    complex('PairingModuleListType', [list('PairingModule', PAIRING_MODULE)], 'common'),
  ),
]
const BARK_FIELDS: readonly ElementSpec[] = [
  el('CaClientIds', CA_CLIENT_IDS),
  el('Message', 'string'),
  opt('DisplayDurationInSeconds', 'int'),
  opt('StartIndicationTime', 'dateTime'),
]

export const OPERATION_NAMES = [
  'AddSubscriptions',
  'CancelSubscriptions',
  'GetActiveSubscriptions',
  'CreatePairing',
  'AddToExistingPairing',
  'GetPairingStatusForCard',
  'GetPairingStatusForPairingModule',
  'SendMailMessageToClients',
  'SendBarkMessageToClients',
  'SendRepeatingBarkMessageToClients',
  'DisplayFingerprint',
  'UpdateCaPinToDefaultValue',
  'UpdateCaPinToGivenValue',
] as const

export type OperationName = (typeof OPERATION_NAMES)[number]

export interface OperationSpec {
  readonly name: OperationName
  readonly service: ServiceName
  /** Writes change CA state and take part in SequenceNumber replay detection. */
  readonly write: boolean
  /** Children of `<OpRequest>`. */
  readonly request: readonly ElementSpec[]
  /** Children of `<OpResponse>` after `TransactionStatus`; all optional so errors can omit them. */
  readonly response: readonly ElementSpec[]
}

/** Every operation but the three `Get...` queries is a write. */
const spec = (
  name: OperationName,
  service: ServiceName,
  request: readonly ElementSpec[],
  response: readonly ElementSpec[] = [],
): OperationSpec => ({ name, service, write: !name.startsWith('Get'), request, response })

/** The 13 operations of the contract, in the order of its table. */
export const OPERATIONS: readonly OperationSpec[] = [
  spec('AddSubscriptions', 'subscription', [
    el('Subscriptions', complex('AddSubscriptionListType', [list('Subscription', ADD_ITEM)])),
    SEQUENCE_NUMBER,
  ]),
  spec('CancelSubscriptions', 'subscription', [
    el('Subscriptions', complex('CancelSubscriptionListType', [list('Subscription', CANCEL_ITEM)])),
    SEQUENCE_NUMBER,
  ]),
  spec(
    'GetActiveSubscriptions',
    'subscription',
    [el('CaClientId', 'string')],
    [
      opt(
        'Subscriptions',
        complex('ActiveSubscriptionListType', [list('Subscription', ACTIVE_ITEM, 0)]),
      ),
    ],
  ),
  spec('CreatePairing', 'pairing', [
    el('CaClientIds', CA_CLIENT_IDS),
    el('PairingModuleIds', PAIRING_MODULE_IDS),
    opt('Distributor', 'string'),
    SEQUENCE_NUMBER,
  ]),
  spec('AddToExistingPairing', 'pairing', [
    el('PairedCaClientId', 'string'),
    opt('CaClientIds', OPTIONAL_CA_CLIENT_IDS),
    opt('PairingModuleIds', OPTIONAL_PAIRING_MODULE_IDS),
    SEQUENCE_NUMBER,
  ]),
  spec('GetPairingStatusForCard', 'pairing', [el('CaClientId', 'string')], PAIRING_STATUS_PAYLOAD),
  spec(
    'GetPairingStatusForPairingModule',
    'pairing',
    [el('PairingModuleId', 'string')],
    PAIRING_STATUS_PAYLOAD,
  ),
  spec('SendMailMessageToClients', 'user-text-messaging', [
    el('CaClientIds', CA_CLIENT_IDS),
    el('Message', 'string'),
    opt('StartIndicationTime', 'dateTime'),
    SEQUENCE_NUMBER,
  ]),
  spec('SendBarkMessageToClients', 'user-text-messaging', [...BARK_FIELDS, SEQUENCE_NUMBER]),
  spec('SendRepeatingBarkMessageToClients', 'user-text-messaging', [
    ...BARK_FIELDS,
    el('RepetitionCount', 'int'),
    el('RepetitionIntervalInSeconds', 'int'),
    SEQUENCE_NUMBER,
  ]),
  spec('DisplayFingerprint', 'fingerprint', [
    el('CaClientIds', CA_CLIENT_IDS),
    opt('DisplayTime', 'dateTime'),
    opt('DurationInSeconds', 'int'),
    opt('PositionX', 'int'),
    opt('PositionY', 'int'),
    opt('Height', 'int'),
    opt('Slot', 'string'),
    SEQUENCE_NUMBER,
  ]),
  spec('UpdateCaPinToDefaultValue', 'ca-pin', [el('CaClientId', 'string'), SEQUENCE_NUMBER]),
  spec('UpdateCaPinToGivenValue', 'ca-pin', [
    el('CaClientId', 'string'),
    el('Pin', 'string'),
    SEQUENCE_NUMBER,
  ]),
]

/** Operation specs by name. */
export const OPERATION_BY_NAME: ReadonlyMap<OperationName, OperationSpec> = new Map(
  OPERATIONS.map((op) => [op.name, op]),
)

/** The operations a service endpoint serves, in contract order. */
export function operationsOf(service: ServiceName): readonly OperationSpec[] {
  return OPERATIONS.filter((op) => op.service === service)
}

/** True when `name` is one of the 13 contract operations. */
export function isOperationName(name: string): name is OperationName {
  return (OPERATION_NAMES as readonly string[]).includes(name)
}
