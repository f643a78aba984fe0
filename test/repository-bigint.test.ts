import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BUILTIN_WORK } from '../src/engine/builtin-work';
import { defineMigration } from '../src/engine/definitions';
import { WorkRegistry } from '../src/engine/registry';
import { repositoryWorkflowId } from '../src/contract/ids';
import { repositoryMigration } from '../workflows/repository';
import { createTestDatabase } from './helpers/db';
import { startTestWorker } from './helpers/temporal';

test('a repository workflow carries ids above 2^53, near the int8 maximum and negative exactly, in the database and in its result', async () => {
  const db = await createTestDatabase('repo_big');
  await db.pool.query('CREATE TABLE t (id bigint PRIMARY KEY, counter int NOT NULL DEFAULT 0)');
  // 2^53 + 1..10, ten ids just below the int8 maximum, and ten negative ids.
  await db.pool.query(`INSERT INTO t (id) SELECT 9007199254740992 + g FROM generate_series(1, 10) g
                       UNION ALL SELECT 9223372036854775807 - g FROM generate_series(0, 9) g
                       UNION ALL SELECT -9007199254740992 - g FROM generate_series(1, 10) g`);
  const registry = new WorkRegistry([...BUILTIN_WORK]);
  const define = (name: string, minValue: string, maxValue?: string) =>
    defineMigration(
      { pool: db.pool, registry },
      {
        name,
        repository: 'big',
        work: 'increment',
        table: 't',
        column: 'id',
        targetJobMs: 0,
        batchSize: 3,
        minValue,
        maxValue,
        args: { target: 'counter' },
      },
    );
  await define('negative', '-9223372036854775808', '0');
  await define('positive', '1');
  const worker = await startTestWorker(db, { registry });
  const handle = await worker.client.workflow.start(repositoryMigration, {
    taskQueue: worker.taskQueue,
    workflowId: repositoryWorkflowId('big'),
    args: [{ repository: 'big', knobs: { minDelayMs: 0, maxDelayMs: 0 } }],
  });
  const summary = await handle.result();
  assert.equal(summary.state, 'finished');
  assert.equal(summary.rows, '30');
  assert.deepEqual(
    summary.migrations.map((m) => [m.name, m.status, m.rowsProcessed, m.currentRange]),
    [
      ['negative', 'finished', '10', { start: '-9007199254740993', end: '0', cursor: null }],
      ['positive', 'finished', '20', { start: '9223372036854775806', end: '9223372036854775807', cursor: null }],
    ],
  );
  const { rows } = await db.pool.query('SELECT count(*)::int AS n, min(counter) AS lo, max(counter) AS hi FROM t');
  assert.deepEqual(rows[0], { n: 30, lo: 1, hi: 1 });
  const memo = (await handle.describe()).memo as { migrations: { name: string; minValue: string; maxValue: string }[] };
  assert.deepEqual(
    memo.migrations.map((m) => [m.name, m.minValue, m.maxValue]),
    [
      ['negative', '-9223372036854775808', '0'],
      ['positive', '1', '9223372036854775807'],
    ],
  );
});
