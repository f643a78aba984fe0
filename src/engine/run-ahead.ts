import type { Pool, PoolClient } from 'pg';
import { beginJobSql } from '../store/hot-path';
import { cancelBackend, type ExecuteJobDeps, type ExecuteJobInput } from './execute-job';
import type { FindAheadInput } from './find-ahead';
import { workAhead, type WorkAhead } from './job-transaction';
import type { FenceToken } from './types';

/**
 * Run-ahead (issue 12): overlap the next job's SQL with this job's round trip through the workflow.
 *
 * When a whole serial job commits having found its successor (find-ahead), executeJob keeps its
 * connection and, without waiting for it, opens the successor's transaction: statement (a), the
 * checks, the job's rows, the work and its progress check, and statement (b) but for its fence
 * part, exactly as the successor's own attempt would; then it stops there, uncommitted, holding
 * its row locks (not the lease row's). The workflow's executeJob for that job (a real activity
 * attempt) claims it and only has the fence to confirm (locking the lease row) and COMMIT left.
 *
 * Nothing a run-ahead does is visible unless an attempt claims it and commits it with its fence
 * confirmed, so every guarantee holds: a run-ahead that fails, or is not claimed, is rolled back
 * and records nothing, and the attempt runs the job from scratch as it would have anyway (its
 * failure recorded as today). One is abandoned (its statement cancelled, its transaction rolled
 * back) when not claimed within `idleMs`, when any other activity of its repository runs on this
 * worker (they bump the repository's epoch first, so an executeJob in flight does not open a new
 * one after them), and at worker shutdown. A worker crash closes the connection: Postgres rolls back.
 */

/** How a run-ahead ended (bbm_run_ahead_total{outcome}). */
export type RunAheadOutcome = 'claimed' | 'abandoned' | 'failed' | 'skipped' | 'mismatched';

export interface RunAheadSettings {
  /** @default true (BBM_RUN_AHEAD) */
  enabled: boolean;
  /** Abandon a run-ahead not claimed within this many ms. @default 300 (BBM_RUN_AHEAD_IDLE_MS) */
  idleMs: number;
  /** At most this many open at once on the worker (each holds a pool connection). @default half the pool */
  maxOpen: number;
}

/**
 * How many run-aheads a worker whose pool has `poolSize` connections may hold open at once: half
 * the pool, rounded down, so the activities' own connections (a health check between two jobs, a
 * cancel) are never starved for long; none with a pool of one.
 */
export function maxRunAheads(poolSize: number): number {
  return Math.floor(poolSize / 2);
}

/**
 * What a worker is told of its run-aheads (its metrics). `onClaimWait`: for each claim that got a
 * run-ahead with its work done (finished or failed), how long the claiming attempt waited for that
 * work, in ms (0: it was done before the claim). Long waits mean the jobs' SQL sets the pace, not
 * the round trip through the workflow, which the run-ahead then hides entirely.
 */
export interface RunAheadHooks {
  onOutcome?: (outcome: RunAheadOutcome) => void;
  onClaimWait?: (ms: number) => void;
}

/** What identifies the attempt a run-ahead was opened for. */
interface Key {
  jobId: string;
  migrationId?: string;
  fence: FenceToken;
  jobTimeoutMs: number;
  /** What statement (b), run ahead, found the next job with; another attempt's would have found differently. */
  findAhead?: FindAheadInput;
}

interface Entry {
  key: Key;
  client: PoolClient;
  controller: AbortController;
  /** Ready (work done, transaction open, the entry's owner must end it), or undefined: rolled back and released. */
  state: Promise<WorkAhead | undefined>;
  /** The run-ahead's last statement has returned: no cancel may be sent to its connection any more. */
  settled: boolean;
  /** Its work is done and it waits, open, for its claim. */
  ready: boolean;
  fate?: 'claimed' | 'abandoned' | 'mismatched';
  cancelling?: Promise<void>;
  timer?: NodeJS.Timeout;
  /**
   * Heard while the registry holds the connection: a connection lost then (backend killed, server
   * restart) emits 'error', which unheard would crash the process; the next statement fails instead.
   */
  onClientError: () => void;
}

