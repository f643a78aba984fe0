import type { PoolClient } from 'pg';
import { BbmError, ErrorCode, isBbmError, leaseLost } from '../errors';
import { lockJobForExecution, type RunAheadClaim } from '../store/hot-path';
import { markJobFailed } from '../store/jobs';
import type { JobRow, MigrationRow } from '../store/types';
import { holdsLease } from '../store/leases';
import { setMigrationStatus } from '../store/migrations';
import { jobSize, tuneAfterJob, tunedAfterJob } from './batch-tuning';
import { FailureCode, JobStatus, MigrationStatus } from './constants';
import { parseTableName, quoteIdent, quoteTable, type QualifiedName } from './identifiers';
import { decimal } from './int8';
import { jobRows, type JobRows } from './job-rows';
import { finishWholeJob } from './find-ahead';
import { migrationProgress } from './progress';
import type { WorkFunction, WorkTarget } from './registry';
import { commitSubBatch, nextSubBatch, type MoreSubBatches, type SubBatch } from './sub-batches';
import type { ExecuteJobResult } from './types';
import type { ExecuteJobDeps, ExecuteJobInput } from './execute-job';

/**
 * The inside of a job's transaction (src/engine/execute-job.ts opens and ends it): statement (a)
 * and the checks, the work, and the bookkeeping of its outcome. Split in steps so a run-ahead
 * (src/engine/run-ahead.ts) can stop after the work and its claiming attempt finish the rest.
 */

/** A whole job's work, done and checked in its open transaction; what remains is statement (b) and COMMIT. */
export interface WorkDone {
  migration: MigrationRow;
  job: JobRow;
  table: QualifiedName;
  rows: bigint;
  /** The work's own time, ms. */
  durationMs: number;
}

/**
 * A run-ahead ready for its claim (workAhead): either the work succeeded and statement (b) ran
 * without its fence part, `finished` being what the attempt returns once the fence is confirmed
 * and the transaction committed; or the work failed (the transaction is back at its savepoint,
 * nothing of the work kept), and the claiming attempt records `failure` as its own and fails with
 * it, as if it had run the work.
 */
export type WorkAhead = WorkDone & ({ finished: ExecuteJobResult } | { failure: unknown });

/** The job's migration and job locked and checked, ready for its work; or the result to return without any. */
type Opened =
  { early: ExecuteJobResult } | { early?: undefined; migration: MigrationRow; job: JobRow; work: WorkFunction; table: QualifiedName };

/**
 * Statement (a) and the checks before any work: stale job (STALE_STATE), finished job, paused or
 * pause requested, fence (LEASE_LOST), work function registered (WORK_FUNCTION_NOT_FOUND).
 */
async function openJob(deps: ExecuteJobDeps, client: PoolClient, input: ExecuteJobInput): Promise<Opened> {
  // Migration first, then job: the order find and retry use too, so bbm's transactions never
  // deadlock. Holding the migration row also makes pause/resume wait for the job in flight.
  // Statement (a): the fence read, the migration and the job locked and read, in one round trip.
  const { fenced, migration, job } = await lockJobForExecution(client, input.jobId, input.fence);
  if (!migration || !job || (input.migrationId !== undefined && migration.id !== input.migrationId)) {
    // The database no longer has the job it handed out: it went back in time (a crash with
    // asynchronous commit, a failover, a restore). Nothing was done; the caller finds again.
    throw new BbmError(
      ErrorCode.STALE_STATE,
      `Job ${input.jobId} ${job ? 'now belongs to another migration' : 'no longer exists'}: the database lost it (a crash, failover or restore). Nothing was written; find the next job again.`,
      { jobId: input.jobId },
    );
  }
  if (job.status === JobStatus.FINISHED) {
    const progress = await migrationProgress(client, migration);
    return { early: { outcome: 'already_finished', rows: decimal(job.rowsAffected), durationMs: 0, attempts: job.attempts, progress } };
  }
  // A requested pause (src/store/pause-requests.ts) is read under the migration row lock, before
  // any work here: the job stops between two sub-batches, and resume continues after its cursor.
  const { pauseRequested } = migration;
  if (pauseRequested || (migration.status !== MigrationStatus.RUNNING && migration.status !== MigrationStatus.ACTIVE)) {
    const reason = pauseRequested
      ? 'a pause was requested; the job stopped before its next sub-batch with its cursor kept'
      : `migration is ${migration.status === MigrationStatus.PAUSED ? 'paused' : 'no longer runnable'}`;
    const progress = await migrationProgress(client, migration);
    return {
      early: {
        outcome: 'skipped',
        reason,
        ...(pauseRequested ? { pauseRequested } : {}),
        rows: '0',
        durationMs: 0,
        attempts: job.attempts,
        progress,
      },
    };
  }
  // The fence is confirmed again, with a lock, before COMMIT; this only spares work bound to roll back.
  if (input.fence && !fenced) throw leaseLost(input.fence);
  const work = deps.registry.get(migration.work);
  if (!work) {
    throw new BbmError(
      ErrorCode.WORK_FUNCTION_NOT_FOUND,
      `Work function "${migration.work}" is not registered on this worker (a rolling deploy?). The job was not attempted; it will be retried. ` +
        `Every worker on a task queue must register the same work functions (the same --work-module): a repository's jobs run on the worker that holds its workflow, which may be this one.`,
      { workName: migration.work, migration: migration.name },
    );
  }
  return { migration, job, work, table: parseTableName(migration.tableName) };
}

