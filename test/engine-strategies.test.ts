import assert from 'node:assert/strict';
import { test } from 'node:test';
import { JobStatus, MigrationStatus } from '../src/engine/constants';
import { findJob } from '../src/engine/find-job';
import { ErrorCode } from '../src/errors';
import { createItems, createTestDatabase } from './helpers/db';
import { counters, define, jobsOf, migration, REPO, registryWith, runToEnd, type Engine } from './helpers/engine';

async function engineWith(label: string, ...sql: string[]): Promise<Engine> {
  const db = await createTestDatabase(label);
  for (const statement of sql) await db.pool.query(statement);
  return { pool: db.pool, registry: registryWith() };
}

const BUCKETS = 'CREATE TABLE t (id bigint PRIMARY KEY, bucket int, counter int NOT NULL DEFAULT 0)';

test('the serial strategy over a column without a unique index is refused with PAGINATION_COLUMN_NOT_UNIQUE, pointing to the distinct strategy', async () => {
  const engine = await engineWith('serialdup', BUCKETS, 'INSERT INTO t (id, bucket) SELECT g, 5 FROM generate_series(1, 3) g');
  await assert.rejects(define(engine, { name: 'm', table: 't', column: 'bucket', batchSize: 1 }), (err: Error & { code?: string }) => {
    assert.equal(err.code, ErrorCode.PAGINATION_COLUMN_NOT_UNIQUE);
    assert.match(err.message, /public\.t\.bucket has no unique index/);
    assert.match(err.message, /--strategy distinct/);
    return true;
  });
  for (const [what, index] of [
    ['a partial unique index', 'CREATE UNIQUE INDEX t_b1 ON t (bucket) WHERE bucket > 100'],
    ['a unique index over two columns', 'CREATE UNIQUE INDEX t_b2 ON t (bucket, id)'],
    ['a unique index on an expression of it', 'CREATE UNIQUE INDEX t_b3 ON t ((bucket + id))'],
  ]) {
    await engine.pool.query(index as string);
    await assert.rejects(
      define(engine, { name: 'm', table: 't', column: 'bucket' }),
      { code: ErrorCode.PAGINATION_COLUMN_NOT_UNIQUE },
      what,
    );
  }
  const { rows } = await engine.pool.query('SELECT count(*)::int AS n FROM bbm.migrations');
  assert.equal(rows[0].n, 0, 'nothing was written');
});

test('a unique constraint or a primary key on the pagination column alone is accepted', async () => {
  const engine = await engineWith(
    'serialuniq',
    'CREATE TABLE t (id bigint PRIMARY KEY, code int UNIQUE, counter int NOT NULL DEFAULT 0)',
    'INSERT INTO t SELECT g, 100 - g FROM generate_series(1, 9) g',
  );
  await define(engine, { name: 'by_id', table: 't', column: 'id', batchSize: 4 });
  await define(engine, { name: 'by_code', table: 't', column: 'code', batchSize: 4, minValue: 0 });
  assert.deepEqual((await runToEnd(engine)).errors, []);
  assert.deepEqual(await counters(engine.pool, 't'), { lo: 2, hi: 2, n: 9 });
});

test('a serial migration whose unique index was dropped after definition fails with invalid_column before any job is too big', async () => {
  const engine = await engineWith(
    'serialdropped',
    'CREATE TABLE t (id bigint, counter int NOT NULL DEFAULT 0)',
    'CREATE UNIQUE INDEX t_id ON t (id)',
    'INSERT INTO t SELECT g FROM generate_series(1, 5) g',
  );
  await define(engine, { name: 'm', table: 't', batchSize: 2 });
  await engine.pool.query('DROP INDEX t_id');
  await engine.pool.query('INSERT INTO t SELECT 1 FROM generate_series(1, 10)');
  const found = await findJob(engine.pool, { repository: REPO, maxJobAttempts: 3 });
  assert.equal(found.job, null);
  assert.deepEqual(
    found.failed.map((f) => f.failure),
    ['invalid_column'],
  );
  assert.deepEqual(await counters(engine.pool, 't'), { lo: 0, hi: 0, n: 15 });
});

