import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Pool } from 'pg';
import { repositoryWorkflowId } from '../src/contract/ids';
import { BbmClient } from '../src/api/client';
import { configureUpdate, progressQuery } from '../src/contract/messages';
import { MigrationStatus } from '../src/engine/constants';
import { listAuditEvents, type AuditEvent } from '../src/store/audit';
import { bbm, cliEnv, shown, type CliResult } from './helpers/cli';
import { createItems, createTestDatabase } from './helpers/db';
import { startTestWorker, testClient } from './helpers/temporal';
import { temporalFails } from './helpers/temporal-cli';
import { waitFor } from './helpers/wait';

/**
 * The configure update of a running repository workflow records what changed, once: a migration
 * that is unknown or another repository's is refused (MIGRATION_NOT_FOUND) before its knobs
 * change, and a knob or batch size given again with the value it has records nothing. The
 * repository is kept running by slow knobs (one job per round, 2 s apart).
 */

const SLOW = { minDelayMs: 2000, maxDelayMs: 2000, maxJobPerBatch: 1 };

async function eventsAfter(pool: Pool, seen: number): Promise<AuditEvent[]> {
  return (await listAuditEvents(pool)).filter((e) => Number(e.id) > seen);
}

async function lastId(pool: Pool): Promise<number> {
  const { rows } = await pool.query('SELECT coalesce(max(id), 0)::int AS id FROM bbm.audit_events');
  return Number(rows[0].id);
}

/** The failure chain of an update's error, messages and types joined: the refusal is on a cause. */
function chain(err: unknown): string {
  const parts: string[] = [];
  for (let e = err as { message?: string; type?: string; cause?: unknown } | undefined; e; e = e.cause as typeof e)
    parts.push(`${e.type ?? ''} ${e.message ?? ''}`);
  return parts.join(' <- ');
}

function refusedAsOtherRepository(err: unknown): boolean {
  const text = chain(err);
  assert.match(text, /MIGRATION_NOT_FOUND/);
  assert.match(text, /belongs to repository "audit-cfg-other"/);
  return true;
}

function ok(r: CliResult): unknown {
  assert.equal(r.code, 0, shown(r));
  return r.stdout.trim() ? JSON.parse(r.stdout) : undefined;
}

test('a running workflow refuses configure for an unknown or another repository’s migration, and records no repeated value', async () => {
  const db = await createTestDatabase('audit_cfg');
  await createItems(db.pool, 'items', 6000);
  const worker = await startTestWorker(db);
  const env = cliEnv(db.url, worker.taskQueue);
  const cli = (...args: string[]): Promise<CliResult> => bbm(['--json', '--actor', 'alice', ...args], env);
  const create = (name: string, repository: string): Promise<CliResult> =>
    cli(
      ...['migrations', 'create', '--name', name, '--repository', repository, '--work', 'increment', '--table', 'items'],
      ...['--column', 'id', '--batch-size', '100', '--target-job-ms', '0', '--arg', 'target=counter'],
    );
  ok(await create('cf1', 'audit-cfg'));
  ok(await create('other1', 'audit-cfg-other'));
  ok(await cli('repositories', 'start', 'audit-cfg', ...Object.entries(SLOW).flatMap(([k, v]) => ['--knob', `${k}=${v}`])));
  await waitFor('cf1 to be running', async () => {
    const { rows } = await db.pool.query('SELECT status FROM bbm.migrations WHERE name = $1', ['cf1']);
    return rows[0]?.status === MigrationStatus.RUNNING;
  });
  const handle = (await testClient()).workflow.getHandle(repositoryWorkflowId('audit-cfg'));
  const seen = await lastId(db.pool);

  // The Temporal CLI, as the tester typed it: an unknown migration with a knob.
  const unknown = await temporalFails(
    ...['workflow', 'update', 'execute', '--workflow-id', repositoryWorkflowId('audit-cfg'), '--name', 'configure'],
    ...['--input', JSON.stringify({ migration: 'zzz', maxDelayMs: 2222 })],
  );
  assert.match(unknown, /MIGRATION_NOT_FOUND|No migration named "zzz"/);
  await assert.rejects(
    handle.executeUpdate(configureUpdate, { args: [{ migration: 'other1', maxDelayMs: 2222 }] }),
    refusedAsOtherRepository,
  );
  await assert.rejects(
    handle.executeUpdate(configureUpdate, { args: [{ migration: 'other1', batchSize: 300 }] }),
    refusedAsOtherRepository,
  );
  assert.equal((await handle.query(progressQuery)).knobs.maxDelayMs, 2000);
  assert.deepEqual(await eventsAfter(db.pool, seen), []);

  // The same values twice: one batch_size and one configure event, not two of each.
  for (let i = 0; i < 2; i++) {
    ok(await cli('migrations', 'configure', 'cf1', '--batch-size', '2000'));
    ok(await cli('migrations', 'configure', 'cf1', '--knob', 'maxDelayMs=2500'));
  }
  assert.equal((await handle.query(progressQuery)).knobs.maxDelayMs, 2500);
  const events = (await eventsAfter(db.pool, seen)).map((e) => [e.action, e.target, e.before, e.after]);
  assert.deepEqual(events, [
    ['batch_size', 'cf1', { cf1: 100 }, { cf1: 2000 }],
    ['configure', 'cf1', { settings: {}, knobs: { maxDelayMs: 2000 } }, { settings: {}, knobs: { maxDelayMs: 2500 } }],
  ]);
  ok(await cli('repositories', 'cancel', 'audit-cfg'));
});