/** Lock the job's rows, run the work function and check its progress; returns the rows it changed (throws on any failure). */
async function runWork(
  client: PoolClient,
  opened: Exclude<Opened, { early: ExecuteJobResult }>,
  sub: SubBatch | null,
  signal: AbortSignal,
): Promise<{ rowsChanged: number; found: number | null }> {
  const { migration, job, table } = opened;
  // A cancel that lands between two statements has no statement to cancel: stop before the next.
  throwIfAborted(signal, job.id);
  const rows: JobRows = await jobRows(client, migration, job, table, sub);
  throwIfAborted(signal, job.id);
  const rowsChanged = rows.empty
    ? 0
    : await opened.work.run({
        client,
        table,
        quotedTable: quoteTable(table),
        column: migration.columnName,
        quotedColumn: quoteIdent(migration.columnName),
        start: sub ? sub.start : job.minValue,
        end: sub ? sub.end : job.maxValue,
        where: rows.where,
        batchSize: sub ? sub.limit : migration.batchSize,
        strategy: migration.batchingStrategy as WorkTarget['strategy'],
        args: migration.workArgs,
        signal,
      });
  if (!Number.isSafeInteger(rowsChanged) || rowsChanged < 0)
    throw new Error(`work function returned ${String(rowsChanged)}; it must return the number of rows changed`);
  await rows.checkProgress(rowsChanged);
  return { rowsChanged, found: rows.found };
}

/**
 * Run-ahead (src/engine/run-ahead.ts): in a transaction already begun, statement (a), the checks,
 * the job's rows, its work and statement (b) without its fence part (`finished`), exactly as
 * executeJob would, then stop with the transaction open.
 * Undefined when the job would not run as one whole transaction (finished, skipped, sub-batches):
 * the caller rolls back. A failure of statement (a) or the checks throws (the attempt then runs
 * the job from scratch and meets it itself); a failure of the work is returned in `failure`,
 * rolled back to the savepoint, for the claiming attempt to record. Nothing is recorded here.
 */
export async function workAhead(
  deps: ExecuteJobDeps,
  client: PoolClient,
  input: ExecuteJobInput,
  signal: AbortSignal,
): Promise<WorkAhead | undefined> {
  const opened = await openJob(deps, client, input);
  if (opened.early) return undefined;
  const { migration, job, table } = opened;
  if (await nextSubBatch(client, { table, column: migration.columnName }, migration, job)) return undefined;
  const started = performance.now();
  let done: WorkDone;
  try {
    const { rowsChanged } = await runWork(client, opened, null, signal);
    done = { migration, job, table, rows: BigInt(rowsChanged), durationMs: performance.now() - started };
  } catch (err) {
    if (signal.aborted) throw err;
    // Kept for the claiming attempt to record, so a failure seen here counts as an attempt's
    // failure exactly as without run-ahead (a work function that fails once, then succeeds).
    const durationMs = performance.now() - started;
    await client.query('ROLLBACK TO SAVEPOINT bbm_work');
    return { migration, job, table, rows: 0n, durationMs, failure: err };
  }
  // Statement (b) too, all but its fence, which it leaves for the claim to confirm (locking the
  // lease row until COMMIT) in the round trip of the COMMIT (claimRunAheadSql). Done here, the next
  // job's boundary lookup and bookkeeping run during the round trip through the workflow; the lease
  // row stays unlocked until the claim, so a takeover never waits on a run-ahead. A failure here
  // throws: the attempt runs the job from scratch.
  throwIfAborted(signal, job.id);
  const claim = input.fence && { fence: input.fence, leaseTtlMs: input.findAhead?.leaseTtlMs, exclude: input.findAhead?.exclude ?? [] };
  return { ...done, finished: await finishWorkDone(client, done, { ...input, fence: undefined, claim }) };
}

/**
 * A whole job after its work: the tuner's decision and statement (b) (outcome, progress, fence
 * confirmed, find-ahead). The caller commits. Throws LEASE_LOST when the fence no longer holds.
 */
