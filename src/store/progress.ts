import { jobCountsColumns, toJobCounts, type JobCounts } from './jobs';
import { toMigration } from './migrations';
import type { MigrationRow, Queryable } from './types';

/** Queries behind every "migrations with their progress" view: one statement however many migrations there are. */

export interface MigrationWithJobs {
  migration: MigrationRow;
  jobs: JobCounts;
}

/**
 * The selected migrations (one by name, a repository's, or all), oldest first, each with its
 * job counts. One statement: the per-migration subqueries run inside it instead of one round
 * trip per migration.
 */
export async function migrationsWithJobs(db: Queryable, filter: { name?: string; repository?: string } = {}): Promise<MigrationWithJobs[]> {
  const { rows } = await db.query(
    `SELECT m.*, ${jobCountsColumns('m.id')}
       FROM bbm.migrations m
      WHERE ($1::text IS NULL OR m.name = $1) AND ($2::text IS NULL OR m.repository = $2)
      ORDER BY m.id`,
    [filter.name ?? null, filter.repository ?? null],
  );
  return rows.map((r) => ({ migration: toMigration(r), jobs: toJobCounts(r) }));
}

export interface RepositoryStatusCount {
  repository: string;
  /** A MigrationStatus value. */
  status: number;
  migrations: number;
}

/** How many migrations each repository has in each status, by repository key: one grouped scan. */
export async function repositoryStatusCounts(db: Queryable): Promise<RepositoryStatusCount[]> {
  const { rows } = await db.query(
    'SELECT repository, status, count(*) AS n FROM bbm.migrations GROUP BY repository, status ORDER BY repository, status',
  );
  return rows.map((r) => ({ repository: String(r.repository), status: Number(r.status), migrations: Number(r.n) }));
}

/** The current status (a MigrationStatus value) of each named migration that exists. */
export async function statusesByName(db: Queryable, names: readonly string[]): Promise<Map<string, number>> {
  const { rows } = await db.query('SELECT name, status FROM bbm.migrations WHERE name = ANY($1::text[])', [names]);
  return new Map(rows.map((r) => [String(r.name), Number(r.status)]));
}