test('the same capacity again, a schedule ensured as it is and a delete with no schedule record nothing; both channels store one schedule shape', async () => {
  const db = await createTestDatabase('audit_cfg_enq');
  const worker = await startTestWorker(db);
  const env = cliEnv(db.url, worker.taskQueue);
  const cli = (...args: string[]): Promise<CliResult> => bbm(['--json', '--actor', 'carol', ...args], env);
  const seen = await lastId(db.pool);

  ok(await cli('schedule', 'delete'));
  ok(await cli('capacity', 'set', '6'));
  ok(await cli('capacity', 'set', '7'));
  ok(await cli('capacity', 'set', '7'));
  ok(await cli('schedule', 'create', '--every', '1h', '--paused'));
  ok(await cli('schedule', 'create', '--every', '1h', '--paused'));
  const api = new BbmClient({ databaseUrl: db.url, taskQueue: worker.taskQueue, actor: 'svc-deploy', logLevel: 'silent' });
  try {
    assert.equal((await api.ensureSchedule({ intervalSeconds: 3600, paused: true })).created, false);
    assert.equal((await api.ensureSchedule({ intervalSeconds: 120 })).created, false);
  } finally {
    await api.close();
  }
  ok(await cli('schedule', 'delete'));
  ok(await cli('schedule', 'delete'));

  // The enqueuer records the 6 -> 7 change through its activity: wait for it, then compare all.
  await waitFor('the capacity change to be recorded', async () =>
    (await eventsAfter(db.pool, seen)).some((e) => e.action === 'capacity' && (e.after as { capacity: number }).capacity === 7),
  );
  const events = (await eventsAfter(db.pool, seen)).map((e) => [e.action, e.via, e.before, e.after]);
  assert.deepEqual(events, [
    ['capacity', 'cli', null, { capacity: 6 }],
    ['capacity', 'cli', { capacity: 6 }, { capacity: 7 }],
    ['schedule_create', 'cli', { exists: false }, { exists: true, intervalSeconds: 3600, paused: true }],
    [
      'schedule_create',
      'api',
      { exists: true, intervalSeconds: 3600, paused: true },
      { exists: true, intervalSeconds: 120, paused: false },
    ],
    ['schedule_delete', 'cli', { exists: true }, { exists: false }],
  ]);
});

test('bbm enqueue records the knobs it sets for later repositories and the capacity it starts the enqueuer with, and nothing when they stay', async () => {
  const db = await createTestDatabase('audit_cfg_wake');
  const worker = await startTestWorker(db);
  const env = cliEnv(db.url, worker.taskQueue);
  const cli = (...args: string[]): Promise<CliResult> => bbm(['--json', '--actor', 'dana', ...args], env);
  const seen = await lastId(db.pool);

  ok(await cli('enqueue', '--capacity', '4', '--knob', 'healthChecks=false'));
  ok(await cli('enqueue', '--capacity', '9', '--knob', 'healthChecks=false'));
  ok(await cli('enqueue', '--prefix', 'audit-cfg-p', '--knob', 'maxJobPerBatch=3'));

  const events = (await eventsAfter(db.pool, seen)).map((e) => [e.action, e.target, e.actor, e.before, e.after]);
  assert.deepEqual(events, [
    ['configure', 'enqueuer', 'dana', { knobs: {} }, { knobs: { healthChecks: false } }],
    ['capacity', 'enqueuer', 'dana', null, { capacity: 4 }],
    [
      'configure',
      'enqueuer',
      'dana',
      { knobs: {}, repositoryPrefix: 'audit-cfg-p' },
      { knobs: { maxJobPerBatch: 3 }, repositoryPrefix: 'audit-cfg-p' },
    ],
  ]);
  const detail = (await eventsAfter(db.pool, seen))[0]?.detail as { taskQueue: string };
  assert.equal(detail.taskQueue, worker.taskQueue);
});
