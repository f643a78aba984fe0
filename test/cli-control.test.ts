import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Pool } from 'pg';
import { repositoryWorkflowId } from '../src/contract/ids';
import { bbm, cliEnv, shown, type CliResult } from './helpers/cli';
import { createItems, createTestDatabase } from './helpers/db';
import { startTestWorker } from './helpers/temporal';
import { waitFor } from './helpers/wait';

/**
 * Pause and resume have one writer per command: the running workflow when there is one (the CLI
 * signals it and waits for the database to show the change), the CLI itself when there is none.
 * A statement-level trigger records every UPDATE that sets bbm.migrations.status, with the
 * session's application_name ('bbm-cli' for the CLI, 'bbm' for the worker's pool), so a second
 * write of the same change, even one that moves no row, would show up.
 */
async function auditStatusWrites(pool: Pool): Promise<() => Promise<Array<{ app: string }>>> {
  await pool.query(`
    CREATE TABLE public.status_writes (id serial PRIMARY KEY, app text NOT NULL, query text NOT NULL);
    CREATE FUNCTION public.audit_status_write() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      INSERT INTO public.status_writes (app, query) VALUES (current_setting('application_name'), current_query());
      RETURN NULL;
    END $$;
    CREATE TRIGGER audit_status_write AFTER UPDATE OF status ON bbm.migrations FOR EACH STATEMENT EXECUTE FUNCTION public.audit_status_write();`);
  let seen = 0;
  // Pause and resume are the statements that move rows between statuses in bulk (src/store/migrations.ts transitionMigrations).
  return async () => {
    const { rows } = await pool.query(
      `SELECT id, app FROM public.status_writes WHERE id > $1 AND query LIKE '%status = ANY(%' ORDER BY id`,
      [seen],
    );
    if (rows.length > 0) seen = rows.at(-1).id;
    return rows.map((r) => ({ app: String(r.app) }));
  };
}

async function statuses(pool: Pool): Promise<Record<string, number>> {
  const { rows } = await pool.query('SELECT name, status FROM bbm.migrations ORDER BY name');
  return Object.fromEntries(rows.map((r) => [r.name, Number(r.status)]));
}

function json(r: CliResult): Record<string, unknown> {
  assert.equal(r.code, 0, shown(r));
  return JSON.parse(r.stdout) as Record<string, unknown>;
}

