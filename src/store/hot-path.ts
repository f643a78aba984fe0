import { JobStatus, MigrationStatus } from '../engine/constants';
import { quoteIdent, quoteTable, type QualifiedName } from '../engine/identifiers';
import { uniqueColumnSql } from './catalog';
import { JOB_COLUMNS, toJob, toJobCounts, type JobCounts } from './jobs';
import type { Fence } from './leases';
import { MIGRATION_COLUMNS, toMigration } from './migrations';
import type { JobRow, MigrationRow, Queryable } from './types';

/**
 * The statements a job's transaction runs on every job (issue 12): named, so each connection
 * parses and plans them once, and each a single round trip however much it does. None reads more
 * than a handful of index entries, so their cost does not grow with the number of jobs.
 */

const aliased = (table: string, prefix: string): string =>
  JOB_COLUMNS.split(',')
    .map((c) => c.trim())
    .map((c) => `${table}.${c} AS ${prefix}${c}`)
    .join(', ');
const JOB_ALIASED = aliased('j', 'j_');
const NEXT_ALIASED = aliased('nxt', 'n_');

/**
 * The round trip that opens a job's transaction: BEGIN, the job's statement_timeout (ms, an
 * integer of at least 1 computed here, never caller text) and the savepoint its work rolls back to
 * (a failed attempt takes the locks again after rolling back to it).
 */
export function beginJobSql(jobTimeoutMs: number): string {
  return `BEGIN; SET LOCAL statement_timeout = ${Math.max(1, Math.floor(jobTimeoutMs))}; SAVEPOINT bbm_work`;
}

/** What the opening statement of a job's transaction read: the migration and the job, both locked. */
export interface LockedJob {
  /** The fence matched when the transaction began (it is confirmed again, with a lock, before COMMIT). */
  fenced: boolean;
  migration: MigrationRow | undefined;
  job: JobRow | undefined;
}

/**
 * Statement (a): check the fence, then lock the job's migration and the job (migration first, the
 * order find and pause use too, so bbm's transactions never deadlock) and read both. The fence
 * is only read here; statement (b) confirms it and locks the lease row until COMMIT.
 */
export async function lockJobForExecution(db: Queryable, jobId: string, fence: Fence | undefined): Promise<LockedJob> {
  const { rows } = await db.query({
    name: 'bbm_hot_lock_job',
    text: `WITH m AS (
             SELECT ${MIGRATION_COLUMNS} FROM bbm.migrations WHERE id = (SELECT migration_id FROM bbm.jobs WHERE id = $1) FOR UPDATE
           )
           SELECT ($2::text IS NULL OR EXISTS (SELECT 1 FROM bbm.leases WHERE repository = $2 AND holder = $3 AND token = $4::bigint)) AS fenced,
                  m.*, ${JOB_ALIASED}
             FROM (SELECT 1) one LEFT JOIN m ON true
             LEFT JOIN LATERAL (SELECT ${JOB_COLUMNS} FROM bbm.jobs WHERE id = $1 AND m.id IS NOT NULL FOR UPDATE) j ON true`,
    values: [jobId, fence?.repository ?? null, fence?.holder ?? null, fence?.token ?? null],
  });
  const r = rows[0] as Record<string, unknown>;
  const job = prefixed(r, 'j_');
  return {
    fenced: Boolean(r.fenced),
    migration: r.id === null || r.id === undefined ? undefined : toMigration(r),
    job: job.id === null || job.id === undefined ? undefined : toJob(job),
  };
}

export interface FinishedJob {
  /** The fence still holds (and its row is locked until COMMIT); false: roll back. */
  fenced: boolean;
  migration: MigrationRow;
  counts: JobCounts;
  /** With `ahead`: the next job, inserted by the same statement; undefined when find-ahead does not apply. */
  next?: JobRow;
}

/**
 * Statement (b): record the job finished, count it on its migration (and store the batch tuner's
 * decision there, which used to take a statement of its own), confirm the fence (locking
 * the lease row until COMMIT, so no takeover slips in before it; with `leaseTtlMs` also extending
 * the lease, which find would otherwise do) and read the counts progress needs. The subqueries see
 * the jobs as they were before this statement, so the finished job is left out of them by id.
 */
