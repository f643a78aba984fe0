import assert from 'node:assert/strict';
import { test } from 'node:test';
import { JobStatus, MigrationStatus } from '../src/engine/constants';
import { changeBatchSettings, pauseMigrations, resumeMigrations } from '../src/engine/control';
import { executeJob, type ExecuteJobInput } from '../src/engine/execute-job';
import { findJob } from '../src/engine/find-job';
import { acquireLease } from '../src/engine/lease';
import type { WorkContext } from '../src/engine/registry';
import { RunAheads } from '../src/engine/run-ahead';
import type { ExecuteJobResult, FenceToken, JobDescriptor } from '../src/engine/types';
import { ErrorCode, isBbmError } from '../src/errors';
import { requestPause } from '../src/store/pause-requests';
import { createItems, createTestDatabase } from './helpers/db';
import { waitFor } from './helpers/wait';
import {
  counters,
  deferred,
  define,
  executeFound,
  JOB_TIMEOUT_MS,
  jobSummary,
  migration,
  REPO,
  registryWith,
  work,
  type Engine,
} from './helpers/engine';

/**
 * Run-ahead (src/engine/run-ahead.ts) against real Postgres, without Temporal: the test plays the
 * workflow, so it can act exactly while a run-ahead is open (ready, uncommitted, holding its locks).
 * In every case the ranges tile the table and every row ends changed exactly once.
 */

const TTL_MS = 60_000;
const { FINISHED: DONE, FAILED } = JobStatus;
/** Long enough that no run-ahead here is abandoned by its idle limit unless a test sets a short one. */
const NEVER_IDLE_MS = 600_000;

interface Setup extends Engine {
  aheads: RunAheads;
}

async function setup(
  label: string,
  ids: number,
  options: { idleMs?: number; failing?: (ctx: WorkContext) => boolean; sleepAt?: (ctx: WorkContext) => boolean } = {},
): Promise<Setup> {
  const db = await createTestDatabase(label);
  await createItems(db.pool, 'items', ids);
  const fn = work('inc', async (ctx) => {
    // A work that takes as long as the test needs (ended by a cancel): only from the second job on.
    if (ctx.start !== 1n && options.sleepAt?.(ctx)) await ctx.client.query('SELECT pg_sleep(600)');
    const r = await ctx.client.query(`UPDATE ${ctx.quotedTable} SET counter = counter + 1 WHERE ${ctx.where.sql}`, ctx.where.values);
    if (options.failing?.(ctx)) throw new Error(`boom ${ctx.start}-${ctx.end}`);
    return r.rowCount ?? 0;
  });
  const aheads = new RunAheads(db.pool, { enabled: true, idleMs: options.idleMs ?? NEVER_IDLE_MS, maxOpen: 4 });
  return { pool: db.pool, registry: registryWith(fn), aheads };
}

function lease(s: Setup, holder = 'h1'): Promise<FenceToken> {
  return acquireLease(s.pool, { repository: REPO, holder, ttlMs: TTL_MS, waitMs: TTL_MS });
}

function exec(s: Setup, job: JobDescriptor, fence: FenceToken, more: Partial<ExecuteJobInput> = {}): Promise<ExecuteJobResult> {
  return executeFound({ pool: s.pool, registry: s.registry, runAheads: s.aheads }, job, fence, { runAhead: true, ...more }, TTL_MS);
}

async function find(s: Setup, fence: FenceToken): Promise<JobDescriptor | null> {
  await s.aheads.abandon(REPO);
  return (await findJob(s.pool, { repository: REPO, fence, maxJobAttempts: 3, leaseTtlMs: TTL_MS })).job;
}

/** The workflow's loop: execute what was found ahead, find otherwise, retry a failed job (the activity's retries). */
async function drain(s: Setup, fence: FenceToken, first?: JobDescriptor | null): Promise<void> {
  let next = first ?? (await find(s, fence));
  for (let i = 0; next && i < 1_000; i++) {
    try {
      next = (await exec(s, next, fence)).next ?? (await find(s, fence));
    } catch (err) {
      if (isBbmError(err, ErrorCode.MAX_JOB_RETRY)) next = await find(s, fence);
      else if (!isBbmError(err, ErrorCode.WORK_FAILED)) throw err;
    }
  }
  assert.equal(next, null, 'drain: still finding jobs after 1,000 steps');
}

