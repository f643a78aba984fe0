import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { MigrationProgress } from '../engine/types';
import type { Knobs } from '../knobs';
import type { TrippedIndicator } from '../health/indicators';
import type { AuditStamp } from './audit';

/**
 * Every signal, query and update bbm's workflows understand, in one module imported by the
 * workflows, the CLI, the tests and any service that triggers bbm.
 */

// ---- repository workflow ------------------------------------------------------------------

/**
 * Optional target: one migration by name; all of the repository's migrations when omitted.
 * `actor`/`via` (AuditStamp) name who sent it in the audit trail; without them the sender's
 * Temporal identity is recorded.
 */
export interface MigrationTarget extends AuditStamp {
  migration?: string;
}

/** Stop after the job in flight and pause the repository's (or one) migration(s). */
export const pauseSignal = defineSignal<[MigrationTarget?]>('pause');
/** Resume paused migrations and continue. */
export const resumeSignal = defineSignal<[MigrationTarget?]>('resume');
/**
 * Run failed migrations again (the named one, or all of the repository's): the workflow puts
 * them back to running with a fresh attempt budget (a no-op for those `bbm migrations retry`
 * already reset), stops passing over them, and picks them up in its next batch.
 */
export const retrySignal = defineSignal<[MigrationTarget?]>('retry');

/** `actor`/`via`: see MigrationTarget. */
export interface ConfigureRequest extends Partial<Knobs>, AuditStamp {
  /** Change the batch size of unfinished migrations (of `migration` only when given). */
  batchSize?: number;
  /**
   * Rows per sub-batch of unfinished migrations (at most their batch size); null turns sub-batches
   * off. Refused with INVALID_SUB_BATCH_SIZE. See src/contract/sub-batches.ts.
   */
  subBatchSize?: number | null;
  /** Milliseconds between sub-batches (0..60000); refused with INVALID_SUB_BATCH_PAUSE. */
  subBatchPauseMs?: number;
  /**
   * Adaptive batch size of unfinished migrations: the duration one job should take (0..3600000 ms,
   * 0 turns tuning off; INVALID_INPUT), and the bounds of the tuned size (1..1000000, min <= max,
   * also against stored values; INVALID_BATCH_SIZE). See src/engine/batch-tuner.ts.
   */
  targetJobMs?: number;
  minBatchSize?: number;
  maxBatchSize?: number;
  migration?: string;
}
/** Change the batch loop's knobs while it runs; the validator refuses bad values before anything changes. */
export const configureUpdate = defineUpdate<Knobs, [ConfigureRequest]>('configure');

export type RepositoryState =
  | 'starting'
  | 'running'
  | 'waiting_for_lease'
  | 'waiting_for_work_function'
  | 'retrying'
  | 'throttled'
  | 'pausing'
  | 'paused'
  | 'finished'
  | 'failed'
  | 'cancelled';

export interface ThrottleView {
  since: string;
  tripped: TrippedIndicator[];
}

export interface RepositoryProgress {
  repository: string;
  state: RepositoryState;
  /** Why the workflow is waiting, when it is. */
  detail: string | null;
  /**
   * While state is `throttled`: the indicators that tripped at the last check, each with its value, threshold and unit, and
   * when the throttle began (the database's clock, ISO 8601). Absent otherwise.
   */
  throttle?: ThrottleView;
  knobs: Knobs;
  migrations: MigrationProgress[];
  totals: RepositoryTotals;
}

/**
 * What this execution did, across continue-as-new. Counted from job results as they reached the
 * workflow: after the database lost recent commits (a crash with asynchronous commit, a failover)
 * the jobs it redid are counted twice. The per-migration figures come from the database and are
 * the authoritative ones.
 */
export interface RepositoryTotals {
  jobs: number;
  /** Rows changed, as a decimal string (bigint; see src/engine/int8.ts). */
  rows: string;
  batches: number;
  migrationsFinished: string[];
  migrationsFailed: string[];
  /** Runs of this workflow so far (1 + continue-as-new count). */
  runs: number;
  /** Signals ignored because their payload did not fit (signals cannot be refused); absent until one is. */
  ignoredSignals?: IgnoredSignals;
}

/** How many signals a workflow ignored for a malformed payload, and why it ignored the last one. */
export interface IgnoredSignals {
  count: number;
  /** The last refusal's message, naming the signal, the field and what it accepts. */
  last: string;
}

export const progressQuery = defineQuery<RepositoryProgress>('progress');

// ---- enqueuer workflow --------------------------------------------------------------------

/**
 * A wake-up request. Every field is optional: `{}` means "start repositories up to capacity".
 * Send it with signal-with-start on `bbm-enqueuer/<task queue>` (see src/enqueuer/client.ts), so
 * it works whether the enqueuer runs or not, and concurrent requests coalesce into one wake-up.
 */
