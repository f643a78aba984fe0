import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import type { Pool } from 'pg';
import { createPool } from '../src/db/pool';
import { findJob } from '../src/engine/find-job';
import { acquireLease } from '../src/engine/lease';
import type { WorkContext } from '../src/engine/registry';
import { maxRunAheads, RunAheads } from '../src/engine/run-ahead';
import type { ExecuteJobResult, FenceToken, JobDescriptor } from '../src/engine/types';
import { checkHealth } from '../src/health/check';
import { HealthMonitor } from '../src/health/monitor';
import { Client } from 'pg';
import { createItems, createTestDatabase } from './helpers/db';
import { counters, define, executeFound, jobSummary, REPO, registryWith, work } from './helpers/engine';
import { waitFor } from './helpers/wait';

/**
 * Adversarial review of run-ahead (src/engine/run-ahead.ts) on real Postgres, the test playing the
 * workflow: a worker whose pool has a single connection (BBM_PG_POOL_SIZE=1), and the health
 * check between two jobs. Every test ends with every row changed exactly once and the job ranges
 * tiling the table.
 */

const TTL_MS = 60_000;
const NEVER_IDLE_MS = 600_000;

interface OneConnection {
  /** The worker's pool: one connection. */
  pool: Pool;
  /** The test's own pool, to look and to act from outside the worker. */
  outside: Pool;
  aheads: RunAheads;
  registry: ReturnType<typeof registryWith>;
  /** Ranges whose work met a cancel (SQLSTATE 57014) while it slept. */
  cancelled: string[];
  /** Runs of the work, by the start of its range. */
  runs: Map<string, number>;
}

/** 30 ids in jobs of 10; the work of the range starting at `slowAt` sleeps `slowS` seconds first. */
async function setup(
  label: string,
  slowAt: bigint | undefined,
  slowS = 5,
  poolMax = 1,
  maxOpen = maxRunAheads(poolMax),
): Promise<OneConnection> {
  const db = await createTestDatabase(label);
  await createItems(db.pool, 'items', 30);
  const pool = createPool({ url: db.url, max: poolMax });
  const cancelled: string[] = [];
  const runs = new Map<string, number>();
  const fn = work('inc', async (ctx: WorkContext) => {
    runs.set(String(ctx.start), (runs.get(String(ctx.start)) ?? 0) + 1);
    if (ctx.start === slowAt) {
      try {
        await ctx.client.query('SELECT pg_sleep($1)', [slowS]);
      } catch (err) {
        if ((err as { code?: string }).code === '57014') cancelled.push(`${ctx.start}-${ctx.end}`);
        throw err;
      }
    }
    const r = await ctx.client.query(`UPDATE ${ctx.quotedTable} SET counter = counter + 1 WHERE ${ctx.where.sql}`, ctx.where.values);
    return r.rowCount ?? 0;
  });
  const registry = registryWith(fn);
  await define({ pool: db.pool, registry }, { name: 'm', work: 'inc', batchSize: 10, args: {} });
  const aheads = new RunAheads(pool, { enabled: true, idleMs: NEVER_IDLE_MS, maxOpen });
  // A failed assertion leaves the run-ahead open, and pool.end() waits for its connection.
  after(async () => {
    await aheads.abandonAll();
    await pool.end();
  });
  return { pool, outside: db.pool, aheads, registry, cancelled, runs };
}

/** executeJob as the workflow calls it; `healthCheckInMs` as the workflow passes it when health checks are on. */
function exec(s: OneConnection, job: JobDescriptor, fence: FenceToken, healthCheckInMs?: number): Promise<ExecuteJobResult> {
  const deps = { pool: s.pool, registry: s.registry, runAheads: s.aheads };
  return executeFound(deps, job, fence, { runAhead: true, ...(healthCheckInMs === undefined ? {} : { healthCheckInMs }) }, TTL_MS);
}

async function find(s: OneConnection, fence: FenceToken): Promise<JobDescriptor | null> {
  await s.aheads.abandon(REPO);
  return (await findJob(s.pool, { repository: REPO, fence, maxJobAttempts: 3, leaseTtlMs: TTL_MS })).job;
}

/** Run the repository to its end the way the workflow does, then check every row once and the ranges. */
async function drainAndCheck(s: OneConnection, fence: FenceToken, first: JobDescriptor | null): Promise<void> {
  let next = first ?? (await find(s, fence));
  for (let i = 0; next && i < 100; i++) next = (await exec(s, next, fence)).next ?? (await find(s, fence));
  await s.aheads.abandon(REPO);
  assert.deepEqual(await counters(s.outside), { lo: 1, hi: 1, n: 30 });
  assert.deepEqual(
    (await jobSummary(s.outside, 'm')).map(([lo, hi]) => `${lo}-${hi}`),
    ['1-10', '11-20', '21-30'],
  );
}

