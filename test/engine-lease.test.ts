import assert from 'node:assert/strict';
import { test } from 'node:test';
import { JobStatus, MigrationStatus } from '../src/engine/constants';
import { executeJob } from '../src/engine/execute-job';
import { findJob } from '../src/engine/find-job';
import { acquireLease } from '../src/engine/lease';
import { ErrorCode } from '../src/errors';
import { leaseOf, releaseLease, renewLease, tryAcquireLease } from '../src/store/leases';
import { createItems, createTestDatabase } from './helpers/db';
import {
  counters,
  deferred,
  define,
  JOB_TIMEOUT_MS,
  jobSummary,
  migration,
  REPO,
  registryWith,
  runToEnd,
  work,
  type Engine,
} from './helpers/engine';

const TTL = 60_000;

test('a second try by another holder is refused while the lease is held, and the holder is reported', async () => {
  const { pool } = await createTestDatabase('leasetry');
  const first = await tryAcquireLease(pool, REPO, 'a', TTL);
  assert.deepEqual(first, { repository: REPO, holder: 'a', token: '1' });
  assert.equal(await tryAcquireLease(pool, REPO, 'b', TTL), undefined);
  const info = await leaseOf(pool, REPO);
  assert.deepEqual([info?.holder, info?.token, info?.active], ['a', '1', true]);
  assert.deepEqual(
    await tryAcquireLease(pool, 'other-repo', 'b', TTL),
    { repository: 'other-repo', holder: 'b', token: '1' },
    'leases are per repository',
  );
});

test('a waiting acquire times out with LOCK_TIMEOUT while the lease is held and succeeds once it is released', async () => {
  const { pool } = await createTestDatabase('leasewait');
  const held = await acquireLease(pool, { repository: REPO, holder: 'a', ttlMs: TTL, waitMs: 0 });
  await assert.rejects(acquireLease(pool, { repository: REPO, holder: 'b', ttlMs: TTL, waitMs: 300 }), (err: Error & { code?: string }) => {
    assert.equal(err.code, ErrorCode.LOCK_TIMEOUT);
    assert.match(err.message, /locked by a /);
    return true;
  });
  const waiting = acquireLease(pool, { repository: REPO, holder: 'b', ttlMs: TTL, waitMs: 30_000 });
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(await releaseLease(pool, held), true);
  const taken = await waiting;
  assert.deepEqual([taken.holder, taken.token], ['b', '2']);
  assert.equal(await releaseLease(pool, held), false, 'a stale token cannot release the new holder');
  assert.equal((await leaseOf(pool, REPO))?.active, true);
});

test('a lease wait that is cancelled stops at once with CANCELLED, not LOCK_TIMEOUT', async () => {
  const { pool } = await createTestDatabase('leasecancel');
  await acquireLease(pool, { repository: REPO, holder: 'a', ttlMs: TTL, waitMs: 0 });
  const controller = new AbortController();
  const started = Date.now();
  const waiting = acquireLease(pool, { repository: REPO, holder: 'b', ttlMs: TTL, waitMs: 30_000 }, controller.signal);
  setTimeout(() => controller.abort(), 200);
  await assert.rejects(waiting, (err: Error & { code?: string }) => err.code === ErrorCode.CANCELLED);
  assert.ok(Date.now() - started < 5_000, 'it did not wait for the 30 s timeout');
});

test('the same holder takes the lease over at once with a bigger token, and the old token can no longer renew', async () => {
  const { pool } = await createTestDatabase('leasesame');
  const first = await acquireLease(pool, { repository: REPO, holder: 'wf', ttlMs: TTL, waitMs: 0 });
  const second = await acquireLease(pool, { repository: REPO, holder: 'wf', ttlMs: TTL, waitMs: 0 });
  assert.ok(BigInt(second.token) > BigInt(first.token));
  assert.equal(await renewLease(pool, first, TTL), false);
  assert.equal(await renewLease(pool, second, TTL), true);
});

