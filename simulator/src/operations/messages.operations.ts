import { CA_CLIENT_IDS, SEQUENCE_NUMBER } from '../contract/common-types.js'
import { el, opt, type Read } from '../contract/schema.js'
import {
  displayFingerprint,
  sendBark,
  sendMail,
  sendRepeatingBark,
  type BarkInput,
  type MessageInput,
} from '../model/messages.js'
import { answer, defineOperation, statusOnly } from './define-operation.js'

/** The `user-text-messaging` and `fingerprint` services: messages and fingerprints (model/messages.ts). */

const MAIL_FIELDS = [
  el('CaClientIds', CA_CLIENT_IDS),
  el('Message', 'string'),
  opt('StartIndicationTime', 'dateTime'),
] as const

const BARK_FIELDS = [
  el('CaClientIds', CA_CLIENT_IDS),
  el('Message', 'string'),
  opt('DisplayDurationInSeconds', 'int'),
  opt('StartIndicationTime', 'dateTime'),
] as const

/** The arguments every message operation shares, as the model takes them. */
function messageOf(
  args: Read<readonly [...typeof MAIL_FIELDS, typeof SEQUENCE_NUMBER]>,
): MessageInput {
  return {
    caClientIds: args.CaClientIds.CaClientId,
    message: args.Message,
    startIndicationTime: args.StartIndicationTime ?? null,
    sequenceNumber: args.SequenceNumber ?? null,
  }
}

/** The arguments of both barks, as the model takes them. */
function barkOf(args: Read<readonly [...typeof BARK_FIELDS, typeof SEQUENCE_NUMBER]>): BarkInput {
  return { ...messageOf(args), displayDurationInSeconds: args.DisplayDurationInSeconds ?? null }
}

export const MESSAGE_OPERATIONS = [
  defineOperation({
    name: 'SendMailMessageToClients',
    service: 'user-text-messaging',
    write: true,
    request: [...MAIL_FIELDS, SEQUENCE_NUMBER],
    response: [],
    handle: (state, ctx, args) => answer(sendMail(state, ctx, messageOf(args)), statusOnly),
    example: {
      CaClientIds: { CaClientId: ['01450253313', '01900080207'] },
      Message: 'Your bill is ready',
      StartIndicationTime: '2030-01-01T10:00:00Z',
    },
  }),
  defineOperation({
    name: 'SendBarkMessageToClients',
    service: 'user-text-messaging',
    write: true,
    request: [...BARK_FIELDS, SEQUENCE_NUMBER],
    response: [],
    handle: (state, ctx, args) => answer(sendBark(state, ctx, barkOf(args)), statusOnly),
    example: {
      CaClientIds: { CaClientId: ['01900080207'] },
      Message: 'Call us',
      DisplayDurationInSeconds: 20,
    },
  }),
  defineOperation({
    name: 'SendRepeatingBarkMessageToClients',
    service: 'user-text-messaging',
    write: true,
    request: [
      ...BARK_FIELDS,
      el('RepetitionCount', 'int'),
      el('RepetitionIntervalInSeconds', 'int'),
      SEQUENCE_NUMBER,
    ],
    response: [],
    handle: (state, ctx, args) =>
      answer(
        sendRepeatingBark(state, ctx, {
          ...barkOf(args),
          repetitionCount: args.RepetitionCount,
          repetitionIntervalInSeconds: args.RepetitionIntervalInSeconds,
        }),
        statusOnly,
      ),
    example: {
      CaClientIds: { CaClientId: ['01000000003'] },
      Message: 'Match tonight',
      DisplayDurationInSeconds: 10,
      RepetitionCount: 3,
      RepetitionIntervalInSeconds: 30,
    },
  }),
  defineOperation({
    name: 'DisplayFingerprint',
    service: 'fingerprint',
    write: true,
    request: [
      el('CaClientIds', CA_CLIENT_IDS),
      opt('DisplayTime', 'dateTime'),
      opt('DurationInSeconds', 'int'),
      opt('PositionX', 'int'),
      opt('PositionY', 'int'),
      opt('Height', 'int'),
      opt('Slot', 'string'),
      SEQUENCE_NUMBER,
    ],
    response: [],
    handle: (state, ctx, args) =>
      answer(
        displayFingerprint(state, ctx, {
          caClientIds: args.CaClientIds.CaClientId,
          displayTime: args.DisplayTime ?? null,
          durationInSeconds: args.DurationInSeconds ?? null,
          positionX: args.PositionX ?? null,
          positionY: args.PositionY ?? null,
          height: args.Height ?? null,
          slot: args.Slot ?? null,
          sequenceNumber: args.SequenceNumber ?? null,
        }),
        statusOnly,
      ),
    example: {
      CaClientIds: { CaClientId: ['01450253313'] },
      DurationInSeconds: 10,
      PositionX: 100,
      PositionY: 50,
      Height: 12,
      Slot: 'B',
    },
  }),
] as const
