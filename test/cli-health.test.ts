import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import { createHealthActivities } from '../activities/health';
import { BUILTIN_INDICATORS } from '../src/health/indicators';
import { BbmMetrics } from '../src/metrics';
import { bbm, cliEnv, shown } from './helpers/cli';
import { createItems, createTestDatabase } from './helpers/db';
import { define, registryWith } from './helpers/engine';

test('bbm health prints every indicator with its value, threshold and verdict, as a table or as JSON', async () => {
  const db = await createTestDatabase('clihealth');
  await createItems(db.pool, 'items', 100);
  await define({ pool: db.pool, registry: registryWith() }, { name: 'health-m', batchSize: 10 });
  const env = cliEnv(db.url, 'q');
  const [json, human] = await Promise.all([
    bbm(['health', '--migration', 'health-m', '--json', '--knob', 'maxActiveBackends=7'], env),
    bbm(['health', '--table', 'items'], env),
  ]);
  assert.equal(json.code, 0, shown(json));
  const report = JSON.parse(json.stdout) as {
    healthy: boolean;
    table: string;
    indicators: { indicator: string; value: number | null; unit: string; threshold: number | null; verdict: string }[];
  };
  assert.equal(report.table, 'public.items');
  assert.equal(typeof report.healthy, 'boolean');
  assert.deepEqual(
    report.indicators.map((i) => i.indicator),
    BUILTIN_INDICATORS.map((i) => i.name),
  );
  const byName = Object.fromEntries(report.indicators.map((i) => [i.indicator, i]));
  assert.deepEqual(byName.active_backends, {
    indicator: 'active_backends',
    value: 0,
    unit: 'sessions',
    threshold: 7,
    verdict: 'ok',
    detail: null,
  });
  assert.equal(byName.wal_archive_backlog?.threshold, 42);
  assert.equal(byName.lock_wait_time?.value, 0);
  for (const i of report.indicators)
    assert.equal(
      i.verdict,
      i.threshold === null ? 'off' : i.value === null ? 'unknown' : i.value > i.threshold ? 'tripped' : 'ok',
      i.indicator,
    );

  assert.equal(human.code, 0, shown(human));
  assert.match(human.stdout, /^Health at \S+, table public\.items$/m);
  assert.match(human.stdout, /^INDICATOR\s+VALUE\s+THRESHOLD\s+VERDICT\s+DETAIL$/m);
  assert.match(human.stdout, /^wal_archive_backlog\s+\d+ segments\s+> 42 segments\s+(ok|TRIPPED)\b/m);
  assert.match(human.stdout, /^active_backends\s+0 sessions\s+off\s+off$/m);
  assert.match(human.stdout, /^(Healthy: a repository would start its next job\.|Unhealthy: a repository would hold its jobs \(.+\)\.)$/m);
});

test("bbm health --repository of a repository whose migrations all finished checks its last migration's table, not cluster-wide", async () => {
  const db = await createTestDatabase('clihealthdone');
  await createItems(db.pool, 'items', 20);
  await db.pool.query('CREATE TABLE later (id bigint PRIMARY KEY, counter integer NOT NULL DEFAULT 0)');
  const engine = { pool: db.pool, registry: registryWith() };
  await define(engine, { name: 'first', repository: 'done-repo', batchSize: 10 });
  await define(engine, { name: 'second', repository: 'done-repo', table: 'later', batchSize: 10 });
  await db.pool.query(`UPDATE bbm.migrations SET status = 2 WHERE repository = 'done-repo'`);
  const r = await bbm(['health', '--repository', 'done-repo'], cliEnv(db.url, 'q'));
  assert.equal(r.code, 0, shown(r));
  assert.match(r.stdout, /^Health at \S+, table public\.later$/m);
});