export interface WakeRequest {
  /** Who asked (logged and reported): "schedule", "repository:<key>", "cli", a service name... */
  reason?: string;
  /** Only consider repositories whose key starts with this prefix, for this wake-up (and its re-checks). */
  repositoryPrefix?: string;
  /**
   * Knobs for the repository workflows the enqueuer starts from now on (e.g. `{"maxJobAttempts":1}`).
   * Without `repositoryPrefix` they replace the enqueuer's default knobs; with it they apply only to
   * repositories whose key starts with that prefix (the longest matching prefix wins), so a demo
   * or a one-off backfill does not leave its knobs on everyone else's repositories. They are kept
   * until another wake sets them for the same scope; `{}` clears them.
   */
  knobs?: Partial<Knobs>;
}

/** Wake the enqueuer: start repositories up to capacity. Send with signal-with-start. */
export const wakeSignal = defineSignal<[WakeRequest?]>('wake');

export interface RepositoryDone {
  repository: string;
  state: RepositoryState;
  /** Run that reached the final state; notifyEnqueuer fills it in, so a late notice never hides a newer run. */
  runId?: string;
}
/** Sent by a repository workflow when it reaches a final state, so the next repository starts at once. */
export const repositoryDoneSignal = defineSignal<[RepositoryDone]>('repositoryDone');

/** `actor`/`via`: see MigrationTarget. */
export interface CapacityRequest extends AuditStamp {
  /** Repository workflows allowed to run at once: an integer from 0 (start nothing new) to 1000. */
  capacity: number;
}
/** Change the capacity; returns the new value. The validator refuses bad values before anything changes. */
export const setCapacityUpdate = defineUpdate<number, [CapacityRequest]>('setCapacity');
export const capacityQuery = defineQuery<number>('capacity');

/** What the last wake-up found and did (the same fields as its log line), plus the enqueuer's state. */
export interface EnqueuerReport {
  capacity: number;
  /** Repositories running at the last wake-up: seen in Temporal, or started by this enqueuer and not yet seen finish. */
  running: string[];
  /** Repositories the last wake-up started. */
  started: string[];
  /** Eligible repositories the last wake-up found already running without this enqueuer (the seed's lease_already_taken). */
  alreadyRunning: string[];
  /** True when the last wake-up found no eligible repository that was not already running. */
  noRepositoryFound: boolean;
  /** True when no slot was left free after the last wake-up (running >= capacity). */
  atCapacity: boolean;
  /** Reason(s) of the last wake-up; coalesced requests are joined with ",". */
  reason: string | null;
  /** Wake-ups processed since the enqueuer first started (across continue-as-new). */
  wakeUps: number;
  /**
   * Repositories started since the enqueuer first started. After a worker crash mid wake-up, a run
   * the lost attempt started and that finished before the retry is not counted (README, "How the
   * enqueuer decides"), so this can be lower than the runs started; it never counts one twice.
   */
  startedTotal: number;
  /** Wake requests waiting to be processed. */
  pending: number;
  /** Repositories this enqueuer is waiting on (started or found running, not yet seen finish). */
  tracked: string[];
  /** Knobs given to the repository workflows it starts. */
  knobs: Partial<Knobs>;
  /** Knobs scoped to a repository key prefix (a wake's `repositoryPrefix` with `knobs`). */
  knobsByPrefix?: Record<string, Partial<Knobs>>;
  /** Runs of the enqueuer (1 + continue-as-new count). */
  runs: number;
  /** Workflow time of the last wake-up (ISO 8601). */
  at: string | null;
  /** wake and repositoryDone signals ignored because their payload did not fit; absent until one is. */
  ignoredSignals?: IgnoredSignals;
  /**
   * The last wake-ups (at most RECENT_WAKE_UPS, oldest first), so a caller can find the one its
   * own request caused (`bbm enqueue` matches it by reason) even after a self re-wake replaced the
   * fields above. Absent in enqueuers started before it was added.
   */
  recent?: WakeUpOutcome[];
}

/** How many wake-ups EnqueuerReport.recent keeps. */
export const RECENT_WAKE_UPS = 20;

/** What one wake-up found and did: the per-wake-up fields of EnqueuerReport. */
export interface WakeUpOutcome {
  /** Its sequence number (EnqueuerReport.wakeUps when it ran). */
  wakeUp: number;
  /** Reason(s) of the requests it served, joined with ","; "self" is the enqueuer's own re-wake. */
  reason: string;
  started: string[];
  alreadyRunning: string[];
  noRepositoryFound: boolean;
  atCapacity: boolean;
  /** Workflow time it ran (ISO 8601). */
  at: string;
}
export const enqueuerStatusQuery = defineQuery<EnqueuerReport>('status');
