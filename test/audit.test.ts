import assert from 'node:assert/strict';
import os from 'node:os';
import { test } from 'node:test';
import { Client as PgClient, type Pool } from 'pg';
import { BbmClient } from '../src/api/client';
import { enqueuerWorkflowId, repositoryWorkflowId } from '../src/contract/ids';
import { defineMigration } from '../src/engine/definitions';
import { MigrationStatus } from '../src/engine/constants';
import { queueMigration } from '../src/schema-migrations';
import { listAuditEvents, type AuditEvent } from '../src/store/audit';
import { bbm, cliEnv, shown, type CliResult } from './helpers/cli';
import { createItems, createTestDatabase } from './helpers/db';
import { startTestWorker, testClient } from './helpers/temporal';
import { temporal } from './helpers/temporal-cli';
import { waitFor } from './helpers/wait';

/**
 * Issue 14's audit trail: every operator action, from the bbm CLI, the library API and the
 * Temporal CLI, lands in bbm.audit_events with its actor, channel, target and the state before
 * and after. Repositories are kept running by slow knobs (one job per round, 2 s apart; a signal
 * cuts the pause short), so signals and updates reach a live workflow whatever the machine's speed.
 */

const SLOW = { minDelayMs: 2000, maxDelayMs: 2000, maxJobPerBatch: 1 };
const OS_USER = os.userInfo().username;

async function eventsAfter(pool: Pool, seen: number): Promise<AuditEvent[]> {
  return (await listAuditEvents(pool)).filter((e) => Number(e.id) > seen);
}

/** Waits for the next event matching `match` after id `seen`; returns it. */
async function nextEvent(pool: Pool, seen: number, match: Partial<AuditEvent>): Promise<AuditEvent> {
  return waitFor(`audit event ${JSON.stringify(match)}`, async () =>
    (await eventsAfter(pool, seen)).find((e) => Object.entries(match).every(([k, v]) => e[k as keyof AuditEvent] === v)),
  );
}

async function lastId(pool: Pool): Promise<number> {
  const { rows } = await pool.query('SELECT coalesce(max(id), 0)::int AS id FROM bbm.audit_events');
  return Number(rows[0].id);
}

/**
 * The sender identity Temporal recorded for the latest update (or cancel request) of a workflow,
 * read from its history with the test's own client. The Temporal CLI sends updates and cancels
 * through its SDK client, whose identity is the SDK default `<pid>@<host>@` whatever --identity
 * says (signals honour --identity), so this is the identity to expect.
 */
async function historyIdentity(workflowId: string, kind: 'update' | 'cancel'): Promise<string> {
  const client = await testClient();
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  const events = history.events ?? [];
  const identity =
    kind === 'update'
      ? events.filter((e) => e.workflowExecutionUpdateAcceptedEventAttributes).pop()?.workflowExecutionUpdateAcceptedEventAttributes
          ?.acceptedRequest?.meta?.identity
      : events.filter((e) => e.workflowExecutionCancelRequestedEventAttributes).pop()?.workflowExecutionCancelRequestedEventAttributes
          ?.identity;
  assert.ok(identity, `the ${kind} has an identity in the history`);
  assert.notEqual(identity, 'unknown');
  return identity;
}

function ok(r: CliResult): unknown {
  assert.equal(r.code, 0, shown(r));
  return r.stdout.trim() ? JSON.parse(r.stdout) : undefined;
}

async function workflowRunning(pool: Pool, names: string[]): Promise<void> {
  await waitFor('the migrations to be running', async () => {
    const { rows } = await pool.query('SELECT count(*)::int AS n FROM bbm.migrations WHERE name = ANY($1) AND status = $2', [
      names,
      MigrationStatus.RUNNING,
    ]);
    return rows[0].n >= 1;
  });
}