test('the distinct strategy gives each job at most batch size distinct values, found with a loose index scan, and touches every row once', async () => {
  // 1,500 rows share bucket 5: the larger case. Then 7 more buckets with a few rows each.
  const engine = await engineWith(
    'distinct',
    BUCKETS,
    'CREATE INDEX t_bucket ON t (bucket)',
    'INSERT INTO t (id, bucket) SELECT g, 5 FROM generate_series(1, 1500) g',
    'INSERT INTO t (id, bucket) SELECT 2000 + g, (ARRAY[1, 9, 10, 11, 40, 41, 1000])[1 + g % 7] FROM generate_series(1, 30) g',
  );
  const m = await define(engine, { name: 'm', table: 't', column: 'bucket', strategy: 'distinct', batchSize: 3 });
  assert.equal(String(m.maxValue), '1000');
  assert.deepEqual((await runToEnd(engine)).errors, []);
  const jobs = await jobsOf(engine.pool, 'm');
  assert.deepEqual(
    jobs.map((j) => [String(j.minValue), String(j.maxValue)]),
    [
      ['1', '9'],
      ['10', '40'],
      ['41', '1000'],
    ],
  );
  for (const j of jobs) {
    const { rows } = await engine.pool.query('SELECT count(DISTINCT bucket)::int AS n FROM t WHERE bucket BETWEEN $1 AND $2', [
      j.minValue,
      j.maxValue,
    ]);
    assert.ok(rows[0].n <= 3, `job ${j.minValue}..${j.maxValue} holds ${rows[0].n} distinct values`);
  }
  assert.deepEqual(await counters(engine.pool, 't'), { lo: 1, hi: 1, n: 1530 });
  assert.equal(String((await migration(engine.pool, 'm')).rowsProcessed), '1530');
});

test('the distinct strategy is refused with MISSING_INDEX without an index led by the column, and needs an integer column', async () => {
  const engine = await engineWith(
    'distinctidx',
    BUCKETS,
    'ALTER TABLE t ADD COLUMN label text',
    'CREATE INDEX t_label ON t (label)',
    'CREATE INDEX t_other ON t (id, bucket)',
  );
  await assert.rejects(
    define(engine, { name: 'm', table: 't', column: 'bucket', strategy: 'distinct' }),
    (err: Error & { code?: string }) => {
      assert.equal(err.code, ErrorCode.MISSING_INDEX);
      assert.match(err.message, /CREATE INDEX CONCURRENTLY ON "public"\."t" \("bucket"\)/);
      return true;
    },
  );
  await assert.rejects(define(engine, { name: 'm', table: 't', column: 'label', strategy: 'distinct' }), {
    code: ErrorCode.INVALID_COLUMN,
  });
  await engine.pool.query('CREATE INDEX t_bucket_id ON t (bucket, id)');
  await define(engine, { name: 'm', table: 't', column: 'bucket', strategy: 'distinct' });
});

/** Deterministic pseudo-random ids (a linear congruential generator), so a failure can be replayed. */
function sparseIds(seed: number, count: number): number[] {
  const ids = new Set<number>();
  let x = seed;
  while (ids.size < count) {
    x = (x * 1103515245 + 12345) % 2147483648;
    ids.add(1 + (x % 5000));
  }
  return [...ids].sort((a, b) => a - b);
}

for (const [seed, batchSize] of [
  [1, 1],
  [7, 13],
  [42, 50],
  [99, 333],
] as const) {
  test(`README promises hold for sparse ids (seed ${seed}, batch size ${batchSize}): jobs hold at most batch size rows, ranges tile min..max, rows processed equal rows changed`, async () => {
    const db = await createTestDatabase(`promise${seed}`);
    const ids = sparseIds(seed, 400);
    await createItems(db.pool, 'items', ids);
    const engine: Engine = { pool: db.pool, registry: registryWith() };
    await define(engine, { name: 'm', batchSize });
    assert.deepEqual((await runToEnd(engine, { maxSteps: 1000 })).errors, []);
    const jobs = await jobsOf(db.pool, 'm');
    // The default range starts at the column's minimum.
    let next = BigInt(ids[0] as number);
    for (const j of jobs) {
      assert.equal(j.status, JobStatus.FINISHED);
      assert.equal(j.minValue, next, 'ranges are contiguous: no gap, no overlap');
      next = (j.maxValue as bigint) + 1n;
      const inRange = ids.filter((id) => BigInt(id) >= (j.minValue as bigint) && BigInt(id) <= (j.maxValue as bigint)).length;
      assert.ok(inRange <= batchSize, `job ${j.minValue}..${j.maxValue} holds ${inRange} rows (batch size ${batchSize})`);
      assert.ok(inRange > 0, `job ${j.minValue}..${j.maxValue} is empty`);
      assert.equal(String(j.rowsAffected), String(inRange));
    }
    assert.equal(next - 1n, BigInt(ids.at(-1) as number), 'the last range ends at max');
    const m = await migration(db.pool, 'm');
    assert.deepEqual([m.status, m.failureErrorCode, String(m.rowsProcessed)], [MigrationStatus.FINISHED, null, String(ids.length)]);
    assert.deepEqual(await counters(db.pool), { lo: 1, hi: 1, n: ids.length }, 'rows processed equal rows changed, each once');
  });
}
