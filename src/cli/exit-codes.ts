import { ERROR_POLICY, ExitCode, type ErrorCode } from '../errors';

/**
 * The CLI's exit codes: the contract with scripts and CI jobs (documented in the README). Each
 * error code's exit code is in the error-policy table (src/errors.ts); anything bbm did not
 * anticipate is 1.
 */
export { ExitCode };

export function exitCodeFor(code: ErrorCode): ExitCode {
  return ERROR_POLICY[code]?.exit ?? ExitCode.UNEXPECTED;
}
