import assert from 'node:assert/strict';
import { test } from 'node:test';
import { JobStatus } from '../src/engine/constants';
import { changeBatchSettings, pauseMigrations, resumeMigrations } from '../src/engine/control';
import { executeJob } from '../src/engine/execute-job';
import { findJob } from '../src/engine/find-job';
import { acquireLease } from '../src/engine/lease';
import type { WorkContext } from '../src/engine/registry';
import type { SubBatchProgress } from '../src/engine/sub-batches';
import { ErrorCode, type BbmError } from '../src/errors';
import { requestPause } from '../src/store/pause-requests';
import { createItems, createTestDatabase } from './helpers/db';
import { counters, deferred, define, JOB_TIMEOUT_MS, jobsOf, migration, REPO, registryWith, work, type Engine } from './helpers/engine';
import { assertNoSubBatchTwice, installSubBatchLog, subBatchLog } from './helpers/sub-batches';
import { waitFor } from './helpers/wait';

type Hook = (ctx: WorkContext, call: number) => Promise<void>;

/** `increment` over the given range that records each call and runs `before`/`after` hooks around its UPDATE. */
function hookedEngine(label: string, hooks: { before?: Hook; after?: Hook } = {}) {
  const calls: string[] = [];
  const fn = work('hooked', async (ctx) => {
    const call = calls.push(`${ctx.start}-${ctx.end}`);
    await hooks.before?.(ctx, call);
    const r = await ctx.client.query(`UPDATE ${ctx.quotedTable} SET counter = counter + 1 WHERE ${ctx.quotedColumn} BETWEEN $1 AND $2`, [
      ctx.start,
      ctx.end,
    ]);
    await hooks.after?.(ctx, call);
    return r.rowCount ?? 0;
  });
  async function setup(rows: number): Promise<Engine> {
    const db = await createTestDatabase(label);
    await createItems(db.pool, 'items', rows);
    await installSubBatchLog(db.pool, 'items');
    return { pool: db.pool, registry: registryWith(fn) };
  }
  return { calls, setup };
}

async function firstJob(engine: Engine): Promise<string> {
  const found = await findJob(engine.pool, { repository: REPO, maxJobAttempts: 3 });
  assert.ok(found.job, 'a job to run');
  return found.job.jobId;
}

/**
 * Row locks, measured: the work sleeps 300 ms per 100 rows after its UPDATE (holding the rows'
 * locks), and a writer updates a row of the first sub-batch as soon as that sub-batch has locked
 * it. Returns the writer's wait, the longest sub-batch and the whole job, in ms.
 */
async function writerWait(label: string, subBatchSize: number | undefined): Promise<{ waitMs: number; subBatchMs: number; jobMs: number }> {
  const locked = deferred();
  const starts: number[] = [];
  const { setup } = hookedEngine(label, {
    before: async () => void starts.push(performance.now()),
    after: async (ctx, call) => {
      if (call === 1) locked.resolve();
      // 300 ms per 100 rows, so one sub-batch is 0.3 s and the whole job 1.5 s.
      await ctx.client.query('SELECT pg_sleep(0.003 * (SELECT count(*) FROM items WHERE id BETWEEN $1 AND $2))', [ctx.start, ctx.end]);
    },
  });
  const engine = await setup(500);
  await define(engine, { name: 'm', work: 'hooked', args: {}, batchSize: 500, subBatchSize, subBatchPauseMs: 0 });
  const jobId = await firstJob(engine);
  const began = performance.now();
  const job = executeJob(engine, { jobId, maxJobAttempts: 3, jobTimeoutMs: JOB_TIMEOUT_MS }).then(() => performance.now() - began);
  await locked.promise;
  const writer = await engine.pool.connect();
  try {
    const t0 = performance.now();
    await writer.query("UPDATE items SET payload = 'written by the application' WHERE id = 50");
    const waitMs = performance.now() - t0;
    const jobMs = await job;
    starts.push(began + jobMs);
    const subBatchMs = Math.max(...starts.slice(1).map((t, i) => t - (starts[i] ?? t)));
    assert.deepEqual(await counters(engine.pool), { lo: 1, hi: 1, n: 500 });
    return { waitMs, subBatchMs, jobMs };
  } finally {
    writer.release();
  }
}

