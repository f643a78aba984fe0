/**
 * The health indicators' knobs: one threshold per built-in indicator and the check interval.
 * They are part of the repository's knobs (src/knobs.ts spreads them in), so the CLI's `--knob`,
 * the workflow input and the `configure` update validate them with the same rules and codes.
 *
 * Pure module (no Node built-ins): the workflow imports it.
 *
 * Rule for every numeric threshold: an indicator trips when its reading is ABOVE the threshold,
 * and a threshold of 0 turns the indicator off. Defaults are chosen for a production primary;
 * the README's "Protecting production" section gives each default's source.
 */
export interface HealthKnobs {
  /**
   * Check the indicators before jobs at all (false: never hold jobs for health; `bbm health`
   * still reads them). @default true
   */
  healthChecks: boolean;
  /**
   * The repository workflow checks health again after this much job time (plus pauses between
   * batches), and readings are reused this long before the database is asked again (0: check
   * before every job). Source: pt-online-schema-change's `--check-interval` (1 s). @default 1000
   */
  healthCheckIntervalMs: number;
  /**
   * Longest wait between re-checks while throttled: the first re-check comes after
   * `healthCheckIntervalMs` (at least 100 ms), each next one after twice the wait, up to this.
   * Source: gh-ost and pt-online-schema-change re-check every second without backing off; the
   * cap keeps a long throttle to a few history events a minute. @default 30000
   */
  maxThrottleBackoffMs: number;
  /** Replay lag of the most-behind streaming standby, in ms. Source: gh-ost `--max-lag-millis`. @default 1500 */
  maxReplicationLagMs: number;
  /**
   * WAL bytes the most-behind standby has not replayed yet. Source: GitLab's database load
   * balancer `max_replication_difference` (8 MiB). @default 8388608
   */
  maxReplicationLagBytes: number;
  /** WAL segments waiting for `archive_command`. Source: the container registry's worker (more than 42). @default 42 */
  maxWalArchiveBacklog: number;
  /** Age of the oldest open transaction or prepared transaction, in ms. Source: GitLab.com's 10-minute long-transaction alert. @default 600000 */
  maxTransactionAgeMs: number;
  /**
   * Age of the xmin horizon in transactions (sessions, replication slots, prepared transactions).
   * Source: GitLab.com's `pg_txid_xmin_age > 500000` alert. @default 500000
   */
  maxXminHorizonAge: number;
  /** Hold jobs while autovacuum or a VACUUM works on the migration's table. Source: GitLab's autovacuum indicator. @default true */
  throttleOnVacuum: boolean;
  /**
   * Longest current wait for a lock on the migration's table (or for a row of it), in ms.
   * Source: PostgreSQL's `deadlock_timeout` (1 s), the wait `log_lock_waits` starts reporting. @default 1000
   */
  maxLockWaitMs: number;
  /** Other sessions holding a lock on the migration's table (0: off; no default fits every workload). @default 0 */
  maxActiveBackends: number;
}

export const DEFAULT_HEALTH_KNOBS: Readonly<HealthKnobs> = Object.freeze({
  healthChecks: true,
  healthCheckIntervalMs: 1_000,
  maxThrottleBackoffMs: 30_000,
  maxReplicationLagMs: 1_500,
  maxReplicationLagBytes: 8 * 1024 * 1024,
  maxWalArchiveBacklog: 42,
  maxTransactionAgeMs: 600_000,
  maxXminHorizonAge: 500_000,
  throttleOnVacuum: true,
  maxLockWaitMs: 1_000,
  maxActiveBackends: 0,
});

export type HealthBooleanKnob = 'healthChecks' | 'throttleOnVacuum';
export const HEALTH_BOOLEAN_KNOBS: readonly HealthBooleanKnob[] = Object.freeze(['healthChecks', 'throttleOnVacuum'] as const);

/** Inclusive integer ranges, checked by checkKnobs() like every other knob. */
export const HEALTH_KNOB_RANGES: Readonly<Record<Exclude<keyof HealthKnobs, HealthBooleanKnob>, readonly [number, number]>> = Object.freeze(
  {
    healthCheckIntervalMs: [0, 3_600_000],
    maxThrottleBackoffMs: [100, 3_600_000],
    maxReplicationLagMs: [0, 86_400_000],
    maxReplicationLagBytes: [0, 1024 ** 4],
    maxWalArchiveBacklog: [0, 1_000_000],
    maxTransactionAgeMs: [0, 7 * 86_400_000],
    maxXminHorizonAge: [0, 2_000_000_000],
    maxLockWaitMs: [0, 3_600_000],
    maxActiveBackends: [0, 100_000],
  },
);