test('every migration action from the bbm CLI is recorded with --actor or the OS user, and bbm audit lists and filters them', async () => {
  const db = await createTestDatabase('audit_cli');
  await createItems(db.pool, 'items', 6000);
  await createItems(db.pool, 'small', 20);
  const worker = await startTestWorker(db);
  const env = cliEnv(db.url, worker.taskQueue);
  const cli = (...args: string[]): Promise<CliResult> => bbm(['--json', ...args], env);
  const create = (name: string, min: number, max: number, ...extra: string[]): Promise<CliResult> =>
    cli(
      ...extra,
      ...['migrations', 'create', '--name', name, '--repository', 'audit-rw', '--work', 'increment', '--table', 'items', '--column', 'id'],
      ...['--batch-size', '100', '--target-job-ms', '0', '--min-value', String(min), '--max-value', String(max), '--arg', 'target=counter'],
    );

  let seen = await lastId(db.pool);
  ok(await create('m1', 1, 3000, '--actor', 'alice'));
  const created = await nextEvent(db.pool, seen, { action: 'create', target: 'm1' });
  assert.equal(created.actor, 'alice');
  assert.equal(created.via, 'cli');
  assert.equal(created.repository, 'audit-rw');
  assert.equal(created.before, null);
  assert.deepEqual((created.after as { status: string; batchSize: number }).status, 'active');
  ok(await create('m2', 3001, 6000));
  assert.equal((await nextEvent(db.pool, Number(created.id), { action: 'create', target: 'm2' })).actor, OS_USER);

  // Refused actions record nothing: a duplicate name, an unusable actor, a bad batch size.
  seen = await lastId(db.pool);
  assert.notEqual((await create('m1', 1, 10, '--actor', 'alice')).code, 0);
  assert.equal((await cli('--actor', '', 'migrations', 'pause', 'm1')).code, 2);
  assert.equal((await cli('--actor', 'alice', 'migrations', 'configure', 'm1', '--batch-size', '0')).code, 2);
  assert.deepEqual(await eventsAfter(db.pool, seen), []);

  // No workflow runs: the CLI writes the status and the event in one transaction.
  ok(await cli('--actor', 'alice', 'migrations', 'pause', 'm2'));
  const paused = await nextEvent(db.pool, seen, { action: 'pause', target: 'm2' });
  assert.deepEqual([paused.actor, paused.via, paused.before, paused.after], ['alice', 'cli', { m2: 'active' }, { m2: 'paused' }]);
  ok(await cli('--actor', 'alice', 'migrations', 'resume', 'm2'));
  const resumed = await nextEvent(db.pool, seen, { action: 'resume', target: 'm2' });
  assert.deepEqual([resumed.before, resumed.after], [{ m2: 'paused' }, { m2: 'active' }]);

  // A running workflow applies the signals and records them with the actor they carry.
  ok(await cli('repositories', 'start', 'audit-rw', ...Object.entries(SLOW).flatMap(([k, v]) => ['--knob', `${k}=${v}`])));
  await workflowRunning(db.pool, ['m1', 'm2']);
  seen = await lastId(db.pool);
  const signalled = ok(await cli('--actor', 'alice', 'migrations', 'pause', 'm1')) as { appliedByWorkflow: string[] };
  assert.deepEqual(signalled.appliedByWorkflow, ['audit-rw'], JSON.stringify(signalled));
  const wfPause = await nextEvent(db.pool, seen, { action: 'pause', target: 'm1' });
  assert.deepEqual([wfPause.actor, wfPause.via, wfPause.after], ['alice', 'cli', { m1: 'paused' }]);
  ok(await cli('--actor', 'alice', 'migrations', 'resume', 'm1'));
  const wfResume = await nextEvent(db.pool, seen, { action: 'resume', target: 'm1' });
  assert.deepEqual([wfResume.actor, wfResume.via, wfResume.before, wfResume.after], ['alice', 'cli', { m1: 'paused' }, { m1: 'active' }]);

  const configured = ok(
    await cli('--actor', 'alice', 'migrations', 'configure', 'm1', '--batch-size', '50', '--knob', 'maxJobPerBatch=2'),
  ) as { appliedBy: string };
  assert.equal(configured.appliedBy, 'workflow');
  const size = await nextEvent(db.pool, seen, { action: 'batch_size', target: 'm1' });
  assert.deepEqual([size.actor, size.via, size.before, size.after], ['alice', 'cli', { m1: 100 }, { m1: 50 }]);
  const knobs = await nextEvent(db.pool, seen, { action: 'configure', target: 'm1' });
  assert.deepEqual(
    [knobs.actor, (knobs.before as { knobs: unknown }).knobs, (knobs.after as { knobs: unknown }).knobs],
    ['alice', { maxJobPerBatch: 1 }, { maxJobPerBatch: 2 }],
  );

  ok(await cli('--actor', 'alice', 'repositories', 'cancel', 'audit-rw'));
  const cancel = await nextEvent(db.pool, seen, { action: 'cancel', target: 'audit-rw' });
  assert.deepEqual([cancel.actor, cancel.via, cancel.repository], ['alice', 'cli', 'audit-rw']);
  assert.equal((cancel.after as Record<string, string>).m1, 'paused');

  // Retry of a failed migration, and a finalize that runs the rest.
  await db.pool.query('UPDATE bbm.migrations SET status = $1 WHERE name = $2', [MigrationStatus.FAILED, 'm2']);
  ok(await cli('--actor', 'alice', 'migrations', 'retry', 'm2'));
  const retry = await nextEvent(db.pool, seen, { action: 'retry', target: 'm2' });
  assert.deepEqual([retry.actor, retry.via, retry.before, retry.after], ['alice', 'cli', { m2: 'failed' }, { m2: 'running' }]);
  // Configure with no workflow running: the settings are written with their event; knobs are refused and record nothing.
  const direct = ok(await cli('--actor', 'alice', 'migrations', 'configure', 'm2', '--batch-size', '60')) as { appliedBy: string };
  assert.equal(direct.appliedBy, 'database');
  const directSize = await nextEvent(db.pool, Number(retry.id), { action: 'batch_size', target: 'm2' });
  assert.deepEqual([directSize.actor, directSize.via, directSize.before, directSize.after], ['alice', 'cli', { m2: 100 }, { m2: 60 }]);
  const noEvent = await lastId(db.pool);
  const knobRefused = await cli('--actor', 'alice', 'migrations', 'configure', 'm2', '--knob', 'maxJobPerBatch=3');
  assert.equal(knobRefused.code, 2, shown(knobRefused));
  assert.match(knobRefused.stderr, /INVALID_STATE/);
  assert.deepEqual(await eventsAfter(db.pool, noEvent), []);
  ok(
    await cli(
      ...['--actor', 'alice', 'migrations', 'create', '--name', 'm3', '--repository', 'audit-small', '--work', 'increment'],
      ...['--table', 'small', '--column', 'id', '--batch-size', '10', '--arg', 'target=counter'],
    ),
  );
  // --run streams progress lines before the result: only the exit code matters here.
  const finalized = await cli('--actor', 'alice', 'migrations', 'finalize', 'm3', '--run');
  assert.equal(finalized.code, 0, shown(finalized));
  const finalize = await nextEvent(db.pool, seen, { action: 'finalize', target: 'm3' });
  assert.equal(finalize.actor, 'alice');
  assert.equal((finalize.before as { status: string }).status, 'active');
  assert.equal((finalize.after as { status: string }).status, 'finished');
  assert.deepEqual(finalize.detail, { ran: true });

  // bbm audit: JSON, filtered by migration (repository-wide events that covered it included) and time.
  const forM1 = ok(await cli('audit', '--migration', 'm1')) as AuditEvent[];
  assert.deepEqual(
    forM1.map((e) => e.action),
    ['create', 'pause', 'resume', 'batch_size', 'configure', 'cancel'],
  );
  assert.ok(forM1.every((e) => e.migration === 'm1' || (e.detail as { migrations?: string[] }).migrations?.includes('m1')));
  const all = ok(await cli('audit', '--since', '1h')) as AuditEvent[];
  assert.equal(all.length, (await listAuditEvents(db.pool)).length);
  assert.deepEqual(ok(await cli('audit', '--since', '2999-01-01T00:00:00Z')), []);
  assert.equal((await cli('audit', '--since', 'last tuesday')).code, 2);
  const table = await bbm(['audit', '--repository', 'audit-small'], env);
  assert.equal(table.code, 0, shown(table));
  assert.match(table.stdout, /alice\s+cli\s+create\s+m3/);
});

