import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import type { Pool } from 'pg';
import { RepositoryService } from '../src/repository/service';
import { ensureFinished, queueMigration } from '../src/schema-migrations';
import { bbm, cliEnv, ROOT, shown } from './helpers/cli';
import { createTestDatabase, type TestDatabase } from './helpers/db';
import { startTestWorker, testClient, type TestWorker } from './helpers/temporal';
import { waitFor } from './helpers/wait';

/**
 * The recipe in docs/recipes/node-pg-migrate, run by the real node-pg-migrate against the test
 * Postgres: migration 1 adds a column and queues its backfill in the same transaction; migration
 * 2 is the finalize gate, then SET NOT NULL.
 */
const RECIPE = path.join(ROOT, 'docs', 'recipes', 'node-pg-migrate');
const BACKFILL = 'backfill_accounts_display_name';
const ROWS = 250;

type Runner = (options: Record<string, unknown>) => Promise<Array<{ name: string }>>;

/** node-pg-migrate is ESM-only; loaded at run time (its types need a resolution this CommonJS project does not use). */
async function migrate(db: TestDatabase, options: { count?: number; env?: Record<string, string> } = {}): Promise<string[]> {
  const moduleName = 'node-pg-migrate';
  const { runner } = (await import(moduleName)) as { runner: Runner };
  const saved = Object.fromEntries(Object.keys(options.env ?? {}).map((k) => [k, process.env[k]]));
  Object.assign(process.env, options.env);
  try {
    const ran = await runner({
      databaseUrl: db.url,
      dir: path.join(RECIPE, 'migrations'),
      direction: 'up',
      migrationsTable: 'pgmigrations',
      count: options.count ?? Infinity,
      log: () => undefined,
    });
    return ran.map((m) => m.name);
  } finally {
    for (const [k, v] of Object.entries(saved))
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
  }
}

async function setUp(label: string): Promise<{ db: TestDatabase; worker: TestWorker; service: RepositoryService }> {
  const db = await createTestDatabase(label);
  await db.pool.query(`CREATE TABLE accounts (id bigint PRIMARY KEY, name text NOT NULL)`);
  await db.pool.query(`INSERT INTO accounts SELECT i, 'user ' || i FROM generate_series(1, ${ROWS}) AS i`);
  await db.pool.query('ANALYZE accounts');
  const worker = await startTestWorker(db);
  const client = await testClient();
  const service = new RepositoryService({ db: async () => db.pool, client: async () => client, taskQueue: worker.taskQueue });
  return { db, worker, service };
}

async function displayNameNullable(pool: Pool): Promise<boolean> {
  const { rows } = await pool.query(
    `SELECT is_nullable FROM information_schema.columns WHERE table_name = 'accounts' AND column_name = 'display_name'`,
  );
  return rows[0]?.is_nullable === 'YES';
}

async function appliedSchemaMigrations(pool: Pool): Promise<number> {
  return Number((await pool.query('SELECT count(*) AS n FROM pgmigrations')).rows[0].n);
}

async function copiedRows(pool: Pool): Promise<number> {
  return Number((await pool.query('SELECT count(*) AS n FROM accounts WHERE display_name = name')).rows[0].n);
}

/**
 * The recipe's repository key is its table's, the same in every test's database, and a workflow ID
 * is unique per namespace: a test waits for its workflow to close so the next one starts its own.
 */
async function closed(service: RepositoryService): Promise<void> {
  const summary = await service.follow('public.accounts', () => undefined);
  assert.equal(summary.state, 'finished');
}

function codeOf(err: unknown): string | undefined {
  return (err as { code?: string }).code;
}

test('the recipe refuses to finalize an unfinished backfill, and passes once the backfill has run', async () => {
  const { db, service } = await setUp('npm_gate');
  assert.deepEqual(await migrate(db, { count: 1 }), ['1700000000001_add-display-name']);
  const queued = await db.pool.query('SELECT status, table_name FROM bbm.migrations WHERE name = $1', [BACKFILL]);
  assert.deepEqual(queued.rows, [{ status: 1, table_name: 'public.accounts' }]);

  await assert.rejects(migrate(db), (err) => {
    assert.equal(codeOf(err), 'MIGRATION_NOT_FINISHED', String(err));
    assert.match(String((err as Error).message), /active, 0\.0 %/);
    return true;
  });
  // node-pg-migrate rolled migration 2 back: no NOT NULL, still one applied.
  assert.equal(await appliedSchemaMigrations(db.pool), 1);
  assert.equal(await displayNameNullable(db.pool), true);

  await service.start('public.accounts');
  await waitFor('the backfill to finish', async () => (await service.progress({ name: BACKFILL }))[0]?.status === 'finished');
  await closed(service);
  assert.deepEqual(await migrate(db), ['1700000000002_finalize-display-name']);
  assert.equal(await displayNameNullable(db.pool), false);
  assert.equal(await copiedRows(db.pool), ROWS);
});