/** A claimed run-ahead: its open transaction, on `client`, with the work done. */
export interface ClaimedRunAhead {
  client: PoolClient;
  done: WorkAhead;
}

/** The worker's open run-aheads, at most one per repository, and each repository's epoch. */
export class RunAheads {
  private readonly open = new Map<string, Entry>();
  private readonly epochs = new Map<string, number>();
  private readonly counts: Record<RunAheadOutcome, number> = { claimed: 0, abandoned: 0, failed: 0, skipped: 0, mismatched: 0 };

  constructor(
    private readonly pool: Pool,
    readonly settings: RunAheadSettings,
    private readonly hooks: RunAheadHooks = {},
  ) {}

  /** Run-aheads ended so far on this worker, by outcome. */
  stats(): Readonly<Record<RunAheadOutcome, number>> {
    return { ...this.counts };
  }

  /**
   * The repository's open run-ahead (tests and diagnostics): its job, and whether its work got
   * done (resolves true: ready and waiting for its claim; false: rolled back).
   */
  opened(repository: string): { jobId: string; ready: Promise<boolean> } | undefined {
    const entry = this.open.get(repository);
    return entry && { jobId: entry.key.jobId, ready: entry.state.then((done) => done !== undefined) };
  }

  /** Changes whenever another activity of the repository ran here; executeJob runs ahead only if it did not change during it. */
  epoch(repository: string): number {
    return this.epochs.get(repository) ?? 0;
  }

  /**
   * Before any other activity of `repository` touches its rows: roll its run-ahead back (so a
   * pause or a find does not wait on its migration row lock) and bump the epoch, so an
   * executeJob already in flight does not open another after this.
   */
  async abandon(repository: string): Promise<void> {
    this.epochs.set(repository, this.epoch(repository) + 1);
    const entry = this.open.get(repository);
    if (!entry) return;
    this.open.delete(repository);
    await this.dispose(entry, 'abandoned');
  }

  /** Worker shutdown: abandon every open run-ahead. */
  async abandonAll(): Promise<void> {
    await Promise.all([...this.open.keys()].map((repository) => this.abandon(repository)));
  }

  /**
   * Open `input`'s run-ahead on `client` (which the registry then owns) and return true; false
   * (the caller keeps the client) when run-ahead is off, the epoch moved since `epoch`, the pool
   * has waiters, or the worker already has `maxOpen` open.
   */
  start(deps: ExecuteJobDeps, client: PoolClient, input: ExecuteJobInput & { fence: FenceToken }, epoch: number): boolean {
    const repository = input.fence.repository;
    if (!this.settings.enabled || epoch !== this.epoch(repository) || this.pool.waitingCount > 0) return false;
    const existing = this.open.get(repository);
    if (existing) {
      this.open.delete(repository);
      void this.dispose(existing, 'abandoned');
    } else if (this.open.size >= this.settings.maxOpen) return false;
    const entry: Entry = {
      key: {
        jobId: input.jobId,
        migrationId: input.migrationId,
        fence: input.fence,
        jobTimeoutMs: input.jobTimeoutMs,
        findAhead: input.findAhead,
      },
      client,
      controller: new AbortController(),
      state: Promise.resolve(undefined),
      settled: false,
      ready: false,
      onClientError: () => undefined,
    };
    client.on('error', entry.onClientError);
    entry.state = this.run(deps, entry, input);
    entry.timer = setTimeout(() => {
      if (this.open.get(repository) !== entry) return;
      this.open.delete(repository);
      void this.dispose(entry, 'abandoned');
    }, this.settings.idleMs);
    // A worker exiting does not wait for it: its connection closes and Postgres rolls back.
    entry.timer.unref();
    this.open.set(repository, entry);
    return true;
  }

