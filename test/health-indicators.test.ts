import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Client, Pool } from 'pg';
import { checkHealth, type CheckHealthInput, type CheckHealthResult } from '../src/health/check';
import { HealthMonitor } from '../src/health/monitor';
import { HealthRegistry } from '../src/health/registry';
import { DEFAULT_KNOBS, type Knobs } from '../src/knobs';
import { query, startReplicatedCluster, type ReplicatedCluster } from './helpers/replication';
import { waitFor } from './helpers/wait';

// Every other indicator off, so each test watches only the one it provokes.
const OFF: Partial<Knobs> = {
  maxReplicationLagMs: 0,
  maxReplicationLagBytes: 0,
  maxWalArchiveBacklog: 0,
  maxTransactionAgeMs: 0,
  maxXminHorizonAge: 0,
  throttleOnVacuum: false,
  maxLockWaitMs: 0,
  maxActiveBackends: 0,
};

let cluster: ReplicatedCluster;
let pool: Pool;
let monitor: HealthMonitor;

before(async () => {
  cluster = await startReplicatedCluster('health');
  pool = new Pool({ connectionString: cluster.url, max: 4 });
  monitor = new HealthMonitor({ db: pool });
  await pool.query(
    'CREATE TABLE items (id bigint PRIMARY KEY, v int NOT NULL DEFAULT 0); INSERT INTO items (id) SELECT generate_series(1, 1000)',
  );
});

after(async () => {
  await pool?.end();
  await cluster?.stop();
});

function check(thresholds: Partial<Knobs>, target: Omit<CheckHealthInput, 'thresholds'> = {}): Promise<CheckHealthResult> {
  return checkHealth({ db: pool, monitor }, { ...target, thresholds: { ...OFF, ...thresholds }, fresh: true });
}

const tripped = (r: CheckHealthResult, indicator: string) => r.verdict.tripped.find((t) => t.indicator === indicator);
const valueOf = (r: CheckHealthResult, indicator: string) => r.readings.readings.find((x) => x.indicator === indicator)?.value;

async function connect(url = cluster.url): Promise<Client> {
  const client = new Client({ connectionString: url });
  await client.connect();
  return client;
}

test('replication lag trips while replay is paused on the standby and WAL is written, and clears once replay resumes', async () => {
  const limits = { maxReplicationLagBytes: 256 * 1024 };
  await waitFor('a streaming standby that keeps up to read healthy', async () => (await check(limits)).verdict.healthy);
  await query(cluster.standby.adminUrl, 'SELECT pg_wal_replay_pause()');
  try {
    await waitFor('replay to pause', () =>
      query(cluster.standby.adminUrl, 'SELECT pg_get_wal_replay_pause_state() AS s').then((rows) => rows[0]?.s === 'paused'),
    );
    await pool.query("CREATE TABLE filler AS SELECT g AS id, repeat('x', 100) AS pad FROM generate_series(1, 20000) g");
    const lagging = await waitFor('replication_lag_bytes to trip', async () => {
      const r = await check(limits);
      return tripped(r, 'replication_lag_bytes') ? r : undefined;
    });
    assert.equal(lagging.verdict.healthy, false);
    assert.deepEqual(
      { ...tripped(lagging, 'replication_lag_bytes'), value: 0 },
      { indicator: 'replication_lag_bytes', value: 0, threshold: 256 * 1024, unit: 'bytes' },
    );
    assert.ok((tripped(lagging, 'replication_lag_bytes')?.value ?? 0) > 1_000_000, 'about 2 MB of WAL is not replayed');
    assert.equal(typeof valueOf(lagging, 'replication_lag_time'), 'number', 'the time lag is measured too');
    assert.match(lagging.readings.readings.find((r) => r.indicator === 'replication_lag_bytes')?.detail ?? '', /^1 standby; most behind: /);
  } finally {
    await query(cluster.standby.adminUrl, 'SELECT pg_wal_replay_resume()');
  }
  const caughtUp = await waitFor('the standby to catch up', async () => {
    const r = await check(limits);
    return r.verdict.healthy ? r : undefined;
  });
  assert.ok((valueOf(caughtUp, 'replication_lag_bytes') ?? Infinity) <= 256 * 1024);
});

