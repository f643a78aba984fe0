import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { Client } from 'pg';
import { createPool } from '../src/db/pool';
import { migrateSchema } from '../src/db/schema';
import { startDevPostgres } from '../src/dev/postgres';
import { JobStatus } from '../src/engine/constants';
import { executeJob } from '../src/engine/execute-job';
import { findJob } from '../src/engine/find-job';
import { acquireLease } from '../src/engine/lease';
import { RunAheads } from '../src/engine/run-ahead';
import type { ExecuteJobResult, FenceToken, JobDescriptor } from '../src/engine/types';
import { createLogger } from '../src/logger';
import { createItems } from './helpers/db';
import { counters, define, JOB_TIMEOUT_MS, REPO, registryWith, work, type Engine } from './helpers/engine';
import { waitFor } from './helpers/wait';

/**
 * A cancel (the activity's AbortSignal) or a killed connection that reaches the backend while a
 * run-ahead's claim commits (found by a fresh reviewer). Postgres holds interrupts while COMMIT
 * flushes WAL and drops a pending cancel once the backend is back reading a command, so a plain
 * `COMMIT` that got that far reports the job finished. A statement after the COMMIT in the same
 * message (an earlier version also opened the next job's transaction there: `COMMIT; BEGIN; ...`)
 * took the pending cancel instead and reported the committed job CANCELLED, "rolled back". So the
 * claim's message ends at its COMMIT (`SELECT bbm.claim_run_ahead(); COMMIT`).
 *
 * The suite's Postgres runs with fsync off, where a WAL flush takes microseconds. This file starts
 * its own cluster with fsync on, as in production, and makes each flush last 100 ms with
 * commit_delay, so the cancel lands in it.
 */

let own: { url: string; stop(): Promise<void> } | undefined;
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'bbm-commit-window-'));
/** Pools (and their run-aheads) to end before the cluster stops. */
const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const cleanup of cleanups) await cleanup();
  await own?.stop();
  fs.rmSync(root, { recursive: true, force: true });
});

async function ownDatabase(): Promise<string> {
  if (!own)
    own = await startDevPostgres({
      dataDir: path.join(root, 'pg'),
      ephemeral: false,
      logger: createLogger({ level: 'silent', pretty: false }),
    });
  return own.url;
}

interface Setup extends Engine {
  aheads: RunAheads;
}

