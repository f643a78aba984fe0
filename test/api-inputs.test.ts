import assert from 'node:assert/strict';
import { test } from 'node:test';
import { WorkflowNotFoundError } from '@temporalio/client';
import type { Pool } from 'pg';
import { BbmClient } from '../src/api/client';
import { repositoryWorkflowId } from '../src/contract/ids';
import { MigrationStatus } from '../src/engine/constants';
import { isBbmError, ErrorCode } from '../src/errors';
import { insertAuditEvent, type AuditEvent } from '../src/store/audit';
import { bbm, cliEnv, shown } from './helpers/cli';
import { createItems, createTestDatabase } from './helpers/db';
import { testClient, uniqueTaskQueue } from './helpers/temporal';

/**
 * What BbmClient's callers pass is checked before it acts (a fresh tester's findings): a string
 * or an unknown field once paused every migration, and the audit trail leaked Postgres errors
 * and returned the oldest events for a limit. No worker runs: with no workflow the control
 * commands write the statuses themselves.
 */

async function statuses(pool: Pool): Promise<Record<string, number>> {
  const { rows } = await pool.query('SELECT name, status FROM bbm.migrations ORDER BY name');
  return Object.fromEntries(rows.map((r) => [r.name as string, Number(r.status)]));
}

const invalid = (field: string) => (err: unknown) => isBbmError(err, ErrorCode.INVALID_INPUT) && err.message.includes(field);

test('pause and resume with a name act on that migration only, and an unusable selector is refused with nothing changed', async () => {
  const db = await createTestDatabase('api_inputs_sel');
  await createItems(db.pool, 'items', 100);
  const api = new BbmClient({ databaseUrl: db.url, taskQueue: uniqueTaskQueue('api-inputs'), actor: 'tester', logLevel: 'silent' });
  try {
    const common = { repository: 'apiin-r1', work: 'increment', table: 'items', column: 'id', batchSize: 10, args: { target: 'counter' } };
    for (const name of ['in1', 'in2', 'in3']) await api.define({ name, ...common });
    const { ACTIVE, PAUSED } = MigrationStatus;

    await api.pause('in1');
    assert.deepEqual(await statuses(db.pool), { in1: PAUSED, in2: ACTIVE, in3: ACTIVE });
    await api.pause({ migration: 'in2' });
    assert.deepEqual(await statuses(db.pool), { in1: PAUSED, in2: PAUSED, in3: ACTIVE });
    await api.resume('in1');
    assert.deepEqual(await statuses(db.pool), { in1: ACTIVE, in2: PAUSED, in3: ACTIVE });

    const bad: unknown[] = [{ nme: 'in3' }, { name: 3 }, { name: '' }, ['in3'], null, 42, { name: 'in1', migration: 'in3' }];
    for (const selector of bad) {
      await assert.rejects(
        api.pause(selector as never),
        (err: unknown) => isBbmError(err, ErrorCode.INVALID_INPUT),
        JSON.stringify(selector),
      );
    }
    await assert.rejects(api.pause({ nme: 'in3' } as never), invalid('"nme"'));
    await assert.rejects(api.resume({ repo: 'apiin-r1' } as never), invalid('"repo"'));
    await assert.rejects(api.retry({ name: 'in2' } as never), invalid('name'));
    await assert.rejects(api.progress({ migrations: 'in2' } as never), invalid('"migrations"'));
    assert.deepEqual(await statuses(db.pool), { in1: ACTIVE, in2: PAUSED, in3: ACTIVE }, 'no refused call changed a status');

    assert.deepEqual(
      (await api.progress({ migration: 'in3' })).map((p) => p.name),
      ['in3'],
    );
    await api.pause({});
    assert.deepEqual(await statuses(db.pool), { in1: PAUSED, in2: PAUSED, in3: PAUSED }, '{} selects every migration');
  } finally {
    await api.close();
  }
});