test('a concurrent writer to a row of the running job waits about one sub-batch, not the whole job', async (t) => {
  const split = await writerWait('sblock', 100);
  const whole = await writerWait('sblockwhole', undefined);
  t.diagnostic(
    `sub-batches of 100: writer waited ${split.waitMs.toFixed(0)} ms (longest sub-batch ${split.subBatchMs.toFixed(0)} ms, job ${split.jobMs.toFixed(0)} ms); ` +
      `one transaction: writer waited ${whole.waitMs.toFixed(0)} ms (job ${whole.jobMs.toFixed(0)} ms)`,
  );
  assert.ok(split.waitMs < split.jobMs / 2, 'with sub-batches the writer must not wait for the whole job');
  assert.ok(split.waitMs <= split.subBatchMs + 250, 'the writer waits at most about one sub-batch');
  assert.ok(whole.waitMs >= whole.jobMs * 0.6, 'control: without sub-batches the writer waits for (nearly) the whole job');
});

test('a pause that lands during a sub-batch stops the job after it with the cursor kept, and resume continues after the cursor', async () => {
  const inSecond = deferred();
  const gate = deferred();
  const { calls, setup } = hookedEngine('sbpause', {
    after: async (_ctx, call) => {
      if (call !== 2) return;
      inSecond.resolve();
      await gate.promise;
    },
  });
  const engine = await setup(1000);
  await define(engine, { name: 'm', work: 'hooked', args: {}, batchSize: 1000, subBatchSize: 100, subBatchPauseMs: 100 });
  const jobId = await firstJob(engine);
  const running = executeJob(engine, { jobId, maxJobAttempts: 3, jobTimeoutMs: JOB_TIMEOUT_MS });
  await inSecond.promise;
  // The pause waits for the migration row, which the sub-batch in flight holds.
  const paused = pauseMigrations(engine.pool, { name: 'm' });
  await waitFor('the pause to wait for the sub-batch', async () => {
    const { rows } = await engine.pool.query(
      "SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE 'UPDATE bbm.migrations SET status%'",
    );
    return rows.length === 1;
  });
  gate.resolve();
  assert.deepEqual(await paused, ['m']);
  const result = await running;
  assert.deepEqual([result.outcome, result.reason], ['skipped', 'migration is paused']);
  // Usually right after the second sub-batch; on a starved machine the next sub-batch may take the
  // migration row before the woken pause does, and the job then stops after that one.
  const [job] = await jobsOf(engine.pool, 'm');
  const done = job?.subBatches ?? 0;
  assert.ok(done >= 2 && done < 10, `stopped mid-job, after ${done} sub-batches`);
  assert.deepEqual([job?.status, job?.cursorId, job?.rowsAffected], [JobStatus.ACTIVE, BigInt(done * 100), BigInt(done * 100)]);

  await resumeMigrations(engine.pool, { name: 'm' });
  assert.equal(await firstJob(engine), jobId, 'find hands out the part-done job first');
  const resumed = await executeJob(engine, { jobId, maxJobAttempts: 3, jobTimeoutMs: JOB_TIMEOUT_MS });
  assert.deepEqual([resumed.outcome, resumed.rows], ['finished', '1000'], "the job's rows over all its sub-batches");
  assert.deepEqual(
    calls,
    Array.from({ length: 10 }, (_, k) => `${k * 100 + 1}-${k * 100 + 100}`),
    'each sub-batch ran once, the resume starting after the cursor',
  );
  assertNoSubBatchTwice(await subBatchLog(engine.pool));
  assert.deepEqual(await counters(engine.pool), { lo: 1, hi: 1, n: 1000 });
});

test('a pause requested of a running job stops it at its next sub-batch, and the pause written then clears the request', async () => {
  const inSecond = deferred();
  const gate = deferred();
  const { setup } = hookedEngine('sbpausereq', {
    after: async (_ctx, call) => {
      if (call !== 2) return;
      inSecond.resolve();
      await gate.promise;
    },
  });
  const engine = await setup(1000);
  await define(engine, { name: 'm', work: 'hooked', args: {}, batchSize: 1000, subBatchSize: 100, subBatchPauseMs: 0 });
  const jobId = await firstJob(engine);
  const running = executeJob(engine, { jobId, maxJobAttempts: 3, jobTimeoutMs: JOB_TIMEOUT_MS });
  await inSecond.promise;
  // What `bbm migrations pause` does after signalling a running workflow; it waits for the sub-batch's row lock.
  const requested = requestPause(engine.pool, { name: 'm' });
  await waitFor('the request to wait for the sub-batch', async () => {
    const { rows } = await engine.pool.query(
      "SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%SET pause_requested = true%'",
    );
    return rows.length === 1;
  });
  gate.resolve();
  assert.deepEqual(await requested, ['m']);
  const result = await running;
  assert.deepEqual([result.outcome, result.pauseRequested], ['skipped', true]);
  const [job] = await jobsOf(engine.pool, 'm');
  const done = job?.subBatches ?? 0;
  assert.ok(done >= 2 && done < 10, `stopped mid-job, after ${done} sub-batches`);
  assert.equal(job?.cursorId, BigInt(done * 100), 'the cursor is kept');
  // The workflow then writes the status (src/engine/control.ts), which clears the request.
  assert.deepEqual(await pauseMigrations(engine.pool, { name: 'm' }), ['m']);
  assert.equal((await migration(engine.pool, 'm')).pauseRequested, false);
  await resumeMigrations(engine.pool, { name: 'm' });
  const resumed = await executeJob(engine, { jobId, maxJobAttempts: 3, jobTimeoutMs: JOB_TIMEOUT_MS });
  assert.deepEqual([resumed.outcome, resumed.rows], ['finished', '1000']);
  assertNoSubBatchTwice(await subBatchLog(engine.pool));
  assert.deepEqual(await counters(engine.pool), { lo: 1, hi: 1, n: 1000 });
});

