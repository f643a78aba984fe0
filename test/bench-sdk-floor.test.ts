/**
 * The bench's SDK floor (bench/sdk-floor.ts) on the real Temporal server. Found by a fresh reviewer:
 * a floor worker that died after it was ready left the bench waiting for ever.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import { measureSdkFloor } from '../bench/sdk-floor';
import { waitFor } from './helpers/wait';

/** The pid of this process's child running the floor worker, if it has one. */
function floorWorkerPid(): number | undefined {
  const out = execFileSync('ps', ['-eo', 'pid=,ppid=,args='], { encoding: 'utf8' });
  for (const line of out.split('\n')) {
    const [pid, ppid, ...args] = line.trim().split(/\s+/);
    if (Number(ppid) === process.pid && args.join(' ').includes('sdk-floor/worker.ts')) return Number(pid);
  }
  return undefined;
}

test('the SDK floor fails, and terminates its workflow, when its worker process dies in the middle of the measured run', async () => {
  const address = process.env.TEMPORAL_ADDRESS;
  assert.ok(address, 'TEMPORAL_ADDRESS is set by test/run.ts');
  const connection = await Connection.connect({ address });
  const client = new Client({ connection, namespace: 'default' });
  try {
    // Long enough to be running when the worker is killed (the warm-up is a tenth of it).
    const activities = 200_000;
    const settled = measureSdkFloor(client, { address, namespace: 'default', activities, processArgs: [], processEnv: {} }).then(
      () => 'resolved',
      (err: Error) => `rejected: ${err.message}`,
    );
    const running = await waitFor('the measured floor workflow running', async () => {
      for await (const wf of client.workflow.list({ query: `WorkflowType = 'sdkFloor' AND ExecutionStatus = 'Running'` }))
        if (wf.workflowId.includes(`-${activities}-`)) return wf.workflowId;
      return undefined;
    });
    const pid = floorWorkerPid();
    assert.ok(pid, 'the floor worker is a child of this process');
    process.kill(pid, 'SIGKILL');
    // Before the fix it waited for ever; a generous bound keeps a regression from hanging the suite.
    const outcome = await Promise.race([
      settled,
      new Promise<string>((r) => setTimeout(() => r('still waiting after 120 s'), 120_000).unref()),
    ]);
    assert.match(outcome, /^rejected: the SDK floor worker exited \(SIGKILL\)/);
    const { status } = await client.workflow.getHandle(running).describe();
    assert.equal(status.name, 'TERMINATED');
  } finally {
    await connection.close();
  }
});
