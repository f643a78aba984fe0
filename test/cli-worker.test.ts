import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, test } from 'node:test';
import { Client } from 'pg';
import { freePort } from '../src/dev/ports';
import { bbm, cliEnv, shown, spawnBbm } from './helpers/cli';
import { createItems, createTestDatabase } from './helpers/db';
import { testEnv } from './helpers/env';
import { uniqueTaskQueue } from './helpers/temporal';

/** Sum of a metric's samples whose labels contain `labels`. */
function metricValue(body: string, name: string, labels: string): number {
  return body
    .split('\n')
    .filter((l) => l.startsWith(`${name}{`) && l.includes(labels))
    .reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
}

test('bbm worker runs migrations, serves bbm and Temporal SDK metrics on /metrics, passes doctor, and drains on SIGTERM', async () => {
  const db = await createTestDatabase('cli_worker');
  await createItems(db.pool, 'items', 1000);
  const taskQueue = uniqueTaskQueue('cliw');
  const port = await freePort();
  const env = cliEnv(db.url, taskQueue, { BBM_METRICS_PORT: String(port), BBM_LOG_LEVEL: 'info' });
  const worker = spawnBbm(['worker'], env);
  after(() => void worker.child.kill('SIGKILL'));
  await worker.waitFor(/worker started/, 180_000);

  assert.equal(
    (
      await bbm(
        [
          'migrations',
          'create',
          '--name',
          'metered',
          '--repository',
          'm/1',
          '--work',
          'copy_column',
          '--table',
          'items',
          '--column',
          'id',
          '--batch-size',
          '250',
          '--target-job-ms',
          '0',
          '--arg',
          'from=payload',
          '--arg',
          'to=copy',
        ],
        env,
      )
    ).code,
    0,
  );
  const run = await bbm(['repositories', 'start', 'm/1', '--wait', '--knob', 'minDelayMs=0', '--knob', 'maxDelayMs=0'], env, 180_000);
  assert.equal(run.code, 0, shown(run));

  const body = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const labels = 'migration="metered",repository="m/1"';
  assert.equal(metricValue(body, 'bbm_jobs_total', labels), 4, 'four jobs of 250 rows');
  assert.equal(metricValue(body, 'bbm_migrated_tuples_total', labels), 1000);
  assert.equal(metricValue(body, 'bbm_job_duration_seconds_count', labels), 4);
  assert.ok(metricValue(body, 'bbm_job_duration_seconds_sum', labels) > 0);
  assert.equal(metricValue(body, 'bbm_job_batch_size', labels), 250);
  assert.equal(metricValue(body, 'bbm_migration_progress_percent', labels), 100);
  assert.ok(metricValue(body, 'bbm_runs_total', 'repository="m/1"') >= 1);
  assert.match(body, /^temporal_\w+\{.*task_queue="[^"]+".*\} \d/m, 'the Temporal SDK metrics are served on the same endpoint');
  assert.match(body, /^bbm_\w*cpu_user_seconds_total /m, 'process metrics too');

  const doctor = await bbm(['doctor'], env);
  assert.equal(doctor.code, 0, shown(doctor));
  assert.match(doctor.stdout, /^postgres\s+yes\s+PostgreSQL/m);
  assert.match(doctor.stdout, /^search attributes\s+yes\s+BbmRepository, BbmMigration, BbmStatus, BbmProgress/m);
  assert.match(doctor.stdout, /^worker\s+yes\s+1 poller\(s\)/m);
  assert.match(doctor.stdout, /^round trip\s+yes\s+healthCheck workflow in \d+ ms/m);
  assert.match(doctor.stdout, /All checks passed\./);

  worker.child.kill('SIGTERM');
  const exit = await worker.exited;
  assert.equal(exit.code, 0, worker.output());
  assert.match(worker.output(), /worker stopped/);
});

test('doctor reports a task queue without a worker with exit 5 and says how to fix it', async () => {
  const db = await createTestDatabase('cli_doctor');
  const r = await bbm(['doctor'], cliEnv(db.url, uniqueTaskQueue('nobody')));
  assert.equal(r.code, 5, shown(r));
  assert.match(r.stdout, /^worker\s+NO\s+no worker polls task queue test-nobody-\w+: start one with `bbm worker`/m);
});

test('setup creates the schema in an empty database and is idempotent; commands before setup say to run it', async () => {
  const name = `t_cli_setup_${randomBytes(4).toString('hex')}`;
  const admin = new Client({ connectionString: testEnv.adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(testEnv.adminUrl);
  url.pathname = `/${name}`;
  const env = cliEnv(url.toString(), 'unused');

  const early = await bbm(['migrations', 'list'], env);
  assert.equal(early.code, 2, shown(early));
  assert.match(early.stderr, /^error\[CONFIG_INVALID\]: bbm's tables do not exist in this database .*Run `bbm setup`/);

  const first = await bbm(['setup'], env);
  assert.equal(first.code, 0, shown(first));
  assert.match(first.stdout, /schema\s+version \d+ in postgres:\/\/.* \(applied 1/);
  assert.match(
    first.stdout,
    /search attributes\s+namespace default: none added; already there: BbmRepository, BbmMigration, BbmStatus, BbmProgress/,
  );
  const second = await bbm(['--json', 'setup'], env);
  assert.equal(second.code, 0, shown(second));
  assert.deepEqual(JSON.parse(second.stdout).schema.applied, []);
  const list = await bbm(['migrations', 'list'], env);
  assert.equal(list.code, 0, shown(list));
  assert.match(list.stdout, /No migrations yet/);
});
