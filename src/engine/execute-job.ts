import type { Pool, PoolClient } from 'pg';
import { BbmError, ErrorCode, isBbmError, leaseLost } from '../errors';
import { lockJobForExecution } from '../store/hot-path';
import { markJobFailed } from '../store/jobs';
import type { JobRow, MigrationRow } from '../store/types';
import { holdsLease } from '../store/leases';
import { setMigrationStatus } from '../store/migrations';
import { jobSize, tuneAfterJob, tunedAfterJob } from './batch-tuning';
import { FailureCode, JobStatus, MigrationStatus } from './constants';
import { parseTableName, quoteIdent, quoteTable, type QualifiedName } from './identifiers';
import { decimal } from './int8';
import { jobRows, type JobRows } from './job-rows';
import { finishWholeJob, type FindAheadInput } from './find-ahead';
import { migrationProgress } from './progress';
import type { WorkFunction, WorkRegistry, WorkTarget } from './registry';
import type { RunAheads } from './run-ahead';
import { commitSubBatch, eachSubBatch, nextSubBatch, type MoreSubBatches, type SubBatch, type SubBatchProgress } from './sub-batches';
import type { ExecuteJobResult, FenceToken } from './types';

export interface ExecuteJobInput {
  /** The job's id, as a decimal string. */
  jobId: string;
  maxJobAttempts: number;
  /** statement_timeout for the job's statements, so runaway work ends even if its caller is gone. */
  jobTimeoutMs: number;
  /** Confirmed (and share-locked) just before COMMIT. Omit only outside the workflow. */
  fence?: FenceToken;
  /**
   * The migration the caller found the job for. When the job now belongs to another one (its id
   * was handed out again after the database lost the original), the job is refused as stale.
   */
  migrationId?: string;
  /**
   * Find-ahead: when the job finishes, also find the next job in the same transaction (and extend
   * the lease as findJob would), returned as `next` (null: none found this way, call findJob).
   */
  findAhead?: FindAheadInput;
  /** Open the next job's run-ahead after this one commits (deps.runAheads, needs a fence and find-ahead). @default false */
  runAhead?: boolean;
  /** Called after each committed sub-batch that leaves more of the job to do (the activity heartbeats). */
  onSubBatch?: (progress: SubBatchProgress) => void;
}

export interface ExecuteJobDeps {
  pool: Pool;
  registry: WorkRegistry;
  /**
   * The worker's run-aheads (src/engine/run-ahead.ts): a job with a fence first claims the one
   * opened for it, and a whole job that found its successor opens the successor's when
   * `input.runAhead` is set. Absent: neither.
   */
  runAheads?: RunAheads;
}

/**
 * Run one job: the work function and the job's bookkeeping commit in ONE transaction, with the
 * fence confirmed last. So a batch is either applied and recorded, or neither: a crash, a lost
 * lease or a cancellation rolls both back, and a job recorded as finished is never run again.
 *
 * A failing attempt rolls the work back to a savepoint and records the failure (attempts + 1,
 * error code, message); when the attempts reach the limit the job and its migration fail with
 * max_job_retry and a MAX_JOB_RETRY error is thrown, otherwise WORK_FAILED (retryable).
 *
 * NULL strategy: progress is measured on the table, not taken from the work's row count. The
 * engine locks the job's rows (by primary key) before the work and counts, in the same
 * transaction after it, how many of them still have the column NULL. Any such row would be found
 * again by the next job, so the attempt fails with NO_PROGRESS (job failure code no_progress,
 * message naming the count) and is rolled back whole, like any failed attempt; at the attempt
 * limit the migration fails with max_job_retry. This holds for every work function.
 *
 * With sub-batches (a migration's sub-batch size below its batch size) each sub-batch is such a
 * transaction: its work commits with the job's cursor, fenced the same way, so row locks last one
 * sub-batch and a retry continues after the last committed one (src/engine/sub-batches.ts).
 */
