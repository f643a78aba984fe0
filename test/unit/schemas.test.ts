import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ACTIVITY_INPUT_SCHEMAS, activityInputProblem, type ActivityName } from '../../src/contract/activity-schemas';
import {
  capacityRequestProblem,
  configureProblem,
  enqueuerStartProblem,
  healthInputProblem,
  migrationTargetProblem,
  queryArgsProblem,
  repositoryDoneProblem,
  repositoryInputProblem,
  tickInputProblem,
  wakeProblem,
} from '../../src/contract/checks';
import { DEFINITION_CODES, definitionFileSchema, definitionSchema } from '../../src/contract/definition-schema';
import { enqueuerWorkflowId, repositoryWorkflowId } from '../../src/contract/ids';
import { problemOf } from '../../src/contract/schema-kit';
import { checkKnobs, DEFAULT_KNOBS } from '../../src/knobs';

type Check = (value: unknown) => { code: string; message: string } | undefined;

interface EntryPoint {
  entry: string;
  check: Check;
  /** A payload the entry point accepts. */
  ok: Record<string, unknown>;
  /** Its accepted keys, in the order the message lists them. */
  accepted: string[];
  /** A field of `ok` set to a value of the wrong type, and the code expected for it. */
  wrong: [field: string, value: unknown, code?: string];
}

const FENCE = { repository: 'public.items', holder: 'bbm-repository:public.items', token: '3' };
const JOB = {
  jobId: '7',
  migrationId: '2',
  migrationName: 'backfill',
  repository: 'public.items',
  workName: 'increment',
  table: 'public.items',
  column: 'id',
  strategy: 'serial',
  start: '9007199254740993',
  end: '9007199254741992',
  batchSize: 1000,
  attempts: 0,
};
const WAKE = { wakeUp: 3, reason: 'cli', coalesced: 1, prefixes: null, capacity: 5 };

/** An accepted input of each activity, as the workflows send it. */
const ACTIVITY_EXAMPLES: Record<ActivityName, Record<string, unknown>> = {
  acquireLease: { repository: 'public.items', holder: 'bbm-repository:public.items', ttlMs: 270_000, waitMs: 60_000 },
  findJob: { repository: 'public.items', fence: FENCE, maxJobAttempts: 5, retryFailed: false, exclude: ['4'], leaseTtlMs: 270_000 },
  executeJob: { job: JOB, fence: FENCE, maxJobAttempts: 5, jobTimeoutMs: 120_000, batchId: '1a2b3c4d-0' },
  releaseLease: { fence: FENCE, minDelayMs: 100, maxDelayMs: 2000 },
  controlMigrations: { action: 'pause', repository: 'public.items', migration: 'backfill' },
  setBatchSize: { repository: 'public.items', batchSize: 50 },
  repositoryProgress: { repository: 'public.items' },
  recordAudit: {
    action: 'capacity',
    origin: { runId: 'r1', updateId: 'u1' },
    target: 'enqueuer',
    before: { capacity: 5 },
    after: { capacity: 7 },
  },
  notifyEnqueuer: { repository: 'public.items', state: 'finished' },
  surveyRepositories: { wake: WAKE, tracked: ['a'], closing: [{ repository: 'b', runId: 'r1' }] },
  startRepositories: { wake: WAKE, repositories: ['public.items'], knobs: { maxJobPerBatch: 2 }, running: 1, alreadyRunning: [] },
  wakeEnqueuerFromTick: { reason: 'schedule' },
  checkHealth: { repository: 'public.items', thresholds: { maxReplicationLagMs: 500 }, fresh: true },
  recordThrottled: { repository: 'public.items', indicators: ['replication_lag_time'], throttledMs: 1_500 },
  databaseInfo: {},
};