test('a cancellation between sub-batches cuts the pause short, keeps the cursor, and sub-batches turned off mid-job finish the rest at once', async () => {
  const { calls, setup } = hookedEngine('sbcancel');
  const engine = await setup(500);
  await define(engine, { name: 'm', work: 'hooked', args: {}, batchSize: 500, subBatchSize: 100, subBatchPauseMs: 60_000 });
  const jobId = await firstJob(engine);
  const controller = new AbortController();
  const reported: SubBatchProgress[] = [];
  const t0 = performance.now();
  await assert.rejects(
    executeJob(
      engine,
      {
        jobId,
        maxJobAttempts: 3,
        jobTimeoutMs: 300_000,
        // Cancelled while the job sleeps its 60 s pause after the first sub-batch.
        onSubBatch: (progress) => {
          reported.push(progress);
          setTimeout(() => controller.abort(), 50);
        },
      },
      controller.signal,
    ),
    (err: BbmError) => {
      assert.equal(err.code, ErrorCode.CANCELLED);
      assert.match(err.message, /1 committed sub-batch\(es\) stay, and it continues after id 100/);
      assert.equal(JSON.stringify(err.details), JSON.stringify({ jobId, cursorId: '100' }), 'the details are JSON, the cursor exact text');
      return true;
    },
  );
  assert.ok(performance.now() - t0 < 30_000, 'the 60 s pause was cut short');
  // What the activity heartbeats: JSON, with the cursor and the rows as decimal strings.
  assert.equal(JSON.stringify(reported), JSON.stringify([{ jobId, cursorId: '100', rows: '100', subBatches: 1 }]));
  const [job] = await jobsOf(engine.pool, 'm');
  assert.deepEqual([job?.status, job?.cursorId, job?.attempts], [JobStatus.ACTIVE, 100n, 0]);

  await changeBatchSettings(engine.pool, { name: 'm' }, { subBatchSize: null });
  const result = await executeJob(engine, { jobId, maxJobAttempts: 3, jobTimeoutMs: JOB_TIMEOUT_MS });
  assert.deepEqual([result.outcome, result.rows], ['finished', '500']);
  assert.deepEqual(calls, ['1-100', '101-500']);
  assertNoSubBatchTwice(await subBatchLog(engine.pool));
  assert.deepEqual(await counters(engine.pool), { lo: 1, hi: 1, n: 500 });
});

test('a lease lost during a sub-batch rolls that sub-batch back, and the new holder continues after the cursor', async () => {
  const { calls, setup } = hookedEngine('sblease', {
    // A newer attempt takes the repository over while the second sub-batch runs.
    before: async (ctx, call) => {
      if (call === 2) await engine.pool.query("UPDATE bbm.leases SET holder = 'newer', token = token + 1 WHERE repository = $1", [REPO]);
    },
  });
  const engine = await setup(300);
  await define(engine, { name: 'm', work: 'hooked', args: {}, batchSize: 300, subBatchSize: 100, subBatchPauseMs: 0 });
  const fence = await acquireLease(engine.pool, { repository: REPO, holder: 'first', ttlMs: 60_000, waitMs: 1_000 });
  const jobId = await firstJob(engine);
  await assert.rejects(executeJob(engine, { jobId, maxJobAttempts: 3, jobTimeoutMs: JOB_TIMEOUT_MS, fence }), {
    code: ErrorCode.LEASE_LOST,
  });
  assert.deepEqual(
    (await subBatchLog(engine.pool)).map((s) => [s.first, s.last]),
    [[1, 100]],
  );
  assert.equal((await jobsOf(engine.pool, 'm'))[0]?.cursorId, 100n);

  const newer = await acquireLease(engine.pool, { repository: REPO, holder: 'newer', ttlMs: 60_000, waitMs: 1_000 });
  const result = await executeJob(engine, { jobId, maxJobAttempts: 3, jobTimeoutMs: JOB_TIMEOUT_MS, fence: newer });
  assert.equal(result.outcome, 'finished');
  assert.deepEqual(calls, ['1-100', '101-200', '101-200', '201-300']);
  assertNoSubBatchTwice(await subBatchLog(engine.pool));
  assert.deepEqual(await counters(engine.pool), { lo: 1, hi: 1, n: 300 });
});

