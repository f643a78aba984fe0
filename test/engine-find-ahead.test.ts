import assert from 'node:assert/strict';
import { test } from 'node:test';
import { JobStatus, MigrationStatus } from '../src/engine/constants';
import { changeBatchSettings, pauseMigrations, resumeMigrations } from '../src/engine/control';
import type { ExecuteJobInput } from '../src/engine/execute-job';
import { findJob } from '../src/engine/find-job';
import { acquireLease } from '../src/engine/lease';
import type { WorkContext } from '../src/engine/registry';
import type { ExecuteJobResult, FenceToken, JobDescriptor } from '../src/engine/types';
import { ErrorCode, isBbmError } from '../src/errors';
import { createItems, createTestDatabase } from './helpers/db';
import { counters, define, executeFound, jobSummary, migration, REPO, registryWith, work, type Engine } from './helpers/engine';

/**
 * Find-ahead (executeJob also finds the next job in its transaction) against real Postgres: in
 * every case below, the ranges still tile the table with no gap and no overlap, and every row is
 * changed exactly once (`counter` ends at 1 everywhere).
 */

const TTL_MS = 60_000;
const { ACTIVE, FINISHED: DONE, FAILED } = JobStatus;

/** Increments `counter` over the job's range; throws after it (rolled back) while `failing` says so. */
function engineWith(label: string, failing: (ctx: WorkContext) => boolean = () => false) {
  const fn = work('inc', async (ctx) => {
    const r = await ctx.client.query(`UPDATE ${ctx.quotedTable} SET counter = counter + 1 WHERE ${ctx.where.sql}`, ctx.where.values);
    if (failing(ctx)) throw new Error(`boom ${ctx.start}-${ctx.end}`);
    return r.rowCount ?? 0;
  });
  return async (ids: number): Promise<Engine> => {
    const db = await createTestDatabase(label);
    await createItems(db.pool, 'items', ids);
    return { pool: db.pool, registry: registryWith(fn) };
  };
}

function lease(engine: Engine, holder = 'h1'): Promise<FenceToken> {
  return acquireLease(engine.pool, { repository: REPO, holder, ttlMs: TTL_MS, waitMs: TTL_MS });
}

function exec(engine: Engine, job: JobDescriptor, fence: FenceToken, more: Partial<ExecuteJobInput> = {}): Promise<ExecuteJobResult> {
  return executeFound(engine, job, fence, more, TTL_MS);
}

/** The workflow's loop: find only when execute found nothing ahead; failures go back to find. Returns how many finds it took. */
async function drain(engine: Engine, fence: FenceToken): Promise<number> {
  let finds = 0;
  let next: JobDescriptor | null = null;
  for (let i = 0; i < 1_000; i++) {
    if (!next) {
      finds += 1;
      next = (await findJob(engine.pool, { repository: REPO, fence, maxJobAttempts: 3, leaseTtlMs: TTL_MS })).job;
      if (!next) return finds;
    }
    try {
      next = (await exec(engine, next, fence)).next ?? null;
    } catch (err) {
      if (!isBbmError(err, ErrorCode.WORK_FAILED)) throw err;
      next = null;
    }
  }
  throw new Error('drain: still finding jobs after 1,000 steps');
}

async function firstJob(engine: Engine, fence: FenceToken): Promise<JobDescriptor> {
  const { job } = await findJob(engine.pool, { repository: REPO, fence, maxJobAttempts: 3 });
  assert.ok(job, 'a first job');
  return job;
}

test('find-ahead hands out the same ranges as find, one find per migration, and every row is changed once', async () => {
  const setup = engineWith('fa_same');
  const engine = await setup(95);
  await define(engine, { name: 'm', work: 'inc', batchSize: 10, args: {} });
  const finds = await drain(engine, await lease(engine));
  // The first job and the closing find (which finishes the migration) only.
  assert.equal(finds, 2);
  const ranges = (await jobSummary(engine.pool, 'm')).map(([lo, hi, attempts, status]) => [lo, hi, attempts, status]);
  const expected = Array.from({ length: 10 }, (_, i) => [String(i * 10 + 1), String(Math.min(95, i * 10 + 10)), 1, DONE]);
  assert.deepEqual(ranges, expected);
  assert.deepEqual(await counters(engine.pool), { lo: 1, hi: 1, n: 95 });
  assert.equal((await migration(engine.pool, 'm')).status, MigrationStatus.FINISHED);
});

test('a failing job finds nothing ahead and its retry comes from find, so no range is skipped or repeated', async () => {
  let failures = 0;
  const setup = engineWith('fa_fail', (ctx) => ctx.start === 11n && failures++ < 1);
  const engine = await setup(30);
  await define(engine, { name: 'm', work: 'inc', batchSize: 10, args: {} });
  const fence = await lease(engine);
  const first = await firstJob(engine, fence);
  const second = (await exec(engine, first, fence)).next;
  assert.ok(second);
  await assert.rejects(exec(engine, second, fence), (err) => isBbmError(err, ErrorCode.WORK_FAILED));
  // The failed attempt inserted no job ahead of itself.
  assert.deepEqual(await jobSummary(engine.pool, 'm'), [
    ['1', '10', 1, DONE],
    ['11', '20', 1, FAILED],
  ]);
  await drain(engine, fence);
  assert.deepEqual(await jobSummary(engine.pool, 'm'), [
    ['1', '10', 1, DONE],
    ['11', '20', 2, DONE],
    ['21', '30', 1, DONE],
  ]);
  assert.deepEqual(await counters(engine.pool), { lo: 1, hi: 1, n: 30 });
});