test('pause and resume are written once: by the running workflow when one runs, by the CLI when none does', async () => {
  const db = await createTestDatabase('cli_one_writer');
  await createItems(db.pool, 'items', 6000);
  const worker = await startTestWorker(db);
  const env = cliEnv(db.url, worker.taskQueue);
  const define = (name: string, min: number, max: number): Promise<CliResult> =>
    bbm(
      ['migrations', 'create', '--name', name, '--repository', 'rw', '--work', 'increment', '--table', 'items', '--column', 'id'].concat([
        '--batch-size',
        '100',
        '--min-value',
        String(min),
        '--max-value',
        String(max),
        '--arg',
        'target=counter',
      ]),
      env,
    );
  assert.equal((await define('first', 1, 1500)).code, 0);
  assert.equal((await define('second', 1501, 6000)).code, 0);
  const writes = await auditStatusWrites(db.pool);
  // One job per batch and a second between batches: the workflow runs long enough to be paused and resumed.
  const started = await bbm(
    ['repositories', 'start', 'rw', '--knob', 'maxJobPerBatch=1', '--knob', 'minDelayMs=1000', '--knob', 'maxDelayMs=1200'],
    env,
  );
  assert.equal(started.code, 0, shown(started));
  await waitFor('the workflow to pick up "first"', async () => (await statuses(db.pool)).first === 4, 120_000);

  const paused = json(await bbm(['--json', 'migrations', 'pause', 'first'], env));
  assert.deepEqual([paused.changed, paused.appliedByWorkflow, paused.writtenDirectly, paused.pending], [['first'], ['rw'], [], []]);
  assert.deepEqual(await writes(), [{ app: 'bbm' }], 'one status write, by the worker');
  assert.equal((await statuses(db.pool)).first, 0, 'the CLI returned once the database showed the pause');

  // The workflow carries on with "second", so the resume goes through it too.
  await waitFor('the workflow to move on to "second"', async () => (await statuses(db.pool)).second === 4, 120_000);
  const resumed = json(await bbm(['--json', 'migrations', 'resume', 'first'], env));
  assert.deepEqual([resumed.changed, resumed.appliedByWorkflow, resumed.writtenDirectly], [['first'], ['rw'], []]);
  assert.deepEqual(await writes(), [{ app: 'bbm' }], 'one status write, by the worker');
  assert.equal((await statuses(db.pool)).first, 1);

  const handle = worker.client.workflow.getHandle(repositoryWorkflowId('rw'));
  await handle.cancel();
  await handle.result().catch(() => undefined);

  // The cancel paused both migrations, written by the worker (the cancelled run itself).
  assert.deepEqual(await writes(), [{ app: 'bbm' }], 'one status write, by the worker');
  assert.deepEqual(await statuses(db.pool), { first: 0, second: 0 });

  // Nothing runs now: the CLI writes the database itself, once per command.
  const resumedIdle = await bbm(['migrations', 'resume', '--repository', 'rw'], env);
  assert.equal(resumedIdle.code, 0, shown(resumedIdle));
  assert.match(resumedIdle.stdout, /Resumed 2 migration\(s\): first, second\./);
  assert.match(resumedIdle.stdout, /No workflow is running for rw: add --start/);
  assert.deepEqual(await writes(), [{ app: 'bbm-cli' }], 'one status write, by the CLI');
  assert.deepEqual(await statuses(db.pool), { first: 1, second: 1 });

  const pausedIdle = json(await bbm(['--json', 'migrations', 'pause', '--repository', 'rw'], env));
  assert.deepEqual([pausedIdle.changed, pausedIdle.appliedByWorkflow, pausedIdle.writtenDirectly], [['first', 'second'], [], ['rw']]);
  assert.deepEqual(await writes(), [{ app: 'bbm-cli' }], 'one status write, by the CLI');
  assert.deepEqual(await statuses(db.pool), { first: 0, second: 0 });
});

test('a pause that the running workflow cannot apply in time exits 1 with TIMEOUT, and the workflow applies it later', async () => {
  const db = await createTestDatabase('cli_pause_timeout');
  await createItems(db.pool, 'items', 100);
  const env = cliEnv(db.url, `no-worker-${Date.now()}`);
  assert.equal(
    (await bbm(['migrations', 'create', '--name', 'm', '--repository', 'rt', '--work', 'noop', '--table', 'items', '--column', 'id'], env))
      .code,
    0,
  );
  // A workflow with no worker on its task queue: it runs, but nothing applies the signal yet.
  assert.equal((await bbm(['repositories', 'start', 'rt'], env)).code, 0);
  const r = await bbm(['migrations', 'pause', 'm', '--timeout', '2s'], env);
  assert.equal(r.code, 1, shown(r));
  assert.match(r.stdout, /Signalled, not applied yet: the running workflow\(s\) of rt\./);
  assert.match(r.stderr, /^error\[TIMEOUT\]: The running workflow\(s\) of rt got the pause signal but had not applied it after 2s/);
  assert.equal((await statuses(db.pool)).m, 1, 'the CLI did not write it behind the workflow');

  // A worker arrives: the signal it finds is applied, and the workflow ends paused.
  const worker = await startTestWorker(db, { taskQueue: env.BBM_TASK_QUEUE });
  const summary = await worker.client.workflow.getHandle(repositoryWorkflowId('rt')).result();
  assert.equal(summary.state, 'paused');
  assert.equal((await statuses(db.pool)).m, 0);
});
