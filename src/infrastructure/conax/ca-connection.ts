import type { IncomingMessage } from 'node:http'
import {
  CHARACTER_SET_LABELS,
  DEFAULT_CHARACTER_SET,
  characterSetOf,
  type CharacterSet,
} from './character-set.js'
import type { ConaxClientOptions } from './connection-options.js'

/**
 * What the Conax client (conax-client.ts) and the CA reader (fast-reader.ts) share about one HTTP
 * exchange with the CA: the checked connection options, the answer size bound, the deadline and
 * size errors, and the Content-Type read off the raw headers.
 * @module
 */

// Far above any answer of the contract (a card's active products, a pairing); a body this size is
// not a Conax answer, so it is dropped instead of being read to its end.
export const MAX_ANSWER_BYTES = 4 * 1024 * 1024

/** Idle keep-alive sockets close before a CA's own idle timeout would close them under a request. */
export const IDLE_SOCKET_TIMEOUT_MS = 4000

/** The call's hard deadline passed (timeoutMs), reading the answer included. */
export class DeadlineExceeded extends Error {
  override readonly name = 'DeadlineExceeded'
}

/** The answer grew past {@link MAX_ANSWER_BYTES}. */
export class AnswerTooLarge extends Error {
  override readonly name = 'AnswerTooLarge'
}

/**
 * An answer's Content-Type, the first if several, as `headers['content-type']` has it; from the raw
 * headers, since building `headers` costs an object and a lower-cased name for every header.
 */
export function contentTypeOf(response: IncomingMessage): string {
  const raw = response.rawHeaders
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] ?? ''
    if (name.length === 12 && name.toLowerCase() === 'content-type') {
      return raw[i + 1] ?? ''
    }
  }
  return ''
}

/**
 * The endpoint as a URL and the character set, with `timeoutMs` and `maxSockets` checked; `what`
 * names the caller in the errors (`the Conax client`, `the CA reader`).
 */
export function checkConnection(
  options: ConaxClientOptions & { readonly maxSockets?: number },
  what: string,
): { url: URL; charset: CharacterSet } {
  const url = URL.canParse(options.endpoint) ? new URL(options.endpoint) : null
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    throw new TypeError(
      `Failed to create ${what}: endpoint '${options.endpoint}' is not an http(s) URL.`,
    )
  }
  for (const [name, value] of [
    ['timeoutMs', options.timeoutMs],
    ['maxSockets', options.maxSockets ?? 1],
  ] as const) {
    if (!Number.isInteger(value) || value < 1) {
      throw new RangeError(
        `Failed to create ${what}: ${name} must be a positive integer, not ${value}.`,
      )
    }
  }
  const charset = characterSetOf(options.characterSet ?? DEFAULT_CHARACTER_SET.name)
  if (!charset) {
    throw new RangeError(
      `Failed to create ${what}: character set '${options.characterSet ?? ''}' is not supported. Use one of ${CHARACTER_SET_LABELS.join(', ')}.`,
    )
  }
  return { url, charset }
}
