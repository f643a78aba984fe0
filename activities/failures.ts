import { ApplicationFailure } from '@temporalio/common';
import { BbmError, ErrorCode } from '../src/errors';

/**
 * Codes a retry cannot fix. Everything else (WORK_FAILED, NO_PROGRESS, connection errors, timeouts) is left
 * to the activity's retry policy. WORK_FUNCTION_NOT_FOUND and LOCK_TIMEOUT are non-retryable
 * here on purpose: the workflow handles them by waiting visibly, then trying again.
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
  ErrorCode.LOCK_TIMEOUT,
  ErrorCode.WORK_FUNCTION_NOT_FOUND,
  ErrorCode.CANCELLED,
]);

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
