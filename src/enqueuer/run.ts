import { setTimeout as delay } from 'node:timers/promises';
import type { Client } from '@temporalio/client';
import type { Pool } from 'pg';
import { resumeMigrations } from '../engine/control';
import type { AuditContext } from '../engine/audit-record';
import { BbmError, ErrorCode } from '../errors';
import type { Knobs } from '../knobs';
import { wakeEnqueuer, type EnqueuerStartOptions } from './client';
import { failedMigrationNames, migrationTally, type MigrationTally } from '../store/eligible';

export interface RunToCompletionOptions {
  client: Client;
  pool: Pool;
  taskQueue: string;
  /** Attempts per job for the repositories started during the run. @default the repository workflow's (5) */
  maxJobAttempts?: number;
  /** Other knobs for the repositories started during the run. @default none (their defaults) */
  knobs?: Partial<Knobs>;
  /** Settings used only if this call starts the enqueuer (e.g. its capacity). */
  enqueuer?: EnqueuerStartOptions;
  /** How often to read progress from Postgres. @default 1000 */
  pollIntervalMs?: number;
  /** Wake the enqueuer again this often (covers an enqueuer terminated mid-run). @default 60000 */
  rewakeIntervalMs?: number;
  /** Called after every poll. */
  onProgress?: (progress: RunProgress) => void;
  /** Stop waiting (the migrations carry on in the background). */
  signal?: AbortSignal;
  /** Who runs it: the resume of paused migrations is recorded in the audit trail. @default not recorded */
  audit?: AuditContext;
}

export interface RunProgress extends MigrationTally {
  elapsedMs: number;
}

export interface RunResult {
  finished: number;
  failed: number;
  /** Migrations paused by someone while the run waited (they stop the run: nothing else would move them). */
  paused: number;
  total: number;
  /** Names of the failed migrations. */
  failedMigrations: string[];
  /** Migrations resumed before the run started. */
  resumed: string[];
  durationMs: number;
  /** True when every migration finished: the CLI exits non-zero otherwise. */
  ok: boolean;
}

/**
 * The anchor's `background-migrate run`: resume paused migrations, wake the enqueuer (which starts
 * repositories up to its capacity and the next one whenever one ends), then wait, reporting
 * progress, until no migration is active or running any more.
 */
export async function runToCompletion(options: RunToCompletionOptions): Promise<RunResult> {
  const t0 = Date.now();
  const pollMs = options.pollIntervalMs ?? 1_000;
  const rewakeMs = options.rewakeIntervalMs ?? 60_000;
  const knobs: Partial<Knobs> = {
    ...options.knobs,
    ...(options.maxJobAttempts !== undefined ? { maxJobAttempts: options.maxJobAttempts } : {}),
  };
  const request = { reason: 'run', ...(Object.keys(knobs).length > 0 ? { knobs } : {}) };

  const resumed = await resumeMigrations(options.pool, {}, options.audit);
  await wakeEnqueuer(options.client, options.taskQueue, request, options.enqueuer);
  let lastWake = Date.now();
  for (;;) {
    const tally = await migrationTally(options.pool);
    options.onProgress?.({ ...tally, elapsedMs: Date.now() - t0 });
    if (tally.byStatus.active === 0 && tally.byStatus.running === 0) {
      const finished = tally.byStatus.finished ?? 0;
      const failed = tally.byStatus.failed ?? 0;
      const paused = tally.byStatus.paused ?? 0;
      return {
        finished,
        failed,
        paused,
        total: tally.total,
        failedMigrations: await failedMigrationNames(options.pool),
        resumed,
        durationMs: Date.now() - t0,
        ok: failed === 0 && paused === 0,
      };
    }
    await sleep(pollMs, options.signal);
    if (Date.now() - lastWake >= rewakeMs) {
      await wakeEnqueuer(options.client, options.taskQueue, { reason: 'run' });
      lastWake = Date.now();
    }
  }
}

/** Node's abortable timer; an abort becomes CANCELLED, saying the work carries on. */
async function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  try {
    await delay(ms, undefined, { signal });
  } catch (err) {
    if ((err as Error).name === 'AbortError')
      throw new BbmError(ErrorCode.CANCELLED, 'Stopped waiting for the migrations; they carry on in the background.');
    throw err;
  }
}