export function finishWorkDone(
  client: PoolClient,
  done: WorkDone,
  input: ExecuteJobInput & { claim?: RunAheadClaim },
): Promise<ExecuteJobResult> {
  const { migration, job, table, rows, durationMs } = done;
  // The next job's size, written by the closing statement (b) itself: the tuned size is exactly as
  // durable as this job, and a job found ahead in the same statement already gets it.
  const tuned = tunedAfterJob(migration, { ok: true, rows: jobSize(migration, job, rows), durationMs });
  return finishWholeJob(
    client,
    { migration: tuned ? { ...migration, batchSize: tuned.batchSize } : migration, job, table, tuned },
    input,
    rows,
    durationMs,
  );
}

/**
 * After a failed attempt's work was rolled back to the savepoint: take statement (a)'s locks again
 * (the rollback dropped them), record the failure (attempts + 1, code, message), tell the tuner,
 * fail the migration when the attempts reach the limit, confirm the fence (throws LEASE_LOST), and
 * return the error to throw once this is committed: MAX_JOB_RETRY, NO_PROGRESS or WORK_FAILED.
 */
export async function recordFailure(
  client: PoolClient,
  { migration, job }: { migration: MigrationRow; job: JobRow },
  input: ExecuteJobInput,
  err: unknown,
  durationMs: number,
): Promise<BbmError> {
  // The rollback also dropped the row locks of statement (a), taken after the savepoint: take
  // them again, migration first, before recording the failure.
  await lockJobForExecution(client, input.jobId, undefined);
  const noProgress = isBbmError(err, ErrorCode.NO_PROGRESS);
  const message = (err as Error).message ?? String(err);
  const counted = await markJobFailed(client, job.id, noProgress ? FailureCode.NO_PROGRESS : FailureCode.UNKNOWN, message, durationMs);
  // The size never grows right after a failure: the tuner hears of it with the failure record.
  await tuneAfterJob(client, migration, { ok: false, rows: 0, durationMs });
  const exhausted = counted >= input.maxJobAttempts;
  if (exhausted) await setMigrationStatus(client, migration.id, MigrationStatus.FAILED, FailureCode.MAX_JOB_RETRY);
  if (input.fence && !(await holdsLease(client, input.fence))) throw leaseLost(input.fence);
  const details = { jobId: job.id, migration: migration.name, attempts: job.attempts + 1 };
  return exhausted
    ? new BbmError(
        ErrorCode.MAX_JOB_RETRY,
        `Job ${job.id} of "${migration.name}" failed ${counted} times (limit ${input.maxJobAttempts}); the migration is failed. Last error: ${message}. Fix the cause, then retry the migration.`,
        details,
      )
    : new BbmError(
        noProgress ? ErrorCode.NO_PROGRESS : ErrorCode.WORK_FAILED,
        `Job ${job.id} of "${migration.name}" failed (attempt ${counted} of ${input.maxJobAttempts}): ${message}`,
        details,
      );
}

/**
 * Returns the result to commit, a request for the job's next sub-batch, or a BbmError to throw
 * after committing the failure record.
 */
export async function runInTransaction(
  deps: ExecuteJobDeps,
  client: PoolClient,
  input: ExecuteJobInput,
  signal: AbortSignal,
  startedAt: number,
): Promise<ExecuteJobResult | MoreSubBatches | BbmError> {
  const opened = await openJob(deps, client, input);
  if (opened.early) return opened.early;
  const { migration, job, table } = opened;
  // null: the whole job in this transaction, as without sub-batches.
  const sub = await nextSubBatch(client, { table, column: migration.columnName }, migration, job);

  const started = performance.now();
  let rowsChanged: number;
  let found: number | null;
  try {
    ({ rowsChanged, found } = await runWork(client, opened, sub, signal));
  } catch (err) {
    if (signal.aborted) throw err;
    const durationMs = performance.now() - started;
    await client.query('ROLLBACK TO SAVEPOINT bbm_work');
    return recordFailure(client, { migration, job }, input, err, durationMs);
  }
  if (sub) {
    // The job's time so far in this execution, pauses between its sub-batches included.
    const committed = await commitSubBatch(
      client,
      migration,
      job,
      sub,
      { rows: BigInt(rowsChanged), found },
      performance.now() - startedAt,
    );
    if (committed.outcome === 'finished') {
      // Working time: the pauses before this execution's sub-batches are not the batch size's doing.
      const workMs = Math.max(0, committed.durationMs - job.subBatches * migration.subBatchPauseMs);
      await tuneAfterJob(client, migration, { ok: true, rows: jobSize(migration, job, BigInt(committed.rows)), durationMs: workMs });
    }
    if (input.fence && !(await holdsLease(client, input.fence))) throw leaseLost(input.fence);
    return committed;
  }
  return finishWorkDone(client, { migration, job, table, rows: BigInt(rowsChanged), durationMs: performance.now() - started }, input);
}

/** CANCELLED when `signal` has fired (the attempt's cancellation, or a run-ahead abandoned). */
function throwIfAborted(signal: AbortSignal, jobId: string): void {
  if (signal.aborted) throw new BbmError(ErrorCode.CANCELLED, 'The job was cancelled; its work was rolled back.', { jobId });
}