export async function finishJob(
  db: Queryable,
  input: {
    jobId: string;
    migrationId: string;
    rows: bigint;
    durationMs: number;
    coveredIds: bigint;
    /** The batch tuner's decision, stored on the migration (src/engine/batch-tuning.ts); absent: tuning is off. */
    tuned?: { batchSize: number; state: MigrationRow['tunerState'] };
    fence?: Fence;
    leaseTtlMs?: number;
    /** A run-ahead's (b), run without `fence`: what its claim checks (claimRunAheadSql), left in the transaction. */
    claim?: RunAheadClaim;
  },
  ahead?: NextRange,
): Promise<FinishedJob> {
  const next = ahead ? nextRangeSql(ahead, 12) : undefined;
  const claim = input.claim ? claimSetting(input.claim, input.migrationId, 12 + (next?.values.length ?? 0), next !== undefined) : undefined;
  const { rows } = await db.query({
    name: `${next ? `bbm_hot_finish_ahead_${next.key}` : 'bbm_hot_finish_job'}${claim ? '_claim' : ''}`,
    text: `WITH ${next ? `nxt AS (${next.sql}), ` : ''}j AS (
             UPDATE bbm.jobs SET status = ${JobStatus.FINISHED}, attempts = attempts + 1, rows_affected = $2, duration_ms = $3::float8,
               failure_error_code = NULL, last_error = NULL, started_at = clock_timestamp() - make_interval(secs => $3::float8 / 1000),
               finished_at = clock_timestamp(), updated_at = clock_timestamp()
             WHERE id = $1 RETURNING id
           ), m AS (
             UPDATE bbm.migrations SET rows_processed = rows_processed + $2::bigint, jobs_finished = jobs_finished + 1,
               covered_ids = covered_ids + $5::numeric, updated_at = now(),
               batch_size = coalesce($10::int, batch_size), tuner_state = coalesce($11::jsonb, tuner_state)
             WHERE id = $4 RETURNING ${MIGRATION_COLUMNS}
           ), lease AS (
             UPDATE bbm.leases SET expires_at = CASE WHEN $9::float8 IS NULL THEN expires_at
                                                     ELSE greatest(expires_at, now() + make_interval(secs => $9::float8 / 1000)) END
              WHERE repository = $6 AND holder = $7 AND token = $8::bigint RETURNING 1
           )
           SELECT m.*, ($6::text IS NULL OR EXISTS (SELECT 1 FROM lease)) AS fenced,
             (SELECT count(*) FROM bbm.jobs x WHERE x.migration_id = $4 AND x.status = ${JobStatus.ACTIVE} AND x.id <> $1) AS jobs_active,
             (SELECT count(*) FROM bbm.jobs x WHERE x.migration_id = $4 AND x.status = ${JobStatus.FAILED} AND x.id <> $1) AS jobs_failed,
             (SELECT json_build_object('start', x.min_value::text, 'end', x.max_value::text, 'cursor', x.cursor_id::text) FROM bbm.jobs x
               WHERE x.migration_id = $4 ORDER BY x.id DESC LIMIT 1) AS jobs_last_range,
             (SELECT x.last_error FROM bbm.jobs x WHERE x.migration_id = $4 AND x.status = ${JobStatus.FAILED} AND x.id <> $1
               ORDER BY x.id DESC LIMIT 1) AS jobs_last_error,
             (SELECT count(*) FROM j) AS finished${next ? `, ${NEXT_ALIASED}` : ''}${claim ? `, ${claim.sql}` : ''}
           FROM m${next ? ' LEFT JOIN nxt ON true' : ''}`,
    values: [
      input.jobId,
      input.rows,
      input.durationMs,
      input.migrationId,
      input.coveredIds,
      input.fence?.repository ?? null,
      input.fence?.holder ?? null,
      input.fence?.token ?? null,
      input.leaseTtlMs ?? null,
      input.tuned?.batchSize ?? null,
      input.tuned ? JSON.stringify(input.tuned.state) : null,
      ...(next?.values ?? []),
      ...(claim ? [claim.value] : []),
    ],
  });
  const r = rows[0] as Record<string, unknown>;
  const n = prefixed(r, 'n_');
  return {
    fenced: Boolean(r.fenced),
    migration: toMigration(r),
    counts: toJobCounts(r),
    next: n.id === null || n.id === undefined ? undefined : toJob(n),
  };
}

/**
 * SQL condition: a running migration of the repository (parameter `repository`) with an id below
 * `id`, and not among the `exclude` ids (a bigint[] parameter), comes before migration `id` in
 * findJob's order. Find-ahead inserts the next job only without one, and a run-ahead's claim
 * re-checks it: bbm.claim_run_ahead() (schema migration 0009) holds the same condition, in
 * PL/pgSQL, so a change here must be made there too (test/run-ahead-review.test.ts covers both).
 * The arguments are parameter references (`$5`), never values.
 */
function lowerRunningMigration(repository: string, id: string, exclude: string): string {
  return `EXISTS (SELECT 1 FROM bbm.migrations WHERE repository = ${repository} AND status = ${MigrationStatus.RUNNING}
                   AND id < ${id} AND NOT (id = ANY(${exclude}::bigint[])))`;
}

/** What a run-ahead's claim checks in the round trip of its COMMIT (claimRunAheadSql). */
export interface RunAheadClaim {
  /** The attempt's fence: the run-ahead's (b) runs without it, the claim confirms it. */
  fence: Fence;
  /** Extend the lease to at least this long from now (ms), as find would; undefined: leave it. */
  leaseTtlMs?: number;
  /** Migrations passed over in this run (find-ahead's `exclude`), decimal strings. */
  exclude: string[];
}

/**
 * The select-list item of statement (b) that leaves `claim` in the transaction-local setting
 * bbm.claim (schema migration 0009), with the migration of the job and whether (b) found the next
 * job (`ahead`, only with find-ahead's `nxt`). `param` is the number of its parameter.
 */
