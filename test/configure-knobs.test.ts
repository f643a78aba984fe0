import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BbmClient } from '../src/api/client';
import { ErrorCode, isBbmError } from '../src/errors';
import { bbm, cliEnv, shown } from './helpers/cli';
import { createItems, createTestDatabase } from './helpers/db';
import { startTestWorker } from './helpers/temporal';

/**
 * minDelayMs <= maxDelayMs is a rule between a running workflow's knobs, so only the workflow's
 * configure validator (which knows the knobs in force) checks it; the CLI and the API check each
 * knob on its own. Checking against the default maxDelayMs (2000) refused minDelayMs=6000 after
 * maxDelayMs=10000 had been configured (a tester's finding). The workflow is kept running by slow
 * knobs: one job per round, 2 s apart.
 */

test('after maxDelayMs is raised, a larger minDelayMs is accepted from the CLI and the API, and the workflow refuses one above it', async () => {
  const db = await createTestDatabase('configure_knobs');
  await createItems(db.pool, 'items', 3000);
  const worker = await startTestWorker(db);
  const env = cliEnv(db.url, worker.taskQueue);
  const api = new BbmClient({ databaseUrl: db.url, taskQueue: worker.taskQueue, actor: 'tester', logLevel: 'silent' });
  try {
    const definition = { name: 'ck1', repository: 'cfgknob-r1', work: 'increment', table: 'items', column: 'id', batchSize: 100 };
    await api.define({ ...definition, targetJobMs: 0, args: { target: 'counter' } });
    await api.start('cfgknob-r1', { knobs: { minDelayMs: 2000, maxDelayMs: 2000, maxJobPerBatch: 1 } });

    const raise = await bbm(['migrations', 'configure', '--repository', 'cfgknob-r1', '--knob', 'maxDelayMs=10000', '--json'], env);
    assert.equal(raise.code, 0, shown(raise));
    const cli = await bbm(['migrations', 'configure', '--repository', 'cfgknob-r1', '--knob', 'minDelayMs=6000', '--json'], env);
    assert.equal(cli.code, 0, shown(cli));
    assert.equal((JSON.parse(cli.stdout) as { knobs: { minDelayMs: number } }).knobs.minDelayMs, 6000);

    const report = await api.configure('cfgknob-r1', { minDelayMs: 7000 });
    assert.equal(report.appliedBy, 'workflow');
    const knobs = report.appliedBy === 'workflow' ? report.knobs : undefined;
    assert.deepEqual([knobs?.minDelayMs, knobs?.maxDelayMs], [7000, 10000]);

    // Above the maxDelayMs in force: the workflow's validator refuses it, naming the one in force.
    await assert.rejects(
      api.configure('cfgknob-r1', { minDelayMs: 12000 }),
      (err: unknown) => isBbmError(err, ErrorCode.INVALID_INPUT) && err.message.includes('maxDelayMs (10000)'),
    );
    // Given together, the two are checked against each other before anything is sent.
    await assert.rejects(
      api.configure('cfgknob-r1', { minDelayMs: 500, maxDelayMs: 400 }),
      (err: unknown) => isBbmError(err, ErrorCode.INVALID_INPUT) && err.message.includes('maxDelayMs (400)'),
    );
    assert.equal((await api.cancel('cfgknob-r1')).cancelled, true);

    const none = await bbm(['migrations', 'configure', '--repository', 'cfgknob-r1', '--knob', 'minDelayMs=100'], env);
    assert.notEqual(none.code, 0, shown(none));
    assert.match(none.stderr, /INVALID_STATE/, shown(none));
    assert.match(none.stderr, /--knob name=value/, shown(none));
    assert.doesNotMatch(none.stderr, /--knobs/, shown(none));
  } finally {
    await api.close();
  }
});
