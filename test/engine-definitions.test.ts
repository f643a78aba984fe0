import assert from 'node:assert/strict';
import { test } from 'node:test';
import { noop } from '../src/engine/builtin-work';
import { BatchingStrategy, LIMITS, MigrationStatus } from '../src/engine/constants';
import { defineMigration, type MigrationDefinition } from '../src/engine/definitions';
import { WorkRegistry } from '../src/engine/registry';
import { ErrorCode } from '../src/errors';
import { counters, createItems, createTestDatabase } from './helpers/db';
import { define, migration, registryWith, runToEnd, work, type Engine } from './helpers/engine';

async function engineWithItems(label: string): Promise<Engine> {
  const db = await createTestDatabase(label);
  await createItems(db.pool, 'items', 20);
  return { pool: db.pool, registry: registryWith() };
}

/** Everything a refused definition could have touched. */
async function snapshot(engine: Engine): Promise<unknown> {
  const { rows } = await engine.pool.query(
    `SELECT (SELECT count(*)::int FROM bbm.migrations) AS migrations, (SELECT count(*)::int FROM bbm.jobs) AS jobs,
            (SELECT count(*)::int FROM items) AS items, (SELECT sum(counter)::int FROM items) AS counters,
            (SELECT count(*)::int FROM items WHERE copy IS NOT NULL) AS copies,
            (SELECT string_agg(attname, ',' ORDER BY attnum) FROM pg_attribute WHERE attrelid = 'items'::regclass AND attnum > 0 AND NOT attisdropped) AS columns`,
  );
  return rows[0];
}

test('registering two work functions with the same name fails with DUPLICATE_WORK_FUNCTION', () => {
  const registry = registryWith();
  assert.throws(() => registry.register({ ...noop, description: 'another noop' }), { code: ErrorCode.DUPLICATE_WORK_FUNCTION });
  assert.throws(() => new WorkRegistry([work('twice', async () => 0), work('twice', async () => 1)]), {
    code: ErrorCode.DUPLICATE_WORK_FUNCTION,
  });
  assert.equal(registry.get('noop'), noop, 'the first registration stays');
});

