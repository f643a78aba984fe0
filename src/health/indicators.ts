import type { HealthKnobs } from './knobs';

/**
 * The vocabulary of health checking: indicators, readings, thresholds and verdicts, and the
 * built-in indicators with the knob that sets each one's threshold.
 *
 * Pure module (no Node built-ins): the workflow imports it to derive thresholds from its knobs.
 */

/** One measurement of one indicator. `value` is null when it could not be measured (see `detail`). */
export interface HealthReading {
  /** Stable name, e.g. `replication_lag_bytes`; also the metrics label. */
  indicator: string;
  value: number | null;
  /** Unit of `value` and of its threshold: `ms`, `bytes`, `segments`, `transactions`, `vacuums`, `sessions`, or a custom indicator's own. */
  unit: string;
  /** What the value is made of, or why it is missing (e.g. a privilege to grant). */
  detail?: string;
}

/** Every indicator read in one check. */
export interface HealthReadings {
  /** When the database took the readings (ISO 8601, the server's clock). */
  at: string;
  /** The table the table-scoped indicators looked at (`schema.table`), or null for a cluster-only check. */
  table: string | null;
  /** False when `table` was given but does not exist (its indicators then read null). */
  tableFound: boolean;
  readings: HealthReading[];
}

/**
 * Threshold per indicator name, in the indicator's unit. An indicator trips when its value is
 * above its threshold; a missing or null threshold means the indicator is off.
 */
export type HealthThresholds = Record<string, number | null>;

export interface TrippedIndicator {
  indicator: string;
  value: number;
  threshold: number;
  unit: string;
}

export interface HealthVerdict {
  /** True when no enabled indicator is above its threshold. Unknown readings do not make it unhealthy. */
  healthy: boolean;
  tripped: TrippedIndicator[];
  /** Enabled indicators that could not be read (value null): worth a warning, never a stall. */
  unknown: string[];
}

export interface BuiltinIndicator {
  name: string;
  unit: string;
  /** The knob that sets its threshold (0 or false: off). */
  knob: keyof HealthKnobs;
  /** True when it looks at the migration's table (absent from a cluster-only check). */
  tableScoped: boolean;
  description: string;
}

export const BUILTIN_INDICATORS: readonly BuiltinIndicator[] = Object.freeze([
  {
    name: 'replication_lag_time',
    unit: 'ms',
    knob: 'maxReplicationLagMs',
    tableScoped: false,
    description: 'replay lag of the most-behind streaming standby (pg_stat_replication.replay_lag)',
  },
  {
    name: 'replication_lag_bytes',
    unit: 'bytes',
    knob: 'maxReplicationLagBytes',
    tableScoped: false,
    description: 'WAL the most-behind streaming standby has not replayed (current WAL position - replay_lsn)',
  },
  {
    name: 'wal_archive_backlog',
    unit: 'segments',
    knob: 'maxWalArchiveBacklog',
    tableScoped: false,
    description: 'WAL segments waiting for archive_command (pg_stat_archiver and the current WAL segment)',
  },
  {
    name: 'oldest_transaction_age',
    unit: 'ms',
    knob: 'maxTransactionAgeMs',
    tableScoped: false,
    description: 'age of the oldest open or prepared transaction (pg_stat_activity.xact_start, pg_prepared_xacts)',
  },
  {
    name: 'xmin_horizon_age',
    unit: 'transactions',
    knob: 'maxXminHorizonAge',
    tableScoped: false,
    description: 'transactions since the xmin horizon (backend_xmin/xid, replication slots, prepared transactions)',
  },
  {
    name: 'vacuum_on_table',
    unit: 'vacuums',
    knob: 'throttleOnVacuum',
    tableScoped: true,
    description: 'autovacuum or VACUUM working on the table or its TOAST table (pg_stat_progress_vacuum)',
  },
  {
    name: 'lock_wait_time',
    unit: 'ms',
    knob: 'maxLockWaitMs',
    tableScoped: true,
    description: 'longest current wait for a lock on the table or one of its rows (pg_locks)',
  },
  {
    name: 'active_backends',
    unit: 'sessions',
    knob: 'maxActiveBackends',
    tableScoped: true,
    description: 'other sessions holding a lock on the table (pg_locks)',
  },
] as const);

/**
 * The built-in indicators' thresholds from the knobs: a numeric knob of 0 turns its indicator off;
 * `throttleOnVacuum: true` means "trip above 0 vacuums". Missing knobs count as off, so pass a
 * full knobs object (the workflow's, or `{ ...DEFAULT_KNOBS, ...partial }`).
 */
export function healthThresholds(knobs: Partial<HealthKnobs>): HealthThresholds {
  const thresholds: HealthThresholds = {};
  for (const indicator of BUILTIN_INDICATORS) {
    const value = knobs[indicator.knob];
    thresholds[indicator.name] = typeof value === 'boolean' ? (value ? 0 : null) : typeof value === 'number' && value > 0 ? value : null;
  }
  return thresholds;
}
