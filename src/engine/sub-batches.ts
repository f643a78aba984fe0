import { setTimeout as sleep } from 'node:timers/promises';
import { BbmError, ErrorCode } from '../errors';
import { finishSubBatchedJob, recordSubBatch, type SubBatchRecord } from '../store/sub-batches';
import { rowBoundary } from '../store/target';
import type { JobRow, MigrationRow, Queryable } from '../store/types';
import { BatchingStrategy } from './constants';
import type { QualifiedName } from './identifiers';
import { decimal } from './int8';
import { migrationProgress } from './progress';
import { span } from './range';
import type { ExecuteJobResult } from './types';

/**
 * Sub-batches: a job applied in parts that each commit, so row locks are held for one part only.
 *
 * Exactly-once rests on the job's cursor. Every sub-batch commits its work together with the
 * cursor (range strategies: the last id done; NULL strategy: the rows done) and the migration's
 * counters, in the transaction executeJob fences like any job, so a retry, a new lease holder or a
 * resume continues after the last committed sub-batch and never applies one twice.
 *
 * Range strategies (serial, distinct): a sub-batch runs from after the cursor to the
 * `subBatchSize`-th existing row of the job's range (for distinct, plus the other rows sharing
 * that last value). NULL strategy: a job is a budget of `batchSize` rows; each sub-batch locks the
 * next `subBatchSize` rows where the column IS NULL (src/engine/job-rows.ts), and the job finishes
 * when its budget is spent or a sub-batch finds fewer such rows than it asked for.
 *
 * Ids, bounds and row counts are `bigint` here, decimal strings once they leave the engine.
 */

/** The part of a job that one transaction applies. */
export interface SubBatch {
  /** Range strategies: inclusive bounds; null for the NULL strategy. */
  start: bigint | null;
  end: bigint | null;
  /** Rows the sub-batch may take: the `batchSize` the work function is given (NULL strategy: the rows locked). */
  limit: number;
  /** Range strategies: end - start + 1 (up to 2^64), added to the migration's covered ids; 0 for the NULL strategy. */
  span: bigint;
}

/** A committed sub-batch that did not finish its job: executeJob pauses, then runs the next one. */
export interface MoreSubBatches {
  outcome: 'more';
  pauseMs: number;
  migrationId: MigrationRow['id'];
  jobId: string;
  cursorId: bigint | null;
  /** The job's rows so far, over all sub-batches. */
  rows: bigint;
  subBatches: number;
  attempts: number;
}

/**
 * Reported after each committed sub-batch that leaves more to do (the activity heartbeats it, so
 * it is JSON: the cursor and the rows are decimal strings).
 */
export interface SubBatchProgress {
  jobId: string;
  /** Range strategies: the last id done; null for the NULL strategy. */
  cursorId: string | null;
  /** The job's rows so far, over all its sub-batches. */
  rows: string;
  subBatches: number;
}

/**
 * The next sub-batch of `job`, or null when the job runs as one transaction exactly as before
 * sub-batches existed: no sub-batch size (or one not below the batch size) and nothing committed
 * yet. That path adds no query. A job already part-done continues after its cursor whatever the
 * settings are now, so a setting changed mid-job never redoes or skips rows.
 */
export async function nextSubBatch(
  db: Queryable,
  target: { table: QualifiedName; column: string },
  migration: MigrationRow,
  job: JobRow,
): Promise<SubBatch | null> {
  const size = migration.subBatchSize !== null && migration.subBatchSize < migration.batchSize ? migration.subBatchSize : null;
  if (size === null && job.subBatches === 0) return null;
  if (migration.batchingStrategy === BatchingStrategy.NULL_ROWS) {
    // What is left of the job's budget; at least 1, so a batch size lowered mid-job still ends it.
    const left = BigInt(migration.batchSize) - job.rowsAffected;
    const budget = left > 0n ? Number(left) : 1;
    return { start: null, end: null, limit: Math.min(size ?? budget, budget), span: 0n };
  }
  if (job.minValue === null || job.maxValue === null)
    throw new BbmError(ErrorCode.INVALID_INPUT, `Job ${job.id} of "${migration.name}" has no range, but its strategy needs one.`, {
      jobId: job.id,
    });
  const start = job.cursorId === null ? job.minValue : job.cursorId + 1n;
  let end = job.maxValue;
  // [start, start + size - 1] reaching the job's end holds at most `size` rows; past that, look.
  if (size !== null && start + BigInt(size) - 1n < job.maxValue)
    end = (await rowBoundary(db, target.table, target.column, start, job.maxValue, size)) ?? job.maxValue;
  return { start, end, limit: migration.batchSize, span: span(start, end) };
}

