import type { MigrationBuilder } from 'node-pg-migrate';
// In your project: import { ensureFinished } from 'bbm';
import { ensureFinished } from '../../../../src/schema-migrations';

const BACKFILL = 'backfill_accounts_display_name';

/**
 * Step 2 of 2, in a later deploy: the finalize gate, then the constraint that needs the backfill.
 * By default it refuses (MIGRATION_NOT_FINISHED, and node-pg-migrate rolls this migration back)
 * while the backfill is unfinished. With BBM_FINALIZE=run it runs the rest of the backfill to the
 * end first, through a bbm worker (DATABASE_URL, TEMPORAL_ADDRESS and BBM_TASK_QUEUE as for the CLI).
 */
export async function up(pgm: MigrationBuilder): Promise<void> {
  await ensureFinished(pgm.db, BACKFILL, { run: process.env.BBM_FINALIZE === 'run' });
  pgm.alterColumn('accounts', 'display_name', { notNull: true });
}

export async function down(pgm: MigrationBuilder): Promise<void> {
  pgm.alterColumn('accounts', 'display_name', { notNull: false });
}
