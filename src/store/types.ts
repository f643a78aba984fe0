import type { Pool, PoolClient } from 'pg';

/** Anything that can run a query: the pool, or a client inside a transaction. */
export type Queryable = Pick<Pool | PoolClient, 'query'>;

/**
 * Rows as the engine sees them. bigint columns that hold ids of the user's rows, range bounds or
 * row counts are `bigint` here (exact arithmetic; see src/engine/int8.ts), and bbm's own row ids
 * are decimal strings (only ever compared and passed on). Counts of jobs and attempts are numbers:
 * bbm creates at most one job per batch, far below 2^53.
 */
export interface MigrationRow {
  id: string;
  name: string;
  repository: string;
  work: string;
  tableName: string;
  columnName: string;
  workArgs: Record<string, unknown>;
  minValue: bigint;
  /** NULL for the NULL strategy. */
  maxValue: bigint | null;
  batchSize: number;
  /** Rows per sub-batch; null: each job is one transaction. See src/contract/sub-batches.ts. */
  subBatchSize: number | null;
  /** Sleep between two sub-batches of a job, ms. */
  subBatchPauseMs: number;
  /** Adaptive batch size (src/engine/batch-tuner.ts): the duration one job should take, ms; 0: `batchSize` stays as set. */
  targetJobMs: number;
  /** Bounds of the tuned `batchSize`. */
  minBatchSize: number;
  maxBatchSize: number;
  /** The tuner's memory: the last successful jobs' rows and ms, and whether the last job failed. */
  tunerState: { samples: Array<{ rows: number; ms: number }>; afterFailure: boolean };
  /** A pause was asked of the running workflow: a job in flight stops at its next sub-batch (src/store/pause-requests.ts). */
  pauseRequested: boolean;
  /** Paused by a cancelled repository workflow (pause_reason 'cancel'), not by an operator: see src/engine/control.ts resumeMigrations. */
  pausedByCancel: boolean;
  batchingStrategy: string;
  status: number;
  failureErrorCode: number | null;
  totalTupleCount: bigint | null;
  rowsProcessed: bigint;
  /** Finished jobs, and the id span they cover (range strategies; up to 2^64), counted as jobs finish. */
  jobsFinished: number;
  coveredIds: bigint;
  createdAt: Date;
  updatedAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
}

export interface JobRow {
  id: string;
  migrationId: string;
  minValue: bigint | null;
  maxValue: bigint | null;
  status: number;
  attempts: number;
  /** Attempts at the last retry; the attempt limit applies to attempts - retryBase. */
  retryBase: number;
  failureErrorCode: number | null;
  lastError: string | null;
  rowsAffected: bigint;
  /**
   * Range strategies: the last id whose sub-batch has committed, null before the first (and
   * always for the NULL strategy, whose cursor is rowsAffected). A retry starts after it.
   */
  cursorId: bigint | null;
  /** Sub-batches committed over all attempts. */
  subBatches: number;
  createdAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
  durationMs: number | null;
}

/** Small integers only (statuses, attempts, job counts): values that may exceed 2^53 use fromDb (src/engine/int8.ts). */
export function num(value: unknown): number {
  return typeof value === 'number' ? value : Number(value);
}

export function numOrNull(value: unknown): number | null {
  return value === null || value === undefined ? null : num(value);
}

/** A bigint row id as its exact decimal text (node-postgres returns int8 as text already). */
export function idText(value: unknown): string {
  return String(value);
}
