/**
 * Workflow changes guarded with `patched()`, so executions started by an older version replay
 * the path they took (README, "Changing workflow code safely"). Each id stays until no execution
 * that began before it can still be running; then `deprecatePatch(id)`, and later nothing.
 * test/replay/fixtures/pre-split/ holds histories recorded before these changes.
 */
export const PATCHES = Object.freeze({
  /** A control request that arrives while a run completes is applied, and the final state decided again. */
  requestsAtCompletion: 'requests-at-completion',
  /** A control request that arrived before a cancellation is applied by the cancelled run. */
  requestsOnCancel: 'requests-on-cancel',
  /** The final read of the database decides: runnable migrations left mean the run carries on. */
  finalReadDecides: 'final-read-decides',
  /** A job whose database was unreachable through its retries is found again at once (no 10 s back-off). */
  findAgainWhenDatabaseLost: 'find-again-when-database-lost',
  /** Long local-activity batches yield a workflow task after about 2 s of job time. */
  localYield: 'local-yield',
  /** A cancelled run pauses its migrations, so the enqueuer does not start the repository again at once. */
  pauseOnCancel: 'pause-on-cancel',
  /** executeJob also finds the next job in its transaction; find is called only when it found none. */
  findAhead: 'find-ahead',
  /** Health checks before jobs; a tripped indicator releases the lease and holds the jobs (state throttled). */
  healthThrottle: 'health-throttle',
  /**
   * Operator requests are recorded in bbm.audit_events with their sender: control signals and the
   * cancellation by the activity that applies them, configure and setCapacity updates by their
   * handlers (the knobs-only and capacity ones through the recordAudit activity).
   */
  auditTrail: 'audit-trail',
  /**
   * The local-activity yield counts each job's wall time in the worker plus an allowance for its
   * Temporal side, across rounds, instead of the work's time alone (short jobs never yielded, and
   * their workflow tasks ran past the SDK's 5 s warning).
   */
  localYieldWall: 'local-yield-wall',
  /** The enqueuer keeps its last wake-ups in the status query, so `bbm enqueue` reports the one it caused. */
  recentWakeUps: 'recent-wake-ups',
  /** A cancelled run marks the pauses it makes, so resuming the repository undoes only those. */
  markCancelPauses: 'mark-cancel-pauses',
  /**
   * A configure that names a migration always goes through the settings activity, which refuses a
   * migration that is unknown or another repository's (MIGRATION_NOT_FOUND) before the knobs
   * change; knobs set to the value they had record nothing.
   */
  configureChecksMigration: 'configure-checks-migration',
  /**
   * A configure update applies the migration settings before the knobs, so a refused setting
   * (a sub-batch size above a stored batch size) leaves the knobs unchanged too.
   */
  configureSettingsFirst: 'configure-settings-first',
  /** A setCapacity update that leaves the capacity as it was records nothing. */
  capacityRecordsChanges: 'capacity-records-changes',
  /**
   * executeJob is told when the round will run the job it finds ahead, so the worker may run that
   * job's SQL ahead during the round trip (src/engine/run-ahead.ts); not for a round's last job.
   */
  runAhead: 'run-ahead',
  /**
   * The run's first and final progress reads and its notice to the enqueuer are local activities
   * when the knobs ask for local activities, like the hot path: a short run takes one workflow task
   * instead of four, which is what the enqueuer's start rate and a worker full of small
   * repositories pay for.
   */
  localBookends: 'local-bookends',
});