test('capacity changes and the schedule are recorded from the bbm CLI, the API and the Temporal CLI', async () => {
  const db = await createTestDatabase('audit_enq');
  const worker = await startTestWorker(db);
  const env = cliEnv(db.url, worker.taskQueue);
  const seen = await lastId(db.pool);

  // No enqueuer runs yet: the CLI starts one with the capacity and records it itself.
  ok(await bbm(['--json', '--actor', 'carol', 'capacity', 'set', '3'], env));
  const started = await nextEvent(db.pool, seen, { action: 'capacity' });
  assert.deepEqual([started.actor, started.via, started.target, started.after], ['carol', 'cli', 'enqueuer', { capacity: 3 }]);
  // It runs now: the update carries the actor and the enqueuer records the change.
  ok(await bbm(['--json', '--actor', 'carol', 'capacity', 'set', '5'], env));
  const updated = await nextEvent(db.pool, Number(started.id), { action: 'capacity' });
  assert.deepEqual([updated.actor, updated.via, updated.before, updated.after], ['carol', 'cli', { capacity: 3 }, { capacity: 5 }]);

  const viaTemporal = JSON.parse(
    await temporal(
      ...['workflow', 'update', 'execute', '--workflow-id', enqueuerWorkflowId(worker.taskQueue), '--name', 'setCapacity'],
      ...['--input', '{"capacity":2}', '--identity', 'ops-bob', '--output', 'json'],
    ),
  );
  assert.ok(JSON.stringify(viaTemporal).includes('2'));
  const fromTemporal = await nextEvent(db.pool, Number(updated.id), { action: 'capacity' });
  assert.deepEqual([fromTemporal.via, fromTemporal.before, fromTemporal.after], ['temporal', { capacity: 5 }, { capacity: 2 }]);
  assert.equal(fromTemporal.actor, await historyIdentity(enqueuerWorkflowId(worker.taskQueue), 'update'));

  const api = new BbmClient({ databaseUrl: db.url, taskQueue: worker.taskQueue, actor: 'svc-deploy', logLevel: 'silent' });
  try {
    assert.equal(await api.setCapacity(4), 4);
    const fromApi = await nextEvent(db.pool, Number(fromTemporal.id), { action: 'capacity' });
    assert.deepEqual([fromApi.actor, fromApi.via, fromApi.before, fromApi.after], ['svc-deploy', 'api', { capacity: 2 }, { capacity: 4 }]);

    ok(await bbm(['--json', '--actor', 'carol', 'schedule', 'create', '--every', '1h', '--paused'], env));
    const scheduled = await nextEvent(db.pool, seen, { action: 'schedule_create' });
    assert.deepEqual([scheduled.actor, scheduled.via, scheduled.before], ['carol', 'cli', { exists: false }]);
    assert.deepEqual(scheduled.after, { exists: true, intervalSeconds: 3600, paused: true });
    ok(await bbm(['--json', '--actor', 'carol', 'schedule', 'delete'], env));
    const unscheduled = await nextEvent(db.pool, seen, { action: 'schedule_delete' });
    assert.deepEqual(
      [unscheduled.actor, unscheduled.via, unscheduled.before, unscheduled.after],
      ['carol', 'cli', { exists: true }, { exists: false }],
    );

    assert.equal((await api.ensureSchedule({ intervalSeconds: 3600, paused: true })).created, true);
    assert.equal(await api.deleteSchedule(), true);
    const apiSchedule = (await api.audit()).filter((e) => e.via === 'api' && e.action.startsWith('schedule_'));
    assert.deepEqual(
      apiSchedule.map((e) => [e.action, e.actor]),
      [
        ['schedule_create', 'svc-deploy'],
        ['schedule_delete', 'svc-deploy'],
      ],
    );
  } finally {
    await api.close();
  }
});

