import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ErrorCode } from '../../src/errors';
import { evaluate } from '../../src/health/evaluate';
import { describeVerdict, formatValue } from '../../src/health/format';
import { BUILTIN_INDICATORS, healthThresholds, type HealthReading } from '../../src/health/indicators';
import { builtinReadings } from '../../src/health/readings';
import { HealthMonitor } from '../../src/health/monitor';
import { HealthRegistry } from '../../src/health/registry';
import { checkKnobs, DEFAULT_KNOBS, KNOB_NAMES } from '../../src/knobs';
import type { HealthSnapshot } from '../../src/store/health';

const reading = (indicator: string, value: number | null, unit = 'ms'): HealthReading => ({ indicator, value, unit });

test('an indicator trips only when it is enabled, measured and above its threshold', () => {
  const verdict = evaluate(
    {
      readings: [
        reading('a', 1_501),
        reading('b', 1_500),
        reading('c', 9_999),
        reading('d', null),
        reading('e', null),
        reading('f', 1, 'vacuums'),
      ],
    },
    { a: 1_500, b: 1_500, c: null, d: 10, f: 0 },
  );
  assert.deepEqual(verdict, {
    healthy: false,
    tripped: [
      { indicator: 'a', value: 1_501, threshold: 1_500, unit: 'ms' },
      { indicator: 'f', value: 1, threshold: 0, unit: 'vacuums' },
    ],
    unknown: ['d'],
  });
  assert.equal(describeVerdict(verdict), 'throttled: a 1.5 s > 1.5 s; f 1 vacuums > 0 vacuums');
  const healthy = evaluate({ readings: [reading('a', 10), reading('d', null)] }, { a: 1_500, d: 10 });
  assert.deepEqual(healthy, { healthy: true, tripped: [], unknown: ['d'] });
  assert.equal(describeVerdict(healthy), 'healthy (not measurable: d)');
});

test('thresholds come from the knobs: 0 turns a numeric indicator off, throttleOnVacuum trips above 0 vacuums', () => {
  const defaults = healthThresholds(DEFAULT_KNOBS);
  assert.deepEqual(defaults, {
    replication_lag_time: 1_500,
    replication_lag_bytes: 8_388_608,
    wal_archive_backlog: 42,
    oldest_transaction_age: 600_000,
    xmin_horizon_age: 500_000,
    vacuum_on_table: 0,
    lock_wait_time: 1_000,
    active_backends: null,
  });
  const tuned = healthThresholds({ ...DEFAULT_KNOBS, maxReplicationLagMs: 0, throttleOnVacuum: false, maxActiveBackends: 5 });
  assert.equal(tuned.replication_lag_time, null);
  assert.equal(tuned.vacuum_on_table, null);
  assert.equal(tuned.active_backends, 5);
  for (const indicator of BUILTIN_INDICATORS) assert.ok(KNOB_NAMES.includes(indicator.knob), `${indicator.knob} is a knob`);
});

test('health knobs of the wrong type or out of range are refused with INVALID_INPUT, like every knob', () => {
  assert.equal(checkKnobs({ maxReplicationLagMs: 5_000, throttleOnVacuum: false, healthCheckIntervalMs: 0 }), undefined);
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ maxReplicationLagMs: -1 }, /maxReplicationLagMs must be an integer from 0 to 86400000; got -1/],
    [{ maxReplicationLagBytes: '8MB' }, /maxReplicationLagBytes must be an integer/],
    [{ maxWalArchiveBacklog: 1.5 }, /maxWalArchiveBacklog must be an integer from 0 to 1000000/],
    [{ healthCheckIntervalMs: 3_600_001 }, /healthCheckIntervalMs must be an integer from 0 to 3600000/],
    [{ throttleOnVacuum: 'yes' }, /throttleOnVacuum must be true or false/],
    [{ maxTransactionAgeMs: null }, /maxTransactionAgeMs must be an integer/],
    [{ maxLagMs: 5 }, /unknown knob "maxLagMs"/],
  ];
  for (const [knobs, message] of cases) {
    const problem = checkKnobs(knobs);
    assert.equal(problem?.code, ErrorCode.INVALID_INPUT, JSON.stringify(knobs));
    assert.match(problem.message, message);
  }
});

const SNAPSHOT: HealthSnapshot = {
  at: new Date('2030-01-01T00:00:00Z'),
  inRecovery: false,
  seesAllSessions: true,
  standbys: [],
  archiveMode: 'off',
  archiveBacklog: 0,
  archiveFailingWal: null,
  archiveUnset: false,
  archiveMethod: 'exact',
  oldestTransactionMs: null,
  xminHorizonAge: 3,
  tableFound: true,
  vacuums: 0,
  lockWaiters: 0,
  lockWaitMs: 0,
  activeBackends: 2,
};

