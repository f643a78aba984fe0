import { setTimeout as delay } from 'node:timers/promises';
import { migrationProgress } from '../engine/progress';
import type { MigrationProgress } from '../engine/types';
import { BbmError, ErrorCode, notFound } from '../errors';
import { migrationByName } from '../store/migrations';
import type { Queryable } from '../store/types';
import { insertAuditEvent } from '../store/audit';
import { controlMigrations, type ControlDeps } from './control';
import { describeRepositoryWorkflow, startRepositoryWorkflow } from './workflow';

/**
 * The finalize gate (GitLab's `ensure_batched_background_migration_is_finished` with and without
 * `finalize: true`): a later schema migration or deploy step states that a background migration
 * must be done before it goes on.
 *  - without `run`: a check. Finished passes; anything else throws, naming the status and progress.
 *  - with `run`: what is left is run to the end before it returns. A paused migration is resumed
 *    (finalizing is an explicit request to run it, as GitLab's finalize runs a paused one); the
 *    repository workflow is started when none runs, or the running one is waited on. Jobs run only
 *    in that workflow, under the repository lease, so the exactly-once guarantees are the usual ones.
 * A failed migration is never retried here: its cause needs a look first (MIGRATION_FAILED).
 */

export interface EnsureFinishedOptions {
  /** Run the remaining jobs to the end instead of only checking. @default false */
  run?: boolean;
  /** With `run`: give up waiting after this many ms (MIGRATION_NOT_FINISHED; the migration carries on). @default no limit */
  timeoutMs?: number;
  /** With `run`: how often the database is read, in ms. @default 1000 */
  pollIntervalMs?: number;
  /** With `run`: called after every read. */
  onProgress?: (progress: MigrationProgress) => void;
  /** With `run`: stop waiting (CANCELLED; the migration carries on in the background). */
  signal?: AbortSignal;
}

export interface FinalizeDeps extends ControlDeps {
  /**
   * Where the check reads the migration: e.g. a schema migration's own transaction client, so the
   * gate sees what that transaction sees. @default `pool`
   */
  db?: Queryable;
}

/**
 * Passes (returning the migration's progress, status "finished") when the migration `name` is
 * finished; see the module comment for `run`. Throws MIGRATION_NOT_FOUND (unknown name),
 * MIGRATION_NOT_FINISHED (unfinished without `run`; paused by someone while `run` waited; past
 * `timeoutMs`), MIGRATION_FAILED (failed, before or during the run), CANCELLED (`signal`), and
 * CANNOT_CONNECT when `run` needs Temporal and cannot reach it.
 */
export async function ensureMigrationFinished(
  deps: FinalizeDeps,
  name: string,
  options: EnsureFinishedOptions = {},
): Promise<MigrationProgress> {
  const db = deps.db ?? deps.pool;
  const first = await readProgress(db, name);
  if (first.status === 'finished') return recordFinalize(db, deps, first, first);
  if (first.status === 'failed') throw migrationFailed(first);
  if (!options.run) throw notFinished(first, `Finalize it with \`bbm migrations finalize ${name} --run\` or wait for it.`);

  const t0 = Date.now();
  if (first.status === 'paused') await controlMigrations(deps, 'resume', { name }, { start: true, timeoutMs: options.timeoutMs });
  const client = await deps.client();
  let seenResumed = false;
  for (;;) {
    const progress = await readProgress(db, name);
    options.onProgress?.(progress);
    if (progress.status === 'finished') return recordFinalize(db, deps, first, progress);
    if (progress.status === 'failed') throw migrationFailed(progress);
    // Paused again after it was seen resumed: someone paused it, and that request wins. Before
    // (a running workflow that has not applied the resume yet) it is waited for.
    if (progress.status === 'paused' && seenResumed)
      throw notFinished(progress, 'It was paused while finalize waited; resume it or finalize again.');
    seenResumed ||= progress.status !== 'paused';
    // Started here, or restarted if its workflow ended (cancelled, terminated) before reaching this
    // migration; a resume its workflow ended without applying is written again, directly.
    if ((await describeRepositoryWorkflow(client, progress.repository))?.status !== 'RUNNING') {
      if (progress.status === 'paused') await controlMigrations(deps, 'resume', { name }, { start: true });
      else
        await startRepositoryWorkflow(client, progress.repository, {
          taskQueue: deps.taskQueue,
          summary: `Started by bbm finalize ${name}`,
        });
    }
    if (options.timeoutMs !== undefined && Date.now() - t0 >= options.timeoutMs)
      throw notFinished(progress, `It did not finish within ${options.timeoutMs} ms; it carries on in the background.`);
    await sleep(options.pollIntervalMs ?? 1_000, options.signal);
  }
}

/**
 * A finalize that ran the migration to its end is recorded (action `finalize`): the status
 * before, "finished" after. A gate that found it finished already changed nothing, so it records
 * nothing (deploys run the check on every release; the trail records what changed); nor does a
 * refused one.
 */
async function recordFinalize(
  db: Queryable,
  deps: FinalizeDeps,
  first: MigrationProgress,
  last: MigrationProgress,
): Promise<MigrationProgress> {
  if (deps.audit && first.status !== 'finished') {
    await insertAuditEvent(db, {
      actor: deps.audit.actor,
      via: deps.audit.via,
      action: 'finalize',
      repository: last.repository,
      migration: last.name,
      target: last.name,
      before: { status: first.status, percent: first.percent },
      after: { status: last.status, percent: last.percent, rowsProcessed: last.rowsProcessed },
      detail: { ran: first.status !== 'finished' },
    });
  }
  return last;
}

async function readProgress(db: Queryable, name: string): Promise<MigrationProgress> {
  const row = await migrationByName(db, name);
  const progress = row && (await migrationProgress(db, row));
  if (!progress) throw notFound(name);
  return progress;
}

function progressText(p: MigrationProgress): string {
  const rows = p.totalEstimate === null ? `${p.rowsProcessed} rows` : `${p.rowsProcessed} of ~${p.totalEstimate} rows`;
  return `${p.status}, ${p.percent.toFixed(1)} % (${rows}; jobs: ${p.jobs.finished} finished, ${p.jobs.active} active, ${p.jobs.failed} failed)`;
}

function details(p: MigrationProgress): Record<string, unknown> {
  return { name: p.name, repository: p.repository, status: p.status, percent: p.percent, rowsProcessed: p.rowsProcessed };
}

function notFinished(p: MigrationProgress, hint: string): BbmError {
  return new BbmError(ErrorCode.MIGRATION_NOT_FINISHED, `Migration "${p.name}" is not finished: ${progressText(p)}. ${hint}`, details(p));
}

function migrationFailed(p: MigrationProgress): BbmError {
  const cause = p.lastError ?? p.failure ?? 'no error recorded';
  return new BbmError(
    ErrorCode.MIGRATION_FAILED,
    `Migration "${p.name}" failed (${cause}). Fix the cause, \`bbm migrations retry ${p.name}\`, then finalize again.`,
    { ...details(p), failure: p.failure },
  );
}

/** Node's abortable timer; an abort becomes CANCELLED, saying the work carries on. */
async function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  try {
    await delay(ms, undefined, { signal });
  } catch (err) {
    if ((err as Error).name === 'AbortError')
      throw new BbmError(ErrorCode.CANCELLED, 'Stopped waiting for the migration; it carries on in the background.');
    throw err;
  }
}