test('a job in sub-batches that would outrun its time budget stops as partial, and its next runs finish it exactly once', async () => {
  const { setup } = hookedEngine('sbbudget', { after: async (ctx) => void (await ctx.client.query('SELECT pg_sleep(0.25)')) });
  const engine = await setup(1000);
  await define(engine, { name: 'm', work: 'hooked', args: {}, batchSize: 1000, subBatchSize: 100, subBatchPauseMs: 0 });
  const jobId = await firstJob(engine);
  const outcomes: string[] = [];
  for (let i = 0; i < 20 && outcomes.at(-1) !== 'finished'; i++)
    outcomes.push((await executeJob(engine, { jobId, maxJobAttempts: 3, jobTimeoutMs: 1_500 })).outcome);
  assert.equal(outcomes.at(-1), 'finished');
  assert.ok(outcomes.includes('partial'), `expected a partial run first, got ${outcomes.join(', ')}`);
  const log = await subBatchLog(engine.pool);
  assert.equal(log.length, 10);
  assertNoSubBatchTwice(log);
  const [job] = await jobsOf(engine.pool, 'm');
  assert.deepEqual([job?.attempts, job?.subBatches, job?.rowsAffected], [1, 10, 1000n], 'stopping at the budget is not a failed attempt');
  assert.deepEqual(await counters(engine.pool), { lo: 1, hi: 1, n: 1000 });
});

test('settings that would put a sub-batch size above a batch size are refused as a whole, with nothing changed', async () => {
  const { setup } = hookedEngine('sbsettings');
  const engine = await setup(10);
  await define(engine, { name: 'small', work: 'hooked', args: {}, batchSize: 100 });
  await define(engine, { name: 'large', work: 'hooked', args: {}, batchSize: 1000, subBatchSize: 500 });
  const settings = async (): Promise<unknown[]> =>
    Promise.all(
      ['small', 'large'].map(async (n) => migration(engine.pool, n).then((m) => [m.batchSize, m.subBatchSize, m.subBatchPauseMs])),
    );
  const before = await settings();
  const refused = [
    [
      { repository: REPO },
      { subBatchSize: 200 },
      ErrorCode.INVALID_SUB_BATCH_SIZE,
      /subBatchSize \(200\) must not exceed the batch size \(100\) of migration "small"/,
    ],
    [
      { name: 'large' },
      { batchSize: 400 },
      ErrorCode.INVALID_SUB_BATCH_SIZE,
      /subBatchSize \(500\) must not exceed the batch size \(400\)/,
    ],
    [{ name: 'large' }, { subBatchSize: 0 }, ErrorCode.INVALID_SUB_BATCH_SIZE, /from 1 to 1000000/],
    [{ name: 'large' }, { subBatchPauseMs: -1 }, ErrorCode.INVALID_SUB_BATCH_PAUSE, /from 0 to 60000/],
    [
      { name: 'large' },
      { batchSize: 10, subBatchSize: 20 },
      ErrorCode.INVALID_SUB_BATCH_SIZE,
      /\(20\) must not exceed the batch size \(10\)/,
    ],
  ] as const;
  for (const [selector, change, code, message] of refused)
    await assert.rejects(changeBatchSettings(engine.pool, selector, change), { code, message }, JSON.stringify(change));
  assert.deepEqual(await settings(), before, 'nothing changed');
  assert.deepEqual(
    await changeBatchSettings(engine.pool, { repository: REPO }, { batchSize: 2000, subBatchSize: 200, subBatchPauseMs: 5 }),
    ['large', 'small'],
  );
  assert.deepEqual(await settings(), [
    [2000, 200, 5],
    [2000, 200, 5],
  ]);
});