test('the audit limit returns the most recent events listed oldest first, from the API and the CLI', async () => {
  const db = await createTestDatabase('api_inputs_audit');
  const taskQueue = uniqueTaskQueue('api-inputs-audit');
  const api = new BbmClient({ databaseUrl: db.url, taskQueue, actor: 'tester', logLevel: 'silent' });
  try {
    const ids: string[] = [];
    for (let i = 0; i < 49; i++) {
      ids.push(await insertAuditEvent(db.pool, { actor: 'tester', via: 'api', action: 'pause', target: `t${i}` }));
    }
    const byId = (a: string, b: string) => (BigInt(a) < BigInt(b) ? -1 : 1);
    const newest = [...ids].sort(byId).slice(-2);
    const listed = await api.audit({ limit: 2 });
    assert.deepEqual(
      listed.map((e) => e.id),
      newest,
    );
    assert.deepEqual(
      listed.map((e) => e.target),
      ['t47', 't48'],
    );
    assert.deepEqual(
      (await api.audit({ limit: 12 })).map((e) => e.target),
      Array.from({ length: 12 }, (_, i) => `t${37 + i}`),
    );

    const cli = await bbm(['audit', '--limit', '2', '--json'], cliEnv(db.url, taskQueue));
    assert.equal(cli.code, 0, shown(cli));
    assert.deepEqual(
      (JSON.parse(cli.stdout) as AuditEvent[]).map((e) => e.target),
      ['t47', 't48'],
    );
  } finally {
    await api.close();
  }
});

test('audit refuses an unusable since or limit with INVALID_INPUT and accepts the CLI duration forms', async () => {
  const db = await createTestDatabase('api_inputs_since');
  const api = new BbmClient({ databaseUrl: db.url, taskQueue: uniqueTaskQueue('api-inputs-since'), actor: 'tester', logLevel: 'silent' });
  try {
    await insertAuditEvent(db.pool, { actor: 'tester', via: 'api', action: 'pause', target: 'recent' });
    assert.deepEqual(
      (await api.audit({ since: '1h' })).map((e) => e.target),
      ['recent'],
    );
    assert.deepEqual(await api.audit({ since: new Date(Date.now() + 3_600_000) }), []);
    await assert.rejects(api.audit({ since: new Date('x') }), invalid('since'));
    await assert.rejects(api.audit({ since: 'yesterday' }), (err: unknown) => isBbmError(err, ErrorCode.INVALID_INPUT));
    await assert.rejects(api.audit({ limit: -5 }), invalid('limit'));
    await assert.rejects(api.audit({ limit: 2.5 }), invalid('limit'));
    await assert.rejects(api.audit({ migraton: 'x' } as never), invalid('"migraton"'));
  } finally {
    await api.close();
  }
});

test('start refuses bad knobs with INVALID_INPUT and starts no workflow', async () => {
  const db = await createTestDatabase('api_inputs_knobs');
  await createItems(db.pool, 'items', 100);
  const api = new BbmClient({ databaseUrl: db.url, taskQueue: uniqueTaskQueue('api-inputs-knobs'), actor: 'tester', logLevel: 'silent' });
  try {
    // A migration of the repository, so that only the knobs stand between the call and a start.
    await api.define({
      name: 'knob1',
      repository: 'apiin-knobs',
      work: 'increment',
      table: 'items',
      column: 'id',
      args: { target: 'counter' },
    });
    const bad: [unknown, string][] = [
      [{ maxJobPerBatch: 0 }, 'maxJobPerBatch'],
      [{ maxJobsPerBatch: 2 }, '"maxJobsPerBatch"'],
      [{ minDelayMs: 5000 }, 'maxDelayMs (2000)'],
      [{ localActivities: 'yes' }, 'localActivities'],
      ['fast', 'knobs'],
    ];
    for (const [knobs, named] of bad) {
      await assert.rejects(api.start('apiin-knobs', { knobs: knobs as never }), invalid(named), JSON.stringify(knobs));
    }
    const client = await testClient();
    await assert.rejects(client.workflow.getHandle(repositoryWorkflowId('apiin-knobs')).describe(), WorkflowNotFoundError);
    assert.deepEqual(await statuses(db.pool), { knob1: MigrationStatus.ACTIVE }, 'the migration was not touched');
  } finally {
    await api.close();
  }
});
