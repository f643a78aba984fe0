import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { activityInputProblem, type ActivityName } from '../src/contract/activity-schemas';
import { isConnectionError } from '../src/db/connection-errors';
import { BbmError, ErrorCode, NON_RETRYABLE_CODES } from '../src/errors';

/**
 * Codes a retry cannot fix, from the error-policy table (src/errors.ts). Everything else
 * (WORK_FAILED, NO_PROGRESS, connection errors, timeouts) is left to the activity's retry policy.
 * WORK_FUNCTION_NOT_FOUND, LOCK_TIMEOUT, LEASE_LOST and STALE_STATE are non-retryable on purpose:
 * the workflow handles them (it waits visibly, or drops what it carried and finds again).
 */
const NON_RETRYABLE = new Set<string>(NON_RETRYABLE_CODES);

/**
 * Retry delay after a lost database connection: short and bounded, whatever the policy's
 * exponential backoff has reached, so work resumes within seconds of the database's return
 * (a 30 s backoff cap once cost 90 s). Grows a little with the attempt and is jittered, so many
 * repositories do not reconnect in lockstep to a server that is just starting.
 */
export function databaseRetryDelayMs(attempt: number, random: number = Math.random()): number {
  const base = Math.min(500 * Math.max(1, attempt), 3_000);
  return Math.round(base * (0.8 + 0.4 * random));
}

/**
 * Turn a BbmError into an ApplicationFailure whose `type` is the stable code, and a lost database
 * connection into a retryable CANNOT_CONNECT with a short next-retry delay. Other errors pass through.
 */
export function toFailure(err: unknown, attempt = 1): unknown {
  if (err instanceof BbmError)
    return ApplicationFailure.create({
      type: err.code,
      message: err.message,
      nonRetryable: NON_RETRYABLE.has(err.code),
      details: [err.details],
    });
  if (isConnectionError(err))
    return ApplicationFailure.create({
      type: ErrorCode.CANNOT_CONNECT,
      message: `The database connection was lost or refused (${(err as Error).message}); retrying shortly.`,
      nextRetryDelay: databaseRetryDelayMs(attempt),
      cause: err as Error,
    });
  return err;
}

/** Run `fn`, converting a BbmError or a lost connection into a typed ApplicationFailure. */
export async function adapt<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw toFailure(err, currentAttempt());
  }
}

function currentAttempt(): number {
  try {
    return Context.current().info.attempt;
  } catch {
    return 1; // not inside an activity (a direct call)
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
