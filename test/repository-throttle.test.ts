import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { WorkflowHandle } from '@temporalio/client';
import { Client, type Pool } from 'pg';
import { repositoryWorkflowId } from '../src/contract/ids';
import { progressQuery, type RepositoryProgress } from '../src/contract/messages';
import { SA } from '../src/contract/search-attributes';
import { createPool } from '../src/db/pool';
import { migrateSchema } from '../src/db/schema';
import { JobStatus } from '../src/engine/constants';
import { defineMigration } from '../src/engine/definitions';
import type { Knobs } from '../src/knobs';
import { repositoryMigration } from '../workflows/repository';
import { bbm, cliEnv } from './helpers/cli';
import { counters, createItems, type TestDatabase } from './helpers/db';
import { query, startReplicatedCluster, type ReplicatedCluster } from './helpers/replication';
import { startTestWorker, type TestWorker } from './helpers/temporal';
import { waitFor } from './helpers/wait';
import { registryWith, slowIncrement } from './helpers/work';

// Every indicator off but the one a test provokes; quick checks and re-checks.
const KNOBS: Partial<Knobs> = {
  minDelayMs: 1,
  maxDelayMs: 1,
  healthCheckIntervalMs: 50,
  maxThrottleBackoffMs: 400,
  maxReplicationLagMs: 0,
  maxReplicationLagBytes: 0,
  maxWalArchiveBacklog: 0,
  maxTransactionAgeMs: 0,
  maxXminHorizonAge: 0,
  throttleOnVacuum: false,
  maxLockWaitMs: 0,
  maxActiveBackends: 0,
};
const ROWS = 200;
const BATCH = 20;

let cluster: ReplicatedCluster;
let pool: Pool;
let db: TestDatabase;
let worker: TestWorker;
const registry = registryWith(slowIncrement(5));

before(async () => {
  cluster = await startReplicatedCluster('throttle');
  pool = createPool({ url: cluster.url, max: 10 });
  await migrateSchema(pool);
  db = { url: cluster.url, pool, name: 'bbm' };
});

after(async () => {
  await pool?.end();
  await cluster?.stop();
});

/** A fresh table and migration `name` (repository `name`), and its workflow started with `knobs`. */
async function start(name: string, knobs: Partial<Knobs>): Promise<WorkflowHandle<typeof repositoryMigration>> {
  await createItems(pool, name, ROWS);
  await defineMigration(
    { pool, registry },
    { name, repository: name, work: 'slow_increment', table: name, column: 'id', batchSize: BATCH, targetJobMs: 0 },
  );
  // A worker per test: startTestWorker stops it when the test that started it ends.
  worker = await startTestWorker(db, { registry });
  return worker.client.workflow.start(repositoryMigration, {
    taskQueue: worker.taskQueue,
    workflowId: repositoryWorkflowId(name),
    args: [{ repository: name, knobs: { ...KNOBS, ...knobs } }],
  });
}

/** The progress query once the repository is throttled by `indicator`. */
function throttledBy(handle: WorkflowHandle, indicator: string): Promise<RepositoryProgress> {
  return waitFor(`the repository to be throttled by ${indicator}`, async () => {
    const p = await handle.query(progressQuery);
    return p.state === 'throttled' && p.throttle?.tripped.some((t) => t.indicator === indicator) ? p : undefined;
  });
}

/** Seconds bbm_throttled_seconds_total counted for a repository and an indicator. */
async function throttledSeconds(repository: string, indicator: string): Promise<number> {
  const { values } = await worker.metrics.throttledSeconds.get();
  return values.find((v) => v.labels.repository === repository && v.labels.indicator === indicator)?.value ?? 0;
}

async function jobTimes(name: string): Promise<{ finished: number; firstStart: Date | null }> {
  const { rows } = await pool.query(
    `SELECT count(*) FILTER (WHERE j.status = $2)::int AS finished, min(j.started_at) AS first_start
       FROM bbm.jobs j JOIN bbm.migrations m ON m.id = j.migration_id WHERE m.name = $1`,
    [name, JobStatus.FINISHED],
  );
  return { finished: rows[0].finished, firstStart: rows[0].first_start };
}

async function dbNow(): Promise<Date> {
  return (await pool.query('SELECT clock_timestamp() AS now')).rows[0].now;
}

async function finishedWithEveryRowOnce(handle: WorkflowHandle<typeof repositoryMigration>, name: string): Promise<void> {
  const summary = await handle.result();
  assert.equal(summary.state, 'finished');
  assert.deepEqual(await counters(pool, name), { lo: 1, hi: 1, n: ROWS });
  assert.equal((await jobTimes(name)).finished, ROWS / BATCH);
}

