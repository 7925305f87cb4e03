import { SEQUENCE_NUMBER } from '../contract/common-types.js'
import { el } from '../contract/schema.js'
import { updatePin } from '../model/pin.js'
import { answer, defineOperation, statusOnly } from './define-operation.js'

/** The `ca-pin` service: the CA PIN (model/pin.ts). */

export const PIN_OPERATIONS = [
  defineOperation({
    name: 'UpdateCaPinToDefaultValue',
    service: 'ca-pin',
    write: true,
    request: [el('CaClientId', 'string'), SEQUENCE_NUMBER],
    response: [],
    handle: (state, ctx, { CaClientId }) =>
      answer(updatePin(state, ctx, CaClientId, null), statusOnly),
    example: { CaClientId: '01000000003' },
  }),
  defineOperation({
    name: 'UpdateCaPinToGivenValue',
    service: 'ca-pin',
    write: true,
    request: [el('CaClientId', 'string'), el('Pin', 'string'), SEQUENCE_NUMBER],
    response: [],
    handle: (state, ctx, { CaClientId, Pin }) =>
      answer(updatePin(state, ctx, CaClientId, Pin), statusOnly),
    example: { CaClientId: '01900080207', Pin: '9876', SequenceNumber: 44 },
  }),
] as const
