import { failureCodeName, migrationStatusName } from '../engine/constants';
import { decimal } from '../engine/int8';
import type { MigrationRow } from '../store/types';

/**
 * A migration as the API returns it (`BbmClient.define`, `queueMigration`) and `bbm migrations
 * create/list --json` print it: JSON-safe, so `JSON.stringify` works on it. Ids, range bounds and
 * row counts are decimal strings (exact beyond 2^53); statuses are names; times are ISO 8601.
 */
export interface MigrationInfo {
  /** bbm's id of the migration, a decimal string. */
  id: string;
  name: string;
  repository: string;
  /** The work function's name. */
  work: string;
  /** `schema.table`, as PostgreSQL prints it. */
  table: string;
  column: string;
  /** serial, distinct or null. */
  strategy: string;
  /** Rows (distinct: values) per job, the tuner's current size. */
  batchSize: number;
  subBatchSize: number | null;
  subBatchPauseMs: number;
  /** 0: the batch size stays as set. */
  targetJobMs: number;
  minBatchSize: number;
  maxBatchSize: number;
  /** First and last value of the range (null for the NULL strategy's end). */
  minValue: string;
  maxValue: string | null;
  args: Record<string, unknown>;
  /** paused, active, running, finished or failed. */
  status: string;
  /** Why it failed (e.g. max_job_retry), null otherwise. */
  failure: string | null;
  rowsProcessed: string;
  /** The planner's estimate at definition; null when none. */
  totalEstimate: string | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
}

/** The JSON-safe view of a stored migration row. */
export function migrationInfo(m: MigrationRow): MigrationInfo {
  return {
    id: m.id,
    name: m.name,
    repository: m.repository,
    work: m.work,
    table: m.tableName,
    column: m.columnName,
    strategy: m.batchingStrategy,
    batchSize: m.batchSize,
    subBatchSize: m.subBatchSize,
    subBatchPauseMs: m.subBatchPauseMs,
    targetJobMs: m.targetJobMs,
    minBatchSize: m.minBatchSize,
    maxBatchSize: m.maxBatchSize,
    minValue: decimal(m.minValue),
    maxValue: decimal(m.maxValue),
    args: m.workArgs,
    status: migrationStatusName(m.status),
    failure: failureCodeName(m.failureErrorCode),
    rowsProcessed: decimal(m.rowsProcessed),
    totalEstimate: decimal(m.totalTupleCount),
    createdAt: m.createdAt.toISOString(),
    startedAt: m.startedAt?.toISOString() ?? null,
    finishedAt: m.finishedAt?.toISOString() ?? null,
  };
}