function claimSetting(claim: RunAheadClaim, migrationId: string, param: number, withNext: boolean): { sql: string; value: string } {
  const { repository, holder, token } = claim.fence;
  const value = JSON.stringify({ repository, holder, token, leaseTtlMs: claim.leaseTtlMs ?? null, migrationId, exclude: claim.exclude });
  const found = withNext ? 'nxt.id IS NOT NULL' : 'false';
  return {
    sql: `set_config('bbm.claim', ($${param}::jsonb || jsonb_build_object('ahead', ${found}))::text, true) IS NOT NULL AS claim_set`,
    value,
  };
}

/**
 * A claimed run-ahead's last round trip: bbm.claim_run_ahead() (schema migration 0009) checks what
 * its statement (b) left in bbm.claim: the fence, which it confirms by locking the lease row until
 * COMMIT (extending the lease as find would), and, for a job found ahead, that no lower-id
 * migration of the repository became running meanwhile (lowerRunningMigration, which the
 * run-ahead's locks do not hold still). Then COMMIT, which Postgres skips when the function
 * raised: claimRunAheadFailure says what its error meant. Nothing follows the COMMIT in the same
 * message: a cancel that lands while COMMIT runs is dropped once it is done, as for a plain
 * COMMIT, instead of failing a statement after it and reporting a committed job as rolled back.
 */
export function claimRunAheadSql(): string {
  return 'SELECT bbm.claim_run_ahead(); COMMIT';
}

/**
 * What a failed claimRunAheadSql means: `lease_lost` (SQLSTATE BBMC1: roll back, LEASE_LOST),
 * `ahead_moved` (BBMC2: (b) found a job findJob would not pick now; roll back and run the job
 * from scratch), or undefined for any other error (thrown as it is).
 */
export function claimRunAheadFailure(err: unknown): 'lease_lost' | 'ahead_moved' | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return code === 'BBMC1' ? 'lease_lost' : code === 'BBMC2' ? 'ahead_moved' : undefined;
}

/** Where find-ahead looks for the next job (see nextRangeSql). */
export interface NextRange {
  migration: MigrationRow;
  table: QualifiedName;
  /** The job being finished: the next range starts after it. */
  jobId: string;
  start: bigint;
  /** The migration's max: the range ends here unless `lookup` finds the batchSize-th row before it. */
  end: bigint;
  lookup: boolean;
  /** Migrations passed over in this run: a lower-id one of them does not take precedence. */
  exclude: string[];
}

/**
 * Find-ahead (serial strategy), as a data-modifying CTE of statement (b): insert the job after
 * `jobId`, but only when it is exactly what findJob would pick next: no running migration of the
 * repository with a lower id precedes this one (which (a) found running, and holds locked); it
 * has no other job left active by an interrupted run and none after `jobId`; and its target still
 * passes findJob's checks (column, unique index). Otherwise nothing is inserted and the caller
 * finds as usual. Parameters from `$first` on; `key` names the statement per table and column,
 * since those are part of its text.
 */
function nextRangeSql(q: NextRange, first: number): { sql: string; values: unknown[]; key: string } {
  const $ = (i: number): string => `$${first + i}`;
  const c = quoteIdent(q.migration.columnName);
  const rel = `to_regclass(format('%I.%I', ${$(4)}::text, ${$(5)}::text))`;
  const sql = `INSERT INTO bbm.jobs (migration_id, min_value, max_value)
    SELECT $4, ${$(0)}::bigint, CASE WHEN ${$(2)}::bool
             THEN coalesce((SELECT ${c} FROM ${quoteTable(q.table)} WHERE ${c} >= ${$(0)}::bigint AND ${c} <= ${$(1)}::bigint
                            ORDER BY ${c} LIMIT 1 OFFSET ${$(3)}), ${$(1)}::bigint)
             ELSE ${$(1)}::bigint END
     WHERE NOT EXISTS (SELECT 1 FROM bbm.jobs WHERE migration_id = $4 AND status = ${JobStatus.ACTIVE} AND id <> $1)
       AND NOT EXISTS (SELECT 1 FROM bbm.jobs WHERE migration_id = $4 AND id > $1)
       AND NOT ${lowerRunningMigration($(6), '$4', $(7))}
       AND EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = ${rel} AND attname = ${$(8)} AND attnum > 0 AND NOT attisdropped)
       AND ${uniqueColumnSql(rel, $(8))}
    RETURNING ${JOB_COLUMNS}`;
  return {
    sql,
    key: hashName(`${q.table.schema}.${q.table.name}.${q.migration.columnName}`),
    values: [
      q.start,
      q.end,
      q.lookup,
      q.migration.batchSize - 1,
      q.table.schema,
      q.table.name,
      q.migration.repository,
      q.exclude,
      q.migration.columnName,
    ],
  };
}

function prefixed(r: Record<string, unknown>, prefix: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(r)) if (k.startsWith(prefix)) out[k.slice(prefix.length)] = v;
  return out;
}

/** A short stable name for prepared statements whose text depends on a table (FNV-1a, hex). */
function hashName(s: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return `${h.toString(16)}_${s.length}`;
}