/** The run-ahead opened after `result`, once its work is done and it waits for its claim. */
async function openAhead(s: Setup, result: ExecuteJobResult): Promise<JobDescriptor> {
  assert.ok(result.next, 'a job found ahead');
  const opened = s.aheads.opened(REPO);
  assert.equal(opened?.jobId, result.next.jobId, 'a run-ahead opened for the job found ahead');
  assert.equal(await opened.ready, true, 'its work done, uncommitted');
  return result.next;
}

/** Rows of `job`'s range whose counter is not 0: the run-ahead's uncommitted work is not among them. */
async function touched(s: Setup, job: JobDescriptor): Promise<number> {
  const { rows } = await s.pool.query('SELECT count(*)::int AS n FROM items WHERE id BETWEEN $1 AND $2 AND counter <> 0', [
    job.start,
    job.end,
  ]);
  return rows[0].n;
}

const ranges = async (s: Setup): Promise<string[]> => (await jobSummary(s.pool, 'm')).map(([lo, hi]) => `${lo}-${hi}`);

test('run-ahead: every job after the first is claimed from a run-ahead, and each row is changed once', async () => {
  const s = await setup('ra_common', 95);
  await define(s, { name: 'm', work: 'inc', batchSize: 10, args: {} });
  await drain(s, await lease(s));
  assert.deepEqual(await counters(s.pool), { lo: 1, hi: 1, n: 95 });
  const expected = Array.from({ length: 10 }, (_, i) => [String(i * 10 + 1), String(Math.min(95, i * 10 + 10)), 1, DONE]);
  assert.deepEqual(await jobSummary(s.pool, 'm'), expected);
  assert.equal((await migration(s.pool, 'm')).status, MigrationStatus.FINISHED);
  // Jobs 2..10 were run ahead and claimed; the last job found nothing ahead.
  assert.equal(s.aheads.stats().claimed, 9);
});

test('run-ahead: a job whose work fails records exactly the attempts and failures it would without run-ahead', async () => {
  const s = await setup('ra_fail', 30, { failing: (ctx) => ctx.start === 11n });
  await define(s, { name: 'm', work: 'inc', batchSize: 10, args: {} });
  await drain(s, await lease(s));
  // The run-ahead of 11-20 failed and recorded nothing; the three real attempts recorded three failures.
  assert.deepEqual(await jobSummary(s.pool, 'm'), [
    ['1', '10', 1, DONE],
    ['11', '20', 3, FAILED],
  ]);
  const m = await migration(s.pool, 'm');
  assert.equal(m.status, MigrationStatus.FAILED);
  assert.equal(s.aheads.stats().failed, 1);
  assert.equal(s.aheads.stats().claimed, 0);
  assert.deepEqual(await counters(s.pool), { lo: 0, hi: 1, n: 30 });
});

test('run-ahead: a lease taken over while a run-ahead is open commits nothing of that job, and the new holder runs it once', async () => {
  const s = await setup('ra_lease', 30);
  await define(s, { name: 'm', work: 'inc', batchSize: 10, args: {} });
  const old = await lease(s);
  const ahead = await openAhead(s, await exec(s, (await find(s, old))!, old));
  await s.pool.query(`UPDATE bbm.leases SET expires_at = now() - interval '1 second'`);
  const fresh = await lease(s, 'h2');
  // The old holder's attempt claims the run-ahead; statement (b) finds the fence gone and rolls it all back.
  await assert.rejects(exec(s, ahead, old), (err) => isBbmError(err, ErrorCode.LEASE_LOST));
  assert.equal(s.aheads.stats().claimed, 1);
  assert.equal(await touched(s, ahead), 0);
  await drain(s, fresh);
  assert.deepEqual(await counters(s.pool), { lo: 1, hi: 1, n: 30 });
  assert.deepEqual(await ranges(s), ['1-10', '11-20', '21-30']);
});

