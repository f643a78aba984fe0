import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Pool } from 'pg';
import { MigrationStatus } from '../src/engine/constants';
import { changeBatchSettings, pauseMigrations, resumeMigrations } from '../src/engine/control';
import type { AuditContext } from '../src/engine/audit-record';
import { ErrorCode, isBbmError } from '../src/errors';
import { controlMigrations } from '../src/repository/control';
import { ensureMigrationFinished } from '../src/repository/finalize';
import { listAuditEvents, type AuditEvent } from '../src/store/audit';
import { createItems, createTestDatabase } from './helpers/db';
import { testClient } from './helpers/temporal';
import { define, migration, registryWith, runToEnd, type Engine } from './helpers/engine';
import { defineMigration } from '../src/engine/definitions';

/**
 * The audit trail records what changed, once (tester report on the merged audit trail): refused
 * and no-op actions record nothing, events list only the migrations an action changed. Engine
 * calls against a real Postgres; the workflow paths that reach the same functions are covered by
 * test/audit.test.ts.
 */

const ALICE: AuditContext = { actor: 'alice', via: 'cli' };

async function setup(label: string): Promise<Engine> {
  const db = await createTestDatabase(label);
  await createItems(db.pool, 'items', 50);
  return { pool: db.pool, registry: registryWith() };
}

async function eventsAfter(pool: Pool, seen: number): Promise<AuditEvent[]> {
  return (await listAuditEvents(pool)).filter((e) => Number(e.id) > seen);
}

async function lastId(pool: Pool): Promise<number> {
  const { rows } = await pool.query('SELECT coalesce(max(id), 0)::int AS id FROM bbm.audit_events');
  return Number(rows[0].id);
}

async function refusedWith(code: string, action: Promise<unknown>): Promise<void> {
  await assert.rejects(action, (err) => isBbmError(err, code as never) || assert.fail(`expected ${code}, got ${String(err)}`));
}

test('configure refuses an unknown migration, another repository’s and a finished one, and records nothing', async () => {
  const engine = await setup('audit_fx_refuse');
  await define(engine, { name: 'a1', repository: 'audit-fx-a', batchSize: 100 });
  await define(engine, { name: 'b1', repository: 'audit-fx-b', batchSize: 100, minValue: 1, maxValue: 10 });
  await runToEnd(engine, { repository: 'audit-fx-b' });
  assert.equal((await migration(engine.pool, 'b1')).status, MigrationStatus.FINISHED);
  const seen = await lastId(engine.pool);

  await refusedWith(ErrorCode.MIGRATION_NOT_FOUND, changeBatchSettings(engine.pool, { repository: 'audit-fx-a', name: 'zzz' }, {}, ALICE));
  await refusedWith(
    ErrorCode.MIGRATION_NOT_FOUND,
    changeBatchSettings(engine.pool, { repository: 'audit-fx-a', name: 'b1' }, { batchSize: 200 }, ALICE),
  );
  await refusedWith(ErrorCode.INVALID_STATE, changeBatchSettings(engine.pool, { name: 'b1' }, { batchSize: 200 }, ALICE));
  await refusedWith(ErrorCode.INVALID_STATE, changeBatchSettings(engine.pool, { name: 'b1' }, { subBatchPauseMs: 5 }, ALICE));
  // A repository whose migrations are all finished: nothing to change, nothing recorded.
  assert.deepEqual(await changeBatchSettings(engine.pool, { repository: 'audit-fx-b' }, { batchSize: 200 }, ALICE), []);

  assert.deepEqual(await eventsAfter(engine.pool, seen), []);
  assert.equal((await migration(engine.pool, 'b1')).batchSize, 100);
});

