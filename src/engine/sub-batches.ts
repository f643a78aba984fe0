import { setTimeout as sleep } from 'node:timers/promises';
import { BbmError, ErrorCode } from '../errors';
import { finishSubBatchedJob, recordSubBatch, subBatchEnd, type SubBatchRecord } from '../store/sub-batches';
import type { JobRow, MigrationRow, Queryable } from '../store/types';
import { BatchingStrategy } from './constants';
import { migrationProgress } from './progress';
import type { ExecuteJobResult } from './types';

/**
 * Sub-batches: a job applied in parts that each commit, so row locks are held for one part only.
 *
 * Exactly-once rests on the job's cursor. Every sub-batch commits its work together with the
 * cursor (serial: the last id done; NULL strategy: the rows done) and the migration's counters,
 * in the transaction executeJob fences like any job, so a retry, a new lease holder or a resume
 * continues after the last committed sub-batch and never applies one twice.
 *
 * Serial strategy: a sub-batch is the next `subBatchSize` existing ids of the job's range after
 * the cursor. NULL strategy: a job is a budget of `batchSize` rows; each sub-batch asks the work
 * function for the next `subBatchSize` rows where the column IS NULL, and the job finishes when
 * its budget is spent or a sub-batch finds fewer rows than it asked for.
 */

/** The part of a job that one transaction applies. */
export interface SubBatch {
  /** Serial: inclusive bounds (decimal strings, Postgres bigint); null for the NULL strategy. */
  start: string | null;
  end: string | null;
  /** Rows the work function may change: the `batchSize` it is given. */
  limit: number;
  /** Serial: end - start + 1 (decimal string), added to the migration's covered ids. */
  span: string;
}

/** A committed sub-batch that did not finish its job: executeJob pauses, then runs the next one. */
export interface MoreSubBatches {
  outcome: 'more';
  pauseMs: number;
  migrationId: MigrationRow['id'];
  jobId: string;
  cursorId: string | null;
  /** The job's rows so far, over all sub-batches. */
  rows: number;
  subBatches: number;
  attempts: number;
}

/** Reported after each committed sub-batch that leaves more to do (the activity heartbeats it). */
export type SubBatchProgress = Pick<MoreSubBatches, 'jobId' | 'cursorId' | 'rows' | 'subBatches'>;

/**
 * The next sub-batch of `job`, or null when the job runs as one transaction exactly as before
 * sub-batches existed: no sub-batch size (or one not below the batch size) and nothing committed
 * yet. That path adds no query. A job already part-done continues after its cursor whatever the
 * settings are now, so a setting changed mid-job never redoes or skips rows.
 */
export async function nextSubBatch(
  db: Queryable,
  target: { quotedTable: string; quotedColumn: string },
  migration: MigrationRow,
  job: JobRow,
): Promise<SubBatch | null> {
  const size = migration.subBatchSize !== null && migration.subBatchSize < migration.batchSize ? migration.subBatchSize : null;
  if (size === null && job.subBatches === 0) return null;
  if (migration.batchingStrategy === BatchingStrategy.NULL_ROWS) {
    const budget = Math.max(1, migration.batchSize - Number(job.rowsAffected));
    return { start: null, end: null, limit: Math.min(size ?? budget, budget), span: '0' };
  }
  const jobEnd = String(job.maxValue);
  const start = job.cursorId === null ? String(job.minValue) : (BigInt(job.cursorId) + 1n).toString();
  let end = jobEnd;
  // [start, start + size - 1] reaching the job's end holds at most `size` rows; past that, look.
  if (size !== null && BigInt(start) + BigInt(size) - 1n < BigInt(jobEnd))
    end = (await subBatchEnd(db, target.quotedTable, target.quotedColumn, start, jobEnd, size)) ?? jobEnd;
  return { start, end, limit: migration.batchSize, span: (BigInt(end) - BigInt(start) + 1n).toString() };
}

/**
 * Record a sub-batch whose work succeeded, in its transaction (the caller confirms the fence, then
 * commits). The one that finishes the job finishes it with every sub-batch's rows; any other moves
 * the cursor and asks for more.
 */
export async function commitSubBatch(
  db: Queryable,
  migration: MigrationRow,
  job: JobRow,
  sub: SubBatch,
  rows: number,
  durationMs: number,
): Promise<ExecuteJobResult | MoreSubBatches> {
  const record: SubBatchRecord = { jobId: String(job.id), cursorId: sub.end, rows, span: sub.span };
  const total = Number(job.rowsAffected) + rows;
  const finishes = sub.end !== null ? BigInt(sub.end) >= BigInt(String(job.maxValue)) : rows < sub.limit || total >= migration.batchSize;
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
    rows: String(total),
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
    options.onSubBatch?.({ jobId: outcome.jobId, cursorId: outcome.cursorId, rows: outcome.rows, subBatches: outcome.subBatches });
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
    { jobId: at.jobId, cursorId: at.cursorId },
  );
}
