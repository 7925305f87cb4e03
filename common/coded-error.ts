/**
 * The one error base both servers (the simulator and the adapter) build their own errors on: a
 * stable `code` a program can branch on, the HTTP status an API answers it with, a message that
 * says what failed and why, and optionally a `hint` (what to do about it) and `details` (data for
 * programs). Code branches on `code` (or `instanceof`), never on the message text.
 */

/** How a {@link CodedError} is shown to a client: the `error` member of a JSON answer. */
export interface CodedErrorJson {
  readonly code: string
  readonly message: string
  readonly hint?: string
  readonly details?: Record<string, unknown>
}

/** The optional parts of a {@link CodedError}. */
export interface CodedErrorOptions {
  /** What to do about it, when the message does not already say. */
  readonly hint?: string | undefined
  /** Data for programs (ids, limits), shown as they are. */
  readonly details?: Record<string, unknown> | undefined
  /** The error this one was made from. */
  readonly cause?: unknown
}

/** An error with a stable code and the HTTP status it answers with. */
export class CodedError<Code extends string = string> extends Error {
  override readonly name: string = 'CodedError'
  readonly code: Code
  readonly httpStatus: number
  // Declared, not initialised: an error without a hint has no `hint` property at all.
  declare readonly hint?: string
  declare readonly details?: Record<string, unknown>

  constructor(code: Code, httpStatus: number, message: string, options: CodedErrorOptions = {}) {
    super(message, options.cause === undefined ? {} : { cause: options.cause })
    this.code = code
    this.httpStatus = httpStatus
    if (options.hint !== undefined) {
      this.hint = options.hint
    }
    if (options.details !== undefined) {
      this.details = options.details
    }
  }

  /** `{ code, message }`, with `hint` and `details` when there are any. */
  toJSON(): CodedErrorJson {
    return {
      code: this.code,
      message: this.message,
      ...(this.hint === undefined ? {} : { hint: this.hint }),
      ...(this.details === undefined ? {} : { details: this.details }),
    }
  }
}

/** The JSON body an HTTP API answers an error with: `{ "error": { code, message, hint?, details? } }`. */
export function errorBody(error: CodedError): { readonly error: CodedErrorJson } {
  return { error: error.toJSON() }
}

/** One line for a terminal: `<program>: <CODE>: <message>` and the hint, if any. */
export function errorLine(program: string, error: CodedError): string {
  const hint = error.hint === undefined ? '' : ` ${error.hint}`
  return `${program}: ${error.code}: ${error.message}${hint}`
}

/** Whether `error` is a {@link CodedError} (typed with its default code parameter). */
export function isCodedError(error: unknown): error is CodedError {
  return error instanceof CodedError
}
