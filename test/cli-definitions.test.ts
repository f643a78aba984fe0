import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bbm, cliEnv, shown } from './helpers/cli';
import { createTestDatabase } from './helpers/db';
import { startTestWorker } from './helpers/temporal';

const RUN = ['--wait', '--knob', 'minDelayMs=0', '--knob', 'maxDelayMs=0'];

test('the issue-10 table above 2^53 through the CLI: every counter ends at exactly 1, and status --json shows exact values', async () => {
  const db = await createTestDatabase('cli_big');
  await db.pool.query('CREATE TABLE t (id bigint PRIMARY KEY, counter int DEFAULT 0)');
  await db.pool.query('INSERT INTO t SELECT 9007199254740992 + g, 0 FROM generate_series(1, 10) g');
  const worker = await startTestWorker(db);
  const env = cliEnv(db.url, worker.taskQueue);
  const created = await bbm(
    [
      '--json',
      'migrations',
      'create',
      '--name',
      'big',
      '--work',
      'increment',
      '--table',
      't',
      '--column',
      'id',
      '--batch-size',
      '3',
      '--arg',
      'target=counter',
    ],
    env,
  );
  assert.equal(created.code, 0, shown(created));
  assert.deepEqual([JSON.parse(created.stdout).minValue, JSON.parse(created.stdout).maxValue], ['9007199254740993', '9007199254741002']);
  const run = await bbm(['repositories', 'start', 'public.t', ...RUN], env, 180_000);
  assert.equal(run.code, 0, shown(run));
  const { rows } = await db.pool.query('SELECT id::text AS id, counter FROM t WHERE counter <> 1');
  assert.deepEqual(rows, [], 'every counter is exactly 1');
  const status = JSON.parse((await bbm(['--json', 'migrations', 'status', 'big'], env)).stdout);
  assert.deepEqual(
    [status.status, status.rowsProcessed, status.currentRange],
    ['finished', '10', { start: '9007199254741002', end: '9007199254741002', cursor: null }],
  );
});

test('--min-value and --max-value take any value of the column type exactly, run exactly, and refuse one outside the type', async () => {
  const db = await createTestDatabase('cli_bigflags');
  await db.pool.query('CREATE TABLE t (id bigint PRIMARY KEY, counter int DEFAULT 0)');
  await db.pool.query('INSERT INTO t VALUES (-9223372036854775808, 0), (-5, 0), (9007199254740993, 0), (9223372036854775807, 0)');
  const worker = await startTestWorker(db);
  const env = cliEnv(db.url, worker.taskQueue);
  const base = ['--json', 'migrations', 'create', '--work', 'increment', '--table', 't', '--column', 'id', '--arg', 'target=counter'];
  const above = await bbm(
    [...base, '--name', 'above', '--repository', 'a', '--min-value', '9007199254740993', '--max-value', '9223372036854775807'],
    env,
  );
  assert.equal(above.code, 0, shown(above));
  assert.deepEqual([JSON.parse(above.stdout).minValue, JSON.parse(above.stdout).maxValue], ['9007199254740993', '9223372036854775807']);
  const negative = await bbm([...base, '--name', 'neg', '--repository', 'n', '--min-value', '-9223372036854775808'], env);
  assert.equal(negative.code, 0, shown(negative));
  assert.deepEqual(
    [JSON.parse(negative.stdout).minValue, JSON.parse(negative.stdout).maxValue],
    ['-9223372036854775808', '9223372036854775807'],
  );
  const list = JSON.parse((await bbm(['--json', 'migrations', 'list'], env)).stdout) as { name: string; minValue: string }[];
  assert.deepEqual(
    list.map((m) => `${m.name}:${m.minValue}`),
    ['above:9007199254740993', 'neg:-9223372036854775808'],
  );
  const human = await bbm(['migrations', 'list'], env);
  assert.match(human.stdout, /9007199254740993\.\.9223372036854775807/);
  // The same code as a definition file's bound, however far beyond bigint (was INVALID_INPUT for more than 19 digits).
  for (const bad of ['9223372036854775808', '-9223372036854775809', '99999999999999999999999999', '1e3', '0x10', '12.0']) {
    const r = await bbm([...base, '--name', 'bad', '--max-value', bad], env);
    assert.equal(r.code, 2, `${bad}\n${shown(r)}`);
    assert.match(r.stderr, /^error\[INVALID_RANGE\]: --max-value /, bad);
  }
  for (const repository of ['a', 'n']) {
    const run = await bbm(['repositories', 'start', repository, ...RUN], env, 180_000);
    assert.equal(run.code, 0, shown(run));
  }
  const { rows } = await db.pool.query('SELECT id::text AS text, counter FROM t ORDER BY t.id');
  assert.deepEqual(
    rows.map((r) => `${r.text}:${r.counter}`),
    ['-9223372036854775808:1', '-5:1', '9007199254740993:2', '9223372036854775807:2'],
    'each id inside each range exactly once',
  );
  const status = JSON.parse((await bbm(['--json', 'migrations', 'status', 'neg'], env)).stdout);
  assert.deepEqual([status.status, status.rowsProcessed, status.currentRange?.end], ['finished', '4', '9223372036854775807']);
});

