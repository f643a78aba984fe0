import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Client } from 'pg';
import { repositoryWorkflowId } from '../src/contract/ids';
import { progressQuery } from '../src/contract/messages';
import { migrationStatusName } from '../src/engine/constants';
import { bbm, cliEnv, shown } from './helpers/cli';
import { createItems, createTestDatabase } from './helpers/db';
import { startTestWorker } from './helpers/temporal';
import { waitFor } from './helpers/wait';

test('repositories start runs the workflow once: a second start says "already running" and exits 4; status shows the live progress query', async () => {
  const db = await createTestDatabase('cli_repo');
  await createItems(db.pool, 'items', 500);
  const worker = await startTestWorker(db);
  const env = cliEnv(db.url, worker.taskQueue);
  assert.equal(
    (
      await bbm(
        [
          'migrations',
          'create',
          '--name',
          'inc',
          '--repository',
          'team/a',
          '--work',
          'increment',
          '--table',
          'items',
          '--column',
          'id',
          '--batch-size',
          '10',
          '--arg',
          'target=counter',
        ],
        env,
      )
    ).code,
    0,
  );

  // Someone else holds the repository's lease, so the workflow keeps running (waiting for it) for as
  // long as the test looks at it, however slow the machine; the test lets go of it at the end.
  await db.pool.query(
    `INSERT INTO bbm.leases (repository, holder, token, expires_at) VALUES ('team/a', 'the test', 1, now() + interval '1 hour')`,
  );
  const started = await bbm(
    [
      '--json',
      'repositories',
      'start',
      'team/a',
      '--knob',
      'maxJobPerBatch=1',
      '--knob',
      'lockWaitTimeoutMs=500',
      '--knob',
      'minDelayMs=1500',
      '--knob',
      'maxDelayMs=1500',
    ],
    env,
  );
  assert.equal(started.code, 0, shown(started));
  const info = JSON.parse(started.stdout);
  assert.equal(info.workflowId, 'bbm-repository:team/a');
  assert.equal(info.taskQueue, worker.taskQueue);

  const twice = await bbm(['repositories', 'start', 'team/a'], env);
  assert.equal(twice.code, 4, shown(twice));
  assert.match(twice.stderr, /^error\[ALREADY_RUNNING\]: Repository team\/a is already running \(workflow bbm-repository:team\/a\)/);

  const status = await bbm(['repositories', 'status', 'team/a'], env);
  assert.equal(status.code, 0, shown(status));
  assert.match(status.stdout, /workflow\s+bbm-repository:team\/a \(running\)/);
  assert.match(status.stdout, /state\s+(running|starting|waiting_for_lease: .*Repository "team\/a" is locked by the test)/);
  assert.match(status.stdout, /knobs\s+maxJobPerBatch=1 .*lockWaitTimeoutMs=500 minDelayMs=1500 maxDelayMs=1500/);
  assert.match(status.stdout, /^MIGRATION\s+STATUS\s+PROGRESS/m);
  const statusJson = JSON.parse((await bbm(['repositories', 'status', 'team/a', '--json'], env)).stdout);
  assert.equal(statusJson.workflowStatus, 'RUNNING');
  assert.equal(statusJson.migrations[0].name, 'inc');

  const list = await bbm(['repositories', 'list'], env);
  assert.equal(list.code, 0, shown(list));
  assert.match(list.stdout, /team\/a\s+1\s+1 (running|active)\s+running/);

  await db.pool.query(`UPDATE bbm.leases SET expires_at = now() WHERE holder = 'the test'`);
  await worker.client.workflow.getHandle(repositoryWorkflowId('team/a')).result();
  const after = await bbm(['repositories', 'status', 'team/a'], env);
  assert.match(after.stdout, /workflow\s+bbm-repository:team\/a \(completed\)/);
  assert.match(after.stdout, /inc\s+finished\s+100\.0%\s+500/);
});

test('repositories start --wait --json streams progress events as JSON lines and ends with the summary', async () => {
  const db = await createTestDatabase('cli_repo_wait');
  await createItems(db.pool, 'items', 300);
  const worker = await startTestWorker(db);
  const env = cliEnv(db.url, worker.taskQueue);
  assert.equal(
    (
      await bbm(
        [
          'migrations',
          'create',
          '--name',
          'w',
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
        ],
        env,
      )
    ).code,
    0,
  );
  const r = await bbm(
    ['repositories', 'start', 'public.items', '--wait', '--json', '--knob', 'minDelayMs=0', '--knob', 'maxDelayMs=0'],
    env,
    180_000,
  );
  assert.equal(r.code, 0, shown(r));
  const lines = r.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.ok(
    lines.slice(0, -1).every((l) => l.event === 'progress'),
    shown(r),
  );
  assert.deepEqual([lines.at(-1)?.state, lines.at(-1)?.jobs, lines.at(-1)?.rows], ['finished', 3, '300']);
});

