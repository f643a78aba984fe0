import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { CpuMeter } from './cpu';

/** What the SDK floor measured: a workflow that runs nothing but local activities, with no bbm code. */
export interface SdkFloorResult {
  /** Local activities in the measured run (after a warm-up run of a tenth as many). */
  activities: number;
  wallMs: number;
  /** Wall time per local activity, ms: the least a bbm job (one local activity) can cost in this run. */
  msPerActivity: number;
  /** CPU of the floor's worker process per local activity, ms (all its threads; /proc, so Linux only, else 0). */
  workerCpuMsPerActivity: number;
}

/**
 * Measure the Temporal TypeScript SDK's own cost per local activity on this machine and server:
 * a worker process of its own (bench/sdk-floor/worker.ts, started with the bench worker's process
 * settings) runs a workflow whose loop awaits `activities` local activities that return their
 * input (an object the size of an executeJob input), one after the other, as bbm's repository
 * workflow awaits executeJob once per job. Nothing else runs in it: no SQL, no bbm activity or
 * workflow code. So `msPerActivity` is the floor under bbm's "Temporal" share of a no-op job, and
 * under the whole no-op job. Throws when the worker process fails to start, exits before the
 * measured run ends (its workflow is then terminated), or the workflow fails.
 */
export async function measureSdkFloor(
  client: Client,
  options: { address: string; namespace: string; activities: number; processArgs: string[]; processEnv: NodeJS.ProcessEnv },
): Promise<SdkFloorResult> {
  const taskQueue = `bbm-sdk-floor-${randomBytes(3).toString('hex')}`;
  const entry = path.join(__dirname, 'sdk-floor', 'worker.ts');
  const child = spawn(process.execPath, [...options.processArgs, '--import', 'tsx', entry], {
    env: {
      ...process.env,
      ...options.processEnv,
      FLOOR_ADDRESS: options.address,
      FLOOR_NAMESPACE: options.namespace,
      FLOOR_TASK_QUEUE: taskQueue,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const killOnExit = (): void => void child.kill('SIGKILL');
  process.once('exit', killOnExit);
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
  // The worker dying at any moment (a crash, its heap limit, a stray kill) fails the measurement
  // instead of leaving it waiting for a workflow nobody runs.
  const died = new Promise<never>((_, reject) =>
    child.once('exit', (code, signal) =>
      reject(new Error(`the SDK floor worker exited (${signal ?? `code ${String(code)}`}): ${stderr.trim() || 'it wrote nothing'}`)),
    ),
  );
  const exited = died.catch(() => undefined);
  let workflowId: string | undefined;
  try {
    await Promise.race([
      new Promise<void>((resolve) =>
        child.stdout.on('data', (chunk: Buffer) => {
          if (chunk.toString().includes('ready')) resolve();
        }),
      ),
      died,
    ]);
    const payload = {
      jobId: '9007199254740993',
      migrationId: '42',
      maxJobAttempts: 3,
      jobTimeoutMs: 120_000,
      fence: {
        repository: 'bench-repository',
        holder: 'bbm-repository:bench-repository/0192a7e5-8c1f-7d2e-a3b4-c5d6e7f80912',
        token: '1234',
      },
      findAhead: { exclude: [], leaseTtlMs: 60_000 },
      runAhead: true,
      healthCheckInMs: 1_000,
    };
    const run = (activities: number): Promise<number> => {
      workflowId = `${taskQueue}-${activities}-${Date.now()}`;
      return Promise.race([client.workflow.execute('sdkFloor', { taskQueue, workflowId, args: [{ activities, payload }] }), died]);
    };
    await run(Math.max(1, Math.floor(options.activities / 10)));
    const cpu = new CpuMeter({ workerPid: child.pid ?? -1 }).start();
    const startedAt = performance.now();
    const ran = await run(options.activities);
    const wallMs = performance.now() - startedAt;
    const workerCpuSeconds = cpu().worker;
    return { activities: ran, wallMs, msPerActivity: wallMs / ran, workerCpuMsPerActivity: (workerCpuSeconds * 1000) / ran };
  } catch (err) {
    // Not left running on a server the bench does not own (TEMPORAL_ADDRESS set).
    if (workflowId)
      await client.workflow
        .getHandle(workflowId)
        .terminate('the SDK floor measurement failed')
        .catch(() => undefined);
    throw err;
  } finally {
    child.kill('SIGTERM');
    await exited;
    process.off('exit', killOnExit);
  }
}