test('a setting given again with its current value records nothing; a real change is recorded once, with only what moved', async () => {
  const engine = await setup('audit_fx_noop');
  await define(engine, { name: 'n1', repository: 'audit-fx-n', batchSize: 100 });
  const seen = await lastId(engine.pool);

  await changeBatchSettings(engine.pool, { name: 'n1' }, { batchSize: 2000 }, ALICE);
  await changeBatchSettings(engine.pool, { name: 'n1' }, { batchSize: 2000 }, ALICE);
  await changeBatchSettings(engine.pool, { name: 'n1' }, { batchSize: 2000, subBatchPauseMs: 7 }, ALICE);
  await changeBatchSettings(
    engine.pool,
    { name: 'n1' },
    { subBatchPauseMs: 7 },
    { ...ALICE, knobs: { before: { a: 1 }, after: { a: 1 } } },
  );

  const events = (await eventsAfter(engine.pool, seen)).map((e) => [e.action, e.before, e.after]);
  assert.deepEqual(events, [
    ['batch_size', { n1: 100 }, { n1: 2000 }],
    ['configure', { settings: { n1: { subBatchPauseMs: 100 } }, knobs: {} }, { settings: { n1: { subBatchPauseMs: 7 } }, knobs: {} }],
  ]);
});

test('configure refuses a batch size outside the migration’s own bounds, checked against the stored ones, with nothing changed', async () => {
  const engine = await setup('audit_fx_bounds');
  await define(engine, { name: 'k1', repository: 'audit-fx-k', batchSize: 1000, targetJobMs: 300, minBatchSize: 500 });
  const seen = await lastId(engine.pool);

  await refusedWith(ErrorCode.INVALID_BATCH_SIZE, changeBatchSettings(engine.pool, { name: 'k1' }, { batchSize: 100 }, ALICE));
  await refusedWith(ErrorCode.INVALID_BATCH_SIZE, changeBatchSettings(engine.pool, { name: 'k1' }, { minBatchSize: 2000 }, ALICE));
  await refusedWith(ErrorCode.INVALID_BATCH_SIZE, changeBatchSettings(engine.pool, { name: 'k1' }, { maxBatchSize: 900 }, ALICE));
  const row = await migration(engine.pool, 'k1');
  assert.deepEqual([row.batchSize, row.minBatchSize], [1000, 500]);
  assert.deepEqual(await eventsAfter(engine.pool, seen), []);

  // Within the bounds, or with bounds that take the new size in, it is accepted.
  await changeBatchSettings(engine.pool, { name: 'k1' }, { batchSize: 100, minBatchSize: 50 }, ALICE);
  assert.equal((await migration(engine.pool, 'k1')).batchSize, 100);
});

test('an operator pause of a migration a cancel paused makes the pause its own, recorded, and a repository resume keeps it', async () => {
  const engine = await setup('audit_fx_cancel');
  await define(engine, { name: 'c1', repository: 'audit-fx-c', batchSize: 100 });
  await define(engine, { name: 'c2', repository: 'audit-fx-c', batchSize: 100 });
  await pauseMigrations(engine.pool, { repository: 'audit-fx-c' }, { ...ALICE, action: 'cancel' }, true);
  const seen = await lastId(engine.pool);

  assert.deepEqual(await pauseMigrations(engine.pool, { name: 'c2' }, ALICE), ['c2']);
  const [paused] = await eventsAfter(engine.pool, seen);
  assert.deepEqual(
    [paused?.action, paused?.target, paused?.migration, paused?.before, paused?.after],
    ['pause', 'c2', 'c2', { c2: 'paused' }, { c2: 'paused' }],
  );
  assert.deepEqual((paused?.detail as { pauseReason: unknown }).pauseReason, { c2: { before: 'cancel', after: 'operator' } });
  // Paused again: nothing to do, nothing recorded.
  assert.deepEqual(await pauseMigrations(engine.pool, { name: 'c2' }, ALICE), []);
  assert.equal((await eventsAfter(engine.pool, seen)).length, 1);

  assert.deepEqual(await resumeMigrations(engine.pool, { repository: 'audit-fx-c' }, ALICE), ['c1']);
  assert.equal((await migration(engine.pool, 'c2')).status, MigrationStatus.PAUSED);
});

