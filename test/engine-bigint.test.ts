import assert from 'node:assert/strict';
import { test } from 'node:test';
import { JobStatus, MigrationStatus } from '../src/engine/constants';
import { migrationProgress } from '../src/engine/progress';
import { migrationTally } from '../src/store/eligible';
import { ErrorCode } from '../src/errors';
import { createTestDatabase } from './helpers/db';
import { counters, define, jobSummary, migration, registryWith, runToEnd, type Engine } from './helpers/engine';

const { FINISHED: DONE } = JobStatus;
const INT8_MAX = '9223372036854775807';
const INT8_MIN = '-9223372036854775808';

/** Table `t` (bigint id, counter) holding exactly `ids`, given as decimal text so nothing passes through a JS number. */
async function engineWithIds(label: string, ids: string[], type = 'bigint'): Promise<Engine> {
  const db = await createTestDatabase(label);
  await db.pool.query(`CREATE TABLE t (id ${type} PRIMARY KEY, counter integer NOT NULL DEFAULT 0)`);
  await db.pool.query(`INSERT INTO t (id) SELECT unnest($1::${type}[])`, [ids]);
  return { pool: db.pool, registry: registryWith() };
}

/** 2^53 + 1 .. 2^53 + 10: the table. */
const ABOVE_2_53 = Array.from({ length: 10 }, (_, i) => (9007199254740992n + BigInt(i + 1)).toString());

test('ids just above 2^53 with batch size 3 over the default range: every counter ends at exactly 1 and job boundaries are exact', async () => {
  const engine = await engineWithIds('big53', ABOVE_2_53);
  const defined = await define(engine, { name: 'm', table: 't', batchSize: 3 });
  assert.deepEqual(
    [String(defined.minValue), String(defined.maxValue)],
    ['9007199254740993', '9007199254741002'],
    'the default range is the exact column minimum and maximum',
  );
  const run = await runToEnd(engine);
  assert.deepEqual(run.errors, []);
  assert.deepEqual(await counters(engine.pool, 't'), { lo: 1, hi: 1, n: 10 });
  assert.deepEqual(await jobSummary(engine.pool, 'm'), [
    ['9007199254740993', '9007199254740995', 1, DONE],
    ['9007199254740996', '9007199254740998', 1, DONE],
    ['9007199254740999', '9007199254741001', 1, DONE],
    ['9007199254741002', '9007199254741002', 1, DONE],
  ]);
  const p = await migrationProgress(engine.pool, await migration(engine.pool, 'm'));
  assert.deepEqual(
    [p?.status, p?.rowsProcessed, p?.currentRange],
    ['finished', '10', { start: '9007199254741002', end: '9007199254741002', cursor: null }],
  );
});

test('explicit min and max above 2^53, given as decimal strings or bigint, are stored and applied exactly', async () => {
  const engine = await engineWithIds('bigexplicit', ABOVE_2_53);
  const asText = await define(engine, {
    name: 'text',
    table: 't',
    batchSize: 4,
    minValue: '9007199254740994',
    maxValue: '9007199254741000',
  });
  assert.deepEqual([String(asText.minValue), String(asText.maxValue)], ['9007199254740994', '9007199254741000']);
  const asBigint = await define(engine, {
    name: 'big',
    table: 't',
    batchSize: 4,
    minValue: 9007199254740993n,
    maxValue: 9007199254740993n,
  });
  assert.deepEqual([String(asBigint.minValue), String(asBigint.maxValue)], ['9007199254740993', '9007199254740993']);
  await runToEnd(engine);
  const { rows } = await engine.pool.query('SELECT id::text AS id, counter FROM t ORDER BY t.id');
  assert.deepEqual(
    rows.map((r) => `${r.id}:${r.counter}`),
    ABOVE_2_53.map((id) => `${id}:${id === '9007199254741001' || id === '9007199254741002' ? 0 : 1}`),
    'exactly the ids from min to max, each once',
  );
});

test('a number that is not a safe integer is refused (INVALID_RANGE for bounds, INVALID_INPUT in args), asking for a decimal string', async () => {
  const engine = await engineWithIds('bigunsafe', ABOVE_2_53);
  await assert.rejects(define(engine, { name: 'm', table: 't', maxValue: 2 ** 60 }), (err: Error & { code?: string }) => {
    assert.equal(err.code, ErrorCode.INVALID_RANGE);
    assert.match(err.message, /decimal string/);
    return true;
  });
  for (const bad of ['12abc', '1.5', '', ' 7', '9223372036854775808', '-9223372036854775809']) {
    await assert.rejects(define(engine, { name: 'm', table: 't', maxValue: bad }), { code: ErrorCode.INVALID_RANGE }, JSON.stringify(bad));
  }
  await assert.rejects(
    define(engine, { name: 'm', table: 't', work: 'noop', args: { nested: { limit: 2 ** 60 } } }),
    (err: Error & { code?: string }) => {
      assert.equal(err.code, ErrorCode.INVALID_INPUT);
      assert.match(err.message, /args\.nested\.limit is 1152921504606847000, an integer beyond 2\^53/);
      return true;
    },
  );
});

