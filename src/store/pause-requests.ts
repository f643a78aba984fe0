import { MigrationStatus } from '../engine/constants';
import type { Queryable } from './types';

/**
 * Ask the jobs in flight of running migrations (one by name, or a repository's) to stop at their
 * next sub-batch, because a pause is on its way to their workflow. Only active and running
 * migrations are flagged; a pause or resume transition clears the flag (transitionMigrations).
 * The UPDATE waits for a sub-batch holding the migration row, so a job sees the flag in the
 * transaction of its next sub-batch, before it does any work there. Returns the names flagged.
 */
export async function requestPause(db: Queryable, filter: { repository?: string; name?: string }): Promise<string[]> {
  const { rows } = await db.query(
    `UPDATE bbm.migrations SET pause_requested = true, updated_at = now()
      WHERE ($1::text IS NULL OR repository = $1) AND ($2::text IS NULL OR name = $2)
        AND status IN (${MigrationStatus.ACTIVE}, ${MigrationStatus.RUNNING})
      RETURNING name`,
    [filter.repository ?? null, filter.name ?? null],
  );
  return rows.map((r) => String(r.name)).sort();
}
