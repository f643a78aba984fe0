import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { resolveConfig } from '../../src/config';
import { startDevTemporal, type DevTemporalServer } from '../../src/dev/temporal-server';
import { defineMigration } from '../../src/engine/definitions';
import { BUILTIN_WORK } from '../../src/engine/builtin-work';
import { WorkRegistry } from '../../src/engine/registry';
import { createLogger } from '../../src/logger';
import { connectClient } from '../../src/temporal/connection';
import { repositoryWorkflowId } from '../../src/contract/ids';
import { repositoryMigration } from '../../workflows/repository';
import { createTestDatabase } from '../helpers/db';
import { testEnv } from '../helpers/env';
import { uniqueTaskQueue } from '../helpers/temporal';
import { spawnWorker, type WorkerProcess } from '../helpers/worker-process';
import { assertExactlyOnce, createCounterTable, rowsProcessed, waitFor } from './lib/data';

const ROWS = 100_000;

test('the Temporal server restarting mid-migration (file-backed) loses nothing: the worker reconnects and every row is incremented once', async (t) => {
  const binary = testEnv.temporalCli;
  assert.ok(binary, 'BBM_TEST_TEMPORAL_CLI is set by test/run.ts');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bbm-temporal-restart-'));
  const dbFile = path.join(dir, 'temporal.db');
  const logger = createLogger({ level: 'silent', pretty: false });
  let server: DevTemporalServer = await startDevTemporal({ binary, dbFile, uiPort: false, logger });
  const port = Number(server.address.split(':')[1]);
  let worker: WorkerProcess | undefined;
  try {
    const db = await createTestDatabase('temporal-restart');
    await createCounterTable(db.pool, 'items', ROWS);
    const name = 'temporal-restart-m';
    const repository = 'temporal-restart';
    await defineMigration(
      { pool: db.pool, registry: new WorkRegistry([...BUILTIN_WORK]) },
      { name, repository, work: 'increment', table: 'items', column: 'id', targetJobMs: 0, batchSize: 1_000, args: { target: 'counter' } },
    );

    const taskQueue = uniqueTaskQueue('temporal-restart');
    const env = { TEMPORAL_ADDRESS: server.address };
    worker = await spawnWorker({ databaseUrl: db.url, taskQueue, env });
    const client = await connectClient(resolveConfig({ ...process.env, ...env }));
    try {
      const handle = await client.workflow.start(repositoryMigration, {
        taskQueue,
        workflowId: repositoryWorkflowId(repository),
        // Durable timers between batches put part of the run's state in the server only.
        args: [{ repository, knobs: { minDelayMs: 20, maxDelayMs: 80, maxJobPerBatch: 2 } }],
      });
      await waitFor('30% of the rows', async () => (await rowsProcessed(db.pool, [name])) >= ROWS * 0.3, 120_000);
      await server.stop();
      const atStop = await rowsProcessed(db.pool, [name]);
      await new Promise((r) => setTimeout(r, 3_000));
      const whileDown = await rowsProcessed(db.pool, [name]);
      server = await startDevTemporal({ binary, dbFile, port, uiPort: false, logger });
      const restartedAt = Date.now();
      const summary = await handle.result();
      assert.equal(summary.state, 'finished');
      const report = await assertExactlyOnce(db.pool, 'items', [name], ROWS);
      assert.ok(worker.alive(), 'the same worker process finished the migration');
      t.diagnostic(
        `server stopped at ${atStop}/${ROWS} rows (${whileDown} after 3 s down), restarted on the same port and file; ` +
          `the same worker reconnected and finished ${((Date.now() - restartedAt) / 1000).toFixed(1)} s later in ${summary.runs} run(s); ${report.rows} rows at exactly 1 over ${report.jobs} jobs`,
      );
    } finally {
      await client.connection.close();
    }
  } finally {
    await worker?.stop();
    await server.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