const BAD: Array<[string, Partial<MigrationDefinition>, string]> = [
  ['SQL after the table name', { table: 'items; DROP TABLE items' }, ErrorCode.INVALID_IDENTIFIER],
  ['an unterminated quoted table name', { table: '"items' }, ErrorCode.INVALID_IDENTIFIER],
  ['a quote inside an unquoted table name', { table: 'it"ems' }, ErrorCode.INVALID_IDENTIFIER],
  ['a comment in the table name', { table: 'items--' }, ErrorCode.INVALID_IDENTIFIER],
  ['three-part table name', { table: 'db.public.items' }, ErrorCode.INVALID_IDENTIFIER],
  ['SQL in the column name', { column: 'id; DELETE FROM items' }, ErrorCode.INVALID_IDENTIFIER],
  ['a negative batch size', { batchSize: -5 }, ErrorCode.INVALID_BATCH_SIZE],
  ['a zero batch size', { batchSize: 0 }, ErrorCode.INVALID_BATCH_SIZE],
  ['a huge batch size', { batchSize: LIMITS.MAX_BATCH_SIZE + 1 }, ErrorCode.INVALID_BATCH_SIZE],
  ['a fractional batch size', { batchSize: 2.5 }, ErrorCode.INVALID_BATCH_SIZE],
  ['a batch size given as text', { batchSize: '50' as unknown as number }, ErrorCode.INVALID_BATCH_SIZE],
  ['min above max', { minValue: 10, maxValue: 5 }, ErrorCode.INVALID_RANGE],
  ['min above the column maximum', { minValue: 1000 }, ErrorCode.INVALID_RANGE],
  ['a fractional min', { minValue: 1.5 }, ErrorCode.INVALID_RANGE],
  ['a max beyond 2^53 given as a number (already rounded)', { maxValue: 2 ** 60 }, ErrorCode.INVALID_RANGE],
  ['a max that is not decimal text', { maxValue: '0x10' }, ErrorCode.INVALID_RANGE],
  ['an unknown work function', { work: 'drop_everything' }, ErrorCode.INVALID_JOB_SIGNATURE],
  ['an unknown batching strategy', { strategy: 'bogus' }, ErrorCode.INVALID_BATCHING_STRATEGY],
  ['a missing table', { table: 'nope' }, ErrorCode.INVALID_TABLE],
  ['a missing schema', { table: 'nope.items' }, ErrorCode.INVALID_TABLE],
  ['a missing column', { column: 'nope' }, ErrorCode.INVALID_COLUMN],
  ['a text pagination column', { column: 'payload' }, ErrorCode.INVALID_COLUMN],
  ['a missing work target column', { args: { target: 'nope' } }, ErrorCode.INVALID_COLUMN],
  ['an existing name', { name: 'taken' }, ErrorCode.MIGRATION_EXISTS],
  ['a name with spaces', { name: 'a b' }, ErrorCode.INVALID_INPUT],
  ['a repository with SQL', { repository: "r'; --" }, ErrorCode.INVALID_INPUT],
  ['args that are not an object', { args: ['x'] as unknown as Record<string, unknown> }, ErrorCode.INVALID_INPUT],
  ['a copy into the pagination column', { work: 'copy_column', args: { from: 'payload', to: 'id' } }, ErrorCode.INVALID_INPUT],
  [
    'an unknown copy transform',
    { work: 'copy_column', args: { from: 'payload', to: 'copy', transform: 'pg_sleep(10)' } },
    ErrorCode.INVALID_INPUT,
  ],
  [
    'SQL in copy_column args.to',
    { work: 'copy_column', args: { from: 'payload', to: 'copy = NULL; DROP TABLE items; --' } },
    ErrorCode.INVALID_IDENTIFIER,
  ],
  ['SQL in copy_column args.from', { work: 'copy_column', args: { from: '(SELECT 1)', to: 'copy' } }, ErrorCode.INVALID_IDENTIFIER],
  [
    'an unexpected copy_column argument',
    { work: 'copy_column', args: { from: 'payload', to: 'copy', where: 'true' } },
    ErrorCode.INVALID_INPUT,
  ],
  ['a batch size below its own minBatchSize', { batchSize: 50, minBatchSize: 100 }, ErrorCode.INVALID_BATCH_SIZE],
  ['a batch size above its own maxBatchSize', { batchSize: 5000, maxBatchSize: 2000 }, ErrorCode.INVALID_BATCH_SIZE],
  ['copy_column without a target', { work: 'copy_column', args: { from: 'payload' } }, ErrorCode.INVALID_INPUT],
  ['a copy of text into an integer column', { work: 'copy_column', args: { from: 'payload', to: 'counter' } }, ErrorCode.INVALID_COLUMN],
  [
    "a copy of a transform's text into an integer column",
    { work: 'copy_column', args: { from: 'id', to: 'counter', transform: 'md5' } },
    ErrorCode.INVALID_COLUMN,
  ],
  ['NULL-strategy increment of another column', { strategy: 'null', column: 'copy', args: { target: 'counter' } }, ErrorCode.INVALID_INPUT],
];

test('a bad definition is refused with its own stable code and leaves the catalogue and the table untouched', async () => {
  const engine = await engineWithItems('defbad');
  await define(engine, { name: 'taken' });
  const before = await snapshot(engine);
  for (const [what, override, code] of BAD) {
    await assert.rejects(define(engine, { name: `bad_${what.replace(/\W/g, '_')}`, ...override }), { code }, what);
  }
  assert.deepEqual(await snapshot(engine), before);
  assert.equal((await migration(engine.pool, 'taken')).status, MigrationStatus.ACTIVE);
});

test('copy_column accepts what PostgreSQL assigns (bigint into text, bigint into integer) and names both types when it refuses', async () => {
  const engine = await engineWithItems('defcopytypes');
  await define(engine, { name: 'to_text', work: 'copy_column', args: { from: 'id', to: 'copy' } });
  await define(engine, { name: 'to_int', work: 'copy_column', args: { from: 'id', to: 'counter' } });
  await assert.rejects(define(engine, { name: 'text_to_int', work: 'copy_column', args: { from: 'payload', to: 'counter' } }), {
    code: ErrorCode.INVALID_COLUMN,
    message: /^copy_column cannot store payload \(text\) into counter \(integer\) of public\.items: PostgreSQL has no assignment cast/,
  });
});

test('without a batch size the first job is 1000 brought within the bounds given, and a size within them is kept', async () => {
  const engine = await engineWithItems('defbounds');
  const above = await define(engine, { name: 'above', minBatchSize: 5000 });
  assert.deepEqual([above.batchSize, above.minBatchSize], [5000, 5000]);
  const below = await define(engine, { name: 'below', maxBatchSize: 200 });
  assert.deepEqual([below.batchSize, below.maxBatchSize], [200, 200]);
  const within = await define(engine, { name: 'within', batchSize: 300, minBatchSize: 300, maxBatchSize: 300 });
  assert.deepEqual([within.batchSize, within.minBatchSize, within.maxBatchSize], [300, 300, 300]);
});

