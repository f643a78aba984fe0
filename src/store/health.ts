import type { Queryable } from './types';

/** One streaming standby as the primary sees it. Null values: hidden by privileges, or not reported yet. */
export interface StandbySnapshot {
  name: string;
  address: string | null;
  state: string;
  /** replay_lag in ms; null when Postgres shows none (caught up and idle, or hidden). */
  lagMs: number | null;
  /** WAL bytes not yet replayed; null when replay_lsn is hidden or unknown. */
  lagBytes: number | null;
}

/**
 * The raw health facts of the database, from one statement. Sizes and ages are measurements, far
 * below 2^53, so they travel as JS numbers; no id or range bound is read here.
 */
export interface HealthSnapshot {
  at: Date;
  inRecovery: boolean;
  /** Member of pg_read_all_stats (or superuser): sees every session's transaction start. */
  seesAllSessions: boolean;
  standbys: StandbySnapshot[];
  archiveMode: string;
  /** Segments waiting for archive_command; null when not computable (in recovery, or an unparseable file name). */
  archiveBacklog: number | null;
  /** The segment archiving currently fails on, when it does. */
  archiveFailingWal: string | null;
  /** archive_mode is on but neither archive_command nor archive_library is set: WAL piles up. */
  archiveUnset: boolean;
  /** How the backlog was measured: counted in the status directory, or estimated from pg_stat_archiver. */
  archiveMethod: 'exact' | 'estimated';
  /** Age of the oldest open transaction (client backends) or prepared transaction; null when none. */
  oldestTransactionMs: number | null;
  xminHorizonAge: number;
  tableFound: boolean;
  vacuums: number;
  lockWaiters: number;
  lockWaitMs: number;
  activeBackends: number;
}

/*
 * Why it is written this way:
 * - One statement, so a check costs one round trip; the lock table and the activity view are
 *   read once each (MATERIALIZED), because each read of them takes the lock manager's locks.
 * - It needs no superuser: pg_locks, pg_stat_archiver, pg_prepared_xacts, pg_replication_slots
 *   and backend_xmin are visible to every role. A VACUUM on the table is found through the
 *   ShareUpdateExclusiveLock it holds, because pg_stat_progress_vacuum hides relid from roles
 *   without pg_read_all_stats. Standby positions and other roles' xact_start need pg_monitor.
 * - The archive backlog is counted in the archive status directory when the role may list it
 *   (pg_monitor); otherwise it is estimated: the archiver archives in order, so the waiting
 *   segments are those from the one it last failed on (or after the one it last archived) up to
 *   the segment being written.
 * - waitstart (PostgreSQL 14+) is read through to_jsonb so the statement also runs on 12 and 13.
 * - The vacuum's own process is left out of the transaction ages: vacuum has its own indicator.
 */
const healthSql = (ARCHIVE_BACKLOG: string): string => `
WITH target AS MATERIALIZED (
  SELECT d.oid AS db, c.oid AS rel, nullif(c.reltoastrelid, 0) AS toast
  FROM pg_database d LEFT JOIN pg_class c ON c.oid = to_regclass($1::text)
  WHERE d.datname = current_database()
),
vacuum AS MATERIALIZED (SELECT pid, datid, relid FROM pg_stat_progress_vacuum),
activity AS MATERIALIZED (
  SELECT backend_type, xact_start, backend_xmin, backend_xid FROM pg_stat_activity
  WHERE pid <> pg_backend_pid() AND pid NOT IN (SELECT pid FROM vacuum)
),
locks AS MATERIALIZED (
  SELECT l.pid, l.locktype, l.relation, l.mode, l.granted,
    CASE WHEN NOT l.granted THEN (to_jsonb(l) ->> 'waitstart')::timestamptz END AS waitstart
  FROM pg_locks l, target t
  WHERE l.pid <> pg_backend_pid() AND (l.database = t.db OR (l.locktype = 'transactionid' AND NOT l.granted))
),
waiters AS (
  SELECT w.pid, min(w.waitstart) AS since FROM locks w, target t
  WHERE NOT w.granted AND (w.relation IN (t.rel, t.toast) OR (w.locktype = 'transactionid' AND EXISTS (
    SELECT 1 FROM locks h WHERE h.pid = w.pid AND h.locktype = 'tuple' AND h.granted AND h.relation = t.rel)))
  GROUP BY w.pid
),
wal AS (
  SELECT pg_is_in_recovery() AS in_recovery, pg_size_bytes(current_setting('wal_segment_size')) AS seg_size,
    CASE WHEN NOT pg_is_in_recovery() THEN pg_current_wal_lsn() END AS lsn
),
archive AS (
  SELECT current_setting('archive_mode') AS mode,
    current_setting('archive_command') = '' AND coalesce(current_setting('archive_library', true), '') = '' AS unset,
    CASE WHEN a.last_failed_time IS NOT NULL AND (a.last_archived_time IS NULL OR a.last_failed_time > a.last_archived_time)
      THEN a.last_failed_wal END AS failing_wal,
    CASE WHEN a.last_failed_time IS NOT NULL AND (a.last_archived_time IS NULL OR a.last_failed_time > a.last_archived_time)
      THEN a.last_failed_wal ELSE a.last_archived_wal END AS pending_from
  FROM pg_stat_archiver a
)
SELECT now() AS at, w.in_recovery,
  pg_has_role(current_user, 'pg_read_all_stats', 'USAGE') AS sees_all,
  (SELECT coalesce(json_agg(json_build_object('name', r.application_name, 'address', host(r.client_addr), 'state', r.state,
      'lagMs', extract(epoch FROM r.replay_lag) * 1000, 'lagBytes', pg_wal_lsn_diff(w.lsn, r.replay_lsn)) ORDER BY r.pid), '[]')
   FROM pg_stat_replication r
   WHERE r.state IN ('streaming', 'catchup')
     AND NOT EXISTS (SELECT 1 FROM pg_replication_slots s WHERE s.active_pid = r.pid AND s.slot_type = 'logical')) AS standbys,
  a.mode AS archive_mode, a.failing_wal, a.unset AS archive_unset,
  ${ARCHIVE_BACKLOG} AS archive_backlog,
  (SELECT extract(epoch FROM now() - min(s)) * 1000 FROM (
    SELECT xact_start FROM activity WHERE backend_type = 'client backend' UNION ALL SELECT prepared FROM pg_prepared_xacts) o(s)) AS oldest_xact_ms,
  coalesce(greatest((SELECT max(age(backend_xmin)) FROM activity), (SELECT max(age(backend_xid)) FROM activity),
    (SELECT max(greatest(age(xmin), age(catalog_xmin))) FROM pg_replication_slots),
    (SELECT max(age(transaction)) FROM pg_prepared_xacts)), 0) AS xmin_age,
  t.rel IS NOT NULL AS table_found,
  (SELECT count(*) FROM vacuum v WHERE v.datid = t.db AND (v.relid IN (t.rel, t.toast) OR EXISTS (
    SELECT 1 FROM locks l WHERE l.pid = v.pid AND l.granted AND l.locktype = 'relation'
      AND l.mode = 'ShareUpdateExclusiveLock' AND l.relation IN (t.rel, t.toast)))) AS vacuums,
  (SELECT count(*) FROM waiters) AS lock_waiters,
  (SELECT coalesce(extract(epoch FROM now() - min(since)) * 1000, 0) FROM waiters) AS lock_wait_ms,
  (SELECT count(DISTINCT l.pid) FROM locks l WHERE l.granted AND l.locktype = 'relation' AND l.relation = t.rel
     AND l.pid NOT IN (SELECT pid FROM vacuum)) AS active_backends
FROM wal w, target t, archive a`;

