import { MigrationStatus, migrationStatusName } from '../engine/constants';
import { num, type Queryable } from './types';

/** Named queries the enqueuer and run-to-completion (`bbm run`) ask of bbm.migrations / bbm.jobs. */

export interface EligibleRepositories {
  /** Eligible repositories not running, best first, at most `limit`. */
  next: string[];
  /** Eligible repositories among `running` (reported as already running). */
  running: string[];
}

/**
 * Repositories with work to do: at least one active or running migration (so never one whose
 * unfinished migrations are all paused, and never one with only failed ones). Order: repositories
 * with a `running` migration first (interrupted mid-way, like the seed's aborted imports), then the
 * oldest (earliest created unfinished migration), then by key for a stable order. Repositories in
 * `running` are never in `next`; the ones that are eligible come back in `running`.
 */
export async function eligibleRepositories(
  db: Queryable,
  options: { running: string[]; limit: number; prefixes: string[] | null },
): Promise<EligibleRepositories> {
  const { rows } = await db.query(
    `WITH eligible AS (
       SELECT repository, bool_or(status = ${MigrationStatus.RUNNING}) AS interrupted, min(created_at) AS oldest
         FROM bbm.migrations
        WHERE status IN (${MigrationStatus.ACTIVE}, ${MigrationStatus.RUNNING})
          AND ($1::text[] IS NULL OR EXISTS (SELECT 1 FROM unnest($1::text[]) AS p WHERE starts_with(repository, p)))
        GROUP BY repository)
     SELECT repository, is_running FROM (
       SELECT repository, true AS is_running, false AS interrupted, NULL::timestamptz AS oldest FROM eligible WHERE repository = ANY($2::text[])
       UNION ALL
       (SELECT repository, false, interrupted, oldest FROM eligible WHERE NOT (repository = ANY($2::text[]))
         ORDER BY interrupted DESC, oldest, repository LIMIT $3)
     ) picked
     ORDER BY is_running, interrupted DESC, oldest, repository`,
    [options.prefixes, options.running, options.limit],
  );
  const next: string[] = [];
  const running: string[] = [];
  for (const r of rows) (r.is_running ? running : next).push(String(r.repository));
  return { next, running: running.sort() };
}

export interface MigrationTally {
  /** Migrations per status name (paused, active, finished, failed, running), zeros included. */
  byStatus: Record<string, number>;
  total: number;
  /**
   * Overall progress: the mean over migrations of their completed fraction (range coverage of
   * finished jobs for serial and distinct migrations, rows processed over the estimate otherwise), where
   * finished and failed migrations count as complete. Below 100 until every one is.
   */
  percent: number;
}

export async function migrationTally(db: Queryable): Promise<MigrationTally> {
  const { rows } = await db.query(
    `SELECT m.status, count(*) AS n,
            sum(CASE
                  WHEN m.status IN (${MigrationStatus.FINISHED}, ${MigrationStatus.FAILED}) THEN 1
                  WHEN m.batching_strategy IN ('serial', 'distinct') AND m.max_value IS NOT NULL
                    THEN least(1, coalesce(j.covered, 0)::float8 / greatest(1, m.max_value::numeric - m.min_value + 1)::float8)
                  WHEN m.total_tuple_count > 0 THEN least(1, m.rows_processed::float8 / m.total_tuple_count)
                  ELSE 0 END) AS done
       FROM bbm.migrations m
       LEFT JOIN LATERAL (
         -- numeric: a range spans up to 2^64 ids, beyond bigint.
         SELECT sum(max_value::numeric - min_value + 1) AS covered FROM bbm.jobs WHERE migration_id = m.id AND status = 2
       ) j ON m.status NOT IN (${MigrationStatus.FINISHED}, ${MigrationStatus.FAILED})
      GROUP BY m.status`,
  );
  const byStatus: Record<string, number> = {};
  for (const status of Object.values(MigrationStatus)) byStatus[migrationStatusName(status)] = 0;
  let total = 0;
  let done = 0;
  for (const r of rows) {
    byStatus[migrationStatusName(num(r.status))] = num(r.n);
    total += num(r.n);
    done += Number(r.done);
  }
  const settled = byStatus.finished! + byStatus.failed!;
  const raw = total === 0 ? 100 : (done / total) * 100;
  const percent = settled === total ? 100 : Math.min(99.9, Math.floor(raw * 10) / 10);
  return { byStatus, total, percent };
}

/** Names of the failed migrations, oldest first: what `bbm run` lists when it ends. */
export async function failedMigrationNames(db: Queryable): Promise<string[]> {
  const { rows } = await db.query(`SELECT name FROM bbm.migrations WHERE status = ${MigrationStatus.FAILED} ORDER BY id`);
  return rows.map((r) => String(r.name));
}