test('replica lag holds every job while standby replay is paused, and the migration finishes by itself once replay resumes', async () => {
  await query(cluster.standby.adminUrl, 'SELECT pg_wal_replay_pause()');
  let resumed = false;
  try {
    await waitFor('replay to pause', () =>
      query(cluster.standby.adminUrl, 'SELECT pg_get_wal_replay_pause_state() AS s').then((rows) => rows[0]?.s === 'paused'),
    );
    // WAL the standby receives but does not replay: the lag is above the threshold before the first job.
    await pool.query('CREATE TABLE wal_filler AS SELECT g, repeat(md5(g::text), 8) AS t FROM generate_series(1, 2000) AS g');
    const handle = await start('lagging', { maxReplicationLagBytes: 64 * 1024 });
    const held = await throttledBy(handle, 'replication_lag_bytes');
    const from = await dbNow();
    const lag = held.throttle!.tripped.find((t) => t.indicator === 'replication_lag_bytes')!;
    assert.ok(lag.value > lag.threshold && lag.threshold === 64 * 1024, JSON.stringify(lag));
    assert.match(held.detail ?? '', /^replication_lag_bytes \d/);

    const described = await waitFor('the throttled state in the search attribute', async () => {
      const d = await handle.describe();
      return d.typedSearchAttributes.get(SA.status) === 'throttled' ? d : undefined;
    });
    assert.equal(described.typedSearchAttributes.get(SA.repository), 'lagging');
    const env = cliEnv(cluster.url, worker.taskQueue);
    const repoStatus = await bbm(['repositories', 'status', 'lagging'], env);
    assert.equal(repoStatus.code, 0, repoStatus.stderr);
    assert.match(repoStatus.stdout, /state\s+throttled: replication_lag_bytes \d/);
    const migStatus = await waitFor('bbm migrations status to show the throttle (visibility is eventually consistent)', async () => {
      const r = await bbm(['migrations', 'status', '--json'], env);
      const rows = JSON.parse(r.stdout) as { name: string; throttled?: string }[];
      return rows.find((m) => m.name === 'lagging')?.throttled;
    });
    assert.match(migStatus, /^throttled: replication_lag_bytes \d/);
    // Throttled time is counted as it passes, from re-checks on the database's clock.
    await waitFor(
      'a second of throttled time in the metrics',
      async () => (await throttledSeconds('lagging', 'replication_lag_bytes')) >= 1,
    );
    const until = await dbNow();
    const during = await jobTimes('lagging');
    assert.equal(during.finished, 0, 'no job committed while the standby lagged');
    assert.equal(during.firstStart, null, 'no job even started');
    assert.equal((await handle.query(progressQuery)).state, 'throttled');

    await query(cluster.standby.adminUrl, 'SELECT pg_wal_replay_resume()');
    resumed = true;
    await finishedWithEveryRowOnce(handle, 'lagging');
    const { firstStart } = await jobTimes('lagging');
    assert.ok(
      firstStart && firstStart > until && until > from,
      `first job started ${firstStart?.toISOString()}, after ${until.toISOString()}`,
    );
  } finally {
    if (!resumed) await query(cluster.standby.adminUrl, 'SELECT pg_wal_replay_resume()');
  }
});

test('a long open transaction throttles the repository on transaction age, and closing it lets the migration continue', async () => {
  const other = new Client({ connectionString: cluster.url });
  await other.connect();
  try {
    await other.query('BEGIN');
    await other.query('SELECT pg_current_xact_id()');
    await waitFor('the transaction to be older than the threshold', async () => {
      const { rows } = await pool.query(
        "SELECT 1 FROM pg_stat_activity WHERE pid = $1 AND clock_timestamp() - xact_start > interval '600 milliseconds'",
        [(other as unknown as { processID: number }).processID],
      );
      return rows.length > 0;
    });
    const handle = await start('long_txn', { maxTransactionAgeMs: 500 });
    const held = await throttledBy(handle, 'oldest_transaction_age');
    assert.ok(held.throttle!.tripped[0]!.value > 500);
    assert.equal((await jobTimes('long_txn')).finished, 0);
    await other.query('COMMIT');
    await finishedWithEveryRowOnce(handle, 'long_txn');
    assert.ok((await throttledSeconds('long_txn', 'oldest_transaction_age')) > 0);
  } finally {
    await other.end();
  }
});

test('a failing archive_command throttles the repository on the WAL archive backlog, and fixing it lets the migration continue', async () => {
  await pool.query("ALTER SYSTEM SET archive_command = 'exit 1'");
  await pool.query('SELECT pg_reload_conf()');
  try {
    for (let i = 0; i < 5; i++) {
      await pool.query('INSERT INTO wal_filler VALUES ($1, $2)', [10_000 + i, 'x']);
      await pool.query('SELECT pg_switch_wal()');
    }
    const handle = await start('archiving', { maxWalArchiveBacklog: 3 });
    const held = await throttledBy(handle, 'wal_archive_backlog');
    assert.ok(held.throttle!.tripped[0]!.value > 3, JSON.stringify(held.throttle));
    assert.equal((await jobTimes('archiving')).finished, 0);
  } finally {
    await pool.query('ALTER SYSTEM SET archive_command = $$cp %p ' + cluster.archiveDir + '/%f$$');
    await pool.query('SELECT pg_reload_conf()');
  }
  await finishedWithEveryRowOnce(worker.client.workflow.getHandle(repositoryWorkflowId('archiving')), 'archiving');
});
