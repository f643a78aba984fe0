import { Client, type Pool, type PoolClient } from 'pg';
import { BbmError, ErrorCode, leaseLost } from '../errors';
import { beginJobSql, claimRunAheadFailure, claimRunAheadSql } from '../store/hot-path';
import type { FindAheadInput } from './find-ahead';
import { recordFailure, runInTransaction, type WorkAhead } from './job-transaction';
import type { WorkRegistry } from './registry';
import type { RunAheads } from './run-ahead';
import { eachSubBatch, type MoreSubBatches, type SubBatchProgress } from './sub-batches';
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
  /**
   * Job time (ms) left before the caller's next health check: when this job's work takes at least
   * this long, a check falls due before the next job, whose work must wait for its verdict, so
   * it is not run ahead. @default no limit
   */
  healthCheckInMs?: number;
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
      await client.query(beginJobSql(input.jobTimeoutMs));
      const outcome = await runInTransaction(deps, client, input, signal, startedAt);
      // Cancelled (or its run evicted) after the last statement: roll back rather than commit.
      if (signal.aborted)
        throw new BbmError(ErrorCode.CANCELLED, 'The job was cancelled; its work was rolled back.', { jobId: input.jobId });
      await client.query('COMMIT');
      if (outcome instanceof BbmError) throw outcome;
      return outcome;
    };
    // undefined: no run-ahead, or one whose job found ahead findJob would no longer pick (rolled back): run the job here.
    result = claimed ? await commitClaimed(client, claimed.done, input, signal) : undefined;
    result ??= await eachSubBatch(runOne, { signal, jobTimeoutMs: input.jobTimeoutMs, db: client, onSubBatch: input.onSubBatch });
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
    // A health check falls due before the next job (its work must wait for the verdict).
    const checkDue = input.healthCheckInMs !== undefined && (result?.durationMs ?? 0) >= input.healthCheckInMs;
    // Committed with its successor found: the connection goes on to the successor's run-ahead.
    const handedOver =
      !broken &&
      !cancelling &&
      next &&
      input.runAhead &&
      !checkDue &&
      runAheads &&
      fence &&
      runAheads.start(deps, client, { ...input, jobId: next.jobId, migrationId: next.migrationId, fence }, epoch);
    if (!handedOver) client.release(broken ?? (cancelling ? new Error('a cancel was sent to this connection; discarded') : undefined));
  }
}

/**
 * A claimed run-ahead's remaining steps. When its work finished: the abort check, then one round
 * trip that confirms the fence and commits (claimRunAheadSql; throws LEASE_LOST when the fence no
 * longer holds, with nothing committed). When its work failed, the failure is recorded and
 * committed as this attempt's, and thrown. Undefined (rolled back, nothing committed) when the job
 * its (b) found ahead is one findJob would no longer pick: the caller runs the job from scratch,
 * as without run-ahead.
 */
async function commitClaimed(
  client: PoolClient,
  done: WorkAhead,
  input: ExecuteJobInput,
  signal: AbortSignal,
): Promise<ExecuteJobResult | undefined> {
  if ('finished' in done) {
    if (signal.aborted) throw new BbmError(ErrorCode.CANCELLED, 'The job was cancelled; its work was rolled back.', { jobId: input.jobId });
    try {
      // Without a fence the run-ahead's (b) left nothing to check (claims always carry one).
      await client.query(input.fence ? claimRunAheadSql() : 'COMMIT');
    } catch (err) {
      const failure = claimRunAheadFailure(err);
      if (failure === 'lease_lost' && input.fence) throw leaseLost(input.fence);
      if (failure !== 'ahead_moved') throw err;
      await client.query('ROLLBACK');
      return undefined;
    }
    return done.finished;
  }
  const outcome = await recordFailure(client, done, input, done.failure, done.durationMs);
  if (signal.aborted) throw new BbmError(ErrorCode.CANCELLED, 'The job was cancelled; its work was rolled back.', { jobId: input.jobId });
  await client.query('COMMIT');
  if (outcome instanceof BbmError) throw outcome;
  return outcome;
}

/**
 * Stop the statement running on `client` from another connection (cancellation of an in-flight
 * job or run-ahead). When the pool has no connection to spare (its last one may be `client`
 * itself, with a pool of one), a connection of its own is opened for the cancel, which would
 * otherwise wait for the very statement it cancels.
 */
export async function cancelBackend(pool: Pool, client: PoolClient): Promise<void> {
  const pid = (client as unknown as { processID?: number }).processID;
  if (!pid) return;
  const cancel = 'SELECT pg_cancel_backend($1)';
  if (pool.idleCount > 0 || pool.totalCount < (pool.options.max ?? 10)) {
    await pool.query(cancel, [pid]).catch(() => undefined);
    return;
  }
  const own = new Client(pool.options);
  own.on('error', () => undefined);
  try {
    await own.connect();
    await own.query(cancel, [pid]);
  } catch {
    // A cancel is best effort: the statement's statement_timeout still ends it.
  } finally {
    await own.end().catch(() => undefined);
  }
}
