import {
  CA_CLIENT_IDS,
  OPTIONAL_CA_CLIENT_IDS,
  OPTIONAL_PAIRING_MODULE_IDS,
  PAIRING_MODULE,
  PAIRING_MODULE_IDS,
  SEQUENCE_NUMBER,
} from '../contract/common-types.js'
import { complex, el, list, opt, type Write } from '../contract/schema.js'
import {
  addToExistingPairing,
  createPairing,
  pairingStatusForCard,
  pairingStatusForModule,
  type PairingStatus,
} from '../model/pairings.js'
import { answer, defineOperation, statusOnly } from './define-operation.js'

/** The `pairing` service: pairings of cards and STBs (model/pairings.ts). */

/** What both pairing queries answer after the status block. */
const PAIRING_STATUS = [
  opt('Paired', 'boolean'),
  opt('CaClientIds', CA_CLIENT_IDS),
  opt(
    'PairingModules',
    complex('PairingModuleListType', [list('PairingModule', PAIRING_MODULE)], 'common'),
  ),
] as const

function pairingStatus(status: PairingStatus): Write<typeof PAIRING_STATUS> {
  return status.paired
    ? {
        Paired: true,
        CaClientIds: { CaClientId: status.caClientIds },
        PairingModules: {
          PairingModule: status.pairingModules.map((m) => ({
            PairingModuleId: m.pairingModuleId,
            SerialNumber: m.serialNumber,
            ProductCode: m.productCode,
            ProductDescription: m.productDescription,
          })),
        },
      }
    : { Paired: false }
}

export const PAIRING_OPERATIONS = [
  defineOperation({
    name: 'CreatePairing',
    service: 'pairing',
    write: true,
    request: [
      el('CaClientIds', CA_CLIENT_IDS),
      el('PairingModuleIds', PAIRING_MODULE_IDS),
      opt('Distributor', 'string'),
      SEQUENCE_NUMBER,
    ],
    response: [],
    handle: (state, ctx, args) =>
      answer(
        createPairing(state, ctx, {
          caClientIds: args.CaClientIds.CaClientId,
          pairingModuleIds: args.PairingModuleIds.PairingModuleId,
          distributor: args.Distributor ?? null,
        }),
        statusOnly,
      ),
    example: {
      CaClientIds: { CaClientId: ['01900080207', '01000000003'] },
      PairingModuleIds: { PairingModuleId: ['1000000002'] },
      Distributor: 'TWIN1',
      SequenceNumber: 43,
    },
  }),
  defineOperation({
    name: 'AddToExistingPairing',
    service: 'pairing',
    write: true,
    request: [
      el('PairedCaClientId', 'string'),
      opt('CaClientIds', OPTIONAL_CA_CLIENT_IDS),
      opt('PairingModuleIds', OPTIONAL_PAIRING_MODULE_IDS),
      SEQUENCE_NUMBER,
    ],
    response: [],
    handle: (state, ctx, args) =>
      answer(
        addToExistingPairing(state, ctx, {
          pairedCaClientId: args.PairedCaClientId,
          caClientIds: args.CaClientIds?.CaClientId ?? [],
          pairingModuleIds: args.PairingModuleIds?.PairingModuleId ?? [],
        }),
        statusOnly,
      ),
    example: {
      PairedCaClientId: '01450253313',
      CaClientIds: { CaClientId: ['01000000003'] },
      PairingModuleIds: { PairingModuleId: ['1000000003'] },
    },
  }),
  defineOperation({
    name: 'GetPairingStatusForCard',
    service: 'pairing',
    write: false,
    request: [el('CaClientId', 'string')],
    response: PAIRING_STATUS,
    handle: (state, ctx, { CaClientId }) =>
      answer(pairingStatusForCard(state, ctx, CaClientId), pairingStatus),
    example: { CaClientId: '01450253313' },
  }),
  defineOperation({
    name: 'GetPairingStatusForPairingModule',
    service: 'pairing',
    write: false,
    request: [el('PairingModuleId', 'string')],
    response: PAIRING_STATUS,
    handle: (state, ctx, { PairingModuleId }) =>
      answer(pairingStatusForModule(state, ctx, PairingModuleId), pairingStatus),
    example: { PairingModuleId: '1000000001' },
  }),
] as const