test('an expired lease can be taken by another holder', async () => {
  const { pool } = await createTestDatabase('leaseexpired');
  const first = await tryAcquireLease(pool, REPO, 'a', 1);
  assert.ok(first);
  await new Promise((r) => setTimeout(r, 20));
  const second = await tryAcquireLease(pool, REPO, 'b', TTL);
  assert.deepEqual([second?.holder, second?.token], ['b', '2']);
  assert.equal(await tryAcquireLease(pool, REPO, 'a', TTL), undefined, 'the expired holder is now refused');
});

test('a zombie job whose lease was taken over cannot commit: LEASE_LOST, rows unchanged, job not finished', async () => {
  const db = await createTestDatabase('leasezombie');
  await createItems(db.pool, 'items', 10);
  const started = deferred();
  const release = deferred();
  const slow = work('slow', async (ctx) => {
    const result = await ctx.client.query(`UPDATE ${ctx.quotedTable} SET counter = counter + 1 WHERE id BETWEEN $1 AND $2`, [
      ctx.start,
      ctx.end,
    ]);
    started.resolve();
    await release.promise;
    return result.rowCount ?? 0;
  });
  const engine: Engine = { pool: db.pool, registry: registryWith(slow) };
  await define(engine, { name: 'm', work: 'slow', batchSize: 10, args: {} });
  const fence = await acquireLease(db.pool, { repository: REPO, holder: 'wf', ttlMs: TTL, waitMs: 0 });
  const found = await findJob(db.pool, { repository: REPO, maxJobAttempts: 3, fence });
  assert.ok(found.job);
  const zombie = executeJob(engine, { jobId: found.job.jobId, maxJobAttempts: 3, jobTimeoutMs: JOB_TIMEOUT_MS, fence });
  await started.promise;
  const newer = await acquireLease(db.pool, { repository: REPO, holder: 'wf', ttlMs: TTL, waitMs: 0 });
  assert.equal(BigInt(newer.token), BigInt(fence.token) + 1n);
  release.resolve();
  await assert.rejects(zombie, { code: ErrorCode.LEASE_LOST });
  assert.deepEqual(await jobSummary(db.pool, 'm'), [['1', '10', 0, JobStatus.ACTIVE]]);
  assert.deepEqual(await counters(db.pool), { lo: 0, hi: 0, n: 10 });
  await assert.rejects(
    findJob(db.pool, { repository: REPO, maxJobAttempts: 3, fence }),
    { code: ErrorCode.LEASE_LOST },
    'the old token cannot find jobs either',
  );

  const run = await runToEnd(engine, { holder: 'wf' });
  assert.deepEqual(run.errors, []);
  assert.deepEqual(await counters(db.pool), { lo: 1, hi: 1, n: 10 }, 'the newer holder applies the batch once');
});

test('a zombie whose work failed cannot record the failure either', async () => {
  const db = await createTestDatabase('leasezombiefail');
  await createItems(db.pool, 'items', 10);
  const started = deferred();
  const release = deferred();
  const failing = work('failing', async () => {
    started.resolve();
    await release.promise;
    throw new Error('boom');
  });
  const engine: Engine = { pool: db.pool, registry: registryWith(failing) };
  await define(engine, { name: 'm', work: 'failing', batchSize: 10, args: {} });
  const fence = await acquireLease(db.pool, { repository: REPO, holder: 'a', ttlMs: 1, waitMs: 0 });
  // findJob renews the lease to leaseTtlMs: keep it at 1 ms so it expires while the work runs.
  const found = await findJob(db.pool, { repository: REPO, maxJobAttempts: 1, fence, leaseTtlMs: 1 });
  assert.ok(found.job);
  const zombie = executeJob(engine, { jobId: found.job.jobId, maxJobAttempts: 1, jobTimeoutMs: JOB_TIMEOUT_MS, fence });
  await started.promise;
  await new Promise((r) => setTimeout(r, 20));
  assert.ok(await tryAcquireLease(db.pool, REPO, 'b', TTL), 'another holder takes the expired lease');
  release.resolve();
  await assert.rejects(zombie, { code: ErrorCode.LEASE_LOST });
  assert.deepEqual(await jobSummary(db.pool, 'm'), [['1', '10', 0, JobStatus.ACTIVE]], 'no attempt recorded');
  assert.equal((await migration(db.pool, 'm')).status, MigrationStatus.RUNNING, 'the migration was not failed');
});