const ENTRY_POINTS: EntryPoint[] = [
  {
    entry: 'repositoryMigration input',
    check: (v) => repositoryInputProblem(v, repositoryWorkflowId('public.items')),
    ok: { repository: 'public.items', knobs: { maxJobPerBatch: 2 }, retryFailed: true },
    accepted: ['repository', 'knobs', 'retryFailed', 'carried'],
    wrong: ['retryFailed', 'yes'],
  },
  {
    entry: 'enqueuer input',
    check: (v) => enqueuerStartProblem(v, enqueuerWorkflowId('bbm'), 'bbm'),
    ok: { capacity: 3, knobs: {}, historyEventBudget: 5000, recheckSeconds: 60 },
    accepted: ['capacity', 'knobs', 'historyEventBudget', 'recheckSeconds', 'carried'],
    wrong: ['recheckSeconds', '60'],
  },
  { entry: 'enqueuerTick input', check: tickInputProblem, ok: { reason: 'schedule' }, accepted: ['reason'], wrong: ['reason', 5] },
  { entry: 'healthCheck input', check: healthInputProblem, ok: {}, accepted: [], wrong: ['', 'x'] },
  ...['pause', 'resume', 'retry'].map((signal): EntryPoint => ({
    entry: `${signal} signal`,
    check: (v) => migrationTargetProblem(signal, v),
    ok: { migration: 'backfill' },
    accepted: ['migration'],
    wrong: ['migration', 42],
  })),
  {
    entry: 'wake signal',
    check: wakeProblem,
    ok: { reason: 'cli', repositoryPrefix: 'demo/', knobs: { maxJobAttempts: 1 } },
    accepted: ['reason', 'repositoryPrefix', 'knobs'],
    wrong: ['repositoryPrefix', ['demo/']],
  },
  {
    entry: 'repositoryDone signal',
    check: repositoryDoneProblem,
    ok: { repository: 'public.items', state: 'finished', runId: 'abc' },
    accepted: ['repository', 'state', 'runId'],
    wrong: ['state', 'done'],
  },
  {
    entry: 'configure update',
    check: (v) => configureProblem(v, DEFAULT_KNOBS),
    ok: { maxJobPerBatch: 2, batchSize: 50, migration: 'backfill' },
    accepted: [
      ...Object.keys(DEFAULT_KNOBS),
      'batchSize',
      'subBatchSize',
      'subBatchPauseMs',
      'targetJobMs',
      'minBatchSize',
      'maxBatchSize',
      'migration',
    ],
    wrong: ['batchSize', '50', 'INVALID_BATCH_SIZE'],
  },
  { entry: 'setCapacity update', check: capacityRequestProblem, ok: { capacity: 10 }, accepted: ['capacity'], wrong: ['capacity', '10'] },
  {
    entry: 'knobs',
    check: (v) => checkKnobs(v),
    ok: { localActivities: false },
    accepted: Object.keys(DEFAULT_KNOBS),
    wrong: ['localActivities', 'no'],
  },
  {
    entry: 'migration definition',
    check: (v) => problemOf(definitionSchema, v, 'A migration definition', DEFINITION_CODES),
    ok: { name: 'backfill', work: 'increment', table: 'public.items', column: 'id', batchSize: 500, args: { target: 'counter' } },
    accepted: [
      'name',
      'repository',
      'work',
      'table',
      'column',
      'strategy',
      'batchSize',
      'subBatchSize',
      'subBatchPauseMs',
      'targetJobMs',
      'minBatchSize',
      'maxBatchSize',
      'minValue',
      'maxValue',
      'args',
      'paused',
    ],
    wrong: ['maxValue', true, 'INVALID_RANGE'],
  },
  ...(Object.keys(ACTIVITY_INPUT_SCHEMAS) as ActivityName[]).map((activity): EntryPoint => ({
    entry: `${activity} activity input`,
    check: (v) => activityInputProblem(activity, v),
    ok: ACTIVITY_EXAMPLES[activity],
    accepted: Object.keys(ACTIVITY_INPUT_SCHEMAS[activity].shape),
    wrong: [Object.keys(ACTIVITY_EXAMPLES[activity])[0] ?? '', { nested: true }],
  })),
];

for (const e of ENTRY_POINTS) {
  test(`the ${e.entry} accepts a well-formed payload, and refuses an unknown field naming it and the accepted ones`, () => {
    assert.equal(e.check(e.ok), undefined);
    const refused = e.check({ ...e.ok, batchSizeTypo: -5 });
    assert.equal(refused?.code, 'INVALID_INPUT');
    assert.match(refused?.message ?? '', /unknown [\w ]+"batchSizeTypo"/);
    assert.ok(refused?.message.includes(`accepted: ${e.accepted.join(', ')}`), `${refused?.message} should list ${e.accepted.join(', ')}`);
  });

  test(`the ${e.entry} refuses a field of the wrong type, naming the field`, () => {
    const [field, value, code = 'INVALID_INPUT'] = e.wrong;
    const refused = e.check({ ...e.ok, [field]: value });
    assert.equal(refused?.code, code, refused?.message);
    if (field) assert.ok(refused?.message.includes(field), `${refused?.message} should name ${field}`);
    if (e.entry !== 'knobs') assert.ok(e.check('not an object'), 'a bare string must be refused');
  });
}

test("the issue's repositoryMigration input with batchSize is refused, naming batchSize and the accepted fields", () => {
  const refused = repositoryInputProblem({ repository: 'public.items', batchSize: -5 }, repositoryWorkflowId('public.items'));
  assert.deepEqual(refused, {
    code: 'INVALID_INPUT',
    message: 'unknown repositoryMigration input field "batchSize"; accepted: repository, knobs, retryFailed, carried',
    path: [],
  });
});

test('an unknown knob nested in a workflow input is named with its path', () => {
  const refused = repositoryInputProblem({ repository: 'r', knobs: { bogus: 1 } }, repositoryWorkflowId('r'));
  assert.match(refused?.message ?? '', /^knobs: unknown knob "bogus"; accepted: maxJobPerBatch, /);
  assert.deepEqual(refused?.path, ['knobs']);
});

