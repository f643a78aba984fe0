import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { WorkContext } from '../src/engine/registry';
import { createItems, createTestDatabase } from './helpers/db';
import { counters, define, jobsOf, migration, registryWith, runToEnd, step, work, type Engine } from './helpers/engine';

/**
 * The adaptive batch size on a real server: the tuner runs inside executeJob's transaction, so
 * what it decides is read back from the migration row and the job rows, as a restart would.
 */

const ROWS = 3_600;
/** Ids above this cost twice as much per row. */
const HALF = 1_800;
/** Per-row cost of the cheap half, ms. pg_sleep dominates each job, so CPU load on the machine matters little. */
const COST_MS = 2.5;
const TARGET_MS = 500;

/** Increments `counter` over its range, then sleeps COST_MS per row below HALF and twice that above. */
const doublingCost = work('doubling_cost', async (ctx: WorkContext) => {
  const { rows } = await ctx.client.query(
    `WITH done AS (UPDATE ${ctx.quotedTable} SET counter = counter + 1 WHERE ${ctx.quotedColumn} BETWEEN $1 AND $2 RETURNING id)
     SELECT count(*)::int AS n, coalesce(sum(CASE WHEN id <= $3 THEN 1 ELSE 2 END), 0)::int AS units FROM done`,
    [ctx.start, ctx.end, HALF],
  );
  await ctx.client.query('SELECT pg_sleep($1)', [(rows[0].units * COST_MS) / 1000]);
  return rows[0].n as number;
});

/** Fails its `failAt`-th call, otherwise increments like the built-in, quickly. */
function failingOnce(failAt: number) {
  let calls = 0;
  return work('fails_once', async (ctx: WorkContext) => {
    calls += 1;
    if (calls === failAt) throw new Error('boom');
    const r = await ctx.client.query(`UPDATE ${ctx.quotedTable} SET counter = counter + 1 WHERE ${ctx.quotedColumn} BETWEEN $1 AND $2`, [
      ctx.start,
      ctx.end,
    ]);
    return r.rowCount ?? 0;
  });
}

async function setup(label: string, rows: number, ...extra: ReturnType<typeof work>[]): Promise<Engine> {
  const db = await createTestDatabase(label);
  await createItems(db.pool, 'items', rows);
  return { pool: db.pool, registry: registryWith(...extra) };
}

test('when the cost per row doubles halfway, job durations are back within 30 % of the target after at most 5 jobs', async (t) => {
  const engine = await setup('tunedouble', ROWS, doublingCost);
  // 200 rows x 2.5 ms: the first jobs start on target; the bounds leave the tuner room both ways.
  await define(engine, { name: 'm', work: 'doubling_cost', args: {}, batchSize: 200, targetJobMs: TARGET_MS, minBatchSize: 10 });
  const run = await runToEnd(engine);
  assert.deepEqual(run.errors, []);
  assert.deepEqual(await counters(engine.pool), { lo: 1, hi: 1, n: ROWS }, 'every row incremented exactly once');

  const jobs = (await jobsOf(engine.pool, 'm')).map((j) => ({
    start: Number(j.minValue),
    size: Number(j.maxValue) - Number(j.minValue) + 1,
    ms: j.durationMs ?? NaN,
  }));
  const after = jobs.filter((j) => j.start > HALF);
  // The last job may be a short remainder of the range: its duration says nothing about the size.
  const settled = after.slice(5).filter((j) => j.start + j.size - 1 < ROWS);
  t.diagnostic(`jobs (first id, size, ms): ${jobs.map((j) => `${j.start}/${j.size}/${Math.round(j.ms)}`).join(' ')}`);
  assert.ok(settled.length >= 3, `enough jobs after the change to judge (${settled.length})`);
  for (const j of settled) {
    assert.ok(
      Math.abs(j.ms - TARGET_MS) <= 0.3 * TARGET_MS,
      `job at id ${j.start} (${j.size} rows) took ${Math.round(j.ms)} ms, not within 30 % of ${TARGET_MS}`,
    );
  }
  const first = after[0]?.size ?? 0;
  assert.ok(
    settled.every((j) => j.size < first * 0.7),
    'the size shrank for the dearer rows',
  );

  // What the next job would get is stored with the migration, with the samples it came from.
  const m = await migration(engine.pool, 'm');
  assert.ok(m.batchSize >= 10 && m.batchSize < 150, `stored tuned size ${m.batchSize}`);
  assert.equal(m.tunerState.samples.length, 20, 'the last 20 jobs are remembered');
  assert.equal(m.tunerState.afterFailure, false);
});

test('a failed attempt is recorded to the tuner with the failure: the size does not grow at once, and grows again after a success', async () => {
  const engine = await setup('tunefail', 5_000, failingOnce(3));
  // Quick jobs against a 500 ms target: each success grows the size by 10 %.
  await define(engine, { name: 'm', work: 'fails_once', args: {}, batchSize: 100, targetJobMs: 500, minBatchSize: 100 });
  const sizes: number[] = [];
  const stored = async (): Promise<number> => (await migration(engine.pool, 'm')).batchSize;
  sizes.push(await stored());
  for (let i = 0; i < 5; i++) {
    await step(engine);
    sizes.push(await stored());
  }
  // Jobs 1 and 2 grow the size; job 3 fails (no growth, remembered); job 4 succeeds right after the
  // failure (still no growth); job 5 grows again.
  assert.deepEqual(sizes, [100, 110, 121, 121, 121, 133]);
  const jobs = await jobsOf(engine.pool, 'm');
  assert.equal(jobs[2]?.lastError, 'boom', 'the third job is the one that failed');
  assert.equal(jobs.length, 5);
});

test('a target of 0 keeps the batch size fixed and stores no samples', async () => {
  const engine = await setup('tuneoff', 1_000);
  await define(engine, { name: 'm', batchSize: 100, targetJobMs: 0 });
  const run = await runToEnd(engine);
  assert.deepEqual(run.errors, []);
  const jobs = await jobsOf(engine.pool, 'm');
  assert.deepEqual(
    jobs.map((j) => Number(j.maxValue) - Number(j.minValue) + 1),
    Array(10).fill(100),
  );
  const m = await migration(engine.pool, 'm');
  assert.deepEqual([m.batchSize, m.targetJobMs, m.tunerState.samples.length], [100, 0, 0]);
});

test('the tuner never shrinks a batch below its sub-batch size, so later configures still pass the sub-batch rule', async () => {
  const engine = await setup('tunesub', 1_000);
  // A 1 ms target shrinks every job as far as the bounds allow.
  await define(engine, { name: 'm', batchSize: 100, subBatchSize: 100, subBatchPauseMs: 0, targetJobMs: 1, minBatchSize: 10 });
  const run = await runToEnd(engine);
  assert.deepEqual(run.errors, []);
  const m = await migration(engine.pool, 'm');
  assert.deepEqual([m.batchSize, m.subBatchSize], [100, 100], 'held at the sub-batch size, not the minimum of 10');
  assert.deepEqual(await counters(engine.pool), { lo: 1, hi: 1, n: 1_000 });
});
