import type { MigrationRow, Queryable } from './types';

/**
 * The adaptive batch size's bookkeeping (src/engine/batch-tuner.ts): one statement, run inside the
 * transaction that records the job it learned from, so the tuned size and the tuner's memory are
 * exactly as consistent with the jobs as the jobs' own counters are.
 */
export async function saveTunedBatchSize(
  db: Queryable,
  migrationId: string,
  batchSize: number,
  state: MigrationRow['tunerState'],
): Promise<void> {
  await db.query('UPDATE bbm.migrations SET batch_size = $2, tuner_state = $3::jsonb WHERE id = $1', [
    migrationId,
    batchSize,
    JSON.stringify(state),
  ]);
}
