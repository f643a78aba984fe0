import type { PoolClient } from 'pg';
import { BbmError, ErrorCode } from '../errors';
import { rowKey } from '../store/catalog';
import { keyInSet, lockNullBatch, nullsLeft } from '../store/target';
import type { JobRow, MigrationRow } from '../store/types';
import { isRangeStrategy } from './constants';
import { formatIdent, formatTable, quoteIdent, type QualifiedName } from './identifiers';
import type { SubBatch } from './sub-batches';

/** The rows of one job: what the work function gets as `ctx.where`, and how the job's progress is checked. */
export interface JobRows {
  where: { sql: string; values: unknown[] };
  /** No row to work on (NULL strategy: none left, or all held by other transactions): the work is not called. */
  empty: boolean;
  /** NULL strategy: the rows the engine locked for the work (at most the batch or sub-batch size); null for range strategies. */
  found: number | null;
  /** After the work, inside its transaction: throws NO_PROGRESS when some of the job's rows would be found again. */
  checkProgress(rowsChanged: number): Promise<void>;
}

/**
 * Range strategies (serial, distinct): the rows with the column in [start, end]. Their search is
 * the range cursor, which moves past every finished job, so there is nothing to check.
 *
 * NULL strategy: the engine, not the work function, picks the job's rows. It locks the next
 * batchSize rows WHERE column IS NULL and names them by the table's row key (primary key, else a
 * unique NOT NULL key), since a ctid changes when the row is updated. The search is "rows where
 * the column IS NULL", so after the work every one of them must have left it (filled or
 * deleted); one still NULL would be picked again forever.
 */
export async function jobRows(
  client: PoolClient,
  migration: MigrationRow,
  job: JobRow,
  table: QualifiedName,
  sub: SubBatch | null = null,
): Promise<JobRows> {
  if (isRangeStrategy(migration.batchingStrategy)) {
    // A sub-batch narrows the range to its own bounds (src/engine/sub-batches.ts).
    const bounds = sub ? [sub.start, sub.end] : [job.minValue, job.maxValue];
    return {
      where: { sql: `${quoteIdent(migration.columnName)} BETWEEN $1 AND $2`, values: bounds },
      empty: false,
      found: null,
      checkProgress: async () => undefined,
    };
  }
  const key = await rowKey(client, table);
  if (!key) {
    throw new BbmError(
      ErrorCode.MISSING_UNIQUE_KEY,
      `${formatTable(table)} no longer has a primary key (or unique NOT NULL key) to name the job's rows; add one back.`,
      { table: formatTable(table) },
    );
  }
  // With sub-batches, each one locks only its own next rows, so locks last one sub-batch.
  const batch = await lockNullBatch(client, table, migration.columnName, key, sub ? sub.limit : migration.batchSize);
  return {
    where: { sql: keyInSet(key, 1), values: [batch.keys] },
    empty: batch.count === 0,
    found: batch.count,
    async checkProgress(rowsChanged) {
      if (batch.count === 0) return;
      const left = await nullsLeft(client, table, migration.columnName, key, batch.keys);
      if (left === 0) return;
      throw new BbmError(
        ErrorCode.NO_PROGRESS,
        `no_progress: ${left} of the job's ${batch.count} row(s) still have ${formatIdent(migration.columnName)} IS NULL after the work (which reported ${rowsChanged} row(s) changed), ` +
          'so the next job would pick them again. The work must fill (or delete) every row of ctx.where; fix the data or the work function, then retry the migration.',
        { jobId: job.id, stillNull: left, rows: batch.count },
      );
    },
  };
}
