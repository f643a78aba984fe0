import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Pool } from 'pg';
import { BUILTIN_WORK } from '../src/engine/builtin-work';
import { dryRunMigration } from '../src/engine/dry-run';
import { WorkRegistry, type WorkFunction } from '../src/engine/registry';
import { bbm, cliEnv, shown } from './helpers/cli';
import { createItems, createTestDatabase } from './helpers/db';

/** A digest of every row of every bbm table and of `tables`, and every sequence's position: equal means nothing was written. */
async function snapshot(pool: Pool, tables: string[]): Promise<Record<string, unknown>> {
  const { rows } = await pool.query(`SELECT table_name FROM information_schema.tables WHERE table_schema = 'bbm' ORDER BY 1`);
  const names = [...rows.map((r) => `bbm.${r.table_name}`), ...tables];
  const out: Record<string, unknown> = {};
  for (const name of names) {
    const digest = await pool.query(
      `SELECT count(*)::int AS n, md5(coalesce(string_agg(t::text, ',' ORDER BY t::text), '')) AS d FROM ${name} t`,
    );
    out[name] = digest.rows[0];
  }
  out.sequences = (await pool.query(`SELECT schemaname, sequencename, last_value::text FROM pg_sequences ORDER BY 1, 2`)).rows;
  return out;
}

test('a dry run from the CLI writes nothing and prints the plan, an index scan of the work query and a time estimate', async () => {
  const db = await createTestDatabase('dry_cli');
  await createItems(db.pool, 'items', 20_000);
  const before = await snapshot(db.pool, ['public.items']);
  const args = [
    'migrations',
    'create',
    '--dry-run',
    '--name',
    'bump',
    '--work',
    'increment',
    '--table',
    'items',
    '--column',
    'id',
    '--arg',
    'target=counter',
  ];
  const r = await bbm([...args, '--batch-size', '100', '--json'], cliEnv(db.url, 'unused'));
  assert.equal(r.code, 0, shown(r));
  const report = JSON.parse(r.stdout);
  assert.equal(report.estimatedRows, '20000');
  assert.equal(report.estimatedJobs, '200');
  assert.deepEqual(report.firstJob, { start: '1', end: '100' });
  assert.equal(report.sample.rows, 100);
  assert.ok(report.estimatedWorkSeconds >= 0);
  assert.equal(report.queries.length, 1);
  assert.match(report.queries[0].plan.join('\n'), /Index Scan using items_pkey/);
  assert.deepEqual(report.warnings, []);
  assert.deepEqual(await snapshot(db.pool, ['public.items']), before);

  const text = await bbm([...args, '--batch-size', '100'], cliEnv(db.url, 'unused'));
  assert.equal(text.code, 0, shown(text));
  assert.match(text.stdout, /Dry run of bump: nothing was written\./);
  assert.match(text.stdout, /first job +1\.\.100/);
  assert.match(text.stdout, /No warnings\./);
  assert.deepEqual(await snapshot(db.pool, ['public.items']), before);
});

test('a dry run warns when the work query scans the whole table instead of using the pagination column', async () => {
  const db = await createTestDatabase('dry_seq');
  await db.pool.query('CREATE TABLE orders (id bigint PRIMARY KEY, ref bigint NOT NULL, flag integer NOT NULL DEFAULT 0)');
  await db.pool.query('INSERT INTO orders (id, ref) SELECT i, 20001 - i FROM generate_series(1, 20000) AS i');
  await db.pool.query('ANALYZE orders');
  // Pages by id but filters on ref, which has no index: every job would read the whole table.
  const byRef: WorkFunction = {
    name: 'flag_by_ref',
    description: 'test: a work query the pagination column does not serve',
    async run(ctx) {
      const r = await ctx.client.query(`UPDATE ${ctx.quotedTable} SET flag = 1 WHERE ref BETWEEN $1 AND $2`, [ctx.start, ctx.end]);
      return r.rowCount ?? 0;
    },
  };
  const before = await snapshot(db.pool, ['public.orders']);
  const report = await dryRunMigration(
    { pool: db.pool, registry: new WorkRegistry([...BUILTIN_WORK, byRef]) },
    { name: 'flag', work: 'flag_by_ref', table: 'orders', column: 'id', batchSize: 500 },
  );
  assert.deepEqual(report.firstJob, { start: '1', end: '500' });
  assert.equal(report.sample?.rows, 500);
  assert.match(report.queries[0]?.plan?.join('\n') ?? '', /Seq Scan on orders/);
  assert.equal(report.warnings.length, 2, report.warnings.join('\n'));
  assert.match(report.warnings[0] ?? '', /^Sequential scan of orders in: UPDATE "public"\."orders" SET flag = 1/);
  assert.match(report.warnings[1] ?? '', /^No index on the pagination column "id"/);
  assert.deepEqual(await snapshot(db.pool, ['public.orders']), before);
});

test('a dry run refuses a bad definition with the same code as create', async () => {
  const db = await createTestDatabase('dry_bad');
  await createItems(db.pool, 'items', 10);
  await assert.rejects(
    dryRunMigration(
      { pool: db.pool, registry: new WorkRegistry([...BUILTIN_WORK]) },
      { name: 'x', work: 'increment', table: 'nope', column: 'id', args: { target: 'counter' } },
    ),
    (err) => (err as { code?: string }).code === 'INVALID_TABLE',
  );
});