test('run-ahead: an open run-ahead has already done statement (b) but leaves the lease row unlocked until its claim confirms the fence', async () => {
  const s = await setup('ra_finished', 30);
  await define(s, { name: 'm', work: 'inc', batchSize: 10, args: {} });
  const fence = await lease(s);
  const ahead = await openAhead(s, await exec(s, (await find(s, fence))!, fence));
  // (a) only row-share locks bbm.jobs (FOR UPDATE); (b)'s UPDATE and the next job's INSERT take row-exclusive.
  const { rows } = await s.pool.query(
    `SELECT count(*)::int AS n FROM pg_locks l JOIN pg_stat_activity a USING (pid)
      WHERE a.datname = current_database() AND a.state = 'idle in transaction'
        AND l.relation = 'bbm.jobs'::regclass AND l.mode = 'RowExclusiveLock'`,
  );
  assert.equal(rows[0].n, 1, 'the run-ahead wrote its bookkeeping');
  // Nothing holds the lease row: a takeover would not wait on the run-ahead.
  const locked = await s.pool.connect();
  try {
    await locked.query('BEGIN');
    await locked.query('SELECT 1 FROM bbm.leases WHERE repository = $1 FOR UPDATE NOWAIT', [REPO]);
  } finally {
    await locked.query('ROLLBACK');
    locked.release();
  }
  assert.equal(await touched(s, ahead), 0);
  const claimed = await exec(s, ahead, fence);
  assert.equal(claimed.outcome, 'finished');
  assert.equal(claimed.next?.start, '21');
  await drain(s, fence, claimed.next);
  assert.deepEqual(await counters(s.pool), { lo: 1, hi: 1, n: 30 });
  assert.deepEqual(await ranges(s), ['1-10', '11-20', '21-30']);
});

test('run-ahead: an attempt whose find-ahead differs from the one its run-ahead used does not claim it, and runs the job once from scratch', async () => {
  const s = await setup('ra_exclude', 30);
  await define(s, { name: 'm', work: 'inc', batchSize: 10, args: {} });
  const fence = await lease(s);
  const ahead = await openAhead(s, await exec(s, (await find(s, fence))!, fence));
  // The workflow passed over another migration meanwhile: the next job must be found with that in mind.
  const own = await exec(s, ahead, fence, { findAhead: { exclude: ['999'], leaseTtlMs: TTL_MS } });
  assert.equal(own.outcome, 'finished');
  assert.equal(own.attempts, 1);
  assert.equal(s.aheads.stats().mismatched, 1);
  assert.equal(s.aheads.stats().claimed, 0);
  await drain(s, fence, own.next);
  assert.deepEqual(await counters(s.pool), { lo: 1, hi: 1, n: 30 });
  assert.deepEqual(await ranges(s), ['1-10', '11-20', '21-30']);
});

test('run-ahead: a pause abandons the open run-ahead first, leaves its rows untouched, and the resume runs that job once', async () => {
  const s = await setup('ra_pause', 30);
  await define(s, { name: 'm', work: 'inc', batchSize: 10, args: {} });
  const fence = await lease(s);
  const ahead = await openAhead(s, await exec(s, (await find(s, fence))!, fence));
  // What the controlMigrations activity does. With a run-ahead never idle, a pause that waited on
  // its migration row lock would never return.
  await s.aheads.abandon(REPO);
  assert.deepEqual(await pauseMigrations(s.pool, { repository: REPO }), ['m']);
  assert.equal(s.aheads.stats().abandoned, 1);
  assert.equal(await touched(s, ahead), 0);
  const skipped = await exec(s, ahead, fence);
  assert.equal(skipped.outcome, 'skipped');
  await resumeMigrations(s.pool, { repository: REPO });
  await drain(s, fence, ahead);
  assert.deepEqual(await counters(s.pool), { lo: 1, hi: 1, n: 30 });
  assert.deepEqual(await ranges(s), ['1-10', '11-20', '21-30']);
});

test('run-ahead: a writer of the migration row from outside the worker waits at most the idle limit, then the job runs once', async () => {
  const s = await setup('ra_idle', 30, { idleMs: 300 });
  await define(s, { name: 'm', work: 'inc', batchSize: 10, args: {} });
  const fence = await lease(s);
  const ahead = await openAhead(s, await exec(s, (await find(s, fence))!, fence));
  // bbm pause's request, sent straight to the database: it waits on the run-ahead's lock until the
  // idle limit rolls the run-ahead back (it would wait forever on a run-ahead that is never abandoned).
  assert.deepEqual(await requestPause(s.pool, { repository: REPO }), ['m']);
  // The ROLLBACK frees the lock before the registry counts the outcome: wait for the count, not a moment.
  await waitFor('the run-ahead counted as abandoned', async () => s.aheads.stats().abandoned === 1);
  assert.equal(s.aheads.opened(REPO), undefined);
  assert.equal(await touched(s, ahead), 0);
  const skipped = await exec(s, ahead, fence);
  assert.equal(skipped.pauseRequested, true);
  await pauseMigrations(s.pool, { repository: REPO });
  await resumeMigrations(s.pool, { repository: REPO });
  await drain(s, fence, ahead);
  assert.deepEqual(await counters(s.pool), { lo: 1, hi: 1, n: 30 });
});