test('a range violation says the range and what was given', () => {
  const refused = repositoryInputProblem({ repository: 'r', knobs: { maxJobPerBatch: 1e12 } }, repositoryWorkflowId('r'));
  assert.equal(refused?.message, 'knobs.maxJobPerBatch must be an integer from 1 to 1000; got 1000000000000');
});

test('a missing required field is named as missing', () => {
  assert.equal(
    repositoryInputProblem({}, 'x')?.message,
    'repository must be a repository key (letters, digits, _ . : / @ -, up to 200); it is missing',
  );
});

test('no input, null and {} are all fine for the inputs and payloads that take nothing', () => {
  for (const empty of [undefined, null, {}]) {
    assert.equal(migrationTargetProblem('pause', empty), undefined);
    assert.equal(wakeProblem(empty), undefined);
    assert.equal(tickInputProblem(empty), undefined);
    assert.equal(healthInputProblem(empty), undefined);
    assert.equal(queryArgsProblem('status', empty === undefined ? [] : [empty]), undefined);
  }
  assert.match(queryArgsProblem('status', [{}, {}])?.message ?? '', /The status query takes no arguments/);
});

test('a query sent an argument with a field is refused, showing what was sent', () => {
  const refused = queryArgsProblem('progress', [{ verbose: true }]);
  assert.equal(refused?.code, 'INVALID_INPUT');
  assert.equal(refused?.message, 'The progress query takes no arguments (or {}); got [{"verbose":true}]');
  assert.ok(queryArgsProblem('capacity', ['x']));
});

test('a definition file may leave fields to the flags but still refuses unknown ones', () => {
  assert.equal(problemOf(definitionFileSchema, { table: 'items', batchSize: 10 }, 'The file'), undefined);
  assert.match(
    problemOf(definitionFileSchema, { tabel: 'items' }, 'The file')?.message ?? '',
    /unknown migration definition field "tabel"/,
  );
});

test('carried state passes as this version writes it, as versions before exact bigints wrote it, and with a field a newer version added', () => {
  const progress = {
    id: '3',
    name: 'm',
    repository: 'r',
    status: 'running',
    failure: null,
    percent: 12.5,
    rowsProcessed: '400',
    totalEstimate: '3200',
    jobs: { active: 1, finished: 4, failed: 0 },
    currentRange: { start: '401', end: '500' },
    lastError: null,
    rowsPerSecond: 812.3,
    etaSeconds: 4,
    batchSize: 100,
    startedAt: '2026-01-01T00:00:00.000Z',
    finishedAt: null,
  };
  const carried = {
    totals: { jobs: 4, rows: '400', batches: 2, migrationsFinished: [], migrationsFailed: ['m'], runs: 1 },
    failedMigrationIds: ['3'],
    pending: [{ kind: 'pause' }, { kind: 'resume', migration: 'm' }],
    progress: [progress],
    startedAt: '2026-01-01T00:00:00.000Z',
  };
  const { lastError: _, ...olderProgress } = {
    ...progress,
    id: 3,
    rowsProcessed: 400,
    totalEstimate: 3200,
    currentRange: { start: 401, end: 500 },
  };
  const older = { ...carried, totals: { ...carried.totals, rows: 400 }, failedMigrationIds: [3], progress: [olderProgress] };
  const check = (c: unknown) => repositoryInputProblem({ repository: 'r', carried: c }, repositoryWorkflowId('r'));
  assert.equal(check(carried), undefined);
  assert.equal(check(older), undefined);
  assert.equal(check({ ...carried, addedLater: [1], totals: { ...carried.totals, alsoLater: 2 } }), undefined);
  assert.match(
    check({ ...carried, failedMigrationIds: [true] })?.message ?? '',
    /carried\.failedMigrationIds\.0 must be a decimal integer string/,
  );
  assert.match(
    check({ ...carried, pending: [{ kind: 'stop' }] })?.message ?? '',
    /carried\.pending\.0\.kind must be one of "pause", "resume"/,
  );
});

test('signal and update payloads accept an actor and a bbm channel, and refuse a malformed actor or an unknown channel', () => {
  assert.equal(migrationTargetProblem('pause', { migration: 'm', actor: 'alice', via: 'cli' }), undefined);
  assert.equal(configureProblem({ batchSize: 5, actor: 'svc', via: 'api' }, DEFAULT_KNOBS), undefined);
  assert.equal(capacityRequestProblem({ capacity: 3, actor: 'ops' }), undefined);
  assert.match(migrationTargetProblem('pause', { actor: '' })?.message ?? '', /actor/);
  assert.match(migrationTargetProblem('pause', { actor: 'x', via: 'temporal' })?.message ?? '', /via/);
  assert.match(capacityRequestProblem({ capacity: 3, actor: 'a\nb' })?.message ?? '', /actor/);
});
