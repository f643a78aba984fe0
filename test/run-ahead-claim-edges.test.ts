import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Pool, PoolClient } from 'pg';
import { createPool } from '../src/db/pool';
import { loadSchemaMigrations, migrateSchema } from '../src/db/schema';
import { MigrationStatus } from '../src/engine/constants';
import { executeJob, type ExecuteJobInput } from '../src/engine/execute-job';
import { findJob } from '../src/engine/find-job';
import { acquireLease } from '../src/engine/lease';
import { RunAheads } from '../src/engine/run-ahead';
import type { FenceToken, JobDescriptor } from '../src/engine/types';
import { ErrorCode } from '../src/errors';
import { setMigrationStatus } from '../src/store/migrations';
import { createItems, createTestDatabase, stopBeforePoolsEnd } from './helpers/db';
import { waitFor } from './helpers/wait';
import { counters, createEmptyDatabase, define, JOB_TIMEOUT_MS, REPO, registryWith, work, type Engine } from './helpers/engine';

/**
 * Edge cases of a run-ahead's claim (SELECT bbm.claim_run_ahead(); COMMIT, with what statement
 * (b) left in bbm.claim), written by a fresh reviewer: odd repository keys, ids and tokens above
 * 2^53, an excluded lower-id running migration, sub-batches, a cancel while the claim waits on the
 * lease row, and a schema upgraded from version 8 used by a role that is not superuser. Each
 * scenario that can runs with run-ahead on and off and compares the records.
 */

const TTL = 60_000;

interface Setup extends Engine {
  aheads: RunAheads;
  repo: string;
}

async function setupOn(pool: Pool, enabled: boolean, repo: string): Promise<Setup> {
  const fn = work('inc', async (ctx) => {
    const r = await ctx.client.query(`UPDATE ${ctx.quotedTable} SET counter = counter + 1 WHERE ${ctx.where.sql}`, ctx.where.values);
    return r.rowCount ?? 0;
  });
  const aheads = new RunAheads(pool, { enabled, idleMs: 600_000, maxOpen: 4 });
  stopBeforePoolsEnd(() => aheads.abandonAll());
  return { pool, registry: registryWith(fn), aheads, repo };
}

async function setup(label: string, enabled: boolean, repo = REPO, ids = 30): Promise<Setup> {
  const db = await createTestDatabase(`${label}_${enabled ? 'on' : 'off'}`);
  await createItems(db.pool, 'items', ids);
  return setupOn(db.pool, enabled, repo);
}

function input(job: JobDescriptor, fence: FenceToken, exclude: string[], more: Partial<ExecuteJobInput> = {}): ExecuteJobInput {
  return {
    jobId: job.jobId,
    migrationId: job.migrationId,
    maxJobAttempts: 3,
    jobTimeoutMs: JOB_TIMEOUT_MS,
    fence,
    findAhead: { exclude, leaseTtlMs: TTL },
    runAhead: true,
    ...more,
  };
}

async function find(s: Setup, fence: FenceToken, exclude: string[]): Promise<JobDescriptor | null> {
  await s.aheads.abandon(s.repo);
  return (await findJob(s.pool, { repository: s.repo, fence, maxJobAttempts: 3, leaseTtlMs: TTL, exclude })).job;
}

async function drain(s: Setup, fence: FenceToken, exclude: string[] = [], first?: JobDescriptor | null): Promise<unknown[]> {
  const seen: unknown[] = [];
  let next = first ?? (await find(s, fence, exclude));
  for (let i = 0; next && i < 200; i++) {
    const r = await executeJob({ pool: s.pool, registry: s.registry, runAheads: s.aheads }, input(next, fence, exclude));
    seen.push([r.outcome, r.rows, r.attempts, r.next?.start ?? null]);
    next = r.next ?? (await find(s, fence, exclude));
  }
  assert.equal(next, null);
  await s.aheads.abandon(s.repo);
  return seen;
}