test('readings: the most-behind standby decides, hidden positions read as unknown, table indicators only with a table', () => {
  const values = (s: HealthSnapshot, table: string | null) =>
    Object.fromEntries(builtinReadings(s, table).map((r) => [r.indicator, r.value]));
  assert.deepEqual(values(SNAPSHOT, null), {
    replication_lag_time: 0,
    replication_lag_bytes: 0,
    wal_archive_backlog: 0,
    oldest_transaction_age: 0,
    xmin_horizon_age: 3,
  });
  const standbys = [
    { name: 'a', address: '10.0.0.1', state: 'streaming', lagMs: 20, lagBytes: 9_000_000 },
    { name: 'b', address: '10.0.0.2', state: 'streaming', lagMs: 4_000, lagBytes: 100 },
  ];
  const lagging = builtinReadings({ ...SNAPSHOT, standbys }, 'public.items');
  assert.deepEqual(
    lagging.find((r) => r.indicator === 'replication_lag_time'),
    { indicator: 'replication_lag_time', value: 4_000, unit: 'ms', detail: '2 standbys; most behind: b (10.0.0.2)' },
  );
  assert.equal(lagging.find((r) => r.indicator === 'replication_lag_bytes')?.value, 9_000_000);
  assert.equal(lagging.find((r) => r.indicator === 'active_backends')?.value, 2);
  const hidden = values({ ...SNAPSHOT, standbys: [{ ...standbys[0]!, lagMs: null, lagBytes: null }] }, null);
  assert.deepEqual([hidden.replication_lag_time, hidden.replication_lag_bytes], [null, null]);
  const missing = builtinReadings({ ...SNAPSHOT, tableFound: false }, 'public.gone').filter((r) => r.indicator === 'lock_wait_time');
  assert.deepEqual(missing, [{ indicator: 'lock_wait_time', value: null, unit: 'ms', detail: 'table public.gone does not exist' }]);
  const unset = builtinReadings(
    { ...SNAPSHOT, archiveMode: 'on', archiveBacklog: null, archiveUnset: true, archiveMethod: 'estimated' },
    null,
  );
  assert.match(unset.find((r) => r.indicator === 'wal_archive_backlog')?.detail ?? '', /no archive_command is set/);
});

test('custom indicators need unique, plain names and a finite threshold or null', () => {
  const read = async () => 1;
  const registry = new HealthRegistry([{ name: 'queue_depth', unit: 'jobs', description: 'jobs waiting', threshold: 100, read }]);
  assert.deepEqual(
    registry.list().map((i) => i.name),
    ['queue_depth'],
  );
  for (const bad of [
    { name: 'queue_depth', threshold: 1 },
    { name: 'replication_lag_time', threshold: 1 },
    { name: 'Bad-Name', threshold: 1 },
    { name: 'ok_name', threshold: Number.NaN },
  ]) {
    assert.throws(
      () => registry.register({ ...bad, unit: 'x', description: 'x', read }),
      (err: Error & { code?: string }) => err.code === ErrorCode.INVALID_INPUT,
      bad.name,
    );
  }
});

test('values are shown in their unit', () => {
  assert.deepEqual(
    [
      formatValue(250, 'ms'),
      formatValue(1_500, 'ms'),
      formatValue(600_000, 'ms'),
      formatValue(8_388_608, 'bytes'),
      formatValue(12, 'bytes'),
      formatValue(500_000, 'transactions'),
      formatValue(null, 'ms'),
    ],
    ['250 ms', '1.5 s', '10.0 min', '8.0 MB', '12 B', '500,000 transactions', '?'],
  );
});

test('the monitor cache reuses a value within its age, shares a load in flight, and forgets a failed one', async () => {
  let clock = 0;
  const monitor = new HealthMonitor({ db: { query: () => Promise.reject(new Error('not used')) }, now: () => clock });
  let loads = 0;
  const load = async (): Promise<number> => ++loads;
  const [a, b] = await Promise.all([monitor.remember('k', 0, load), monitor.remember('k', 0, load)]);
  assert.deepEqual(
    [a, b],
    [
      { value: 1, cached: false },
      { value: 1, cached: true },
    ],
    'two callers at once share one load, even with no cache age',
  );
  clock = 999;
  assert.deepEqual(await monitor.remember('k', 1_000, load), { value: 1, cached: true });
  clock = 1_000;
  assert.deepEqual(await monitor.remember('k', 1_000, load), { value: 2, cached: false }, 'expired at maxAgeMs');
  await assert.rejects(
    monitor.remember('f', 60_000, () => Promise.reject(new Error('down'))),
    /down/,
  );
  assert.deepEqual(await monitor.remember('f', 60_000, load), { value: 3, cached: false }, 'a failure is not cached');
});
