import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { repositoryWorkflowId } from '../src/contract/ids';
import { bbm, cliEnv, shown } from './helpers/cli';
import { createItems, createTestDatabase } from './helpers/db';
import { startTestWorker } from './helpers/temporal';

test('migrations create, list and status work from flags, a JSON file and a YAML file, with tables and --json', async () => {
  const db = await createTestDatabase('cli_create');
  await createItems(db.pool, 'items', 300);
  const env = cliEnv(db.url, 'unused');

  const created = await bbm(
    [
      'migrations',
      'create',
      '--name',
      'copy_flags',
      '--work',
      'copy_column',
      '--table',
      'items',
      '--column',
      'id',
      '--batch-size',
      '100',
      '--arg',
      'from=payload',
      '--arg',
      'to=copy',
    ],
    env,
  );
  assert.equal(created.code, 0, shown(created));
  assert.match(created.stdout, /Created migration copy_flags \(#\d+\), active/);
  assert.match(created.stdout, /bbm repositories start public\.items/);

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bbm-cli-'));
  fs.writeFileSync(
    path.join(dir, 'def.json'),
    JSON.stringify({
      name: 'inc_json',
      repository: 'r-json',
      work: 'increment',
      table: 'items',
      column: 'id',
      batchSize: 50,
      args: { target: 'counter' },
    }),
  );
  fs.writeFileSync(
    path.join(dir, 'def.yaml'),
    'name: inc_yaml\nrepository: r-yaml\nwork: increment\ntable: public.items\ncolumn: id\nbatchSize: 75\nargs:\n  target: counter\npaused: true\n',
  );
  const [fromJson, fromYaml] = await (async () => {
    try {
      return [
        await bbm(['--json', 'migrations', 'create', '--file', path.join(dir, 'def.json')], env),
        // Flags override the file.
        await bbm(['migrations', 'create', '-f', path.join(dir, 'def.yaml'), '--batch-size', '80', '--json'], env),
      ];
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  })();
  assert.equal(fromJson.code, 0, shown(fromJson));
  assert.equal(JSON.parse(fromJson.stdout).repository, 'r-json');
  assert.equal(fromYaml.code, 0, shown(fromYaml));
  assert.deepEqual([JSON.parse(fromYaml.stdout).batchSize, JSON.parse(fromYaml.stdout).status], [80, 'paused']);

  const list = await bbm(['migrations', 'list'], env);
  assert.equal(list.code, 0, shown(list));
  assert.match(list.stdout, /^ID\s+NAME\s+REPOSITORY\s+WORK/m);
  assert.match(list.stdout, /copy_flags\s+public\.items\s+copy_column\s+public\.items\.id\s+serial\s+100\s+1\.\.300\s+active/);
  assert.match(list.stdout, /inc_yaml\s+r-yaml\s+increment.*paused/);

  const listJson = await bbm(['migrations', 'list', '--repository', 'r-json', '--json'], env);
  assert.deepEqual(
    JSON.parse(listJson.stdout).map((m: { name: string }) => m.name),
    ['inc_json'],
  );

  const status = await bbm(['migrations', 'status', 'copy_flags'], env);
  assert.equal(status.code, 0, shown(status));
  assert.match(status.stdout, /status\s+active/);
  assert.match(status.stdout, /progress\s+0\.0% \(0 of ~300 rows\)/);
  const all = await bbm(['--json', 'migrations', 'status'], env);
  assert.deepEqual(
    JSON.parse(all.stdout).map((p: { name: string; status: string }) => `${p.name}:${p.status}`),
    ['copy_flags:active', 'inc_json:active', 'inc_yaml:paused'],
  );
});

test('bad definitions are refused with their code, exit 2, and change nothing', async () => {
  const db = await createTestDatabase('cli_bad');
  await createItems(db.pool, 'items', 10);
  const env = cliEnv(db.url, 'unused');
  const base = ['migrations', 'create', '--work', 'increment', '--arg', 'target=counter', '--column', 'id'];
  const cases: [string[], RegExp][] = [
    [[...base, '--name', 'x1', '--table', 'nope'], /error\[INVALID_TABLE\]: Table public\.nope does not exist/],
    [[...base, '--name', 'x2', '--table', 'items; DROP TABLE items'], /error\[INVALID_IDENTIFIER\]/],
    [
      ['migrations', 'create', '--name', 'x3', '--work', 'nope', '--table', 'items', '--column', 'id'],
      /error\[INVALID_JOB_SIGNATURE\]: No work function named "nope"/,
    ],
    [[...base, '--name', 'x4', '--table', 'items', '--batch-size', '0'], /error\[INVALID_BATCH_SIZE\]: .*--batch-size.*1 to 1000000/],
    [[...base, '--name', 'x5', '--table', 'items', '--strategy', 'zigzag'], /error\[INVALID_BATCHING_STRATEGY\]: .*--strategy.*"serial"/],
    [['migrations', 'create', '--name', 'x6'], /error\[INVALID_INPUT\]: Missing --work, --table, --column/],
    [[...base, '--name', 'x7', '--table', 'items', '--file', '/nonexistent.json'], /error\[INVALID_INPUT\]: Cannot read --file/],
    [[...base, '--name', 'x8', '--table', 'items', '--args', '[1]'], /error\[INVALID_INPUT\].*must be a JSON object/],
    [[...base, '--name', 'x9', '--table', 'items', '--bogus'], /error\[INVALID_INPUT\]: unknown option '--bogus'/],
    [[...base, '--name', 'x10', '--table', 'items', '--batch-size', 'ten'], /error\[INVALID_BATCH_SIZE\]: .*--batch-size/],
  ];
  for (const [args, message] of cases) {
    const r = await bbm(args, env);
    assert.equal(r.code, 2, `${args.join(' ')}\n${shown(r)}`);
    assert.match(r.stderr, message, args.join(' '));
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  }
  const ok = await bbm([...base, '--name', 'dup', '--table', 'items'], env);
  assert.equal(ok.code, 0, shown(ok));
  const dup = await bbm([...base, '--name', 'dup', '--table', 'items'], env);
  assert.equal(dup.code, 2);
  assert.match(dup.stderr, /^error\[MIGRATION_EXISTS\]: A migration named "dup" already exists/);
  const { rows } = await db.pool.query('SELECT name FROM bbm.migrations');
  assert.deepEqual(
    rows.map((r) => r.name),
    ['dup'],
  );
});

test('unknown migrations exit 6 for status, pause, resume and retry', async () => {
  const db = await createTestDatabase('cli_unknown');
  const env = cliEnv(db.url, 'unused');
  for (const args of [
    ['migrations', 'status', 'ghost'],
    ['migrations', 'pause', 'ghost'],
    ['migrations', 'resume', 'ghost'],
    ['migrations', 'retry', 'ghost'],
    ['migrations', 'pause', '--repository', 'ghost-repo'],
  ]) {
    const r = await bbm(args, env);
    assert.equal(r.code, 6, `${args.join(' ')}\n${shown(r)}`);
    const expected = args.includes('--repository')
      ? /^error\[REPOSITORY_NOT_FOUND\]: No migrations belong to repository "ghost-repo"/
      : /^error\[MIGRATION_NOT_FOUND\]: No migration/;
    assert.match(r.stderr, expected);
  }
});

test('pause signals the running repository workflow, which stops between jobs; resume --start continues it to the end', async () => {
  const db = await createTestDatabase('cli_pause');
  await createItems(db.pool, 'items', 2000);
  const worker = await startTestWorker(db);
  const env = cliEnv(db.url, worker.taskQueue);
  const created = await bbm(
    [
      'migrations',
      'create',
      '--name',
      'slow',
      '--repository',
      'rp',
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
  );
  assert.equal(created.code, 0, shown(created));
  // Long pauses between batches keep the workflow alive while the test pauses it.
  const started = await bbm(
    ['repositories', 'start', 'rp', '--knob', 'maxJobPerBatch=1', '--knob', 'minDelayMs=1000', '--knob', 'maxDelayMs=1500'],
    env,
  );
  assert.equal(started.code, 0, shown(started));

  const paused = await bbm(['migrations', 'pause', 'slow'], env);
  assert.equal(paused.code, 0, shown(paused));
  assert.match(paused.stdout, /Paused 1 migration\(s\): slow\./);
  assert.match(paused.stdout, /Applied by the running workflow\(s\) of rp\./);
  const summary = await worker.client.workflow.getHandle(repositoryWorkflowId('rp')).result();
  assert.equal(summary.state, 'paused', 'the signalled workflow ends paused instead of sleeping on');
  const done = (await db.pool.query('SELECT rows_processed FROM bbm.migrations')).rows[0].rows_processed;
  assert.ok(Number(done) < 2000, `paused before the end (${done} rows)`);

  const again = await bbm(['migrations', 'pause', 'slow'], env);
  assert.match(again.stdout, /Nothing to pause/);

  const resumed = await bbm(['migrations', 'resume', 'slow', '--start'], env);
  assert.equal(resumed.code, 0, shown(resumed));
  assert.match(resumed.stdout, /Resumed 1 migration\(s\): slow\./);
  assert.match(resumed.stdout, /Started the workflow\(s\) of rp\./);
  const watch = await bbm(['migrations', 'status', 'slow', '--watch', '--interval', '1s'], env, 180_000);
  assert.equal(watch.code, 0, shown(watch));
  assert.match(watch.stdout, /status\s+finished/);
  assert.match(watch.stdout, /All done\./);
  assert.match(
    watch.stdout,
    /slow \d+(\.\d)?% \| [\d,]+ rows \| [-\d,]+ rows\/s \| ETA/,
    'plain progress lines when stdout is not a terminal',
  );
  const { rows } = await db.pool.query('SELECT min(counter) AS lo, max(counter) AS hi FROM items');
  assert.deepEqual(rows[0], { lo: 1, hi: 1 });
});

test('pause works without Temporal: the database change stands and the command warns', async () => {
  const db = await createTestDatabase('cli_pause_offline');
  await createItems(db.pool, 'items', 10);
  const env = cliEnv(db.url, 'unused');
  assert.equal((await bbm(['migrations', 'create', '--name', 'm', '--work', 'noop', '--table', 'items', '--column', 'id'], env)).code, 0);
  const r = await bbm(['migrations', 'pause', '--repository', 'public.items'], { ...env, TEMPORAL_ADDRESS: '127.0.0.1:1' });
  assert.equal(r.code, 0, shown(r));
  assert.match(r.stdout, /Paused 1 migration\(s\): m\./);
  assert.match(r.stderr, /warning: Cannot connect to Temporal at 127\.0\.0\.1:1.*The pause is saved in the database/);
  assert.equal((await db.pool.query('SELECT status FROM bbm.migrations')).rows[0].status, 0);
});

test('retry puts a failed migration back to running; retrying one that did not fail exits 2', async () => {
  const db = await createTestDatabase('cli_retry');
  await createItems(db.pool, 'items', 20);
  await db.pool.query('ALTER TABLE items ADD COLUMN num integer CHECK (num < 0)');
  const worker = await startTestWorker(db);
  const env = cliEnv(db.url, worker.taskQueue);
  // Every id breaks num's CHECK: every job fails, and with one attempt per job the migration fails at once.
  assert.equal(
    (
      await bbm(
        [
          'migrations',
          'create',
          '--name',
          'doomed',
          '--repository',
          'rr',
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
  const run = await bbm(
    ['repositories', 'start', 'rr', '--wait', '--knob', 'maxJobAttempts=1', '--knob', 'minDelayMs=0', '--knob', 'maxDelayMs=0'],
    env,
    180_000,
  );
  assert.equal(run.code, 3, shown(run));
  assert.match(run.stdout, /Repository rr failed/);
  const status = await bbm(['migrations', 'status', 'doomed'], env);
  assert.match(status.stdout, /status\s+failed \(max_job_retry\)/);

  const retried = await bbm(['migrations', 'retry', 'doomed'], env);
  assert.equal(retried.code, 0, shown(retried));
  assert.match(retried.stdout, /Migration doomed is running again/);
  assert.equal((await db.pool.query('SELECT status FROM bbm.migrations')).rows[0].status, 4);
  const twice = await bbm(['migrations', 'retry', 'doomed'], env);
  assert.equal(twice.code, 2, shown(twice));
  assert.match(twice.stderr, /^error\[INVALID_STATE\]: Migration "doomed" is running; only failed migrations can be retried/);
});

test('resuming a repository after a cancel undoes only the pauses the cancel made, not one an operator made before it', async () => {
  const db = await createTestDatabase('cli_cancel_kept');
  await createItems(db.pool, 'items', 1000);
  const worker = await startTestWorker(db);
  const env = cliEnv(db.url, worker.taskQueue);
  const create = (name: string, extra: string[]): Promise<{ code: number | null }> =>
    bbm(
      ['migrations', 'create', '--name', name, '--repository', 'rk', '--table', 'items', '--column', 'id', '--batch-size', '100', ...extra],
      env,
    );
  assert.equal((await create('c', ['--work', 'increment', '--arg', 'target=counter'])).code, 0);
  assert.equal((await create('held', ['--work', 'copy_column', '--arg', 'from=payload', '--arg', 'to=copy'])).code, 0);
  const held = await bbm(['migrations', 'pause', 'held'], env);
  assert.equal(held.code, 0, shown(held));
  const started = await bbm(
    ['repositories', 'start', 'rk', '--knob', 'maxJobPerBatch=1', '--knob', 'minDelayMs=2000', '--knob', 'maxDelayMs=2000'],
    env,
  );
  assert.equal(started.code, 0, shown(started));
  const cancelled = await bbm(['migrations', 'cancel', 'rk'], env);
  assert.equal(cancelled.code, 0, shown(cancelled));
  const statuses = async (): Promise<Record<string, [number, string | null]>> =>
    Object.fromEntries(
      (await db.pool.query('SELECT name, status, pause_reason FROM bbm.migrations ORDER BY name')).rows.map((r) => [
        r.name,
        [r.status, r.pause_reason],
      ]),
    );
  assert.deepEqual(await statuses(), { c: [0, 'cancel'], held: [0, null] }, "both paused; only the cancel's pause is marked");

  const resumed = await bbm(['--json', 'migrations', 'resume', '--repository', 'rk'], env);
  assert.equal(resumed.code, 0, shown(resumed));
  const report = JSON.parse(resumed.stdout);
  assert.deepEqual([report.changed, report.keptPaused], [['c'], ['held']]);
  assert.deepEqual(await statuses(), { c: [1, null], held: [0, null] }, "the operator's pause stands");
  const text = await bbm(['migrations', 'resume', '--repository', 'rk'], env);
  assert.match(
    text.stdout,
    /^Resumed 1 migration\(s\): held\./,
    'no cancel pause left: resuming the repository resumes every paused one again',
  );
});

test('cancel stops the repository workflow and pauses its migration, which resume and start continue to the end', async () => {
  const db = await createTestDatabase('cli_cancel');
  await createItems(db.pool, 'items', 1000);
  const worker = await startTestWorker(db);
  const env = cliEnv(db.url, worker.taskQueue);
  assert.equal(
    (
      await bbm(
        [
          'migrations',
          'create',
          '--name',
          'c',
          '--repository',
          'rc',
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
  assert.equal(
    (
      await bbm(
        ['repositories', 'start', 'rc', '--knob', 'maxJobPerBatch=1', '--knob', 'minDelayMs=2000', '--knob', 'maxDelayMs=2000'],
        env,
      )
    ).code,
    0,
  );
  const cancelled = await bbm(['migrations', 'cancel', 'rc'], env);
  assert.equal(cancelled.code, 0, shown(cancelled));
  assert.match(
    cancelled.stdout,
    /Cancelled rc\. Its migrations are paused and keep their progress; continue with: bbm migrations resume --repository rc --start/,
  );
  const description = await worker.client.workflow.getHandle(repositoryWorkflowId('rc')).describe();
  assert.equal(description.status.name, 'CANCELLED');
  const status = (await db.pool.query('SELECT status FROM bbm.migrations')).rows[0].status;
  assert.equal(Number(status), 0, 'paused by the cancel, so nothing starts the repository again behind the operator');

  const nothing = await bbm(['repositories', 'cancel', 'rc'], env);
  assert.equal(nothing.code, 0, shown(nothing));
  assert.match(nothing.stdout, /has no running workflow \(last one cancelled\); nothing to cancel/);
  const unknown = await bbm(['migrations', 'cancel', 'nobody'], env);
  assert.equal(unknown.code, 6, shown(unknown));

  const resumed = await bbm(['migrations', 'resume', '--repository', 'rc'], env);
  assert.equal(resumed.code, 0, shown(resumed));
  const restarted = await bbm(['repositories', 'start', 'rc', '--wait', '--knob', 'minDelayMs=0', '--knob', 'maxDelayMs=0'], env, 180_000);
  assert.equal(restarted.code, 0, shown(restarted));
  const { rows } = await db.pool.query('SELECT min(counter) AS lo, max(counter) AS hi FROM items');
  assert.deepEqual(rows[0], { lo: 1, hi: 1 }, 'the cancelled job rolled back; every row changed exactly once');
});
