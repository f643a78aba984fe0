import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { MigrationProgress } from '../src/engine/types';
import type { Knobs } from '../src/knobs';

/**
 * Every signal, query and update bbm's workflows understand, in one module imported by the
 * workflows, the CLI, the tests and any service that triggers bbm.
 */

// ---- repository workflow ------------------------------------------------------------------

/** Optional target: one migration by name; all of the repository's migrations when omitted. */
export interface MigrationTarget {
  migration?: string;
}

/** Stop after the job in flight and pause the repository's (or one) migration(s). */
export const pauseSignal = defineSignal<[MigrationTarget?]>('pause');
/** Resume paused migrations and continue. */
export const resumeSignal = defineSignal<[MigrationTarget?]>('resume');

export interface ConfigureRequest extends Partial<Knobs> {
  /** Change the batch size of unfinished migrations (of `migration` only when given). */
  batchSize?: number;
  migration?: string;
}
/** Change the batch loop's knobs while it runs; the validator refuses bad values before anything changes. */
export const configureUpdate = defineUpdate<Knobs, [ConfigureRequest]>('configure');

export type RepositoryState = 'starting' | 'running' | 'waiting_for_lock' | 'waiting_for_work_function' | 'retrying' | 'pausing' | 'paused' | 'finished' | 'failed' | 'cancelled';

export interface RepositoryProgress {
  repository: string;
  state: RepositoryState;
  /** Why the workflow is waiting, when it is. */
  detail: string | null;
  knobs: Knobs;
  migrations: MigrationProgress[];
  totals: RepositoryTotals;
}

export interface RepositoryTotals {
  jobs: number;
  rows: number;
  batches: number;
  migrationsFinished: string[];
  migrationsFailed: string[];
  /** Runs of this workflow so far (1 + continue-as-new count). */
  runs: number;
}

export const progressQuery = defineQuery<RepositoryProgress>('progress');

// ---- enqueuer workflow --------------------------------------------------------------------

export interface WakeRequest {
  /** Who asked (logged): "schedule", "repository:<key>", "cli", a service name... */
  reason?: string;
  /** Only consider repositories whose key starts with this prefix. */
  repositoryPrefix?: string;
}

/** Wake the enqueuer: start repositories up to capacity. Send with signal-with-start. */
export const wakeSignal = defineSignal<[WakeRequest?]>('wake');

export interface RepositoryDone {
  repository: string;
  state: RepositoryState;
}
/** Sent by a repository workflow when it reaches a final state, so the next repository starts at once. */
export const repositoryDoneSignal = defineSignal<[RepositoryDone]>('repositoryDone');

export interface CapacityRequest {
  capacity: number;
}
export const setCapacityUpdate = defineUpdate<number, [CapacityRequest]>('setCapacity');
export const capacityQuery = defineQuery<number>('capacity');

export interface EnqueuerReport {
  capacity: number;
  running: string[];
  started: string[];
  alreadyRunning: string[];
  noRepositoryFound: boolean;
  wakeUps: number;
  at: string | null;
}
export const enqueuerStatusQuery = defineQuery<EnqueuerReport>('status');