test('every migration action from the library API is recorded with its actor, and schema migrations with the database role', async () => {
  const db = await createTestDatabase('audit_api');
  await createItems(db.pool, 'items', 6000);
  await createItems(db.pool, 'small', 20);
  const worker = await startTestWorker(db);
  const api = new BbmClient({ databaseUrl: db.url, taskQueue: worker.taskQueue, actor: 'svc-api', logLevel: 'silent' });
  assert.throws(() => new BbmClient({ databaseUrl: db.url, actor: 'bad\nactor' }), /Actor/);
  try {
    const seen = await lastId(db.pool);
    const common = {
      repository: 'audit-ra',
      work: 'increment',
      table: 'items',
      column: 'id',
      batchSize: 100,
      targetJobMs: 0,
      args: { target: 'counter' },
    };
    await api.define({ name: 'a1', ...common, minValue: '1', maxValue: '3000' });
    await api.define({ name: 'a2', ...common, minValue: '3001', maxValue: '6000' });
    const created = await nextEvent(db.pool, seen, { action: 'create', target: 'a1' });
    assert.deepEqual([created.actor, created.via], ['svc-api', 'api']);

    await api.pause({ name: 'a2' });
    await api.resume({ name: 'a2' });
    await nextEvent(db.pool, seen, { action: 'pause', target: 'a2', via: 'api' });
    await nextEvent(db.pool, seen, { action: 'resume', target: 'a2', via: 'api' });

    await api.start('audit-ra', { knobs: SLOW });
    await workflowRunning(db.pool, ['a1', 'a2']);
    await api.pause({ name: 'a1' });
    const paused = await nextEvent(db.pool, seen, { action: 'pause', target: 'a1' });
    assert.deepEqual([paused.actor, paused.via, paused.migration, paused.after], ['svc-api', 'api', 'a1', { a1: 'paused' }]);
    await api.resume({ name: 'a1' });
    await nextEvent(db.pool, seen, { action: 'resume', target: 'a1', actor: 'svc-api' });
    const report = await api.configure('audit-ra', { migration: 'a1', batchSize: 40, subBatchSize: 20 });
    assert.equal(report.appliedBy, 'workflow');
    const size = await nextEvent(db.pool, seen, { action: 'batch_size', target: 'a1' });
    assert.deepEqual([size.actor, size.via, size.before, size.after], ['svc-api', 'api', { a1: 100 }, { a1: 40 }]);
    const settings = await nextEvent(db.pool, seen, { action: 'configure', target: 'a1' });
    assert.deepEqual((settings.after as { settings: unknown }).settings, { a1: { subBatchSize: 20 } });
    assert.deepEqual((settings.before as { settings: unknown }).settings, { a1: { subBatchSize: null } });
    assert.equal((await api.cancel('audit-ra')).cancelled, true);
    const cancel = await nextEvent(db.pool, seen, { action: 'cancel', target: 'audit-ra' });
    assert.deepEqual([cancel.actor, cancel.via], ['svc-api', 'api']);

    await db.pool.query('UPDATE bbm.migrations SET status = $1 WHERE name = $2', [MigrationStatus.FAILED, 'a2']);
    await api.retry('a2');
    const retry = await nextEvent(db.pool, seen, { action: 'retry', target: 'a2' });
    assert.deepEqual([retry.actor, retry.via, retry.after], ['svc-api', 'api', { a2: 'running' }]);

    await api.define({
      name: 'a3',
      repository: 'audit-small',
      work: 'increment',
      table: 'small',
      column: 'id',
      batchSize: 10,
      args: { target: 'counter' },
    });
    assert.equal((await api.ensureFinished('a3', { run: true, pollIntervalMs: 100 })).status, 'finished');
    const finalize = await nextEvent(db.pool, seen, { action: 'finalize', target: 'a3' });
    assert.deepEqual([finalize.actor, finalize.via, finalize.detail], ['svc-api', 'api', { ran: true }]);
    // A second finalize of a finished migration passes at once and, having changed nothing, records nothing.
    const afterFinalize = await lastId(db.pool);
    assert.equal((await api.ensureFinished('a3')).status, 'finished');
    assert.deepEqual(await eventsAfter(db.pool, afterFinalize), []);

    const listed = await api.audit({ migration: 'a1' });
    assert.deepEqual(
      listed.map((e) => e.action),
      ['create', 'pause', 'resume', 'batch_size', 'configure', 'cancel'],
    );
  } finally {
    await api.close();
  }

  // A schema migration's queueMigration: the event commits or rolls back with its transaction.
  const conn = new PgClient({ connectionString: db.url });
  await conn.connect();
  try {
    const before = await lastId(db.pool);
    const def = {
      name: 'sm1',
      repository: 'audit-sm',
      work: 'increment',
      table: 'small',
      column: 'id',
      batchSize: 10,
      args: { target: 'counter' },
    };
    await conn.query('BEGIN');
    await queueMigration(conn, def);
    await conn.query('ROLLBACK');
    assert.deepEqual(await eventsAfter(db.pool, before), []);
    await conn.query('BEGIN');
    await queueMigration(conn, def);
    await conn.query('COMMIT');
    const { rows } = await db.pool.query('SELECT current_user AS u');
    const queued = await nextEvent(db.pool, before, { action: 'create', target: 'sm1' });
    assert.deepEqual([queued.actor, queued.via], [rows[0].u, 'schema_migration']);
  } finally {
    await conn.end();
  }
});