test('the issue-10 NULL case through the CLI ends in bounded time: the migration fails and the job names the row that stays NULL', async () => {
  const db = await createTestDatabase('cli_nullstay');
  await db.pool.query('CREATE TABLE t (id bigint PRIMARY KEY, src text, dst text)');
  await db.pool.query('INSERT INTO t VALUES (1, NULL, NULL)');
  await db.pool.query('CREATE INDEX ON t (dst) WHERE dst IS NULL');
  const worker = await startTestWorker(db);
  const env = cliEnv(db.url, worker.taskQueue);
  const created = await bbm(
    [
      'migrations',
      'create',
      '--name',
      'fill',
      '--work',
      'copy_column',
      '--table',
      't',
      '--column',
      'dst',
      '--strategy',
      'null',
      '--batch-size',
      '1',
      '--arg',
      'from=src',
    ],
    env,
  );
  assert.equal(created.code, 0, shown(created));
  const run = await bbm(['repositories', 'start', 'public.t', ...RUN, '--knob', 'maxJobAttempts=2'], env, 180_000);
  assert.equal(run.code, 3, shown(run));
  assert.match(run.stdout, /Repository public\.t failed/);
  const jobs = await db.pool.query('SELECT attempts, last_error FROM bbm.jobs');
  assert.equal(jobs.rows.length, 1, 'one job, retried, not one job per pass');
  assert.equal(jobs.rows[0].attempts, 2);
  assert.match(jobs.rows[0].last_error, /no_progress: 1 of the job's 1 row\(s\) still have dst IS NULL/);
  const status = await bbm(['migrations', 'status', 'fill'], env);
  assert.match(status.stdout, /status\s+failed \(max_job_retry\)/);
  assert.match(status.stdout, /last error\s+no_progress: 1 of the job's 1 row\(s\) still have dst IS NULL/);
});

test('the issue-10 duplicate bucket through the CLI is refused with PAGINATION_COLUMN_NOT_UNIQUE; --strategy distinct runs it', async () => {
  const db = await createTestDatabase('cli_distinct');
  await db.pool.query('CREATE TABLE t (id bigint PRIMARY KEY, bucket int, counter int DEFAULT 0)');
  await db.pool.query('INSERT INTO t SELECT g, 5 FROM generate_series(1, 3) g');
  const worker = await startTestWorker(db);
  const env = cliEnv(db.url, worker.taskQueue);
  const base = [
    'migrations',
    'create',
    '--name',
    'b',
    '--work',
    'increment',
    '--table',
    't',
    '--column',
    'bucket',
    '--batch-size',
    '1',
    '--arg',
    'target=counter',
  ];
  const refused = await bbm(base, env);
  assert.equal(refused.code, 2, shown(refused));
  assert.match(refused.stderr, /^error\[PAGINATION_COLUMN_NOT_UNIQUE\]: .*--strategy distinct/);
  const noIndex = await bbm([...base, '--strategy', 'distinct'], env);
  assert.equal(noIndex.code, 2, shown(noIndex));
  assert.match(noIndex.stderr, /^error\[MISSING_INDEX\]/);
  await db.pool.query('CREATE INDEX ON t (bucket)');
  const created = await bbm([...base, '--strategy', 'distinct'], env);
  assert.equal(created.code, 0, shown(created));
  const run = await bbm(['repositories', 'start', 'public.t', ...RUN], env, 180_000);
  assert.equal(run.code, 0, shown(run));
  const { rows } = await db.pool.query('SELECT min(counter) AS lo, max(counter) AS hi FROM t');
  assert.deepEqual(rows[0], { lo: 1, hi: 1 });
});

test('identifier case through the CLI: --table Items finds items, --table \'"Items"\' finds "Items", and quoted names may hold dots', async () => {
  const db = await createTestDatabase('cli_ident');
  await db.pool.query('CREATE SCHEMA "Sales"');
  for (const table of ['items', '"Items"', '"Sales"."Q1.items"']) {
    await db.pool.query(`CREATE TABLE ${table} (id bigint PRIMARY KEY, counter int DEFAULT 0)`);
    await db.pool.query(`INSERT INTO ${table} SELECT generate_series(1, 4)`);
  }
  const worker = await startTestWorker(db);
  const env = cliEnv(db.url, worker.taskQueue);
  const cases: [string, string, string][] = [
    ['Items', 'lower', 'public.items'],
    ['"Items"', 'exact', 'public."Items"'],
    ['"Sales"."Q1.items"', 'dotted', '"Sales"."Q1.items"'],
  ];
  for (const [table, repository, stored] of cases) {
    const r = await bbm(
      [
        '--json',
        'migrations',
        'create',
        '--name',
        repository,
        '--repository',
        repository,
        '--work',
        'increment',
        '--table',
        table,
        '--column',
        'ID',
        '--arg',
        'target=Counter',
      ],
      env,
    );
    assert.equal(r.code, 0, `${table}\n${shown(r)}`);
    assert.equal(JSON.parse(r.stdout).table, stored);
    const run = await bbm(['repositories', 'start', repository, ...RUN], env, 180_000);
    assert.equal(run.code, 0, shown(run));
  }
  for (const table of ['items', '"Items"', '"Sales"."Q1.items"']) {
    const { rows } = await db.pool.query(`SELECT min(counter) AS lo, max(counter) AS hi FROM ${table}`);
    assert.deepEqual(rows[0], { lo: 1, hi: 1 }, table);
  }
  const missing = await bbm(['migrations', 'create', '--name', 'x', '--work', 'noop', '--table', '"ITEMS"', '--column', 'id'], env);
  assert.equal(missing.code, 2, shown(missing));
  assert.match(missing.stderr, /^error\[INVALID_TABLE\]: Table public\."ITEMS" does not exist/);
});