async function records(pool: Pool): Promise<unknown> {
  const jobs = await pool.query(
    `SELECT migration_id::text, min_value::text, max_value::text, status, attempts, rows_affected::text, failure_error_code FROM bbm.jobs ORDER BY id`,
  );
  const migrations = await pool.query(
    `SELECT id::text, repository, status, rows_processed::text, jobs_finished, covered_ids::text, batch_size FROM bbm.migrations ORDER BY id`,
  );
  return { jobs: jobs.rows, migrations: migrations.rows, items: await counters(pool) };
}

/** Backends of this database inside a transaction, asked on a connection of its own. */
async function inTransaction(own: PoolClient): Promise<number> {
  const { rows } = await own.query(
    `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND state LIKE 'idle in transaction%'`,
  );
  return rows[0].n;
}

/** bbm.claim as every idle pooled connection sees it (all checked out at once, so each is asked). */
async function claimSettings(pool: Pool): Promise<string[]> {
  const clients = await Promise.all(Array.from({ length: pool.idleCount }, () => pool.connect()));
  try {
    const out: string[] = [];
    for (const c of clients) {
      const { rows } = await c.query(`SELECT coalesce(current_setting('bbm.claim', true), '<unset>') AS v`);
      out.push(rows[0].v);
    }
    return out;
  } finally {
    for (const c of clients) c.release();
  }
}

test('run-ahead claim: a repository key with every allowed punctuation (keys are ASCII-only), a holder with a quote and unicode, ids and a lease token above 2^53 and an excluded running lower-id migration: every job claimed, same records as off', async () => {
  const repo = 'team/a@x:y-z.1_Q'; // repository keys are ASCII-only (REPOSITORY_KEY_PATTERN); the holder carries the quote and unicode
  const run = async (enabled: boolean) => {
    const s = await setup('rv2_big', enabled, repo, 60);
    await createItems(s.pool, 'other', 20);
    await s.pool.query(`SELECT setval('bbm.migrations_id_seq', 9223372036854770000)`);
    await s.pool.query(`SELECT setval('bbm.jobs_id_seq', 9223372036854760000)`);
    await s.pool.query(
      `INSERT INTO bbm.leases (repository, holder, token, expires_at) VALUES ($1, 'h☃"1', 9007199254740993, now() - interval '1 s')`,
      [repo],
    );
    const low = await define(s, { name: 'low', work: 'inc', table: 'other', repository: repo, batchSize: 10, args: {} });
    await setMigrationStatus(s.pool, low.id, MigrationStatus.RUNNING);
    await define(s, { name: 'high', work: 'inc', repository: repo, batchSize: 10, args: {} });
    const fence = await acquireLease(s.pool, { repository: repo, holder: 'h☃"1', ttlMs: TTL, waitMs: TTL });
    assert.equal(fence.token, '9007199254740994');
    const seen = await drain(s, fence, [low.id]);
    // The claims' transaction-local setting is gone from every pooled connection.
    assert.ok((await claimSettings(s.pool)).every((v) => v === '' || v === '<unset>'));
    return { seen, rows: await records(s.pool), stats: s.aheads.stats() };
  };
  const on = await run(true);
  const off = await run(false);
  assert.deepEqual(on.seen, off.seen);
  assert.deepEqual(on.rows, off.rows);
  assert.equal(on.stats.claimed, 5, `jobs 2..6 claimed from run-aheads: ${JSON.stringify(on.stats)}`);
  assert.deepEqual((on.rows as { items: unknown }).items, { lo: 1, hi: 1, n: 60 });
});

test('run-ahead claim: sub-batched jobs (sub-batch size below batch size) with run-ahead on: the same records as off, nothing left in a transaction', async () => {
  const run = async (enabled: boolean) => {
    const s = await setup('rv2_sub', enabled);
    await define(s, { name: 'm', work: 'inc', batchSize: 10, subBatchSize: 4, subBatchPauseMs: 0, args: {} } as never);
    const fence = await acquireLease(s.pool, { repository: s.repo, holder: 'h1', ttlMs: TTL, waitMs: TTL });
    const seen = await drain(s, fence);
    const own = await s.pool.connect();
    try {
      assert.equal(await inTransaction(own), 0);
    } finally {
      own.release();
    }
    return { seen, rows: await records(s.pool) };
  };
  assert.deepEqual(await run(true), await run(false));
});

