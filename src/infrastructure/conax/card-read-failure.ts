/**
 * The CaReader port's failure contract on top of the readers' own errors: a {@link CaReadError}
 * (fast-reader.ts, gateway-reader.ts) becomes a {@link CardReadError} whose `scope` says whether a
 * run fails that card or stops. The classification is made here, once, from typed codes.
 * @module
 */
import {
  CardReadError,
  type CaReader,
  type CardReadScope,
} from '../../application/runs/run-ports.js'
import { CA_READ_ERROR_CODES, type CaReadErrorCode } from './fast-reader.js'
import { isCallRefusal } from './fault-classification.js'

function isCaReadErrorCode(value: unknown): value is CaReadErrorCode {
  return CA_READ_ERROR_CODES.some((code) => code === value)
}

/** What a reader's failure means for a run (see {@link CardReadScope}). */
export function scopeOf(code: CaReadErrorCode, detail: string | null): CardReadScope {
  switch (code) {
    case 'CA_UNREACHABLE':
    case 'CA_TIMEOUT':
    case 'CA_FAILED':
    case 'READER_CLOSED':
      return 'CA'
    case 'CA_REFUSED':
      return detail !== null && isCallRefusal(detail) ? 'CA' : 'CARD'
    case 'INVALID_CA_ID':
    case 'MALFORMED_ANSWER':
      return 'CARD'
  }
}

/**
 * A reader's rejection as the port's {@link CardReadError}. The status listed for the card is the
 * classified cause (`detail`: the CA's StatusCode, TIMEOUT...) or else the reader's code; an error
 * that is neither a reader's nor the port's fails the card as READ_FAILED.
 */
export function cardReadErrorOf(card: string, error: unknown): CardReadError {
  if (error instanceof CardReadError) {
    return error
  }
  const failure = error instanceof Error ? error : new Error(String(error))
  const code = 'code' in failure ? failure.code : undefined
  const detail = 'detail' in failure && typeof failure.detail === 'string' ? failure.detail : null
  return new CardReadError({
    code: detail ?? (typeof code === 'string' ? code : 'READ_FAILED'),
    scope: isCaReadErrorCode(code) ? scopeOf(code, detail) : 'CARD',
    card,
    message: failure.message,
    cause: error,
  })
}

/** The reader with its rejections classified ({@link cardReadErrorOf}); every reader a run uses goes through it. */
export function classifiedReader(reader: CaReader): CaReader {
  return {
    readCard: (caId) =>
      reader.readCard(caId).catch((error: unknown) => {
        throw cardReadErrorOf(caId, error)
      }),
    close: () => reader.close(),
  }
}
