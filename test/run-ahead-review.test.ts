import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FailureCode, MigrationStatus } from '../src/engine/constants';
import { retryMigration } from '../src/engine/control';
import { executeJob } from '../src/engine/execute-job';
import { findJob } from '../src/engine/find-job';
import { acquireLease } from '../src/engine/lease';
import type { WorkContext } from '../src/engine/registry';
import { RunAheads } from '../src/engine/run-ahead';
import type { ExecuteJobResult, FenceToken, JobDescriptor } from '../src/engine/types';
import { ErrorCode, isBbmError } from '../src/errors';
import { setMigrationStatus } from '../src/store/migrations';
import { createItems, createTestDatabase, stopBeforePoolsEnd } from './helpers/db';
import { counters, define, executeFound, JOB_TIMEOUT_MS, migration, REPO, registryWith, work, type Engine } from './helpers/engine';
import { waitFor } from './helpers/wait';

/**
 * A fresh reviewer's attack on run-ahead's statement (b) run before the claim (commit 0af845e):
 * the run-ahead now records the job finished, counts it, stores the tuner's decision and inserts
 * the job after it while it waits, and the claim only confirms the fence and commits. Engine
 * level, real Postgres, the test playing the workflow; scenarios run with run-ahead on and off
 * and their records compared.
 */

const TTL_MS = 60_000;
const NEVER_IDLE_MS = 600_000;

interface Setup extends Engine {
  aheads: RunAheads;
  enabled: boolean;
}

async function setup(
  label: string,
  enabled: boolean,
  ids: number,
  options: { failOnce?: (ctx: WorkContext) => boolean; failAlways?: (ctx: WorkContext) => boolean } = {},
): Promise<Setup> {
  const db = await createTestDatabase(`${label}_${enabled ? 'on' : 'off'}`);
  await createItems(db.pool, 'items', ids);
  const failedOnce = new Set<string>();
  const fn = work('inc', async (ctx) => {
    const r = await ctx.client.query(`UPDATE ${ctx.quotedTable} SET counter = counter + 1 WHERE ${ctx.where.sql}`, ctx.where.values);
    const key = `${ctx.quotedTable}:${ctx.start}`;
    if (options.failOnce?.(ctx) && !failedOnce.has(key)) {
      failedOnce.add(key);
      throw new Error(`boom once ${ctx.start}-${ctx.end}`);
    }
    if (options.failAlways?.(ctx)) throw new Error(`boom ${ctx.start}-${ctx.end}`);
    return r.rowCount ?? 0;
  });
  const aheads = new RunAheads(db.pool, { enabled, idleMs: NEVER_IDLE_MS, maxOpen: 4 });
  // Before the pool ends: pool.end() would wait for an open run-ahead's connection for ever.
  stopBeforePoolsEnd(() => aheads.abandonAll());
  return { pool: db.pool, registry: registryWith(fn), aheads, enabled };
}

function lease(s: Setup, holder = 'h1'): Promise<FenceToken> {
  return acquireLease(s.pool, { repository: REPO, holder, ttlMs: TTL_MS, waitMs: TTL_MS });
}

function exec(s: Setup, job: JobDescriptor, fence: FenceToken, signal?: AbortSignal): Promise<ExecuteJobResult> {
  if (!signal) return executeFound({ pool: s.pool, registry: s.registry, runAheads: s.aheads }, job, fence, { runAhead: true }, TTL_MS);
  return executeJob(
    { pool: s.pool, registry: s.registry, runAheads: s.aheads },
    {
      jobId: job.jobId,
      migrationId: job.migrationId,
      maxJobAttempts: 3,
      jobTimeoutMs: JOB_TIMEOUT_MS,
      fence,
      findAhead: { exclude: [], leaseTtlMs: TTL_MS },
      runAhead: true,
    },
    signal,
  );
}

/** findJob as the workflow's find activity calls it (which first abandons the repository's run-ahead). */
async function find(s: Setup, fence: FenceToken): Promise<JobDescriptor | null> {
  await s.aheads.abandon(REPO);
  return (await findJob(s.pool, { repository: REPO, fence, maxJobAttempts: 3, leaseTtlMs: TTL_MS })).job;
}

/** With run-ahead on, wait until the run-ahead opened after `result` is ready (work and (b) done, uncommitted). */
async function settle(s: Setup, result: ExecuteJobResult): Promise<JobDescriptor> {
  assert.ok(result.next, 'a job found ahead');
  if (s.enabled) {
    const opened = s.aheads.opened(REPO);
    assert.equal(opened?.jobId, result.next.jobId, 'a run-ahead opened for the job found ahead');
    assert.equal(await opened.ready, true, 'its work and statement (b) done, uncommitted');
  }
  return result.next;
}

/** A result without its timings (durationMs, elapsedMs, rows/s, ETA, start and end), for comparing on with off. */
function comparable(result: ExecuteJobResult): unknown {
  const { durationMs: _d, elapsedMs: _e, progress, ...rest } = result;
  if (!progress) return rest;
  const { rowsPerSecond: _r, etaSeconds: _eta, startedAt: _s, finishedAt: _f, ...p } = progress;
  return { ...rest, progress: p };
}