test('run-ahead claim: a database at schema 8 with a migration defined upgrades to 9, and a role that is not superuser (table grants only) claims run-aheads', async () => {
  const db = await createEmptyDatabase('rv2_upgrade');
  const admin = db.pool(4);
  assert.deepEqual(
    (
      await migrateSchema(
        admin,
        loadSchemaMigrations().filter((m) => m.version <= 8),
      )
    ).length,
    8,
  );
  await createItems(admin, 'items', 30);
  const adminEngine = await setupOn(admin, true, REPO);
  await define(adminEngine, { name: 'm', work: 'inc', batchSize: 10, args: {} });
  assert.deepEqual(await migrateSchema(admin), [9]);
  const role = `rv2_worker_${Math.random().toString(36).slice(2, 8)}`;
  await admin.query(`CREATE ROLE ${role} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE`);
  await admin.query(`GRANT USAGE ON SCHEMA bbm TO ${role}`);
  await admin.query(`GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA bbm, public TO ${role}`);
  await admin.query(`GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA bbm TO ${role}`);
  const u = new URL(db.url);
  u.username = role;
  const pool = createPool({ url: u.toString(), max: 8 });
  try {
    const s = await setupOn(pool, true, REPO);
    const fence = await acquireLease(pool, { repository: REPO, holder: 'h1', ttlMs: TTL, waitMs: TTL });
    await drain(s, fence);
    assert.equal(s.aheads.stats().claimed, 2);
    assert.deepEqual(await counters(pool), { lo: 1, hi: 1, n: 30 });
  } finally {
    await pool.end();
  }
});

test('run-ahead claim: a cancel while the claim function waits on the lease row lock: CANCELLED, nothing of the job committed, its retry runs it once', async () => {
  const s = await setup('rv2_cancel_claim_wait', true);
  await define(s, { name: 'm', work: 'inc', batchSize: 10, args: {} });
  const fence = await acquireLease(s.pool, { repository: s.repo, holder: 'h1', ttlMs: TTL, waitMs: TTL });
  const deps = { pool: s.pool, registry: s.registry, runAheads: s.aheads };
  const first = await executeJob(deps, input((await find(s, fence, []))!, fence, []));
  assert.equal(await s.aheads.opened(s.repo)?.ready, true);
  const before = await records(s.pool);
  const locker = await s.pool.connect();
  const controller = new AbortController();
  let claimed: Promise<unknown>;
  try {
    await locker.query('BEGIN');
    await locker.query('SELECT 1 FROM bbm.leases WHERE repository = $1 FOR UPDATE', [s.repo]);
    claimed = executeJob(deps, input(first.next!, fence, []), controller.signal).then(
      (r) => r.outcome,
      (err: { code?: string }) => err.code,
    );
    await waitFor(
      'the claim waits on the lease row',
      async () => {
        const { rows } = await s.pool.query(
          `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE 'SELECT bbm.claim_run_ahead();%'`,
        );
        return rows[0].n === 1;
      },
      30_000,
      10,
    );
    controller.abort();
    assert.equal(await claimed, ErrorCode.CANCELLED);
  } finally {
    await locker.query('ROLLBACK');
    locker.release();
  }
  assert.deepEqual(await records(s.pool), before, 'nothing of the claimed job committed');
  const retried = await executeJob(deps, input(first.next!, fence, []));
  assert.equal(retried.outcome, 'finished');
  assert.equal(retried.attempts, 1);
  await drain(s, fence, [], retried.next);
  assert.deepEqual(await counters(s.pool), { lo: 1, hi: 1, n: 30 });
});
