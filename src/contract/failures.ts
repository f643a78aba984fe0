import { ApplicationFailure } from '@temporalio/common';
import { ErrorCode, JOB_FAILING_CODES } from '../errors';

/**
 * Reading the failures activities raise (an ActivityFailure wrapping an ApplicationFailure whose
 * `type` is bbm's stable error code), and what the repository workflow does about each code when
 * a job did not complete. Pure: the workflow, the CLI and unit tests share it.
 */

/** The stable code of the first ApplicationFailure in `err`'s cause chain, or undefined. */
export function failureType(err: unknown): string | undefined {
  for (let e: unknown = err; e && typeof e === 'object'; e = (e as { cause?: unknown }).cause) {
    if (e instanceof ApplicationFailure) return e.type ?? undefined;
  }
  return undefined;
}

/** The message of the innermost useful failure: the activity's own, not Temporal's "Activity task failed". */
export function failureMessage(err: unknown): string {
  const cause = (err as { cause?: { message?: string } } | undefined)?.cause;
  return cause?.message ?? (err as Error | undefined)?.message ?? String(err);
}

/**
 * What the batch loop does when a job did not complete:
 * - `migration_failed`: its attempts are exhausted; pass over the migration and carry on;
 * - `find_again`: what the workflow carried is stale (the job or the lease is gone from the
 *   database, or the database was unreachable for longer than the job's retries): drop it, take
 *   the lease again and find the next job, as soon as the database answers;
 * - `wait_for_work_function`: this worker lacks the function (a rolling deploy): wait visibly;
 * - `fatal`: bad input no retry can fix (JOB_FAILING_CODES in src/errors.ts): fail the workflow;
 * - `retry_later`: anything else transient (timeouts, a worker killed repeatedly): back off, then resume.
 */
export type JobFailureOutcome = 'migration_failed' | 'find_again' | 'wait_for_work_function' | 'fatal' | 'retry_later';

const OUTCOMES: Readonly<Partial<Record<string, JobFailureOutcome>>> = Object.freeze({
  [ErrorCode.MAX_JOB_RETRY]: 'migration_failed',
  [ErrorCode.LEASE_LOST]: 'find_again',
  [ErrorCode.STALE_STATE]: 'find_again',
  [ErrorCode.CANNOT_CONNECT]: 'find_again',
  [ErrorCode.WORK_FUNCTION_NOT_FOUND]: 'wait_for_work_function',
  // The bad-input codes of the error-policy table: the same job with the same input cannot succeed.
  ...Object.fromEntries(JOB_FAILING_CODES.map((code) => [code, 'fatal'])),
});

/** The batch loop's reaction to a job failure of type `type` (see JobFailureOutcome). */
export function jobFailureOutcome(type: string | undefined): JobFailureOutcome {
  return (type !== undefined ? OUTCOMES[type] : undefined) ?? 'retry_later';
}

/** Failures of find or of taking the lease that mean "what I carried is stale: start the batch again". */
export function isStaleFailure(type: string | undefined): boolean {
  return type === ErrorCode.LEASE_LOST || type === ErrorCode.STALE_STATE;
}