test('repositories commands refuse bad keys (2), unknown repositories (6) and bad knobs (2)', async () => {
  const db = await createTestDatabase('cli_repo_bad');
  const env = cliEnv(db.url, 'unused');
  const cases: [string[], number, RegExp][] = [
    [['repositories', 'start', 'bad key!'], 2, /^error\[INVALID_INPUT\]: Repository key "bad key!" is invalid/],
    [['repositories', 'start', 'nobody'], 6, /^error\[REPOSITORY_NOT_FOUND\]: No migrations belong to repository "nobody"/],
    [['repositories', 'status', 'nobody'], 6, /^error\[REPOSITORY_NOT_FOUND\]/],
    [
      ['repositories', 'start', 'x-refused', '--knob', 'maxJobAttempts=11'],
      2,
      /^error\[INVALID_INPUT\]: option '--knob <name=value>' argument 'maxJobAttempts=11' is invalid\. maxJobAttempts must be an integer from 1 to 10/,
    ],
    [['repositories', 'start', 'x-refused', '--knob', 'warpSpeed=9'], 2, /unknown knob "warpSpeed"/],
    [
      ['repositories', 'start', 'x-refused', '--knob', 'minDelayMs=500', '--knob', 'maxDelayMs=10'],
      2,
      /^error\[INVALID_INPUT\]: Invalid --knob values: minDelayMs \(500\) must not exceed maxDelayMs \(10\)/,
    ],
  ];
  for (const [args, code, message] of cases) {
    const r = await bbm(args, env);
    assert.equal(r.code, code, `${args.join(' ')}\n${shown(r)}`);
    assert.match(r.stderr, message, args.join(' '));
  }
});

test("repositories status of a throttled repository shows its migrations' current status and that they are held", async () => {
  const db = await createTestDatabase('cli_repo_throttled');
  await createItems(db.pool, 'items', 400);
  const worker = await startTestWorker(db);
  const env = cliEnv(db.url, worker.taskQueue);
  const created = await bbm(
    [
      'migrations',
      'create',
      '--name',
      'held',
      '--repository',
      'rt-held',
      '--work',
      'increment',
      '--table',
      'items',
      '--column',
      'id',
    ].concat(['--batch-size', '20', '--target-job-ms', '0', '--arg', 'target=counter']),
    env,
  );
  assert.equal(created.code, 0, shown(created));
  const other = new Client({ connectionString: db.url });
  await other.connect();
  try {
    // Jobs first (the migration is running in the database), then a transaction older than the threshold throttles it.
    const knobs = ['minDelayMs=200', 'maxDelayMs=200', 'healthCheckIntervalMs=50', 'maxThrottleBackoffMs=400', 'maxTransactionAgeMs=1000'];
    const started = await bbm(['repositories', 'start', 'rt-held', ...knobs.flatMap((k) => ['--knob', k])], env);
    assert.equal(started.code, 0, shown(started));
    await waitFor('a finished job', async () => (await db.pool.query('SELECT 1 FROM bbm.jobs WHERE status = 2')).rows.length > 0);
    await other.query('BEGIN');
    await other.query('SELECT pg_current_xact_id()');
    const handle = worker.client.workflow.getHandle(repositoryWorkflowId('rt-held'));
    await waitFor('the throttled state', async () => (await handle.query(progressQuery)).state === 'throttled');
    const status = await bbm(['repositories', 'status', 'rt-held'], env);
    assert.equal(status.code, 0, shown(status));
    const dbStatus = migrationStatusName((await db.pool.query(`SELECT status FROM bbm.migrations WHERE name = 'held'`)).rows[0].status);
    assert.match(status.stdout, /^state\s+throttled: oldest_transaction_age/m);
    assert.match(status.stdout, new RegExp(`^held\\s+${dbStatus} \\(throttled\\)\\s`, 'm'), status.stdout);
    const json = JSON.parse((await bbm(['--json', 'repositories', 'status', 'rt-held'], env)).stdout);
    assert.equal(json.migrations[0].status, dbStatus);
  } finally {
    await other.query('ROLLBACK').catch(() => undefined);
    await other.end();
  }
});