/**
 * Record a sub-batch whose work succeeded, in its transaction (the caller confirms the fence, then
 * commits). The one that finishes the job finishes it with every sub-batch's rows; any other moves
 * the cursor and asks for more. `found`: the rows the engine locked for a NULL-strategy sub-batch
 * (fewer than its limit: no more NULL rows free to take, so the job is done); ignored otherwise.
 */
export async function commitSubBatch(
  db: Queryable,
  migration: MigrationRow,
  job: JobRow,
  sub: SubBatch,
  done: { rows: bigint; found: number | null },
  durationMs: number,
): Promise<ExecuteJobResult | MoreSubBatches> {
  const record: SubBatchRecord = { jobId: job.id, cursorId: sub.end, rows: done.rows, span: sub.span };
  const total = job.rowsAffected + done.rows;
  const finishes =
    sub.end !== null
      ? job.maxValue === null || sub.end >= job.maxValue
      : (done.found ?? 0) < sub.limit || total >= BigInt(migration.batchSize);
  if (!finishes) {
    await recordSubBatch(db, record);
    return {
      outcome: 'more',
      pauseMs: migration.subBatchPauseMs,
      migrationId: migration.id,
      jobId: record.jobId,
      cursorId: sub.end,
      rows: total,
      subBatches: job.subBatches + 1,
      attempts: job.attempts,
    };
  }
  const updated = await finishSubBatchedJob(db, { ...record, durationMs });
  return {
    outcome: 'finished',
    rows: decimal(total),
    durationMs,
    attempts: job.attempts + 1,
    progress: await migrationProgress(db, updated),
  };
}

export interface SubBatchLoopOptions {
  /** Aborted on cancellation: checked after every sub-batch, and it cuts the pause short. */
  signal: AbortSignal;
  /** The job's time budget: no sub-batch is started that would likely end past it. */
  jobTimeoutMs: number;
  /** For the progress of a job that stops at its time budget (outside any transaction). */
  db: Queryable;
  onSubBatch?: (progress: SubBatchProgress) => void;
}

/**
 * Run a job's transactions until one ends it: `runOne` runs one transaction (the whole job, or its
 * next sub-batch) and commits it. Between sub-batches: report progress, stop on cancellation, sleep
 * the migration's pause. A paused migration or a lost lease ends the job inside `runOne`, at the
 * next sub-batch. A job that would outrun its time budget stops with outcome `partial`, cursor
 * kept, so its next run continues instead of its attempt timing out.
 */
export async function eachSubBatch(
  runOne: () => Promise<ExecuteJobResult | MoreSubBatches>,
  options: SubBatchLoopOptions,
): Promise<ExecuteJobResult> {
  const started = performance.now();
  let longestMs = 0;
  for (;;) {
    const before = performance.now();
    const outcome = await runOne();
    if (outcome.outcome !== 'more') return outcome;
    longestMs = Math.max(longestMs, performance.now() - before);
    options.onSubBatch?.({
      jobId: outcome.jobId,
      cursorId: decimal(outcome.cursorId),
      rows: decimal(outcome.rows),
      subBatches: outcome.subBatches,
    });
    if (options.signal.aborted) throw cancelled(outcome);
    const elapsedMs = performance.now() - started;
    if (elapsedMs + outcome.pauseMs + 2 * longestMs > options.jobTimeoutMs) {
      return {
        outcome: 'partial',
        reason: `time budget of one job (${options.jobTimeoutMs} ms) reached after ${outcome.subBatches} sub-batches; the next run continues after the cursor`,
        rows: '0',
        durationMs: elapsedMs,
        attempts: outcome.attempts,
        progress: await migrationProgress(options.db, outcome.migrationId),
      };
    }
    if (outcome.pauseMs > 0) await sleep(outcome.pauseMs, undefined, { signal: options.signal }).catch(() => undefined);
    if (options.signal.aborted) throw cancelled(outcome);
  }
}

function cancelled(at: MoreSubBatches): BbmError {
  return new BbmError(
    ErrorCode.CANCELLED,
    `The job was cancelled between sub-batches; its ${at.subBatches} committed sub-batch(es) stay, and it continues after ${at.cursorId === null ? `${at.rows} rows` : `id ${at.cursorId}`} when resumed.`,
    { jobId: at.jobId, cursorId: decimal(at.cursorId) },
  );
}