test('finalize with run resumes a paused backfill and runs it to the end, each job once', async () => {
  const { db, worker, service } = await setUp('npm_run');
  await migrate(db, { count: 1 });
  const paused = await service.pause({ name: BACKFILL });
  assert.deepEqual(paused.changed, [BACKFILL]);

  const env = cliEnv(db.url, worker.taskQueue);
  const refused = await bbm(['migrations', 'finalize', BACKFILL], env);
  assert.equal(refused.code, 7, shown(refused));
  assert.match(refused.stderr, /error\[MIGRATION_NOT_FINISHED\]: Migration "backfill_accounts_display_name" is not finished: paused/);

  const ran = await migrate(db, { env: { BBM_FINALIZE: 'run', DATABASE_URL: db.url, BBM_TASK_QUEUE: worker.taskQueue } });
  assert.deepEqual(ran, ['1700000000002_finalize-display-name']);
  assert.equal(await displayNameNullable(db.pool), false);
  assert.equal(await copiedRows(db.pool), ROWS);
  const jobs = await db.pool.query(
    `SELECT j.min_value::text AS lo, j.max_value::text AS hi, j.attempts, j.status FROM bbm.jobs j
       JOIN bbm.migrations m ON m.id = j.migration_id WHERE m.name = $1 ORDER BY j.min_value`,
    [BACKFILL],
  );
  // The adaptive batch size may change the sizes after the first job; the jobs still tile 1..250
  // without gap or overlap, each finished in one attempt.
  assert.equal(jobs.rows[0].lo, '1');
  assert.equal(jobs.rows.at(-1).hi, String(ROWS));
  for (const [i, job] of jobs.rows.entries()) {
    assert.deepEqual([job.attempts, job.status], [1, 2], `job ${job.lo}..${job.hi} ran once and finished`);
    if (i > 0) assert.equal(BigInt(job.lo), BigInt(jobs.rows[i - 1].hi) + 1n, 'the next job starts right after the previous one');
  }

  await closed(service);
  const passed = await bbm(['migrations', 'finalize', BACKFILL, '--json'], env);
  assert.equal(passed.code, 0, shown(passed));
  assert.equal(JSON.parse(passed.stdout).status, 'finished');
});

test('a queued migration rolls back with the schema migration that queued it, and a failed one fails the gate', async () => {
  const db = await createTestDatabase('npm_rollback');
  await db.pool.query(`CREATE TABLE accounts (id bigint PRIMARY KEY, name text NOT NULL, display_name text)`);
  await db.pool.query(`INSERT INTO accounts SELECT i, 'user ' || i FROM generate_series(1, 10) AS i`);
  const def = { name: BACKFILL, work: 'copy_column', table: 'accounts', column: 'id', args: { from: 'name', to: 'display_name' } };
  const tx = await db.pool.connect();
  try {
    await tx.query('BEGIN');
    await queueMigration(tx, def);
    await tx.query('ROLLBACK');
  } finally {
    tx.release();
  }
  await assert.rejects(ensureFinished(db.pool, BACKFILL), (err) => codeOf(err) === 'MIGRATION_NOT_FOUND');

  const row = await queueMigration(db.pool, def);
  // JSON-safe, so a schema migration can log what it queued (it returned bigints, and JSON.stringify threw).
  const logged = JSON.parse(JSON.stringify(row)) as Record<string, unknown>;
  assert.equal(typeof logged.id, 'string');
  assert.deepEqual(
    [logged.name, logged.status, typeof logged.minValue, typeof logged.rowsProcessed],
    [BACKFILL, 'active', 'string', 'string'],
  );
  await assert.rejects(queueMigration(db.pool, def), (err) => codeOf(err) === 'MIGRATION_EXISTS');
  // Only the engine fails migrations; here one is marked failed by hand to see the gate's answer.
  await db.pool.query(`UPDATE bbm.migrations SET status = 3, failure_error_code = 4 WHERE id = $1`, [row.id]);
  await assert.rejects(ensureFinished(db.pool, BACKFILL, { run: true }), (err) => {
    assert.equal(codeOf(err), 'MIGRATION_FAILED', String(err));
    assert.match(String((err as Error).message), /max_job_retry.*bbm migrations retry backfill_accounts_display_name/);
    return true;
  });
});

test("the recipe type-checks against node-pg-migrate's own types", async () => {
  const tsc = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  await promisify(execFile)(process.execPath, [tsc, '--noEmit', '-p', RECIPE], { cwd: ROOT });
});

test('bbm migrations finalize --run starts the repository workflow and exits 0 once every job ran', async () => {
  const db = await createTestDatabase('finalize_cli');
  await db.pool.query(`CREATE TABLE items (id bigint PRIMARY KEY, name text NOT NULL, copy text)`);
  await db.pool.query(`INSERT INTO items SELECT i, 'n' || i FROM generate_series(1, 300) AS i`);
  const worker = await startTestWorker(db);
  // Its own repository key: workflow IDs are shared by every test database on the server.
  const repository = `finalize-cli-${worker.taskQueue}`;
  const def = { name: 'copy_items', repository, work: 'copy_column', table: 'items', column: 'id', batchSize: 100 };
  await queueMigration(db.pool, { ...def, args: { from: 'name', to: 'copy' } });

  const r = await bbm(['migrations', 'finalize', 'copy_items', '--run', '--json'], cliEnv(db.url, worker.taskQueue));
  assert.equal(r.code, 0, shown(r));
  const last = JSON.parse(r.stdout.trim().split('\n').at(-1) as string);
  assert.equal(last.status, 'finished');
  assert.equal(last.rowsProcessed, '300');
  const { rows } = await db.pool.query('SELECT count(*)::int AS n FROM items WHERE copy = name');
  assert.equal(rows[0].n, 300);
});
