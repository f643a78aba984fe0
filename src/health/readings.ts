import type { HealthSnapshot, StandbySnapshot } from '../store/health';
import type { HealthReading } from './indicators';

const GRANT_MONITOR = 'grant pg_monitor to the bbm role';

/**
 * Turn the database's raw health facts into one reading per built-in indicator (pure). The table-
 * scoped readings are left out when no table was asked for, and read null when it does not exist.
 */
export function builtinReadings(s: HealthSnapshot, table: string | null): HealthReading[] {
  const readings: HealthReading[] = [...replicationReadings(s.standbys), archiveReading(s), ...transactionReadings(s)];
  if (table === null) return readings;
  const missing = s.tableFound ? undefined : `table ${table} does not exist`;
  const of = (value: number): number | null => (missing ? null : value);
  readings.push(
    {
      indicator: 'vacuum_on_table',
      value: of(s.vacuums),
      unit: 'vacuums',
      detail: missing ?? (s.vacuums > 0 ? `VACUUM running on ${table}` : undefined),
    },
    {
      indicator: 'lock_wait_time',
      value: of(s.lockWaitMs),
      unit: 'ms',
      detail: missing ?? (s.lockWaiters > 0 ? `${s.lockWaiters} session(s) waiting for a lock on ${table}` : undefined),
    },
    { indicator: 'active_backends', value: of(s.activeBackends), unit: 'sessions', detail: missing },
  );
  return readings;
}

/** The most-behind standby decides; a standby whose position is hidden makes the reading unknown. */
function replicationReadings(standbys: StandbySnapshot[]): HealthReading[] {
  if (standbys.length === 0) {
    const detail = 'no streaming standby';
    return [
      { indicator: 'replication_lag_time', value: 0, unit: 'ms', detail },
      { indicator: 'replication_lag_bytes', value: 0, unit: 'bytes', detail },
    ];
  }
  const hidden = standbys.filter((s) => s.lagBytes === null);
  if (hidden.length > 0) {
    const detail = `position of ${hidden.map(label).join(', ')} not visible: ${GRANT_MONITOR}`;
    return [
      { indicator: 'replication_lag_time', value: null, unit: 'ms', detail },
      { indicator: 'replication_lag_bytes', value: null, unit: 'bytes', detail },
    ];
  }
  // Postgres shows no replay_lag once a standby has caught up and WAL is idle: that is no lag.
  const byTime = maxBy(standbys, (s) => s.lagMs ?? 0);
  const byBytes = maxBy(standbys, (s) => s.lagBytes ?? 0);
  const count = `${standbys.length} standby${standbys.length === 1 ? '' : 's'}`;
  return [
    { indicator: 'replication_lag_time', value: byTime.lagMs ?? 0, unit: 'ms', detail: `${count}; most behind: ${label(byTime)}` },
    { indicator: 'replication_lag_bytes', value: byBytes.lagBytes ?? 0, unit: 'bytes', detail: `${count}; most behind: ${label(byBytes)}` },
  ];
}

function archiveReading(s: HealthSnapshot): HealthReading {
  const unit = 'segments';
  if (s.archiveMode === 'off') return { indicator: 'wal_archive_backlog', value: 0, unit, detail: 'archive_mode is off' };
  const unset = s.archiveUnset ? 'archive_mode is on but no archive_command is set, so WAL piles up' : undefined;
  if (s.archiveBacklog === null) {
    const why = s.inRecovery ? 'the server is a standby' : (unset ?? 'the last archived file is not a WAL segment');
    return {
      indicator: 'wal_archive_backlog',
      value: null,
      unit,
      detail: `not measurable: ${why}; ${GRANT_MONITOR} to count the waiting segments`,
    };
  }
  const how = s.archiveMethod === 'exact' ? 'counted' : `estimated from pg_stat_archiver (${GRANT_MONITOR} to count)`;
  const detail = [s.archiveFailingWal ? `archiving fails since ${s.archiveFailingWal}` : unset, how].filter(Boolean).join('; ');
  return { indicator: 'wal_archive_backlog', value: s.archiveBacklog, unit, detail };
}

function transactionReadings(s: HealthSnapshot): HealthReading[] {
  const partial = s.seesAllSessions ? undefined : `only this role's sessions are visible: ${GRANT_MONITOR}`;
  return [
    {
      indicator: 'oldest_transaction_age',
      value: s.oldestTransactionMs ?? 0,
      unit: 'ms',
      detail: partial ?? (s.oldestTransactionMs === null ? 'no open transaction' : undefined),
    },
    { indicator: 'xmin_horizon_age', value: s.xminHorizonAge, unit: 'transactions' },
  ];
}

function label(s: StandbySnapshot): string {
  return `${s.name || 'standby'}${s.address ? ` (${s.address})` : ''}`;
}

function maxBy<T>(items: T[], key: (item: T) => number): T {
  return items.reduce((best, item) => (key(item) > key(best) ? item : best));
}