test('run-ahead: a batch size changed while a run-ahead is open applies from the next range on, with no gap or overlap', async () => {
  const s = await setup('ra_size', 100);
  await define(s, { name: 'm', work: 'inc', batchSize: 10, args: {} });
  const fence = await lease(s);
  const ahead = await openAhead(s, await exec(s, (await find(s, fence))!, fence));
  // What the setBatchSize activity does: abandon, then change the size.
  await s.aheads.abandon(REPO);
  await changeBatchSettings(s.pool, { repository: REPO }, { batchSize: 25 });
  assert.equal(await touched(s, ahead), 0);
  const second = await exec(s, ahead, fence);
  assert.equal(second.outcome, 'finished');
  // The job run from scratch opened the next run-ahead, with the new size: a writer outside the worker changes it back.
  const change = changeBatchSettings(s.pool, { repository: REPO }, { batchSize: 30 });
  await s.aheads.abandon(REPO);
  await change;
  await drain(s, fence, second.next);
  assert.deepEqual(await counters(s.pool), { lo: 1, hi: 1, n: 100 });
  assert.deepEqual(await ranges(s), ['1-10', '11-20', '21-45', '46-75', '76-100']);
});

test('run-ahead: a connection killed under an open run-ahead rolls it back: that attempt fails, its retry runs the job once', async () => {
  const s = await setup('ra_killed', 30);
  await define(s, { name: 'm', work: 'inc', batchSize: 10, args: {} });
  const fence = await lease(s);
  const ahead = await openAhead(s, await exec(s, (await find(s, fence))!, fence));
  // A crashed worker's connection closes: Postgres rolls back its open transaction.
  await s.pool.query(
    `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND state = 'idle in transaction'`,
  );
  // The attempt that claims it meets the lost connection, like an attempt whose connection drops mid-job.
  await assert.rejects(exec(s, ahead, fence));
  assert.equal(await touched(s, ahead), 0);
  const retried = await exec(s, ahead, fence);
  assert.equal(retried.outcome, 'finished');
  assert.equal(retried.attempts, 1);
  await drain(s, fence, retried.next);
  assert.deepEqual(await counters(s.pool), { lo: 1, hi: 1, n: 30 });
  assert.deepEqual(await ranges(s), ['1-10', '11-20', '21-30']);
});

test('run-ahead: cancelling the attempt that claimed a run-ahead still at work stops its statement and rolls it back', async () => {
  let slow = true;
  const s = await setup('ra_cancel', 30, { sleepAt: () => slow });
  await define(s, { name: 'm', work: 'inc', batchSize: 10, args: {} });
  const fence = await lease(s);
  const first = await exec(s, (await find(s, fence))!, fence);
  assert.ok(first.next);
  // The run-ahead of 11-20 sleeps in its work; the attempt that claims it is cancelled meanwhile.
  await waitFor('the run-ahead at work', async () => (await sleepers(s)) === 1);
  const controller = new AbortController();
  const claiming = executeJob(
    { pool: s.pool, registry: s.registry, runAheads: s.aheads },
    {
      jobId: first.next.jobId,
      migrationId: first.next.migrationId,
      maxJobAttempts: 3,
      jobTimeoutMs: JOB_TIMEOUT_MS,
      fence,
      findAhead: { exclude: [], leaseTtlMs: TTL_MS },
      runAhead: true,
    },
    controller.signal,
  );
  controller.abort();
  await assert.rejects(claiming, (err) => isBbmError(err, ErrorCode.CANCELLED));
  assert.equal(await sleepers(s), 0);
  assert.equal(s.aheads.stats().failed, 1);
  assert.equal(await touched(s, first.next), 0);
  slow = false;
  await drain(s, fence, first.next);
  assert.deepEqual(await counters(s.pool), { lo: 1, hi: 1, n: 30 });
  // The cancelled attempt recorded nothing: each job finished at its first recorded attempt.
  assert.deepEqual(
    (await jobSummary(s.pool, 'm')).map(([, , attempts]) => attempts),
    [1, 1, 1],
  );
});