export async function executeJob(
  deps: ExecuteJobDeps,
  input: ExecuteJobInput,
  signal: AbortSignal = new AbortController().signal,
): Promise<ExecuteJobResult> {
  const { runAheads } = deps;
  const fence = input.fence;
  // Captured first: another activity of the repository running meanwhile forbids opening a run-ahead after this job.
  const epoch = runAheads && fence ? runAheads.epoch(fence.repository) : 0;
  const claimed = runAheads && fence ? await runAheads.claim({ ...input, fence }, signal) : undefined;
  if (signal.aborted && !claimed)
    throw new BbmError(ErrorCode.CANCELLED, 'The job was cancelled; its work was rolled back.', { jobId: input.jobId });
  const client = claimed?.client ?? (await deps.pool.connect());
  let broken: Error | undefined;
  let result: ExecuteJobResult | undefined;
  // A connection lost mid-job (backend killed, server restart) surfaces as the failing query's
  // error; the client's 'error' event, unheard while checked out, would crash the process.
  const onClientError = (): void => undefined;
  client.on('error', onClientError);
  let cancelling: Promise<void> | undefined;
  const onAbort = (): void => {
    cancelling = cancelBackend(deps.pool, client);
  };
  signal.addEventListener('abort', onAbort, { once: true });
  const startedAt = performance.now();
  try {
    // One transaction for the job, or one per sub-batch (src/engine/sub-batches.ts).
    const runOne = async (): Promise<ExecuteJobResult | MoreSubBatches> => {
      // One round trip for all three; the timeout is an integer we computed, not user text. The
      // savepoint the work rolls back to is taken here to save a round trip; a failed attempt takes
      // the locks again after rolling back to it (runInTransaction).
      await client.query(`BEGIN; SET LOCAL statement_timeout = ${Math.max(1, Math.floor(input.jobTimeoutMs))}; SAVEPOINT bbm_work`);
      const outcome = await runInTransaction(deps, client, input, signal, startedAt);
      // Cancelled (or its run evicted) after the last statement: roll back rather than commit.
      if (signal.aborted)
        throw new BbmError(ErrorCode.CANCELLED, 'The job was cancelled; its work was rolled back.', { jobId: input.jobId });
      await client.query('COMMIT');
      if (outcome instanceof BbmError) throw outcome;
      return outcome;
    };
    result = claimed
      ? await commitClaimed(client, claimed.done, input, signal)
      : await eachSubBatch(runOne, { signal, jobTimeoutMs: input.jobTimeoutMs, db: client, onSubBatch: input.onSubBatch });
    return result;
  } catch (err) {
    try {
      await client.query('ROLLBACK');
    } catch (rollbackError) {
      broken = rollbackError as Error;
    }
    if (signal.aborted && !(err instanceof BbmError))
      throw new BbmError(ErrorCode.CANCELLED, 'The job was cancelled; its work was rolled back.', { jobId: input.jobId });
    throw err;
  } finally {
    signal.removeEventListener('abort', onAbort);
    // pg_cancel_backend names a backend, not a statement: a cancel still in flight would cancel
    // whatever the next borrower of this pooled connection runs. Wait for it, and never hand a
    // connection that was sent a cancel back to the pool.
    if (cancelling) await cancelling;
    client.off('error', onClientError);
    const next = result?.next;
    // Committed with its successor found: the connection goes on to the successor's run-ahead.
    const handedOver =
      !broken &&
      !cancelling &&
      next &&
      input.runAhead &&
      runAheads &&
      fence &&
      runAheads.start(deps, client, { ...input, jobId: next.jobId, migrationId: next.migrationId, fence }, epoch);
    if (!handedOver) client.release(broken ?? (cancelling ? new Error('a cancel was sent to this connection; discarded') : undefined));
  }
}

/** A claimed run-ahead's remaining steps: statement (b), the abort check, COMMIT. */
async function commitClaimed(client: PoolClient, done: WorkDone, input: ExecuteJobInput, signal: AbortSignal): Promise<ExecuteJobResult> {
  const result = await finishWorkDone(client, done, input);
  if (signal.aborted) throw new BbmError(ErrorCode.CANCELLED, 'The job was cancelled; its work was rolled back.', { jobId: input.jobId });
  await client.query('COMMIT');
  return result;
}

/** A whole job's work, done and checked in its open transaction; what remains is statement (b) and COMMIT. */
export interface WorkDone {
  migration: MigrationRow;
  job: JobRow;
  table: QualifiedName;
  rows: bigint;
  /** The work's own time, ms. */
  durationMs: number;
}

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
  const rows: JobRows = await jobRows(client, migration, job, table, sub);
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
 * the job's rows and its work, exactly as executeJob would, then stop with the transaction open.
 * Undefined when the job would not run as one whole transaction (finished, skipped, sub-batches):
 * the caller rolls back. Throws whatever executeJob's attempt would fail with; nothing is recorded.
 */
export async function workAhead(
  deps: ExecuteJobDeps,
  client: PoolClient,
  input: ExecuteJobInput,
  signal: AbortSignal,
): Promise<WorkDone | undefined> {
  const opened = await openJob(deps, client, input);
  if (opened.early) return undefined;
  const { migration, job, table } = opened;
  if (await nextSubBatch(client, { table, column: migration.columnName }, migration, job)) return undefined;
  const started = performance.now();
  const { rowsChanged } = await runWork(client, opened, null, signal);
  return { migration, job, table, rows: BigInt(rowsChanged), durationMs: performance.now() - started };
}

/**
 * A whole job after its work: the tuner's decision and statement (b) (outcome, progress, fence
 * confirmed, find-ahead). The caller commits. Throws LEASE_LOST when the fence no longer holds.
 */
export function finishWorkDone(client: PoolClient, done: WorkDone, input: ExecuteJobInput): Promise<ExecuteJobResult> {
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
 * Returns the result to commit, a request for the job's next sub-batch, or a BbmError to throw
 * after committing the failure record.
 */
async function runInTransaction(
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

/** Stop the statement running on `client` from another connection (cancellation of an in-flight job). */
export async function cancelBackend(pool: Pool, client: PoolClient): Promise<void> {
  const pid = (client as unknown as { processID?: number }).processID;
  if (pid) await pool.query('SELECT pg_cancel_backend($1)', [pid]).catch(() => undefined);
}