test('a pause or resume of every migration lists only the migrations it changed, finished ones left out', async () => {
  const engine = await setup('audit_fx_all');
  await define(engine, { name: 'f1', repository: 'audit-fx-f', batchSize: 100, minValue: 1, maxValue: 10 });
  await runToEnd(engine, { repository: 'audit-fx-f' });
  await define(engine, { name: 'g1', repository: 'audit-fx-g', batchSize: 100 });
  await define(engine, { name: 'g2', repository: 'audit-fx-g', batchSize: 100 });
  await pauseMigrations(engine.pool, { name: 'g2' }, ALICE);
  const seen = await lastId(engine.pool);

  assert.deepEqual(await pauseMigrations(engine.pool, {}, ALICE), ['g1']);
  assert.deepEqual(await resumeMigrations(engine.pool, {}, ALICE), ['g1', 'g2']);
  const events = (await eventsAfter(engine.pool, seen)).map((e) => [e.action, e.target, e.before, e.after]);
  assert.deepEqual(events, [
    ['pause', '*', { g1: 'active' }, { g1: 'paused' }],
    ['resume', '*', { g1: 'paused', g2: 'paused' }, { g1: 'active', g2: 'active' }],
  ]);
});

test('create records the sub-batch and adaptive batch size settings it created the migration with', async () => {
  const engine = await setup('audit_fx_create');
  const seen = await lastId(engine.pool);
  await defineMigration(
    engine,
    {
      name: 's1',
      repository: 'audit-fx-s',
      work: 'increment',
      table: 'items',
      column: 'id',
      args: { target: 'counter' },
      batchSize: 1000,
      subBatchSize: 100,
      subBatchPauseMs: 3,
      targetJobMs: 400,
      minBatchSize: 200,
      maxBatchSize: 5000,
    },
    ALICE,
  );
  const [created] = await eventsAfter(engine.pool, seen);
  const after = created?.after as Record<string, unknown>;
  assert.deepEqual(
    [after.batchSize, after.subBatchSize, after.subBatchPauseMs, after.targetJobMs, after.minBatchSize, after.maxBatchSize],
    [1000, 100, 3, 400, 200, 5000],
  );
});

test('a finalize check of a migration that is finished already records nothing; deploys run it on every release', async () => {
  const engine = await setup('audit_fx_final');
  await define(engine, { name: 'd1', repository: 'audit-fx-d', batchSize: 100, minValue: 1, maxValue: 10 });
  await runToEnd(engine, { repository: 'audit-fx-d' });
  const seen = await lastId(engine.pool);
  const deps = {
    pool: engine.pool,
    client: () => Promise.reject(new Error('a finished migration needs no Temporal')),
    taskQueue: 'unused',
    audit: ALICE,
  };
  for (const run of [false, true]) assert.equal((await ensureMigrationFinished(deps, 'd1', { run })).status, 'finished');
  assert.deepEqual(await eventsAfter(engine.pool, seen), []);
});

test('bbm migrations pause of a migration a cancel paused is not "nothing to pause": the pause becomes the operator’s and a repository resume keeps it', async () => {
  const engine = await setup('audit_fx_ctl');
  await define(engine, { name: 'p1', repository: 'audit-fx-p', batchSize: 100 });
  await define(engine, { name: 'p2', repository: 'audit-fx-p', batchSize: 100 });
  await pauseMigrations(engine.pool, { repository: 'audit-fx-p' }, { ...ALICE, action: 'cancel' }, true);
  const client = await testClient();
  const deps = { pool: engine.pool, client: async () => client, taskQueue: 'audit-fx-unused', audit: ALICE };
  const seen = await lastId(engine.pool);

  const paused = await controlMigrations(deps, 'pause', { name: 'p2' });
  assert.deepEqual([paused.changed, paused.writtenDirectly], [['p2'], ['audit-fx-p']]);
  assert.deepEqual(
    (await eventsAfter(engine.pool, seen)).map((e) => [e.action, e.target]),
    [['pause', 'p2']],
  );
  const resumed = await controlMigrations(deps, 'resume', { repository: 'audit-fx-p' });
  assert.deepEqual([resumed.changed, resumed.keptPaused], [['p1'], ['p2']]);
  assert.equal((await migration(engine.pool, 'p2')).status, MigrationStatus.PAUSED);
});