test('an open transaction in another session trips the transaction age, and closing it clears it', async () => {
  const other = await connect();
  try {
    await other.query('BEGIN');
    await other.query('SELECT 1');
    const old = await waitFor('oldest_transaction_age to trip', async () => {
      const r = await check({ maxTransactionAgeMs: 300 });
      return tripped(r, 'oldest_transaction_age') ? r : undefined;
    });
    assert.ok((tripped(old, 'oldest_transaction_age')?.value ?? 0) > 300);
    await other.query('COMMIT');
    const r = await check({ maxTransactionAgeMs: 300 });
    assert.equal(r.verdict.healthy, true, JSON.stringify(r.verdict));
    assert.equal(valueOf(r, 'oldest_transaction_age'), 0);
  } finally {
    await other.end();
  }
});

test('a snapshot held while other transactions commit ages the xmin horizon until it is released', async () => {
  const other = await connect();
  try {
    await other.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
    await other.query('SELECT count(*) FROM items');
    for (let i = 0; i < 30; i++) await pool.query('SELECT pg_current_xact_id()');
    const r = await check({ maxXminHorizonAge: 20 });
    assert.ok((tripped(r, 'xmin_horizon_age')?.value ?? 0) >= 30, JSON.stringify(r.verdict));
    await other.query('COMMIT');
    await waitFor('the xmin horizon to move on', async () => (await check({ maxXminHorizonAge: 20 })).verdict.healthy);
  } finally {
    await other.end();
  }
});

test('a session waiting for a row lock of the table trips the lock wait, and the table counts its lock holders', async () => {
  const holder = await connect();
  const waiter = await connect();
  const limits = { maxLockWaitMs: 200, maxActiveBackends: 1 };
  try {
    await holder.query('BEGIN');
    await holder.query('UPDATE items SET v = 1 WHERE id = 1');
    const blocked = waiter.query('UPDATE items SET v = 2 WHERE id = 1');
    const r = await waitFor('lock_wait_time to trip', async () => {
      const x = await check(limits, { table: 'items' });
      return tripped(x, 'lock_wait_time') ? x : undefined;
    });
    assert.equal(r.table, 'public.items');
    assert.ok((tripped(r, 'active_backends')?.value ?? 0) >= 2, 'both sessions hold a lock on the table');
    assert.match(
      r.readings.readings.find((x) => x.indicator === 'lock_wait_time')?.detail ?? '',
      /1 session\(s\) waiting for a lock on public\.items/,
    );
    assert.equal(valueOf(await check(limits, { table: 'filler' }), 'lock_wait_time'), 0, 'waits on another table do not count');
    await holder.query('COMMIT');
    await blocked;
    assert.equal((await check(limits, { table: 'items' })).verdict.healthy, true);
  } finally {
    await holder.end();
    await waiter.end();
  }
});

test('a VACUUM working on the table trips vacuum_on_table until it ends', async () => {
  const pinner = await connect();
  const vacuumer = await connect();
  try {
    // A cursor pins the table's first page; VACUUM (FREEZE) must freeze it, so it waits for the pin.
    await pinner.query('BEGIN');
    await pinner.query('DECLARE c CURSOR FOR SELECT * FROM items');
    await pinner.query('FETCH 1 FROM c');
    const vacuum = vacuumer.query('VACUUM (FREEZE) items');
    const r = await waitFor('vacuum_on_table to trip', async () => {
      const x = await check({ throttleOnVacuum: true }, { table: 'items' });
      return tripped(x, 'vacuum_on_table') ? x : undefined;
    });
    assert.deepEqual(tripped(r, 'vacuum_on_table'), { indicator: 'vacuum_on_table', value: 1, threshold: 0, unit: 'vacuums' });
    await pinner.query('COMMIT');
    await vacuum;
    assert.equal((await check({ throttleOnVacuum: true }, { table: 'items' })).verdict.healthy, true);
  } finally {
    await pinner.end();
    await vacuumer.end();
  }
});

