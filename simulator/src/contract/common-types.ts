import { complex, el, list, opt, optList } from './schema.js'

/**
 * The types the services share, in the common-types namespace
 * (`http://www.conax.com/cas/xsd/common-types/v1`), and the SequenceNumber every write takes.
 */

/** The status block every answer starts with. */
export const TRANSACTION_STATUS_TYPE = complex(
  'TransactionStatusType',
  [el('StatusCode', 'string'), el('TransactionId', 'string'), opt('Message', 'string')],
  'common',
)

/** `CaClientIds/CaClientId+` */
export const CA_CLIENT_IDS = complex('CaClientIdListType', [list('CaClientId', 'string')], 'common')

/** `CaClientIds/CaClientId*` */
export const OPTIONAL_CA_CLIENT_IDS = complex(
  'OptionalCaClientIdListType',
  [optList('CaClientId', 'string')],
  'common',
)

/** `PairingModuleIds/PairingModuleId+` */
export const PAIRING_MODULE_IDS = complex(
  'PairingModuleIdListType',
  [list('PairingModuleId', 'string')],
  'common',
)

/** `PairingModuleIds/PairingModuleId*` */
export const OPTIONAL_PAIRING_MODULE_IDS = complex(
  'OptionalPairingModuleIdListType',
  [optList('PairingModuleId', 'string')],
  'common',
)

/** An STB as the pairing queries describe it. */
export const PAIRING_MODULE = complex(
  'PairingModuleType',
  [
    el('PairingModuleId', 'string'),
    el('SerialNumber', 'string'),
    el('ProductCode', 'string'),
    el('ProductDescription', 'string'),
  ],
  'common',
)

/** The sender's number on a write: a repeat with the same number and payload is a replay. */
export const SEQUENCE_NUMBER = opt('SequenceNumber', 'int')