/** Every job and migration column the promises are about: ranges, attempts, status, rows, failures, counters, batch size. */
async function records(s: Setup): Promise<unknown> {
  const jobs = await s.pool.query(
    `SELECT migration_id::text, min_value::text, max_value::text, status, attempts, rows_affected::text, failure_error_code, last_error
       FROM bbm.jobs ORDER BY id`,
  );
  const migrations = await s.pool.query(
    `SELECT id::text, name, status, failure_error_code, rows_processed::text, jobs_finished, covered_ids::text, batch_size, tuner_state
       FROM bbm.migrations ORDER BY id`,
  );
  return { jobs: jobs.rows, migrations: migrations.rows, items: await counters(s.pool) };
}

/** The workflow's loop: execute what was found ahead, find otherwise, retry a failed job; every result kept. */
async function drain(s: Setup, fence: FenceToken, first: JobDescriptor | null, seen: unknown[] = []): Promise<unknown[]> {
  let next = first ?? (await find(s, fence));
  for (let i = 0; next && i < 200; i++) {
    try {
      const result = await exec(s, next, fence);
      seen.push(comparable(result));
      next = result.next ?? (await find(s, fence));
    } catch (err) {
      seen.push(isBbmError(err) ? err.code : String(err));
      if (isBbmError(err, ErrorCode.MAX_JOB_RETRY)) next = await find(s, fence);
      else if (!isBbmError(err, ErrorCode.WORK_FAILED)) throw err;
    }
  }
  assert.equal(next, null, 'drain: still finding jobs after 200 steps');
  await s.aheads.abandon(REPO);
  return seen;
}

test(
  'run-ahead review: a whole run records the same job and migration rows and returns the same results with run-ahead on as off, a work failing once included',
  { timeout: 90_000 },
  async () => {
    const run = async (enabled: boolean): Promise<{ results: unknown[]; rows: unknown; claimed: number }> => {
      const s = await setup('rv_same', enabled, 95, { failOnce: (ctx) => ctx.start === 41n || ctx.start === 91n });
      await define(s, { name: 'm', work: 'inc', batchSize: 10, args: {} });
      const results = await drain(s, await lease(s), null);
      return { results, rows: await records(s), claimed: s.aheads.stats().claimed };
    };
    const on = await run(true);
    const off = await run(false);
    assert.ok(on.claimed >= 5, `most jobs were claimed from run-aheads (${on.claimed})`);
    assert.equal(off.claimed, 0);
    assert.deepEqual(on.results, off.results);
    assert.deepEqual(on.rows, off.rows);
  },
);

test(
  'run-ahead review: the claim extends a lease about to expire by the find-ahead lifetime, as the job run without run-ahead does',
  { timeout: 90_000 },
  async () => {
    const run = async (enabled: boolean): Promise<number> => {
      const s = await setup('rv_ttl', enabled, 30);
      await define(s, { name: 'm', work: 'inc', batchSize: 10, args: {} });
      const fence = await lease(s);
      const ahead = await settle(s, await exec(s, (await find(s, fence))!, fence));
      // The lease has a second left when the attempt for the job found ahead runs.
      await s.pool.query(`UPDATE bbm.leases SET expires_at = now() + interval '1 second'`);
      await exec(s, ahead, fence);
      const { rows } = await s.pool.query(`SELECT extract(epoch FROM expires_at - now())::float8 AS left_s FROM bbm.leases`);
      return rows[0].left_s;
    };
    const on = await run(true);
    const off = await run(false);
    assert.ok(off > TTL_MS / 1000 - 5, `off: the lease was extended (${off} s left)`);
    assert.ok(on > TTL_MS / 1000 - 5, `on: the claim extended the lease as (b) would (${on} s left)`);
  },
);

