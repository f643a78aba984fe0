import { ApplicationFailure } from '@temporalio/common';
import { activityInputProblem, type ActivityName } from '../src/contract/activity-schemas';
import { BbmError, NON_RETRYABLE_CODES } from '../src/errors';

/**
 * Codes a retry cannot fix, from the error-policy table (src/errors.ts). Everything else
 * (WORK_FAILED, connection errors, timeouts) is left to the activity's retry policy.
 * WORK_FUNCTION_NOT_FOUND and LOCK_TIMEOUT are non-retryable on purpose: the workflow handles
 * them by waiting visibly, then trying again.
 */
const NON_RETRYABLE = new Set<string>(NON_RETRYABLE_CODES);

/** Turn a BbmError into an ApplicationFailure whose `type` is the stable code. Other errors pass through. */
export function toFailure(err: unknown): unknown {
  if (!(err instanceof BbmError)) return err;
  return ApplicationFailure.create({
    type: err.code,
    message: err.message,
    nonRetryable: NON_RETRYABLE.has(err.code),
    details: [err.details],
  });
}

/** Run `fn`, converting a BbmError into a typed ApplicationFailure. */
export async function adapt<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw toFailure(err);
  }
}

/**
 * Refuse an input that does not fit the activity's schema (src/contract/activity-schemas.ts)
 * with a non-retryable INVALID_INPUT naming the field, before the activity does anything.
 */
export function checkInput(activity: ActivityName, input: unknown): void {
  const problem = activityInputProblem(activity, input);
  if (problem) throw toFailure(new BbmError(problem.code, `${problem.message}.`, { activity, field: problem.path.join('.') }));
}