let n = 0;
/** A fresh database of the own cluster with slow commits, run-ahead on, and migration m defined. */
async function setup(): Promise<Setup> {
  const base = await ownDatabase();
  const db = `commit_window_${n++}`;
  const admin = new Client({ connectionString: base });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${db}`);
    // Every COMMIT that writes WAL sleeps 100 ms inside its flush, interrupts held.
    await admin.query(`ALTER DATABASE ${db} SET synchronous_commit = on`);
    await admin.query(`ALTER DATABASE ${db} SET commit_delay = 100000`);
    await admin.query(`ALTER DATABASE ${db} SET commit_siblings = 0`);
  } finally {
    await admin.end();
  }
  const u = new URL(base);
  u.pathname = `/${db}`;
  const pool = createPool({ url: u.toString(), max: 10 });
  const aheads = new RunAheads(pool, { enabled: true, idleMs: 600_000, maxOpen: 4 });
  // Open run-aheads hold a pooled connection: abandon them before pool.end(), which would wait for ever.
  cleanups.push(async () => {
    await aheads.abandonAll();
    await pool.end();
  });
  await migrateSchema(pool);
  await createItems(pool, 'items', 30);
  const fn = work('inc', async (ctx) => {
    const r = await ctx.client.query(`UPDATE ${ctx.quotedTable} SET counter = counter + 1 WHERE ${ctx.where.sql}`, ctx.where.values);
    return r.rowCount ?? 0;
  });
  const s = { pool, registry: registryWith(fn), aheads };
  await define(s, { name: 'm', work: 'inc', batchSize: 10, args: {} });
  return s;
}

const lease = (s: Setup): Promise<FenceToken> => acquireLease(s.pool, { repository: REPO, holder: 'h1', ttlMs: 60_000, waitMs: 60_000 });

async function find(s: Setup, fence: FenceToken): Promise<JobDescriptor> {
  await s.aheads.abandon(REPO);
  const job = (await findJob(s.pool, { repository: REPO, fence, maxJobAttempts: 3, leaseTtlMs: 60_000 })).job;
  assert.ok(job);
  return job;
}

function exec(s: Setup, job: JobDescriptor, fence: FenceToken, signal?: AbortSignal): Promise<ExecuteJobResult> {
  return executeJob(
    { pool: s.pool, registry: s.registry, runAheads: s.aheads },
    {
      jobId: job.jobId,
      migrationId: job.migrationId,
      maxJobAttempts: 3,
      jobTimeoutMs: JOB_TIMEOUT_MS,
      fence,
      findAhead: { exclude: [], leaseTtlMs: 60_000 },
      runAhead: true,
    },
    signal,
  );
}

async function jobStatus(s: Setup, job: JobDescriptor): Promise<{ status: number; attempts: number }> {
  const { rows } = await s.pool.query('SELECT status, attempts FROM bbm.jobs WHERE id = $1', [job.jobId]);
  return rows[0];
}

/** 'finished' (or the result's outcome), or the error's code and message. */
async function outcome(p: Promise<ExecuteJobResult>): Promise<string> {
  return p.then(
    (r) => r.outcome,
    (err: Error & { code?: string }) => `${err.code}: ${err.message}`,
  );
}

/**
 * Start `attempt` (a claim, from a fresh setup each time) and `act` on its backend as soon as it
 * is seen running `statement`. On a loaded machine the 100 ms flush can pass between two looks,
 * so an attempt that ends unseen is tried again, up to 5 times.
 */
async function whileRunning(
  statement: string,
  attempt: () => Promise<{ s: Setup; job: JobDescriptor; running: Promise<string> }>,
  act: (s: Setup, pid: number) => Promise<void>,
): Promise<{ s: Setup; job: JobDescriptor; got: string }> {
  for (let i = 0; i < 5; i++) {
    const { s, job, running } = await attempt();
    let settled = false;
    void running.then(() => (settled = true));
    const pid = await waitFor(
      `a backend runs ${statement}, or the attempt ends`,
      async () => {
        if (settled) return -1;
        const { rows } = await s.pool.query(
          `SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND state = 'active' AND query = $1`,
          [statement],
        );
        return (rows[0]?.pid as number | undefined) ?? false;
      },
      60_000,
      1,
    );
    if (pid === -1) continue;
    await act(s, pid);
    return { s, job, got: await running };
  }
  throw new Error(`never saw ${statement} running in 5 tries`);
}

const CLAIM = 'SELECT bbm.claim_run_ahead(); COMMIT';

/** The claim of a ready run-ahead, sent: the second job of a fresh repository. */
async function claimReady(signal?: AbortSignal): Promise<{ s: Setup; job: JobDescriptor; running: Promise<string> }> {
  const s = await setup();
  const fence = await lease(s);
  const first = await exec(s, await find(s, fence), fence);
  assert.ok(first.next);
  assert.equal(await s.aheads.opened(REPO)?.ready, true);
  return { s, job: first.next, running: outcome(exec(s, first.next, fence, signal)) };
}

test('a cancel that lands while a run-ahead’s claim commits leaves the job finished and reports it finished, as a plain COMMIT does', async () => {
  let controller = new AbortController();
  const { s, job, got } = await whileRunning(
    CLAIM,
    () => {
      controller = new AbortController();
      return claimReady(controller.signal);
    },
    async () => controller.abort(),
  );
  assert.deepEqual(await jobStatus(s, job), { status: JobStatus.FINISHED, attempts: 1 }, 'the job committed');
  assert.equal(got, 'finished', `a committed job is reported finished, not: ${got}`);
  assert.equal((await counters(s.pool)).hi, 1);
});

test('a connection killed while a run-ahead’s claim commits leaves the job finished and reports it finished, as a plain COMMIT does', async () => {
  const { s, job, got } = await whileRunning(
    CLAIM,
    () => claimReady(),
    async (s, pid) => {
      await s.pool.query('SELECT pg_terminate_backend($1)', [pid]);
    },
  );
  assert.deepEqual(await jobStatus(s, job), { status: JobStatus.FINISHED, attempts: 1 }, 'the job committed');
  assert.equal(got, 'finished', `a committed job is reported finished, not: ${got}`);
});