test(
  'run-ahead review: a takeover by another holder while its find waits on the run-ahead makes the claim fail LEASE_LOST without waiting on that find (no deadlock), and the new holder runs every row once',
  { timeout: 90_000 },
  async () => {
    const s = await setup('rv_takeover', true, 30);
    await define(s, { name: 'm', work: 'inc', batchSize: 10, args: {} });
    const old = await lease(s);
    const ahead = await settle(s, await exec(s, (await find(s, old))!, old));
    await s.pool.query(`UPDATE bbm.leases SET expires_at = now() - interval '1 second'`);
    const fresh = await lease(s, 'h2');
    // The new holder runs on another worker: its find does not abandon this worker's run-ahead; it
    // holds the lease row (holdAndRenewLease) and waits on the run-ahead's migration row lock.
    const finding = findJob(s.pool, { repository: REPO, fence: fresh, maxJobAttempts: 3, leaseTtlMs: TTL_MS });
    await waitFor('the new holder waits on the run-ahead', async () => {
      const { rows } = await s.pool.query(
        `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`,
      );
      return rows[0].n === 1;
    });
    // Had the claim waited on the finder (which waits on the claim's locks), Postgres's deadlock
    // detector would have failed one of the two with 40P01 after deadlock_timeout: the claim with
    // that error instead of LEASE_LOST, or the find, whose promise would then reject below. No
    // clock is read: on a loaded machine a wall-clock bound fails for reasons of its own.
    await assert.rejects(exec(s, ahead, old), (err) => isBbmError(err, ErrorCode.LEASE_LOST));
    const found = await finding;
    assert.equal(found.job?.jobId, ahead.jobId, 'the new holder finds the job the run-ahead had, still active');
    // Nothing of the run-ahead survived: not its job, not the job it had found ahead.
    const { rows } = await s.pool.query('SELECT count(*)::int AS n FROM bbm.jobs');
    assert.equal(rows[0].n, 2);
    await drain(s, fresh, found.job);
    assert.deepEqual(await counters(s.pool), { lo: 1, hi: 1, n: 30 });
    const m = await migration(s.pool, 'm');
    assert.equal(m.jobsFinished, 3);
    assert.equal(m.rowsProcessed, 30n);
  },
);

test(
  'run-ahead review: an attempt cancelled as it claims a ready run-ahead commits none of its statement (b): no job finished, none found ahead, no counts',
  { timeout: 90_000 },
  async () => {
    const s = await setup('rv_cancel', true, 30);
    await define(s, { name: 'm', work: 'inc', batchSize: 10, args: {} });
    const fence = await lease(s);
    const ahead = await settle(s, await exec(s, (await find(s, fence))!, fence));
    const before = await records(s);
    const controller = new AbortController();
    controller.abort();
    await assert.rejects(exec(s, ahead, fence, controller.signal), (err) => isBbmError(err, ErrorCode.CANCELLED));
    assert.deepEqual(await records(s), before);
    const retried = await exec(s, ahead, fence);
    assert.equal(retried.outcome, 'finished');
    assert.equal(retried.attempts, 1);
    await drain(s, fence, retried.next ?? null);
    assert.deepEqual(await counters(s.pool), { lo: 1, hi: 1, n: 30 });
  },
);

test(
  'run-ahead review: a lease taken over while a run-ahead holds a failed work records no failure, as with run-ahead off',
  { timeout: 90_000 },
  async () => {
    const run = async (enabled: boolean): Promise<unknown> => {
      const s = await setup('rv_failtake', enabled, 30, { failAlways: (ctx) => ctx.start === 11n });
      await define(s, { name: 'm', work: 'inc', batchSize: 10, args: {} });
      const old = await lease(s);
      const ahead = await settle(s, await exec(s, (await find(s, old))!, old));
      await s.pool.query(`UPDATE bbm.leases SET expires_at = now() - interval '1 second'`);
      await lease(s, 'h2');
      await assert.rejects(exec(s, ahead, old), (err) => isBbmError(err, ErrorCode.LEASE_LOST));
      return records(s);
    };
    assert.deepEqual(await run(true), await run(false));
  },
);

test(
  'run-ahead review: a lower-id migration put back to running straight in the database before the claim stops find-ahead, as it does with run-ahead off',
  { timeout: 90_000 },
  async () => {
    const run = async (enabled: boolean): Promise<{ next: JobDescriptor | null | undefined; order: string[] }> => {
      const s = await setup('rv_lower', enabled, 30);
      await createItems(s.pool, 'other', 20);
      // "low" failed in an earlier run (so this run does not pass it over by id); "high" runs.
      const low = await define(s, { name: 'low', work: 'inc', table: 'other', batchSize: 10, args: {} });
      await setMigrationStatus(s.pool, low.id, MigrationStatus.FAILED, FailureCode.MAX_JOB_RETRY);
      await define(s, { name: 'high', work: 'inc', batchSize: 10, args: {} });
      const fence = await lease(s);
      const ahead = await settle(s, await exec(s, (await find(s, fence))!, fence));
      // `bbm migrations retry low`: the database first (this is not an activity of the worker, so
      // nothing abandons the run-ahead), the workflow's nudge after the job in flight.
      await retryMigration(s.pool, 'low');
      const claimed = await exec(s, ahead, fence);
      await drain(s, fence, claimed.next ?? null);
      const { rows } = await s.pool.query(
        `SELECT m.name || ':' || j.min_value AS r FROM bbm.jobs j JOIN bbm.migrations m ON m.id = j.migration_id ORDER BY j.id`,
      );
      return { next: claimed.next, order: rows.map((r) => r.r as string) };
    };
    const off = await run(false);
    const on = await run(true);
    // Without run-ahead (and before 0af845e) statement (b) runs at the attempt, sees "low" running
    // with a lower id, finds nothing ahead, and the next find runs "low" first.
    assert.equal(off.next, null);
    assert.deepEqual(
      on.next ?? null,
      off.next,
      'the claim returns the job found ahead by a statement (b) that ran before the retry committed',
    );
    assert.deepEqual(on.order, off.order);
  },
);
