import type { OperationName } from '../contract/schema.js'
import type { CaModel } from '../model/ca-model.js'
import type { PairingStatus } from '../model/pairings.js'
import type { OperationContext, Outcome, StatusCode } from '../model/types.js'
import type { ReadObject } from './request-reader.js'
import type { ValueObject } from './xml-output.js'

/** What an operation answers: the status block's code and message, and the payload after it. */
export interface OperationResult {
  readonly statusCode: StatusCode
  readonly message: string
  readonly payload: ValueObject
}

type Handler = (model: CaModel, ctx: OperationContext, request: ReadObject) => OperationResult

const str = (request: ReadObject, name: string): string => request[name] as string
const optStr = (request: ReadObject, name: string): string | null =>
  (request[name] as string | undefined) ?? null
const optInt = (request: ReadObject, name: string): number | null =>
  (request[name] as number | undefined) ?? null
const list = (request: ReadObject, outer: string, inner: string): string[] =>
  ((request[outer] as ReadObject | undefined)?.[inner] as string[] | undefined) ?? []
const items = (request: ReadObject): ReadObject[] =>
  (request.Subscriptions as ReadObject).Subscription as ReadObject[]

function answer<T>(
  outcome: Outcome<T>,
  payload: (value: T) => ValueObject = () => ({}),
): OperationResult {
  return outcome.ok
    ? { statusCode: 'OK', message: outcome.message, payload: payload(outcome.value) }
    : { statusCode: outcome.code, message: outcome.message, payload: {} }
}

function pairingPayload(status: PairingStatus): ValueObject {
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

function messageFields(request: ReadObject): {
  caClientIds: string[]
  message: string
  startIndicationTime: string | null
  sequenceNumber: number | null
  displayDurationInSeconds: number | null
} {
  return {
    caClientIds: list(request, 'CaClientIds', 'CaClientId'),
    message: str(request, 'Message'),
    startIndicationTime: optStr(request, 'StartIndicationTime'),
    sequenceNumber: optInt(request, 'SequenceNumber'),
    displayDurationInSeconds: optInt(request, 'DisplayDurationInSeconds'),
  }
}

/** One handler per contract operation: typed arguments in, model call, status and payload out. */
export const OPERATION_HANDLERS: Readonly<Record<OperationName, Handler>> = {
  AddSubscriptions: (model, ctx, request) =>
    answer(
      model.addSubscriptions(
        ctx,
        items(request).map((item) => ({
          caClientId: str(item, 'CaClientId'),
          productId: str(item, 'ProductId'),
          distributor: optStr(item, 'Distributor'),
          startDate: optStr(item, 'StartDate'),
          endDate: optStr(item, 'EndDate'),
        })),
      ),
    ),
  CancelSubscriptions: (model, ctx, request) =>
    answer(
      model.cancelSubscriptions(
        ctx,
        items(request).map((item) => ({
          caClientId: str(item, 'CaClientId'),
          productId: str(item, 'ProductId'),
          distributor: optStr(item, 'Distributor'),
        })),
      ),
    ),
  GetActiveSubscriptions: (model, ctx, request) =>
    answer(model.getActiveSubscriptions(ctx, str(request, 'CaClientId')), (products) => ({
      Subscriptions: {
        Subscription: products.map((p) => ({
          ProductId: p.productId,
          Distributor: p.distributor,
          StartDate: p.startDate,
          EndDate: p.endDate,
        })),
      },
    })),
  CreatePairing: (model, ctx, request) =>
    answer(
      model.createPairing(ctx, {
        caClientIds: list(request, 'CaClientIds', 'CaClientId'),
        pairingModuleIds: list(request, 'PairingModuleIds', 'PairingModuleId'),
        distributor: optStr(request, 'Distributor'),
      }),
    ),
  AddToExistingPairing: (model, ctx, request) =>
    answer(
      model.addToExistingPairing(ctx, {
        pairedCaClientId: str(request, 'PairedCaClientId'),
        caClientIds: list(request, 'CaClientIds', 'CaClientId'),
        pairingModuleIds: list(request, 'PairingModuleIds', 'PairingModuleId'),
      }),
    ),
  GetPairingStatusForCard: (model, ctx, request) =>
    answer(model.pairingStatusForCard(ctx, str(request, 'CaClientId')), pairingPayload),
  GetPairingStatusForPairingModule: (model, ctx, request) =>
    answer(model.pairingStatusForModule(ctx, str(request, 'PairingModuleId')), pairingPayload),
  SendMailMessageToClients: (model, ctx, request) =>
    answer(model.sendMail(ctx, messageFields(request))),
  SendBarkMessageToClients: (model, ctx, request) =>
    answer(model.sendBark(ctx, messageFields(request))),
  SendRepeatingBarkMessageToClients: (model, ctx, request) =>
    answer(
      model.sendRepeatingBark(ctx, {
        ...messageFields(request),
        repetitionCount: request.RepetitionCount as number,
        repetitionIntervalInSeconds: request.RepetitionIntervalInSeconds as number,
      }),
    ),
  DisplayFingerprint: (model, ctx, request) =>
    answer(
      model.displayFingerprint(ctx, {
        caClientIds: list(request, 'CaClientIds', 'CaClientId'),
        displayTime: optStr(request, 'DisplayTime'),
        durationInSeconds: optInt(request, 'DurationInSeconds'),
        positionX: optInt(request, 'PositionX'),
        positionY: optInt(request, 'PositionY'),
        height: optInt(request, 'Height'),
        slot: optStr(request, 'Slot'),
        sequenceNumber: optInt(request, 'SequenceNumber'),
      }),
    ),
  UpdateCaPinToDefaultValue: (model, ctx, request) =>
    answer(model.updatePin(ctx, str(request, 'CaClientId'), null)),
  UpdateCaPinToGivenValue: (model, ctx, request) =>
    answer(model.updatePin(ctx, str(request, 'CaClientId'), str(request, 'Pin'))),
}

/** How many cards a request names, for the request log line. */
export function cardCount(request: ReadObject): number {
  if (request.Subscriptions) {
    return new Set(items(request).map((item) => item.CaClientId)).size
  }
  const ids = list(request, 'CaClientIds', 'CaClientId')
  const single = request.CaClientId ?? request.PairedCaClientId
  return ids.length + (single === undefined ? 0 : 1)
}

const INTERNED: Readonly<Record<string, 'card' | 'module' | 'product' | 'distributor'>> = {
  CaClientId: 'card',
  PairedCaClientId: 'card',
  PairingModuleId: 'module',
  ProductId: 'product',
  Distributor: 'distributor',
}

/** Replaces ids in a read request by the model's shared strings, so journalled requests stay small. */
export function internIds(model: CaModel, request: ReadObject): void {
  for (const [name, value] of Object.entries(request)) {
    const kind = INTERNED[name]
    if (kind && typeof value === 'string') {
      request[name] = model.intern(kind, value)
    } else if (kind && Array.isArray(value)) {
      request[name] = (value as string[]).map((item) => model.intern(kind, item))
    } else if (Array.isArray(value)) {
      for (const item of value as ReadObject[]) {
        internIds(model, item)
      }
    } else if (typeof value === 'object') {
      internIds(model, value)
    }
  }
}