test(
  'run-ahead adversarial: with a pool of one connection no run-ahead is opened, so a health check between two jobs gets its readings',
  { timeout: 120_000 },
  async () => {
    const s = await setup('raa_pool1_health', undefined);
    const fence = await acquireLease(s.pool, { repository: REPO, holder: 'h1', ttlMs: TTL_MS, waitMs: TTL_MS });
    const first = await exec(s, (await find(s, fence))!, fence);
    assert.ok(first.next, 'a job was found ahead');
    // A run-ahead would hold the pool's only connection, which the health check between two jobs
    // (workflows/repository-round.ts; it does not abandon run-aheads) needs: none is opened.
    assert.equal(s.aheads.opened(REPO), undefined, 'no run-ahead holds the only connection');
    const monitor = new HealthMonitor({ db: s.pool });
    const health = await checkHealth({ db: s.pool, monitor }, { repository: REPO, fresh: true }).then(
      (r) => ({ ok: true as const, healthy: r.verdict.healthy }),
      (err: Error) => ({ ok: false as const, error: err.message }),
    );
    assert.deepEqual(health, { ok: true, healthy: true }, 'the health check ran');
    await drainAndCheck(s, fence, first.next ?? null);
  },
);

test(
  'run-ahead adversarial: with a pool of one connection, abandoning a run-ahead whose work is running cancels that work',
  { timeout: 120_000 },
  async () => {
    // One run-ahead allowed on a pool of one: what any pool whose other connections are busy looks like.
    const s = await setup('raa_pool1_cancel', 11n, 5, 1, 1);
    const fence = await acquireLease(s.pool, { repository: REPO, holder: 'h1', ttlMs: TTL_MS, waitMs: TTL_MS });
    const first = await exec(s, (await find(s, fence))!, fence);
    assert.equal(s.aheads.opened(REPO)?.jobId, first.next?.jobId, 'a run-ahead opened for the job found ahead');
    await waitFor('the run-ahead of 11-20 to sleep in its work', async () => {
      const { rows } = await s.outside.query(
        `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND state = 'active' AND query LIKE 'SELECT pg_sleep%'`,
      );
      return rows[0].n === 1;
    });
    // A pause (controlMigrations), a find or the round's releaseLease abandon it first.
    await s.aheads.abandon(REPO);
    // No connection to spare for the cancel: it is sent on a connection of its own (cancelBackend).
    assert.deepEqual(s.cancelled, ['11-20'], 'the abandoned work was cancelled');
    assert.deepEqual(s.aheads.stats(), { claimed: 0, abandoned: 1, failed: 0, skipped: 0, mismatched: 0 });
    await drainAndCheck(s, fence, first.next ?? null);
  },
);

test(
  'run-ahead adversarial: a health check between two jobs that finds the database unhealthy comes before any work of the next job',
  { timeout: 120_000 },
  async () => {
    const s = await setup('raa_health_order', undefined, 0, 4);
    const fence = await acquireLease(s.pool, { repository: REPO, holder: 'h1', ttlMs: TTL_MS, waitMs: TTL_MS });
    // The database turns unhealthy: a transaction older than the threshold (maxTransactionAgeMs).
    const old = new Client({ connectionString: s.outside.options.connectionString });
    await old.connect();
    try {
      await old.query('BEGIN; SELECT txid_current()');
      // The workflow checks health before running the job found ahead when the job just run used up
      // the interval (workflows/repository-round.ts); it says so with healthCheckInMs: 0 here.
      const first = await exec(s, (await find(s, fence))!, fence, 0);
      assert.equal(s.aheads.opened(REPO), undefined, 'no run-ahead across a health check that falls due');
      const thresholds = { maxTransactionAgeMs: 500, maxReplicationLagMs: 0, maxReplicationLagBytes: 0, maxWalArchiveBacklog: 0 };
      const monitor = new HealthMonitor({ db: s.pool });
      await waitFor('the database to be unhealthy', async () => {
        const r = await checkHealth({ db: s.pool, monitor }, { repository: REPO, fresh: true, thresholds });
        return !r.verdict.healthy;
      });
      // Throttled: the round ends (releaseLease abandons the run-ahead); the next job must not have run.
      await s.aheads.abandon(REPO);
      assert.equal(s.runs.get(first.next!.start!) ?? 0, 0, 'the next job ran no work before the health check held it back');
    } finally {
      await old.query('COMMIT');
      await old.end();
    }
    await drainAndCheck(s, fence, null);
  },
);

test('run-ahead: a job is run ahead only while no health check falls due before it', { timeout: 120_000 }, async () => {
  const s = await setup('raa_health_budget', undefined, 0, 4);
  const fence = await acquireLease(s.pool, { repository: REPO, holder: 'h1', ttlMs: TTL_MS, waitMs: TTL_MS });
  const first = await exec(s, (await find(s, fence))!, fence, 60_000);
  assert.equal(s.aheads.opened(REPO)?.jobId, first.next?.jobId, 'well within the interval: the job found ahead is run ahead');
  const second = await exec(s, first.next!, fence, 0);
  assert.ok(second.next, 'a third job was found ahead');
  assert.equal(s.aheads.opened(REPO), undefined, 'a check falls due after this job: the next one waits for it');
  assert.deepEqual(s.aheads.stats(), { claimed: 1, abandoned: 0, failed: 0, skipped: 0, mismatched: 0 });
  await drainAndCheck(s, fence, second.next ?? null);
});
