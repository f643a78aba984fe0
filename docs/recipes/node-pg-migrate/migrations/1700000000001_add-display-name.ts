import type { MigrationBuilder } from 'node-pg-migrate';
// In your project: import { queueMigration } from 'bbm';
import { queueMigration } from '../../../../src/schema-migrations';

/** The backfill's bbm name: the later schema migration finalizes it by this name. */
export const BACKFILL = 'backfill_accounts_display_name';

/**
 * Step 1 of 2: add the column (nullable, so the ALTER is instant) and queue its backfill in the
 * same transaction. If anything here fails, neither the column nor the bbm migration exists.
 */
export async function up(pgm: MigrationBuilder): Promise<void> {
  // Run now, not queued with pgm.addColumn (which runs after up() returns): the definition's checks must see the column.
  await pgm.db.query('ALTER TABLE accounts ADD COLUMN display_name text');
  await queueMigration(pgm.db, {
    name: BACKFILL,
    work: 'copy_column',
    table: 'accounts',
    column: 'id',
    batchSize: 100,
    args: { from: 'name', to: 'display_name' },
  });
}

export async function down(pgm: MigrationBuilder): Promise<void> {
  await pgm.db.query('DELETE FROM bbm.migrations WHERE name = $1', [BACKFILL]);
  pgm.dropColumn('accounts', 'display_name');
}