test('signals, updates and a cancel sent with the Temporal CLI are recorded with the sender identity', async () => {
  const db = await createTestDatabase('audit_tcli');
  await createItems(db.pool, 'items', 6000);
  const worker = await startTestWorker(db);
  const common = {
    repository: 'audit-tr',
    work: 'increment',
    table: 'items',
    column: 'id',
    batchSize: 100,
    targetJobMs: 0,
    args: { target: 'counter' },
  };
  await defineMigration({ pool: db.pool, registry: worker.registry }, { name: 't1', ...common, minValue: '1', maxValue: '3000' });
  await defineMigration({ pool: db.pool, registry: worker.registry }, { name: 't2', ...common, minValue: '3001', maxValue: '6000' });
  const workflowId = repositoryWorkflowId('audit-tr');
  const seen = await lastId(db.pool);
  await temporal(
    ...['workflow', 'start', '--task-queue', worker.taskQueue, '--type', 'repositoryMigration', '--workflow-id', workflowId],
    ...['--input', JSON.stringify({ repository: 'audit-tr', knobs: SLOW })],
  );
  await workflowRunning(db.pool, ['t1', 't2']);
  const signal = (name: string, input: string, ...identity: string[]): Promise<string> =>
    temporal('workflow', 'signal', '--workflow-id', workflowId, '--name', name, '--input', input, ...identity);

  // A malformed signal first, from someone else: it is ignored, but counted, so the next one is matched to its own sender.
  await signal('pause', '{"bogus":1}', '--identity', 'someone-else');
  await signal('pause', '{"migration":"t1"}', '--identity', 'ops-bob');
  const paused = await nextEvent(db.pool, seen, { action: 'pause', target: 't1' });
  assert.deepEqual([paused.actor, paused.via, paused.after], ['ops-bob', 'temporal', { t1: 'paused' }]);
  assert.ok(['running', 'active'].includes((paused.before as { t1: string }).t1), JSON.stringify(paused.before));
  // Without --identity the Temporal CLI's default identity is recorded.
  await signal('resume', '{"migration":"t1"}');
  const resumed = await nextEvent(db.pool, seen, { action: 'resume', target: 't1' });
  assert.match(resumed.actor, /^temporal-cli:/);
  assert.equal(resumed.via, 'temporal');

  await db.pool.query('UPDATE bbm.migrations SET status = $1 WHERE name = $2', [MigrationStatus.FAILED, 't2']);
  await signal('retry', '{"migration":"t2"}', '--identity', 'ops-bob');
  const retried = await nextEvent(db.pool, seen, { action: 'retry', target: 't2' });
  assert.deepEqual(
    [retried.actor, retried.via, retried.before, retried.after],
    ['ops-bob', 'temporal', { t2: 'failed' }, { t2: 'running' }],
  );

  const update = (input: string): Promise<string> =>
    temporal(
      ...['workflow', 'update', 'execute', '--workflow-id', workflowId, '--name', 'configure'],
      ...['--input', input, '--identity', 'ops-bob', '--output', 'json'],
    );
  await update('{"migration":"t1","batchSize":30}');
  const size = await nextEvent(db.pool, seen, { action: 'batch_size', target: 't1' });
  assert.deepEqual([size.via, size.before, size.after], ['temporal', { t1: 100 }, { t1: 30 }]);
  assert.equal(size.actor, await historyIdentity(workflowId, 'update'));
  await update('{"maxDelayMs":2500}');
  const knobs = await nextEvent(db.pool, seen, { action: 'configure', target: 'audit-tr' });
  assert.deepEqual(
    [knobs.actor, knobs.via, knobs.before, knobs.after],
    [
      await historyIdentity(workflowId, 'update'),
      'temporal',
      { settings: {}, knobs: { maxDelayMs: 2000 } },
      { settings: {}, knobs: { maxDelayMs: 2500 } },
    ],
  );

  await temporal('workflow', 'cancel', '--workflow-id', workflowId, '--identity', 'ops-bob');
  const cancel = await nextEvent(db.pool, seen, { action: 'cancel', target: 'audit-tr' });
  assert.deepEqual([cancel.actor, cancel.via, cancel.repository], [await historyIdentity(workflowId, 'cancel'), 'temporal', 'audit-tr']);
  assert.deepEqual((cancel.detail as { changed: string[] }).changed.sort(), ['t1', 't2']);
});
