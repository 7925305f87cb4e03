import { CodedError } from '../../../common/coded-error.js'

/** Stable codes of what stops one scenario on a CA: verdict `error`, exit code 2. */
export type ScenarioRunErrorCode =
  | 'CA_UNREACHABLE'
  | 'CA_SETUP_REFUSED'
  | 'CA_ADMIN_FAILED'
  | 'CA_DRIFT_FAILED'
  | 'CA_DRIFT_UNSUPPORTED'

/**
 * An error that stops one scenario (the CA could not be set up, reached or made to drift). The
 * HTTP status is the one a gateway would answer: the CA, not the scenario, is at fault.
 */
export class ScenarioRunError extends CodedError<ScenarioRunErrorCode> {
  override readonly name = 'ScenarioRunError'

  constructor(code: ScenarioRunErrorCode, message: string) {
    super(code, 502, message)
  }
}