test('ids near the int8 maximum finish without overflow: the last job ends at 9223372036854775807 and the next start is never computed in SQL', async () => {
  const ids = ['9223372036854775800', '9223372036854775801', '9223372036854775805', '9223372036854775806', INT8_MAX];
  const engine = await engineWithIds('bigmax', ids);
  await define(engine, { name: 'm', table: 't', batchSize: 2, minValue: '9223372036854775800' });
  const run = await runToEnd(engine);
  assert.deepEqual(run.errors, []);
  assert.deepEqual(await jobSummary(engine.pool, 'm'), [
    ['9223372036854775800', '9223372036854775801', 1, DONE],
    ['9223372036854775802', '9223372036854775806', 1, DONE],
    [INT8_MAX, INT8_MAX, 1, DONE],
  ]);
  assert.deepEqual(await counters(engine.pool, 't'), { lo: 1, hi: 1, n: 5 });
  const m = await migration(engine.pool, 'm');
  assert.equal(m.status, MigrationStatus.FINISHED);
  assert.equal(String(m.rowsProcessed), '5');
});

test('negative ids across the whole int8 range are applied exactly once, and the covered id span (2^64) is counted exactly', async () => {
  const ids = [INT8_MIN, '-9007199254740993', '-5', '0', '7', '9007199254740993', INT8_MAX];
  const engine = await engineWithIds('bigneg', ids);
  await define(engine, { name: 'm', table: 't', batchSize: 2, minValue: INT8_MIN });
  const run = await runToEnd(engine);
  assert.deepEqual(run.errors, []);
  assert.deepEqual(await jobSummary(engine.pool, 'm'), [
    [INT8_MIN, '-9007199254740993', 1, DONE],
    ['-9007199254740992', '0', 1, DONE],
    ['1', '9007199254740993', 1, DONE],
    ['9007199254740994', INT8_MAX, 1, DONE],
  ]);
  assert.deepEqual(await counters(engine.pool, 't'), { lo: 1, hi: 1, n: 7 });
  const p = await migrationProgress(engine.pool, await migration(engine.pool, 'm'));
  assert.deepEqual([p?.status, p?.percent, p?.rowsProcessed], ['finished', 100, '7']);
  const { rows } = await engine.pool.query('SELECT covered_ids::text AS covered FROM bbm.migrations');
  assert.equal(rows[0].covered, '18446744073709551616', 'the covered id span is exact (2^64), beyond what int8 holds');
});

test('one job spanning the whole int8 range (2^64 ids, batch size 3) counts its span without overflow', async () => {
  const engine = await engineWithIds('bigspan', [INT8_MIN, '0', INT8_MAX]);
  await define(engine, { name: 'm', table: 't', batchSize: 3, minValue: INT8_MIN });
  assert.equal((await migrationTally(engine.pool)).percent, 0, 'the overall tally (bbm run) computes the 2^64 span without overflow');
  const run = await runToEnd(engine);
  assert.deepEqual(run.errors, []);
  assert.deepEqual(await jobSummary(engine.pool, 'm'), [[INT8_MIN, INT8_MAX, 1, DONE]]);
  assert.deepEqual(await counters(engine.pool, 't'), { lo: 1, hi: 1, n: 3 });
  assert.equal((await migrationProgress(engine.pool, await migration(engine.pool, 'm')))?.percent, 100);
  assert.equal((await migrationTally(engine.pool)).percent, 100);
});

test('sub-batches across the whole int8 range count a sub-batch span above 2^63 exactly and apply every row once', async () => {
  const engine = await engineWithIds('bigsubspan', [INT8_MIN, '0', '1', INT8_MAX]);
  await define(engine, { name: 'm', table: 't', batchSize: 4, subBatchSize: 2, subBatchPauseMs: 0, minValue: INT8_MIN });
  const run = await runToEnd(engine);
  assert.deepEqual(run.errors, []);
  assert.deepEqual(await jobSummary(engine.pool, 'm'), [[INT8_MIN, INT8_MAX, 1, DONE]]);
  // The first sub-batch is [INT8_MIN, 0]: 2^63 + 1 ids, one more than an int8 holds.
  const { rows } = await engine.pool.query(
    'SELECT j.sub_batches, j.cursor_id::text AS cursor, m.covered_ids::text AS covered FROM bbm.jobs j JOIN bbm.migrations m ON m.id = j.migration_id',
  );
  assert.deepEqual(rows, [{ sub_batches: 2, cursor: INT8_MAX, covered: '18446744073709551616' }]);
  assert.deepEqual(await counters(engine.pool, 't'), { lo: 1, hi: 1, n: 4 });
  assert.equal((await migrationProgress(engine.pool, await migration(engine.pool, 'm')))?.percent, 100);
});

test('range bounds outside the pagination column type are refused with INVALID_RANGE, naming the type and its limits', async () => {
  const engine = await engineWithIds('bigtype', ['1', '2', '3'], 'smallint');
  await assert.rejects(define(engine, { name: 'm', table: 't', maxValue: 40000 }), (err: Error & { code?: string }) => {
    assert.equal(err.code, ErrorCode.INVALID_RANGE);
    assert.match(err.message, /smallint.*-32768.*32767/);
    return true;
  });
  await assert.rejects(define(engine, { name: 'm', table: 't', minValue: -40000 }), { code: ErrorCode.INVALID_RANGE });
  const ok = await define(engine, { name: 'm', table: 't', minValue: -32768, maxValue: 32767, batchSize: 2 });
  assert.deepEqual([String(ok.minValue), String(ok.maxValue)], ['-32768', '32767']);
  await runToEnd(engine);
  assert.deepEqual(await counters(engine.pool, 't'), { lo: 1, hi: 1, n: 3 });
});