test('a dry run of a NULL-strategy migration samples the first NULL rows and writes nothing', async () => {
  const db = await createTestDatabase('dry_null');
  await db.pool.query('CREATE TABLE notes (id bigint PRIMARY KEY, body text NOT NULL, body_copy text)');
  await db.pool.query(`INSERT INTO notes (id, body) SELECT i, 'b' || i FROM generate_series(1, 5000) AS i`);
  await db.pool.query('CREATE INDEX notes_body_copy_null ON notes (id) WHERE body_copy IS NULL');
  await db.pool.query('ANALYZE notes');
  const before = await snapshot(db.pool, ['public.notes']);
  const report = await dryRunMigration(
    { pool: db.pool, registry: new WorkRegistry([...BUILTIN_WORK]) },
    { name: 'fill', work: 'copy_column', table: 'notes', column: 'body_copy', strategy: 'null', batchSize: 200, args: { from: 'body' } },
  );
  assert.deepEqual(report.firstJob, { start: null, end: null });
  assert.equal(report.estimatedJobs, '25');
  assert.equal(report.sample?.rows, 200);
  assert.equal(report.queries.length, 1);
  assert.ok(report.queries[0]?.plan, 'the work query was explained');
  assert.deepEqual(await snapshot(db.pool, ['public.notes']), before);
});

test('a NULL-strategy dry run estimates the NULL rows, not the whole table, when the statistics are stale', async () => {
  const db = await createTestDatabase('dry_null_estimate');
  await db.pool.query('CREATE TABLE sparse (id bigint PRIMARY KEY, body text NOT NULL, body_copy text) WITH (autovacuum_enabled = false)');
  await db.pool.query(`INSERT INTO sparse (id, body) SELECT i, 'b' || i FROM generate_series(1, 20000) AS i`);
  await db.pool.query('CREATE INDEX sparse_body_copy_null ON sparse (id) WHERE body_copy IS NULL');
  // Analysed while every body_copy was NULL (null_frac 1), then all but 50 rows filled.
  await db.pool.query('ANALYZE sparse');
  await db.pool.query('UPDATE sparse SET body_copy = body WHERE id > 50');
  const report = await dryRunMigration(
    { pool: db.pool, registry: new WorkRegistry([...BUILTIN_WORK]) },
    {
      name: 'fill_sparse',
      work: 'copy_column',
      table: 'sparse',
      column: 'body_copy',
      strategy: 'null',
      batchSize: 20,
      args: { from: 'body' },
    },
  );
  assert.equal(report.estimatedRows, '50');
  assert.equal(report.estimatedJobs, '3');
  assert.equal(report.sample?.rows, 20);
});

test('a dry run of a NULL-strategy migration whose first job would leave rows NULL refuses with NO_PROGRESS and writes nothing', async () => {
  const db = await createTestDatabase('dry_null_stuck');
  await db.pool.query('CREATE TABLE notes (id bigint PRIMARY KEY, body text, body_copy text)');
  // Every third row has no body, so copying it leaves body_copy NULL: the real job would fail with no_progress.
  await db.pool.query(
    `INSERT INTO notes (id, body) SELECT i, CASE WHEN i % 3 = 0 THEN NULL ELSE 'b' || i END FROM generate_series(1, 600) AS i`,
  );
  await db.pool.query('CREATE INDEX notes_body_copy_null ON notes (id) WHERE body_copy IS NULL');
  const before = await snapshot(db.pool, ['public.notes']);
  await assert.rejects(
    dryRunMigration(
      { pool: db.pool, registry: new WorkRegistry([...BUILTIN_WORK]) },
      { name: 'fill', work: 'copy_column', table: 'notes', column: 'body_copy', strategy: 'null', batchSize: 30, args: { from: 'body' } },
    ),
    (err: { code?: string; message?: string }) => {
      assert.equal(err.code, 'NO_PROGRESS');
      assert.match(
        err.message ?? '',
        /^Dry run: the first job would fail with no_progress: 10 of its 30 row\(s\) still have body_copy IS NULL/,
      );
      return true;
    },
  );
  assert.deepEqual(await snapshot(db.pool, ['public.notes']), before);
});

test("a dry run whose sample waits on another transaction's row locks refuses with DRY_RUN_TIMEOUT after its 5 s lock timeout", async () => {
  const db = await createTestDatabase('dry_locked');
  await createItems(db.pool, 'items', 50);
  const holder = await db.pool.connect();
  try {
    await holder.query('BEGIN');
    await holder.query('SELECT id FROM items WHERE id <= 5 FOR UPDATE');
    await assert.rejects(
      dryRunMigration(
        { pool: db.pool, registry: new WorkRegistry([...BUILTIN_WORK]) },
        { name: 'locked', work: 'increment', table: 'items', column: 'id', batchSize: 10, args: { target: 'counter' } },
      ),
      { code: 'DRY_RUN_TIMEOUT', message: /^Dry run: the sample waited more than 5 s \(its lock_timeout\).*nothing was written/ },
    );
  } finally {
    await holder.query('ROLLBACK');
    holder.release();
  }
});

test('a dry run whose work query fails on a type mismatch refuses with WORK_FAILED naming the SQLSTATE', async () => {
  const db = await createTestDatabase('dry_mismatch');
  await createItems(db.pool, 'items', 50);
  const mismatch: WorkFunction = {
    name: 'mismatch',
    description: 'writes text into an integer column',
    async run(ctx) {
      const r = await ctx.client.query(`UPDATE ${ctx.quotedTable} SET counter = payload WHERE ${ctx.where.sql}`, ctx.where.values);
      return r.rowCount ?? 0;
    },
  };
  await assert.rejects(
    dryRunMigration(
      { pool: db.pool, registry: new WorkRegistry([mismatch]) },
      { name: 'bad_types', work: 'mismatch', table: 'items', column: 'id', batchSize: 10 },
    ),
    {
      code: 'WORK_FAILED',
      message:
        /^Dry run: the work function failed on the first job.*column "counter" is of type integer but expression is of type text \(SQLSTATE 42804\)/,
    },
  );
});