test('a job found ahead under a lease lost before it runs is refused, and the new holder runs that same job', async () => {
  const engine = await engineWith('fa_lease')(30);
  await define(engine, { name: 'm', work: 'inc', batchSize: 10, args: {} });
  const old = await lease(engine);
  const ahead = (await exec(engine, await firstJob(engine, old), old)).next;
  assert.ok(ahead);
  // A takeover: the lease expires and another holder takes it (a new token).
  await engine.pool.query(`UPDATE bbm.leases SET expires_at = now() - interval '1 second'`);
  const fresh = await lease(engine, 'h2');
  await assert.rejects(exec(engine, ahead, old), (err) => isBbmError(err, ErrorCode.LEASE_LOST));
  assert.deepEqual(await counters(engine.pool), { lo: 0, hi: 1, n: 30 });
  const found = await firstJob(engine, fresh);
  assert.equal(found.jobId, ahead.jobId);
  await drain(engine, fresh);
  assert.deepEqual(await counters(engine.pool), { lo: 1, hi: 1, n: 30 });
  assert.deepEqual(
    (await jobSummary(engine.pool, 'm')).map(([lo, hi]) => `${lo}-${hi}`),
    ['1-10', '11-20', '21-30'],
  );
});

test('a job found ahead of a pause is skipped, left active, and run once after the resume', async () => {
  const engine = await engineWith('fa_pause')(30);
  await define(engine, { name: 'm', work: 'inc', batchSize: 10, args: {} });
  const fence = await lease(engine);
  const ahead = (await exec(engine, await firstJob(engine, fence), fence)).next;
  assert.ok(ahead);
  await pauseMigrations(engine.pool, { name: 'm' });
  const skipped = await exec(engine, ahead, fence);
  assert.equal(skipped.outcome, 'skipped');
  assert.equal(skipped.next, undefined);
  assert.deepEqual(await jobSummary(engine.pool, 'm'), [
    ['1', '10', 1, DONE],
    ['11', '20', 0, ACTIVE],
  ]);
  assert.equal((await findJob(engine.pool, { repository: REPO, fence, maxJobAttempts: 3 })).job, null);
  await resumeMigrations(engine.pool, { name: 'm' });
  assert.equal((await firstJob(engine, fence)).jobId, ahead.jobId);
  await drain(engine, fence);
  assert.deepEqual(await counters(engine.pool), { lo: 1, hi: 1, n: 30 });
});

test('a batch size changed between find-ahead and execute applies from the next range on, with no gap or overlap', async () => {
  const engine = await engineWith('fa_size')(40);
  await define(engine, { name: 'm', work: 'inc', batchSize: 10, args: {} });
  const fence = await lease(engine);
  const ahead = (await exec(engine, await firstJob(engine, fence), fence)).next;
  assert.ok(ahead);
  await changeBatchSettings(engine.pool, { name: 'm' }, { batchSize: 5 });
  const result = await exec(engine, ahead, fence);
  assert.equal(result.outcome, 'finished');
  assert.equal(result.next?.start, '21');
  assert.equal(result.next?.end, '25');
  await drain(engine, fence);
  assert.deepEqual(
    (await jobSummary(engine.pool, 'm')).map(([lo, hi]) => `${lo}-${hi}`),
    ['1-10', '11-20', '21-25', '26-30', '31-35', '36-40'],
  );
  assert.deepEqual(await counters(engine.pool), { lo: 1, hi: 1, n: 40 });
});

test('a worker killed after find-ahead committed loses nothing: the retried execute and the next find both lead to that job', async () => {
  const engine = await engineWith('fa_kill')(30);
  await define(engine, { name: 'm', work: 'inc', batchSize: 10, args: {} });
  const fence = await lease(engine);
  const first = await firstJob(engine, fence);
  const ahead = (await exec(engine, first, fence)).next;
  assert.ok(ahead);
  // The result never reached the workflow: the activity is retried, on a new worker.
  const retried = await exec(engine, first, fence);
  assert.equal(retried.outcome, 'already_finished');
  assert.equal(retried.next, undefined);
  // A new run (or the retry's caller) finds the job found ahead, not a new range after it.
  assert.equal((await firstJob(engine, fence)).jobId, ahead.jobId);
  await drain(engine, fence);
  assert.deepEqual(
    (await jobSummary(engine.pool, 'm')).map(([lo, hi, attempts]) => `${lo}-${hi}x${attempts}`),
    ['1-10x1', '11-20x1', '21-30x1'],
  );
  assert.deepEqual(await counters(engine.pool), { lo: 1, hi: 1, n: 30 });
});

test('find-ahead never passes a lower-id migration of the repository that became runnable meanwhile', async () => {
  const engine = await engineWith('fa_order')(40);
  await define(engine, { name: 'low', work: 'inc', batchSize: 10, args: {}, maxValue: 20 });
  await define(engine, { name: 'high', work: 'inc', batchSize: 10, args: {}, minValue: 21 });
  await pauseMigrations(engine.pool, { name: 'low' });
  const fence = await lease(engine);
  const first = await firstJob(engine, fence);
  assert.equal(first.migrationName, 'high');
  await resumeMigrations(engine.pool, { name: 'low' });
  await engine.pool.query(`UPDATE bbm.migrations SET status = ${MigrationStatus.RUNNING} WHERE name = 'low'`);
  const result = await exec(engine, first, fence);
  assert.equal(result.next, null);
  assert.equal((await firstJob(engine, fence)).migrationName, 'low');
  await drain(engine, fence);
  assert.deepEqual(await counters(engine.pool), { lo: 1, hi: 1, n: 40 });
});