test('a failing archive_command makes the WAL archive backlog trip, counted and estimated alike, and fixing it clears it', async () => {
  await pool.query('CREATE ROLE plain LOGIN; GRANT CONNECT ON DATABASE bbm TO plain');
  const plainUrl = new URL(cluster.url);
  plainUrl.username = 'plain';
  const plainPool = new Pool({ connectionString: plainUrl.toString(), max: 1 });
  const plain = new HealthMonitor({ db: plainPool });
  const limits = { ...DEFAULT_KNOBS, ...OFF, maxWalArchiveBacklog: 3 };
  const both = async () => [
    await checkHealth({ db: pool, monitor }, { thresholds: limits, fresh: true }),
    await checkHealth({ db: plainPool, monitor: plain }, { thresholds: limits, fresh: true }),
  ];
  try {
    await pool.query("ALTER SYSTEM SET archive_command = 'exit 1'");
    await pool.query('SELECT pg_reload_conf()');
    for (let i = 0; i < 6; i++) {
      await pool.query('INSERT INTO items (id) VALUES ($1)', [10_000 + i]);
      await pool.query('SELECT pg_switch_wal()');
    }
    const [counted, estimated] = await waitFor('both ways of measuring the backlog to trip', async () => {
      const rs = await both();
      return rs.every((r) => tripped(r, 'wal_archive_backlog')) ? rs : undefined;
    });
    const [exact, estimate] = [counted, estimated].map((r) => tripped(r!, 'wal_archive_backlog')?.value ?? 0);
    assert.ok(exact! >= 6, `${exact} .ready files`);
    assert.ok(Math.abs(estimate! - exact!) <= 1, `the estimate ${estimate} matches the count ${exact}`);
    assert.match(
      estimated!.readings.readings.find((r) => r.indicator === 'wal_archive_backlog')?.detail ?? '',
      /archiving fails since [0-9A-F]{24}; estimated/,
    );
    await pool.query('ALTER SYSTEM SET archive_command = $$cp %p ' + cluster.archiveDir + '/%f$$');
    await pool.query('SELECT pg_reload_conf()');
    await waitFor('the archiver to catch up', async () => (await both()).every((r) => r.verdict.healthy), 120_000);
  } finally {
    await plainPool.end();
  }
});

test('custom indicators are read after the built-ins; one that throws reads as unknown, never as a trip', async () => {
  const registry = new HealthRegistry([
    {
      name: 'rows_in_table',
      unit: 'rows',
      description: 'rows of the checked table',
      threshold: 500,
      read: async (ctx) => Number((await ctx.db.query(`SELECT count(*) AS n FROM ${ctx.quotedTable}`)).rows[0].n),
    },
    { name: 'broken', unit: 'x', description: 'always fails', threshold: 0, read: () => Promise.reject(new Error('no such metric')) },
  ]);
  const custom = new HealthMonitor({ db: pool, indicators: registry });
  const r = await checkHealth({ db: pool, monitor: custom, indicators: registry }, { table: 'items', thresholds: OFF, fresh: true });
  assert.ok((tripped(r, 'rows_in_table')?.value ?? 0) >= 1_000);
  assert.deepEqual(r.verdict.unknown, ['broken']);
  assert.equal(r.readings.readings.find((x) => x.indicator === 'broken')?.detail, 'failed: no such metric');
});

test('readings are reused within the check interval, so a cached check costs no round trip', async () => {
  const first = await checkHealth({ db: pool, monitor }, { table: 'items', thresholds: { healthCheckIntervalMs: 60_000 } });
  const second = await checkHealth({ db: pool, monitor }, { table: 'items', thresholds: { healthCheckIntervalMs: 60_000 } });
  assert.equal(second.cached, true);
  assert.equal(second.readings, first.readings);
  const third = await checkHealth({ db: pool, monitor }, { table: 'items', thresholds: { healthCheckIntervalMs: 0 } });
  assert.equal(third.cached, false);
  assert.notEqual(third.readings.at, first.readings.at);
});