async function sleepers(s: Setup): Promise<number> {
  const { rows } = await s.pool.query(
    `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND state = 'active' AND query LIKE 'SELECT pg_sleep%'`,
  );
  return rows[0].n;
}

test('run-ahead: a claim reports no wait when its run-ahead was ready, and the time it waited when the work was still running', async () => {
  const db = await createTestDatabase('ra_claim_wait');
  await createItems(db.pool, 'items', 30);
  const gate = deferred();
  const atGate = deferred();
  const fn = work('inc', async (ctx) => {
    // The third job's work (run ahead after the second) holds until the test lets it go.
    if (ctx.start === 21n) {
      atGate.resolve();
      await gate.promise;
    }
    const r = await ctx.client.query(`UPDATE ${ctx.quotedTable} SET counter = counter + 1 WHERE ${ctx.where.sql}`, ctx.where.values);
    return r.rowCount ?? 0;
  });
  const waits: number[] = [];
  const aheads = new RunAheads(db.pool, { enabled: true, idleMs: NEVER_IDLE_MS, maxOpen: 4 }, { onClaimWait: (ms) => waits.push(ms) });
  const s: Setup = { pool: db.pool, registry: registryWith(fn), aheads };
  await define(s, { name: 'm', work: 'inc', batchSize: 10, args: {} });
  const fence = await lease(s);
  const first = await exec(s, (await find(s, fence))!, fence);
  const second = await exec(s, await openAhead(s, first), fence);
  assert.deepEqual(waits, [0], 'the second job was claimed from a run-ahead whose work was done');
  assert.ok(second.next, 'the third job was found ahead');
  await atGate.promise;
  const third = exec(s, second.next, fence);
  // The claim takes the run-ahead out of the open ones; only then does its work go on.
  await waitFor('the third job claimed', async () => aheads.opened(REPO) === undefined);
  gate.resolve();
  assert.equal((await third).outcome, 'finished');
  assert.equal(waits.length, 2);
  assert.ok(waits[1]! > 0, `the claim of the third job waited ${waits[1]} ms for its work`);
  assert.deepEqual(await counters(s.pool), { lo: 1, hi: 1, n: 30 });
  assert.equal(aheads.stats().claimed, 2);
});

test('run-ahead: a claim confirms the fence and commits in one round trip, and the claim function refuses outside a run-ahead', async () => {
  const s = await setup('ra_claim_trip', 30);
  await define(s, { name: 'm', work: 'inc', batchSize: 10, args: {} });
  await assert.rejects(s.pool.query('SELECT bbm.claim_run_ahead()'), (err: { code?: string }) => err.code === 'BBMC0');
  // A COMMIT that changed items waits at the gate while the test holds it (not yet: the first job passes).
  await s.pool.query(`
    CREATE FUNCTION commit_gate() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_advisory_xact_lock(4243); RETURN NULL; END $$;
    CREATE CONSTRAINT TRIGGER commit_gate AFTER UPDATE ON items DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION commit_gate()`);
  const fence = await lease(s);
  const first = await exec(s, (await find(s, fence))!, fence);
  const second = await openAhead(s, first);
  const gate = await s.pool.connect();
  try {
    await gate.query('SELECT pg_advisory_lock(4243)');
    const claimed = exec(s, second, fence);
    await waitFor('the claim waits at the gate, in one message with its COMMIT', async () => {
      const { rows } = await gate.query(
        `SELECT count(*)::int AS n FROM pg_stat_activity
          WHERE datname = current_database() AND wait_event_type = 'Lock' AND query = 'SELECT bbm.claim_run_ahead(); COMMIT'`,
      );
      return rows[0].n === 1;
    });
    await gate.query('SELECT pg_advisory_unlock(4243)');
    const result = await claimed;
    assert.equal(result.outcome, 'finished');
    await drain(s, fence, result.next);
  } finally {
    gate.release();
  }
  assert.deepEqual(await counters(s.pool), { lo: 1, hi: 1, n: 30 });
  assert.equal(s.aheads.stats().claimed, 2);
});
