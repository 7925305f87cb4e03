import type { ModelRules } from './types.js'

/** Formats and limits of the wire contract (section 2), as pure predicates. */
export const MAIL_MAX_LENGTH = 141
export const BARK_MAX_LENGTH = 129
export const REPETITION_INTERVAL_MIN = 10
export const REPETITION_INTERVAL_MAX = 2550
export const REPETITION_INTERVAL_STEP = 10
export const DEFAULT_BARK_DURATION_SECONDS = 20
export const DEFAULT_FINGERPRINT_DURATION_SECONDS = 10
export const DEFAULT_FINGERPRINT_HEIGHT = 12

const CA_CLIENT_ID = /^\d{11}$/
const PAIRING_MODULE_ID = /^\d{1,20}$/
const PRODUCT_ID_LENIENT = /^[A-Za-z0-9_-]{1,32}$/
const PRODUCT_ID_DIGITS = /^\d{1,32}$/
const PIN = /^\d{4}$/

export const isCaClientId = (value: string): boolean => CA_CLIENT_ID.test(value)
export const isPairingModuleId = (value: string): boolean => PAIRING_MODULE_ID.test(value)
export const isPin = (value: string): boolean => PIN.test(value)

const PRODUCT_ID: Readonly<Record<ModelRules['productIdFormat'], RegExp>> = {
  lenient: PRODUCT_ID_LENIENT,
  digits: PRODUCT_ID_DIGITS,
}

/** A ProductId of the profile's format (`productIdFormat`). */
export function isProductId(value: string, format: ModelRules['productIdFormat']): boolean {
  return PRODUCT_ID[format].test(value)
}

export function isDistributor(value: string): boolean {
  return value.length >= 1 && value.length <= 32
}

/** Length of a message as the profile counts it: Unicode characters or UTF-8 bytes. */
export function messageLength(message: string, unit: ModelRules['messageLengthUnit']): number {
  switch (unit) {
    case 'utf8-bytes': {
      let bytes = 0
      for (const char of message) {
        const code = char.codePointAt(0) ?? 0
        bytes += code < 0x80 ? 1 : code < 0x800 ? 2 : code < 0x10000 ? 3 : 4
      }
      return bytes
    }
    case 'characters': {
      let chars = 0
      for (const _ of message) {
        chars++
      }
      return chars
    }
  }
}

/** The repeating-bark interval rule: 10 to 2550 seconds in steps of 10. */
export function isRepetitionInterval(seconds: number): boolean {
  return (
    seconds >= REPETITION_INTERVAL_MIN &&
    seconds <= REPETITION_INTERVAL_MAX &&
    seconds % REPETITION_INTERVAL_STEP === 0
  )
}