test('bbm health refuses unknown targets and bad thresholds with a coded error', async () => {
  const db = await createTestDatabase('clihealthbad');
  await createItems(db.pool, 'items', 10);
  const env = cliEnv(db.url, 'q');
  const cases: [string[], number, RegExp][] = [
    [['health', '--table', 'no_such_table'], 2, /^error\[INVALID_TABLE\]: Table public\.no_such_table does not exist/],
    [['health', '--table', 'items; DROP TABLE items'], 2, /^error\[INVALID_IDENTIFIER\]/],
    [['health', '--migration', 'no-such-migration'], 6, /^error\[MIGRATION_NOT_FOUND\]/],
    [['health', '--repository', 'no-such-repository'], 6, /^error\[REPOSITORY_NOT_FOUND\]/],
    [['health', '--table', 'items', '--migration', 'x'], 2, /^error\[INVALID_INPUT\]: Give at most one of repository, migration and table/],
    [['health', '--knob', 'maxLockWaitMs=-3'], 2, /^error\[INVALID_INPUT\]: .*maxLockWaitMs must be an integer from 0 to 3600000; got -3/],
  ];
  const results = await Promise.all(cases.map(([args]) => bbm(args, env)));
  for (const [i, [args, code, message]] of cases.entries()) {
    const r = results[i]!;
    assert.equal(r.code, code, `${args.join(' ')}\n${shown(r)}`);
    assert.match(r.stderr, message, args.join(' '));
  }
  assert.equal((await db.pool.query('SELECT count(*)::int AS n FROM items')).rows[0].n, 10, 'nothing reached SQL');
});

test("the checkHealth activity checks a repository's current table, publishes gauges, and refuses bad input for good", async () => {
  const db = await createTestDatabase('acthealth');
  await createItems(db.pool, 'items', 100);
  await define({ pool: db.pool, registry: registryWith() }, { name: 'act-m', repository: 'act-repo', batchSize: 10 });
  const metrics = new BbmMetrics();
  const { checkHealth } = createHealthActivities({ pool: db.pool, metrics });
  const result = await checkHealth({ repository: 'act-repo', thresholds: { maxLockWaitMs: 5_000, healthCheckIntervalMs: 60_000 } });
  assert.equal(result.table, 'public.items');
  assert.equal(result.thresholds.lock_wait_time, 5_000);
  assert.equal(result.cached, false);
  assert.equal(
    (await checkHealth({ repository: 'act-repo', thresholds: { healthCheckIntervalMs: 60_000 } })).cached,
    true,
    'the second check within the interval reads no database',
  );
  metrics.recordThrottled('act-repo', ['replication_lag_bytes'], 2.5);
  const text = await metrics.registry.metrics();
  assert.match(text, /^bbm_health_indicator_value\{indicator="lock_wait_time",unit="ms",table="public\.items"\} 0$/m);
  assert.match(text, /^bbm_health_indicator_value\{indicator="wal_archive_backlog",unit="segments",table=""\} \d+$/m);
  // The second check (cached readings) asked with the default maxLockWaitMs: the threshold follows the knobs of the latest check.
  assert.match(text, /^bbm_health_indicator_threshold\{repository="act-repo",indicator="lock_wait_time",unit="ms"\} 1000$/m);
  // Another repository's knobs give it its own threshold series, even from cached readings.
  await define({ pool: db.pool, registry: registryWith() }, { name: 'act-m2', repository: 'act-repo2', batchSize: 10 });
  await checkHealth({ repository: 'act-repo2', thresholds: { maxLockWaitMs: 7_000, healthCheckIntervalMs: 60_000 } });
  const both = await metrics.registry.metrics();
  assert.match(both, /^bbm_health_indicator_threshold\{repository="act-repo",indicator="lock_wait_time",unit="ms"\} 1000$/m);
  assert.match(both, /^bbm_health_indicator_threshold\{repository="act-repo2",indicator="lock_wait_time",unit="ms"\} 7000$/m);
  assert.match(text, /^bbm_throttled_seconds_total\{repository="act-repo",indicator="replication_lag_bytes"\} 2\.5$/m);

  for (const input of [{ thresholds: { maxLockWaitMs: 'x' } }, 'act-repo', { table: 'a', repository: 'b' }, { table: 'x;y' }]) {
    await assert.rejects(checkHealth(input as never), (err: unknown) => {
      assert.ok(err instanceof ApplicationFailure, String(err));
      assert.match(String(err.type), /^INVALID_(INPUT|IDENTIFIER)$/);
      assert.equal(err.nonRetryable, true);
      return true;
    });
  }
});