/** Exact: count the `.ready` files (pg_ls_archive_statusdir, superuser or pg_monitor). */
const EXACT_BACKLOG = `CASE WHEN a.mode = 'off' THEN 0 ELSE (SELECT count(*) FROM pg_ls_archive_statusdir() WHERE name LIKE '%.ready') END`;

/**
 * Without privileges: segment arithmetic from pg_stat_archiver (see above). Unknown (NULL) when
 * archiving is on but no command is set and nothing was ever tried, and during recovery.
 */
const ESTIMATED_BACKLOG = `CASE WHEN a.mode = 'off' THEN 0
    WHEN a.pending_from IS NULL THEN CASE WHEN w.lsn IS NULL OR a.unset THEN NULL ELSE 0 END
    WHEN a.pending_from ~ '^[0-9A-F]{24}' THEN greatest(0,
      floor(pg_wal_lsn_diff(w.lsn, '0/0') / w.seg_size) - CASE WHEN a.failing_wal IS NULL THEN 1 ELSE 0 END
      - (('x' || substr(a.pending_from, 9, 8))::bit(32)::bigint * (4294967296 / w.seg_size) + ('x' || substr(a.pending_from, 17, 8))::bit(32)::bigint))
  END`;

const STATEMENTS = {
  exact: { name: 'bbm_health_snapshot_exact', text: healthSql(EXACT_BACKLOG) },
  estimated: { name: 'bbm_health_snapshot', text: healthSql(ESTIMATED_BACKLOG) },
} as const;

/** Whether this role may list the archive status directory (then the backlog is counted exactly). */
export async function canListArchiveStatus(db: Queryable): Promise<boolean> {
  const { rows } = await db.query("SELECT has_function_privilege('pg_ls_archive_statusdir()', 'EXECUTE') AS ok");
  return Boolean(rows[0].ok);
}

/**
 * Read every built-in health fact in one round trip. `archive` picks how the WAL archive backlog is
 * measured: `exact` needs canListArchiveStatus(). `table` is a validated, quoted
 * `"schema"."table"` (or null for a cluster-only check); it is passed as a parameter and resolved
 * by to_regclass, so a missing table reads as `tableFound: false` instead of failing.
 */
export async function readHealthSnapshot(
  db: Queryable,
  table: string | null,
  archive: 'exact' | 'estimated' = 'estimated',
): Promise<HealthSnapshot> {
  // Named statements: planning this statement costs several ms, executing the prepared plan about 1 ms.
  const { rows } = await db.query({ ...STATEMENTS[archive], values: [table] });
  const r = rows[0];
  const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));
  return {
    at: r.at as Date,
    inRecovery: Boolean(r.in_recovery),
    seesAllSessions: Boolean(r.sees_all),
    standbys: (r.standbys as StandbySnapshot[]).map((s) => ({ ...s, lagMs: num(s.lagMs), lagBytes: num(s.lagBytes) })),
    archiveMode: String(r.archive_mode),
    archiveBacklog: num(r.archive_backlog),
    archiveFailingWal: (r.failing_wal as string | null) ?? null,
    archiveUnset: Boolean(r.archive_unset),
    archiveMethod: archive,
    oldestTransactionMs: num(r.oldest_xact_ms),
    xminHorizonAge: Number(r.xmin_age),
    tableFound: Boolean(r.table_found),
    vacuums: Number(r.vacuums),
    lockWaiters: Number(r.lock_waiters),
    lockWaitMs: Number(r.lock_wait_ms),
    activeBackends: Number(r.active_backends),
  };
}
