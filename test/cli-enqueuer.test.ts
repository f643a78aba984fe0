import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bbm, cliEnv, shown } from './helpers/cli';
import { createItems, createTestDatabase } from './helpers/db';
import { startTestWorker } from './helpers/temporal';

async function defineRepositories(env: NodeJS.ProcessEnv, count: number, extra: string[] = []): Promise<void> {
  for (let i = 1; i <= count; i++) {
    const r = await bbm(
      [
        'migrations',
        'create',
        '--name',
        `m${i}`,
        '--repository',
        `shop/${i}`,
        '--work',
        'increment',
        '--table',
        'items',
        '--column',
        'id',
        '--batch-size',
        '100',
        '--arg',
        'target=counter',
        ...extra,
      ],
      env,
    );
    assert.equal(r.code, 0, shown(r));
  }
}

test('enqueue wakes the enqueuer, which starts repositories up to the capacity; capacity get and set work at runtime', async () => {
  const db = await createTestDatabase('cli_enqueue');
  await createItems(db.pool, 'items', 400);
  const worker = await startTestWorker(db);
  const env = cliEnv(db.url, worker.taskQueue);
  await defineRepositories(env, 3);

  const none = await bbm(['capacity'], env);
  assert.equal(none.code, 0, shown(none));
  assert.match(none.stdout, /No enqueuer is running on task queue test-w-\w+; it starts with capacity 5/);

  const woken = await bbm(
    [
      'enqueue',
      '--capacity',
      '2',
      '--reason',
      'test',
      '--prefix',
      'shop/',
      '--knob',
      'maxJobPerBatch=1',
      '--knob',
      'minDelayMs=500',
      '--knob',
      'maxDelayMs=500',
    ],
    env,
  );
  assert.equal(woken.code, 0, shown(woken));
  assert.match(woken.stdout, new RegExp(`Woke the enqueuer bbm-enqueuer/${worker.taskQueue} \\(run [\\w-]+\\)\\.`));
  assert.match(woken.stdout, /capacity\s+2/);
  assert.match(woken.stdout, /started now\s+shop\/1, shop\/2/);

  const get = await bbm(['--json', 'capacity', 'get'], env);
  assert.equal(get.code, 0, shown(get));
  assert.equal(JSON.parse(get.stdout).capacity, 2);
  const set = await bbm(['capacity', 'set', '3'], env);
  assert.equal(set.code, 0, shown(set));
  assert.match(set.stdout, /Capacity set to 3/);
  assert.match((await bbm(['capacity'], env)).stdout, /^Capacity 3 \(enqueuer bbm-enqueuer\//);

  for (const [args, message] of [
    [['capacity', 'set', '1001'], /^error\[INVALID_INPUT\]: Capacity "1001" is invalid: must be an integer from 0 to 1000/],
    [['capacity', 'set'], /^error\[INVALID_INPUT\]: Usage: bbm capacity set N/],
    [['capacity', 'grow'], /^error\[INVALID_INPUT\]: Unknown capacity action "grow"/],
    [['enqueue', '--capacity', '-1'], /^error\[INVALID_INPUT\]: option '--capacity <n>' argument '-1' is invalid/],
  ] as [string[], RegExp][]) {
    const r = await bbm(args, env);
    assert.equal(r.code, 2, `${args.join(' ')}\n${shown(r)}`);
    assert.match(r.stderr, message);
  }

  const run = await bbm(['run'], env, 240_000);
  assert.equal(run.code, 0, shown(run));
  assert.match(run.stdout, /finished\s+3 of 3/);
  assert.match(run.stdout, /All migrations finished\./);
  const { rows } = await db.pool.query('SELECT min(counter) AS lo, max(counter) AS hi FROM items');
  assert.deepEqual(rows[0], { lo: 3, hi: 3 });
});

test('schedule create is idempotent (create, then update) and schedule delete removes it', async () => {
  const db = await createTestDatabase('cli_schedule');
  const worker = await startTestWorker(db);
  const env = cliEnv(db.url, worker.taskQueue);
  const created = await bbm(['schedule', 'create', '--every', '5m', '--paused'], env);
  assert.equal(created.code, 0, shown(created));
  assert.match(
    created.stdout,
    new RegExp(`Created schedule bbm-enqueuer-schedule/${worker.taskQueue}: wakes the enqueuer every 300s \\(paused\\)`),
  );
  const handle = worker.client.schedule.getHandle(`bbm-enqueuer-schedule/${worker.taskQueue}`);
  assert.equal((await handle.describe()).state.paused, true);
  const updated = await bbm(['schedule', 'create', '--every', '90s', '--json'], env);
  assert.equal(updated.code, 0, shown(updated));
  assert.equal(JSON.parse(updated.stdout).created, false);
  const spec = (await handle.describe()).spec;
  assert.equal(Number((spec.intervals?.[0] as { every: number }).every), 90_000);
  const bad = await bbm(['schedule', 'create', '--every', 'soon'], env);
  assert.equal(bad.code, 2, shown(bad));
  assert.match(bad.stderr, /argument 'soon' is invalid\. must be a duration such as 30s, 5m or 1h/);
  const deleted = await bbm(['schedule', 'delete'], env);
  assert.equal(deleted.code, 0, shown(deleted));
  assert.match(deleted.stdout, /^Deleted schedule/);
  const again = await bbm(['schedule', 'delete'], env);
  assert.equal(again.code, 0, shown(again));
  assert.match(again.stdout, /nothing to delete/);
});

test('run resumes paused migrations first, validates --max-job-retry like the anchor (1..10) and exits 3 when a migration fails', async () => {
  const db = await createTestDatabase('cli_run');
  await createItems(db.pool, 'items', 200);
  await db.pool.query('ALTER TABLE items ADD COLUMN num integer CHECK (num < 0)');
  const worker = await startTestWorker(db);
  const env = cliEnv(db.url, worker.taskQueue);
  for (const n of ['0', '11', 'x']) {
    const r = await bbm(['run', '--max-job-retry', n], env);
    assert.equal(r.code, 2, shown(r));
    assert.match(
      r.stderr,
      new RegExp(
        `^error\\[INVALID_INPUT\\]: option '--max-job-retry <n>' argument '${n}' is invalid\\. must be an integer from 1 to 10\\.`,
      ),
    );
  }
  await defineRepositories(env, 1, ['--paused']);
  const ok = await bbm(['run', '--max-job-retry', '2'], env, 240_000);
  assert.equal(ok.code, 0, shown(ok));
  assert.match(ok.stdout, /Resumed 1 paused migration\(s\) first: m1\./);

  assert.equal(
    (
      await bbm(
        [
          'migrations',
          'create',
          '--name',
          'doomed',
          '--repository',
          'bad',
          '--work',
          'copy_column',
          '--table',
          'items',
          '--column',
          'id',
          '--arg',
          'from=id',
          '--arg',
          'to=num',
        ],
        env,
      )
    ).code,
    0,
  );
  const failed = await bbm(['run', '--max-job-retry', '1'], env, 240_000);
  assert.equal(failed.code, 3, shown(failed));
  assert.match(failed.stdout, /failed\s+1: doomed/);
  assert.match(failed.stdout, /bbm migrations retry <name>/);
  const jobs = await db.pool.query(
    "SELECT j.attempts FROM bbm.jobs j JOIN bbm.migrations m ON m.id = j.migration_id WHERE m.name = 'doomed'",
  );
  assert.deepEqual(
    jobs.rows.map((r) => r.attempts),
    [1],
    '--max-job-retry 1: one attempt, then the migration fails',
  );
});

test("enqueue reports the wake-up it caused, not the enqueuer's self re-wake that follows it", async () => {
  const db = await createTestDatabase('cli_enqueue_own');
  await createItems(db.pool, 'items', 100);
  const worker = await startTestWorker(db);
  const env = cliEnv(db.url, worker.taskQueue);
  // One repository under the default capacity of 5: the wake-up starts it and, still below
  // capacity, at once asks itself for another wake-up, which starts nothing.
  await defineRepositories(env, 1);
  const woken = await bbm(['enqueue', '--reason', 'test'], env);
  assert.equal(woken.code, 0, shown(woken));
  assert.match(woken.stdout, /started now\s+shop\/1\n/);
  assert.match(woken.stdout, /reason\s+test\n/);
  const json = await bbm(['--json', 'enqueue', '--reason', 'again'], env);
  assert.equal(json.code, 0, shown(json));
  const report = JSON.parse(json.stdout).report;
  assert.equal(report.reason, 'again');
  assert.deepEqual(report.started, []);
});