test('a good definition records its range, its estimate and an active status', async () => {
  const engine = await engineWithItems('defgood');
  const m = await define(engine, { name: 'good', batchSize: 7 });
  assert.deepEqual(
    [m.minValue, m.maxValue, m.batchSize, m.batchingStrategy, m.status, m.repository],
    [1n, 20n, 7, BatchingStrategy.SERIAL, MigrationStatus.ACTIVE, 'r'],
  );
  assert.equal(m.totalTupleCount, 20n);
  const paused = await define(engine, { name: 'paused', paused: true, repository: undefined });
  assert.deepEqual([paused.status, paused.repository], [MigrationStatus.PAUSED, 'public.items']);
});

test('without --min-value a range starts at the column minimum, so ids at zero and below are migrated too', async () => {
  const engine = await engineWithItems('defmin');
  await engine.pool.query('INSERT INTO items (id) VALUES (-7), (0)');
  const m = await define(engine, { name: 'from_min', batchSize: 10 });
  assert.deepEqual([m.minValue, m.maxValue], [-7n, 20n]);
  const summary = await runToEnd(engine);
  assert.deepEqual(summary.errors, []);
  assert.deepEqual(await counters(engine.pool), { lo: 1, hi: 1, n: 22 }, 'every row, the negative one included, exactly once');

  const upTo = await define(engine, { name: 'up_to', maxValue: 5 });
  assert.deepEqual([upTo.minValue, upTo.maxValue], [-7n, 5n], 'a given maximum keeps the column minimum');
  assert.equal(upTo.totalTupleCount, 7n, 'the estimate counts the rows of the range, not of the table');
  await assert.rejects(define(engine, { name: 'below', maxValue: -8 }), {
    code: ErrorCode.INVALID_RANGE,
    message: /the column's current minimum \(-7\) is greater than maxValue \(-8\)/,
  });
  const empty = await createTestDatabase('defmin_empty');
  await createItems(empty.pool, 'items', 0);
  const none = await define({ pool: empty.pool, registry: registryWith() }, { name: 'empty' });
  assert.deepEqual([none.minValue, none.maxValue], [1n, 1n], 'an empty table gives the one-value range 1..1');
});

test('a table never analysed gets a counted row estimate, not the span of its ids', async () => {
  const db = await createTestDatabase('defsparse');
  await db.pool.query('CREATE TABLE sparse (id bigint PRIMARY KEY, counter integer NOT NULL DEFAULT 0)');
  await db.pool.query(
    `INSERT INTO sparse (id) SELECT i * 100000000000000000 FROM generate_series(1, 52) i UNION ALL SELECT 9223372036854775807`,
  );
  const m = await defineMigration(
    { pool: db.pool, registry: registryWith() },
    { name: 'sparse', repository: 'r', work: 'increment', table: 'sparse', column: 'id', args: { target: 'counter' } },
  );
  assert.equal(m.totalTupleCount, 53n);
});

test('the NULL strategy without a partial index WHERE column IS NULL is refused with MISSING_NULL_INDEX and writes nothing', async () => {
  const engine = await engineWithItems('defnull');
  const def = { name: 'fill', work: 'copy_column', column: 'copy', strategy: 'null', args: { from: 'payload' } };
  await engine.pool.query('CREATE INDEX items_copy ON items (copy)');
  await engine.pool.query('CREATE INDEX items_payload_null ON items (payload) WHERE payload IS NULL');
  await assert.rejects(define(engine, def), (err: Error & { code?: string }) => {
    assert.equal(err.code, ErrorCode.MISSING_NULL_INDEX);
    assert.match(err.message, /CREATE INDEX CONCURRENTLY .* WHERE "copy" IS NULL/);
    return true;
  });
  const { rows } = await engine.pool.query('SELECT count(*)::int AS n FROM bbm.migrations');
  assert.equal(rows[0].n, 0);
  await engine.pool.query('CREATE INDEX items_copy_null ON items (copy) WHERE copy IS NULL');
  const m = await define(engine, def);
  assert.deepEqual([m.batchingStrategy, m.maxValue, m.totalTupleCount], ['null', null, 20n]);
});
