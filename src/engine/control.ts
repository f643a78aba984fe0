import type { Pool } from 'pg';
import { BbmError, ErrorCode, notFound } from '../errors';
import { resetRetryBudget } from '../store/jobs';
import { checkSubBatchSettings, subBatchAboveBatch } from '../contract/sub-batches';
import { migrationByName, setMigrationStatus, transitionMigrations } from '../store/migrations';
import { updateBatchSettings, type BatchSettingsChange } from '../store/sub-batches';
import { withTransaction } from '../store/transaction';
import { LIMITS, MigrationStatus, migrationStatusName } from './constants';

/** Which migrations an operator command targets: one by name, or all of a repository (or all). */
export interface MigrationSelector {
  name?: string;
  repository?: string;
}

/** Pause touches active and running migrations only; finished and failed ones keep their status. */
export async function pauseMigrations(pool: Pool, selector: MigrationSelector): Promise<string[]> {
  await assertExists(pool, selector);
  return transitionMigrations(pool, selector, [MigrationStatus.ACTIVE, MigrationStatus.RUNNING], MigrationStatus.PAUSED);
}

export async function resumeMigrations(pool: Pool, selector: MigrationSelector): Promise<string[]> {
  await assertExists(pool, selector);
  return transitionMigrations(pool, selector, [MigrationStatus.PAUSED], MigrationStatus.ACTIVE);
}

/** A failed migration goes back to running; its jobs keep their stored attempts but get a fresh budget. */
export async function retryMigration(pool: Pool, name: string): Promise<void> {
  await withTransaction(pool, async (client) => {
    const { rows } = await client.query('SELECT id, status FROM bbm.migrations WHERE name = $1 FOR UPDATE', [name]);
    const row = rows[0];
    if (!row) throw notFound(name);
    if (Number(row.status) !== MigrationStatus.FAILED) {
      throw new BbmError(
        ErrorCode.INVALID_STATE,
        `Migration "${name}" is ${migrationStatusName(Number(row.status))}; only failed migrations can be retried.`,
        { name },
      );
    }
    await resetRetryBudget(client, String(row.id));
    await setMigrationStatus(client, String(row.id), MigrationStatus.RUNNING);
  });
}

/**
 * Change the batch size and/or the sub-batch settings of unfinished migrations (one by name, or a
 * repository's), in one transaction: refused with INVALID_BATCH_SIZE, INVALID_SUB_BATCH_SIZE or
 * INVALID_SUB_BATCH_PAUSE before anything changes, including when the result would leave a
 * migration with a sub-batch size above its batch size. `subBatchSize: null` turns sub-batches
 * off. Returns the names of the migrations changed. A job in flight picks the change up at its
 * next sub-batch (the update waits for the sub-batch holding the migration row).
 */
export async function changeBatchSettings(pool: Pool, selector: MigrationSelector, change: BatchSettingsChange): Promise<string[]> {
  const { batchSize } = change;
  if (batchSize !== undefined && (!Number.isInteger(batchSize) || batchSize < LIMITS.MIN_BATCH_SIZE || batchSize > LIMITS.MAX_BATCH_SIZE)) {
    throw new BbmError(
      ErrorCode.INVALID_BATCH_SIZE,
      `Batch size must be an integer from ${LIMITS.MIN_BATCH_SIZE} to ${LIMITS.MAX_BATCH_SIZE}; got ${JSON.stringify(batchSize)}.`,
    );
  }
  const problem = checkSubBatchSettings(change, batchSize);
  if (problem) throw new BbmError(problem.code, problem.message);
  await assertExists(pool, selector);
  return withTransaction(pool, async (client) => {
    const settings = await updateBatchSettings(client, selector, change);
    const over = settings.find((m) => m.subBatchSize !== null && m.subBatchSize > m.batchSize);
    if (over) {
      const refusal = subBatchAboveBatch(over.subBatchSize ?? 0, over.batchSize, over.name);
      throw new BbmError(refusal.code, refusal.message, { migration: over.name });
    }
    return settings.map((m) => m.name);
  });
}

async function assertExists(pool: Pool, selector: MigrationSelector): Promise<void> {
  if (selector.name !== undefined && !(await migrationByName(pool, selector.name))) throw notFound(selector.name);
}

/** Kept here for the engine's callers; the factory lives with the other error factories. */
export { notFound };
