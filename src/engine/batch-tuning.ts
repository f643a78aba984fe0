import { saveTunedBatchSize } from '../store/batch-tuning';
import type { JobRow, MigrationRow, Queryable } from '../store/types';
import { recordJob, type JobOutcome } from './batch-tuner';
import { isRangeStrategy } from './constants';
import { span } from './range';

/** What the tuner decided after one job: the next job's size and the memory to store with it. */
export interface TunedSize {
  batchSize: number;
  state: MigrationRow['tunerState'];
}

/**
 * Feed one job's outcome to the migration's batch tuner (pure: nothing is written). Undefined
 * when tuning is off (target 0). The caller stores the result in the transaction that records
 * the job: the closing statement (b) of a whole job does it in its own UPDATE of the migration
 * (src/store/hot-path.ts finishJob), other paths through tuneAfterJob.
 *
 * `outcome.durationMs` is the job's working time: a sub-batched job's pauses are left out by the
 * caller, since they are not what a bigger or smaller batch changes.
 */
export function tunedAfterJob(migration: MigrationRow, outcome: JobOutcome): TunedSize | undefined {
  if (migration.targetJobMs <= 0) return undefined;
  const settings = {
    targetJobMs: migration.targetJobMs,
    // Never below the sub-batch size: a batch smaller than its sub-batch would break the rule
    // every configure checks (found by a user: the tuner shrank 1000 to 117 under a sub-batch of 1000).
    minBatchSize: Math.min(Math.max(migration.minBatchSize, migration.subBatchSize ?? 0), migration.maxBatchSize),
    maxBatchSize: migration.maxBatchSize,
  };
  const next = recordJob({ batchSize: migration.batchSize, ...migration.tunerState }, settings, outcome);
  return { batchSize: next.batchSize, state: { samples: next.samples, afterFailure: next.afterFailure } };
}

/**
 * tunedAfterJob, stored at once with its own statement, in the caller's transaction (the one that
 * records the job), with the migration row already locked by it: the failure and sub-batch paths.
 * Nothing happens when tuning is off. Returns the next job's size.
 */
export async function tuneAfterJob(db: Queryable, migration: MigrationRow, outcome: JobOutcome): Promise<number> {
  const tuned = tunedAfterJob(migration, outcome);
  if (!tuned) return migration.batchSize;
  await saveTunedBatchSize(db, migration.id, tuned.batchSize, tuned.state);
  return tuned.batchSize;
}

/**
 * The rows a job stands for, as the tuner counts them: range strategies, its batch size (fewer
 * for a last range narrower than that); the NULL strategy, the rows it changed (its budget).
 */
export function jobSize(migration: MigrationRow, job: JobRow, rowsChanged: bigint): number {
  if (isRangeStrategy(migration.batchingStrategy) && job.minValue !== null && job.maxValue !== null) {
    const ids = span(job.minValue, job.maxValue);
    return ids < BigInt(migration.batchSize) ? Number(ids) : migration.batchSize;
  }
  return Number(rowsChanged < BigInt(migration.batchSize) ? rowsChanged : BigInt(migration.batchSize));
}
