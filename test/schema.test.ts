import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadSchemaMigrations, migrateSchema, schemaVersion, type SchemaMigration } from '../src/db/schema';
import { createEmptyDatabase } from './helpers/engine';

/** Not idempotent on purpose: applying one twice would fail with "already exists". */
const EXTRA: SchemaMigration[] = [
  { version: 9001, name: '9001_extra', sql: 'CREATE TABLE bbm.extra_a (id int PRIMARY KEY)' },
  { version: 9002, name: '9002_extra', sql: 'CREATE TABLE bbm.extra_b (id int PRIMARY KEY); INSERT INTO bbm.extra_b VALUES (1)' },
];

test('schema migrations started concurrently on an empty database apply each file exactly once', async () => {
  const db = await createEmptyDatabase('schemarace');
  const files = [...loadSchemaMigrations(), ...EXTRA];
  const pools = [db.pool(), db.pool(), db.pool()];
  const applied = await Promise.all(pools.map((pool) => migrateSchema(pool, files)));
  assert.deepEqual(
    applied.flat().sort((a, b) => a - b),
    files.map((f) => f.version),
    'each version reported applied by exactly one process',
  );
  const { rows } = await pools[0]!.query('SELECT version, count(*)::int AS n FROM bbm.schema_migrations GROUP BY version ORDER BY version');
  assert.deepEqual(
    rows,
    files.map((f) => ({ version: f.version, n: 1 })),
  );
  const extra = await pools[0]!.query('SELECT count(*)::int AS n FROM bbm.extra_b');
  assert.equal(extra.rows[0].n, 1);
  assert.equal(await schemaVersion(pools[0]!), 9002);
});

test('running the schema migrations again changes nothing', async () => {
  const db = await createEmptyDatabase('schemaagain');
  const pool = db.pool();
  assert.equal(await schemaVersion(pool), 0, 'an empty database has no schema version');
  const first = await migrateSchema(pool);
  assert.deepEqual(
    first,
    loadSchemaMigrations().map((f) => f.version),
  );
  const before = await pool.query("SELECT table_name FROM information_schema.tables WHERE table_schema = 'bbm' ORDER BY 1");
  assert.deepEqual(await migrateSchema(pool), []);
  assert.deepEqual(await migrateSchema(pool), []);
  const after = await pool.query("SELECT table_name FROM information_schema.tables WHERE table_schema = 'bbm' ORDER BY 1");
  assert.deepEqual(after.rows, before.rows);
  assert.ok(before.rows.some((r) => r.table_name === 'migrations'));
  const { rows } = await pool.query('SELECT count(*)::int AS n FROM bbm.schema_migrations');
  assert.equal(rows[0].n, first.length);
});

test('a schema file that fails is rolled back and not recorded, and applies once fixed', async () => {
  const db = await createEmptyDatabase('schemafail');
  const pool = db.pool();
  const broken: SchemaMigration = { version: 9001, name: '9001_broken', sql: 'CREATE TABLE bbm.half (id int); SELECT no_such_function()' };
  await assert.rejects(migrateSchema(pool, [...loadSchemaMigrations(), broken]), /no_such_function/);
  const half = await pool.query("SELECT to_regclass('bbm.half') AS t");
  assert.equal(half.rows[0].t, null, 'the failed file left nothing behind');
  assert.equal(
    await schemaVersion(pool),
    Math.max(...loadSchemaMigrations().map((f) => f.version)),
    'the shipped files applied, the broken one did not',
  );
  const fixed = { ...broken, sql: 'CREATE TABLE bbm.half (id int)' };
  assert.deepEqual(await migrateSchema(pool, [...loadSchemaMigrations(), fixed]), [9001]);
  assert.equal(await schemaVersion(pool), 9001);
});
