import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ActivityFailure, ApplicationFailure, RetryState } from '@temporalio/common';
import { databaseRetryDelayMs, toFailure } from '../../activities/failures';
import { failureMessage, failureType, isStaleFailure, jobFailureOutcome } from '../../src/contract/failures';
import { isConnectionError } from '../../src/db/connection-errors';
import { BbmError, ErrorCode } from '../../src/errors';

/** What the workflow receives when an activity fails: an ActivityFailure around the activity's ApplicationFailure. */
function activityFailure(type: string, message = 'boom'): ActivityFailure {
  return new ActivityFailure(
    'Activity task failed',
    'executeJob',
    '1',
    RetryState.NON_RETRYABLE_FAILURE,
    'worker',
    ApplicationFailure.nonRetryable(message, type),
  );
}

test('the failure type and message are read from the activity failure inside the workflow error', () => {
  const err = activityFailure(ErrorCode.STALE_STATE, 'Job 51 no longer exists');
  assert.equal(failureType(err), 'STALE_STATE');
  assert.equal(failureMessage(err), 'Job 51 no longer exists');
  assert.equal(failureType(new Error('plain')), undefined);
});

test('each job failure code leads to its documented reaction, and unknown ones are retried later', () => {
  assert.equal(jobFailureOutcome(ErrorCode.MAX_JOB_RETRY), 'migration_failed');
  for (const code of [ErrorCode.STALE_STATE, ErrorCode.LEASE_LOST, ErrorCode.CANNOT_CONNECT])
    assert.equal(jobFailureOutcome(code), 'find_again');
  assert.equal(jobFailureOutcome(ErrorCode.WORK_FUNCTION_NOT_FOUND), 'wait_for_work_function');
  assert.equal(jobFailureOutcome(ErrorCode.INVALID_INPUT), 'fatal');
  assert.equal(jobFailureOutcome(ErrorCode.WORK_FAILED), 'retry_later');
  assert.equal(jobFailureOutcome(undefined), 'retry_later');
  assert.equal(isStaleFailure(ErrorCode.LEASE_LOST), true);
  assert.equal(isStaleFailure(ErrorCode.WORK_FAILED), false);
});

test('a vanished job is never INVALID_INPUT: STALE_STATE is handled by the workflow, not retried by Temporal', () => {
  const failure = toFailure(new BbmError(ErrorCode.STALE_STATE, 'Job 51 no longer exists')) as ApplicationFailure;
  assert.equal(failure.type, 'STALE_STATE');
  assert.equal(failure.nonRetryable, true);
});

test('lost or refused database connections are recognised by SQLSTATE, socket code or node-postgres message', () => {
  const withCode = (code: string) => Object.assign(new Error('x'), { code });
  for (const err of [
    withCode('57P01'),
    withCode('57P03'),
    withCode('08006'),
    withCode('ECONNREFUSED'),
    new Error('Connection terminated unexpectedly'),
    new Error('timeout exceeded when trying to connect'),
    new Error('wrapped', { cause: withCode('ECONNRESET') }),
  ])
    assert.equal(isConnectionError(err), true, `${err.message} ${(err as { code?: string }).code ?? ''}`);
  for (const err of [withCode('23505'), withCode('42P01'), new Error('syntax error'), undefined, 'ECONNREFUSED'])
    assert.equal(isConnectionError(err), false, String(err));
});

test('a lost connection becomes a retryable CANNOT_CONNECT whose next retry comes within seconds', () => {
  const failure = toFailure(
    Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }),
    7,
  ) as ApplicationFailure;
  assert.equal(failure.type, 'CANNOT_CONNECT');
  assert.equal(failure.nonRetryable, false);
  assert.ok(typeof failure.nextRetryDelay === 'number' && failure.nextRetryDelay <= 3_600, String(failure.nextRetryDelay));
  const plain = new Error('syntax error at or near "FROM"');
  assert.equal(toFailure(plain), plain, 'other errors pass through to the retry policy');
});

test('the database retry delay grows with the attempt, stays under four seconds, and is jittered', () => {
  assert.equal(databaseRetryDelayMs(1, 0.5), 500);
  assert.equal(databaseRetryDelayMs(2, 0.5), 1_000);
  assert.equal(databaseRetryDelayMs(100, 0.5), 3_000);
  assert.equal(databaseRetryDelayMs(100, 1), 3_600);
  assert.equal(databaseRetryDelayMs(1, 0), 400);
});
