import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { isConnectionError } from '../src/db/connection-errors';
import { BbmError, ErrorCode } from '../src/errors';

/**
 * Codes a retry cannot fix. Everything else (WORK_FAILED, NO_PROGRESS, connection errors,
 * timeouts) is left to the activity's retry policy. WORK_FUNCTION_NOT_FOUND, LOCK_TIMEOUT,
 * LEASE_LOST and STALE_STATE are non-retryable here on purpose: the workflow handles them (it
 * waits visibly, or drops what it carried and finds again).
 */
const NON_RETRYABLE = new Set<string>([
  ErrorCode.INVALID_INPUT,
  ErrorCode.INVALID_IDENTIFIER,
  ErrorCode.INVALID_TABLE,
  ErrorCode.INVALID_COLUMN,
  ErrorCode.INVALID_JOB_SIGNATURE,
  ErrorCode.INVALID_BATCHING_STRATEGY,
  ErrorCode.INVALID_RANGE,
  ErrorCode.INVALID_BATCH_SIZE,
  ErrorCode.INVALID_SUB_BATCH_SIZE,
  ErrorCode.INVALID_SUB_BATCH_PAUSE,
  ErrorCode.MISSING_NULL_INDEX,
  ErrorCode.MISSING_INDEX,
  ErrorCode.MISSING_UNIQUE_KEY,
  ErrorCode.PAGINATION_COLUMN_NOT_UNIQUE,
  ErrorCode.MIGRATION_EXISTS,
  ErrorCode.MIGRATION_NOT_FOUND,
  ErrorCode.INVALID_STATE,
  ErrorCode.MAX_JOB_RETRY,
  ErrorCode.LEASE_LOST,
  ErrorCode.STALE_STATE,
  ErrorCode.LOCK_TIMEOUT,
  ErrorCode.WORK_FUNCTION_NOT_FOUND,
  ErrorCode.CANCELLED,
]);

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