  /**
   * The run-ahead opened for exactly this attempt (same job, migration, fence and timeout), once
   * its work is done; undefined when there is none or it was rolled back (the caller runs the job
   * from scratch). A run-ahead of the repository for another attempt is abandoned. `signal`
   * (the activity's cancellation) cancels a claimed run-ahead still working.
   */
  async claim(input: ExecuteJobInput & { fence: FenceToken }, signal: AbortSignal): Promise<ClaimedRunAhead | undefined> {
    const entry = this.open.get(input.fence.repository);
    if (!entry) return undefined;
    this.open.delete(input.fence.repository);
    clearTimeout(entry.timer);
    if (!sameAttempt(entry.key, input)) {
      await this.dispose(entry, 'mismatched');
      return undefined;
    }
    entry.fate = 'claimed';
    const onAbort = (): void => this.stop(entry);
    signal.addEventListener('abort', onAbort, { once: true });
    if (signal.aborted) onAbort();
    const waitFrom = entry.ready ? undefined : performance.now();
    const done = await entry.state.finally(() => signal.removeEventListener('abort', onAbort));
    if (!done) return undefined;
    this.hooks.onClaimWait?.(waitFrom === undefined ? 0 : performance.now() - waitFrom);
    // executeJob listens from here on.
    entry.client.off('error', entry.onClientError);
    // A failed work is the claiming attempt's to record (src/engine/execute-job.ts commitClaimed).
    this.count('finished' in done ? 'claimed' : 'failed');
    return { client: entry.client, done };
  }

  private async run(deps: ExecuteJobDeps, entry: Entry, input: ExecuteJobInput): Promise<WorkAhead | undefined> {
    const { client } = entry;
    let done: WorkAhead | undefined;
    let failed = false;
    try {
      // The same opening round trip as executeJob's (src/engine/execute-job.ts).
      await client.query(beginJobSql(input.jobTimeoutMs));
      done = await workAhead(deps, client, input, entry.controller.signal);
    } catch {
      failed = true;
    }
    entry.settled = true;
    // Stopped while its last statement ran: that statement may have finished before the cancel.
    if (done && !entry.controller.signal.aborted) {
      entry.ready = true;
      return done;
    }
    await this.end(entry, failed ? 'failed' : 'skipped');
    return undefined;
  }

  /** Cancel the run-ahead's work (its statement and its work function's signal); the run rolls back. */
  private stop(entry: Entry): void {
    entry.controller.abort();
    if (!entry.settled && !entry.cancelling) entry.cancelling = cancelBackend(this.pool, entry.client);
  }

  private async dispose(entry: Entry, fate: 'abandoned' | 'mismatched'): Promise<void> {
    clearTimeout(entry.timer);
    entry.fate = fate;
    this.stop(entry);
    // Ready before the stop reached it: roll it back here; otherwise the run already did.
    if (await entry.state) await this.end(entry, fate);
  }

  /** Roll back, release the connection (discarded after a cancel, as executeJob does) and count the outcome. */
  private async end(entry: Entry, outcome: RunAheadOutcome): Promise<void> {
    let broken: Error | undefined;
    await entry.client.query('ROLLBACK').catch((err: Error) => (broken = err));
    if (entry.cancelling) await entry.cancelling;
    entry.client.off('error', entry.onClientError);
    entry.client.release(broken ?? (entry.cancelling ? new Error('a cancel was sent to this connection; discarded') : undefined));
    this.count(entry.fate === 'abandoned' || entry.fate === 'mismatched' ? entry.fate : outcome);
  }

  private count(outcome: RunAheadOutcome): void {
    this.counts[outcome] += 1;
    this.hooks.onOutcome?.(outcome);
  }
}

function sameAttempt(key: Key, input: ExecuteJobInput & { fence: FenceToken }): boolean {
  return (
    key.jobId === input.jobId &&
    key.migrationId === input.migrationId &&
    key.jobTimeoutMs === input.jobTimeoutMs &&
    key.fence.repository === input.fence.repository &&
    key.fence.holder === input.fence.holder &&
    key.fence.token === input.fence.token &&
    key.findAhead?.leaseTtlMs === input.findAhead?.leaseTtlMs &&
    (key.findAhead === undefined) === (input.findAhead === undefined) &&
    sameIds(key.findAhead?.exclude ?? [], input.findAhead?.exclude ?? [])
  );
}

function sameIds(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((id, i) => id === b[i]);
}
