import type { Pool } from 'pg';
import { BbmError, ErrorCode, notFound } from '../errors';
import { resetRetryBudget } from '../store/jobs';
import { migrationByName, setBatchSize, setMigrationStatus, transitionMigrations } from '../store/migrations';
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

export async function changeBatchSize(pool: Pool, selector: MigrationSelector, batchSize: number): Promise<string[]> {
  if (!Number.isInteger(batchSize) || batchSize < LIMITS.MIN_BATCH_SIZE || batchSize > LIMITS.MAX_BATCH_SIZE) {
    throw new BbmError(
      ErrorCode.INVALID_BATCH_SIZE,
      `Batch size must be an integer from ${LIMITS.MIN_BATCH_SIZE} to ${LIMITS.MAX_BATCH_SIZE}; got ${JSON.stringify(batchSize)}.`,
    );
  }
  await assertExists(pool, selector);
  return setBatchSize(pool, selector, batchSize);
}

async function assertExists(pool: Pool, selector: MigrationSelector): Promise<void> {
  if (selector.name !== undefined && !(await migrationByName(pool, selector.name))) throw notFound(selector.name);
}
