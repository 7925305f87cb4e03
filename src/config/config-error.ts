import { CodedError } from '../../common/coded-error.js'

/** Stable codes of configuration errors: the file could not be read or parsed, or its content breaks a rule. */
export type ConfigErrorCode = 'CONFIG_INVALID' | 'CONFIG_UNREADABLE'

/** One broken rule: the field by dotted path (`''` is the whole file) and the rule in plain words. */
export interface ConfigIssue {
  readonly path: string
  readonly rule: string
}

/** A 1-based position in the configuration file, when the parser reports one. */
export interface ConfigLocation {
  readonly line: number
  readonly column: number
}

/** Options of a {@link ConfigError}. */
export interface ConfigErrorOptions {
  readonly issues?: readonly ConfigIssue[] | undefined
  readonly location?: ConfigLocation | null | undefined
  readonly cause?: unknown
}

/**
 * A configuration file that cannot be used (HTTP status 500: the server's own configuration). The message is meant for the operator as it is (file,
 * fields, rules, what to do); `issues` and `location` carry the same facts for programs.
 */
export class ConfigError extends CodedError<ConfigErrorCode> {
  override readonly name = 'ConfigError'
  readonly issues: readonly ConfigIssue[]
  readonly location: ConfigLocation | null

  constructor(code: ConfigErrorCode, message: string, options: ConfigErrorOptions = {}) {
    super(code, 500, message, { cause: options.cause })
    this.issues = options.issues ?? []
    this.location = options.location ?? null
  }

  /** The serialisable form, without the stack or the cause (which may quote file content). */
  override toJSON(): {
    name: string
    code: ConfigErrorCode
    message: string
    issues: readonly ConfigIssue[]
    location: ConfigLocation | null
  } {
    return {
      name: this.name,
      code: this.code,
      message: this.message,
      issues: this.issues,
      location: this.location,
    }
  }
}
