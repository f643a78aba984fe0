import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ErrorCode } from '../src/errors';
import { createTestDatabase } from './helpers/db';
import { define, registryWith, runToEnd, type Engine } from './helpers/engine';

/**
 * PostgreSQL's rules for names a user types: unquoted names fold to lower case, double-quoted
 * names are kept exactly. Each table below is created with SQL, then named the way a user would.
 */
async function engineWithTables(label: string): Promise<Engine> {
  const db = await createTestDatabase(label);
  for (const table of ['items', '"Items"', '"a.b"', 'myschema.items', '"MySchema"."Items"']) {
    if (table.includes('.') && !table.startsWith('"a.b')) await db.pool.query(`CREATE SCHEMA IF NOT EXISTS ${table.split('.')[0]}`);
    await db.pool.query(
      `CREATE TABLE ${table} (id bigint PRIMARY KEY, "Counter X" int NOT NULL DEFAULT 0, counter int NOT NULL DEFAULT 0)`,
    );
    await db.pool.query(`INSERT INTO ${table} (id) SELECT generate_series(1, 3)`);
  }
  return { pool: db.pool, registry: registryWith() };
}

/** counter and "Counter X" of each table, as `table:counter/counterX` lines. */
async function touched(engine: Engine): Promise<string[]> {
  const out: string[] = [];
  for (const table of ['items', '"Items"', '"a.b"', 'myschema.items', '"MySchema"."Items"']) {
    const { rows } = await engine.pool.query(`SELECT sum(counter)::int AS c, sum("Counter X")::int AS x FROM ${table}`);
    out.push(`${table}:${rows[0].c}/${rows[0].x}`);
  }
  return out;
}

test('table names follow PostgreSQL: unquoted names fold to lower case, quoted names are kept exactly, dots inside quotes belong to the name', async () => {
  const engine = await engineWithTables('identcase');
  const cases: [string, string, string][] = [
    ['Items', 'public.items', 'unquoted: folded'],
    ['"Items"', 'public."Items"', 'quoted: exact'],
    ['public."a.b"', 'public."a.b"', 'a dot inside quotes'],
    ['MySchema.ITEMS', 'myschema.items', 'schema and table folded'],
    ['"MySchema"."Items"', '"MySchema"."Items"', 'schema and table exact'],
  ];
  for (const [i, [typed, stored, what]] of cases.entries()) {
    const m = await define(engine, { name: `m${i}`, repository: `r${i}`, table: typed, column: 'ID', args: { target: 'COUNTER' } });
    assert.equal(m.tableName, stored, what);
    assert.equal(m.columnName, 'id', 'the unquoted column is folded too');
  }
  for (const [i] of cases.entries()) assert.deepEqual((await runToEnd(engine, { repository: `r${i}` })).errors, []);
  assert.deepEqual(await touched(engine), ['items:3/0', '"Items":3/0', '"a.b":3/0', 'myschema.items:3/0', '"MySchema"."Items":3/0']);
});

test('quoted column names and work arguments keep their case and spaces, and reach SQL quoted', async () => {
  const engine = await engineWithTables('identcol');
  await define(engine, { name: 'm', table: '"Items"', column: '"id"', args: { target: '"Counter X"' } });
  assert.deepEqual((await runToEnd(engine)).errors, []);
  assert.deepEqual(await touched(engine), ['items:0/0', '"Items":0/3', '"a.b":0/0', 'myschema.items:0/0', '"MySchema"."Items":0/0']);
});

test('the default repository of a table is its schema and exact name', async () => {
  const engine = await engineWithTables('identrepo');
  assert.equal((await define(engine, { name: 'a', repository: undefined, table: 'Items' })).repository, 'public.items');
  assert.equal((await define(engine, { name: 'b', repository: undefined, table: '"MySchema"."Items"' })).repository, 'MySchema.Items');
});

test('names that break the rules are refused with INVALID_IDENTIFIER, and a quoted name that does not exist with INVALID_TABLE', async () => {
  const engine = await engineWithTables('identbad');
  const bad: [string, string][] = [
    ['"items', 'an unterminated quote'],
    ['it"ems', 'a quote inside an unquoted name'],
    ['""', 'an empty quoted name'],
    ['"a"b', 'text after a closing quote'],
    ['a..b', 'an empty part'],
    ['db.public.items', 'three parts'],
    ['items ', 'a space outside quotes'],
    ['1items', 'an unquoted name starting with a digit'],
    [`"${'x'.repeat(64)}"`, 'a name longer than 63 bytes (PostgreSQL would truncate it)'],
    ['"a\u0000b"', 'a NUL character'],
  ];
  for (const [table, what] of bad) await assert.rejects(define(engine, { name: 'x', table }), { code: ErrorCode.INVALID_IDENTIFIER }, what);
  await assert.rejects(define(engine, { name: 'x', table: '"ITEMS"' }), { code: ErrorCode.INVALID_TABLE }, 'quoted names are not folded');
  await assert.rejects(define(engine, { name: 'x', table: 'items', column: '"ID"' }), { code: ErrorCode.INVALID_COLUMN });
});
