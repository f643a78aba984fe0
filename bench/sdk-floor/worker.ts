/**
 * The SDK floor's worker process (started by bench/sdk-floor.ts, never by bbm): a Temporal worker
 * with the floor workflow and one activity that returns its input, built with bbm's bundle options
 * (the same preloaded sandbox set-up and libraries). Prints "ready" once it polls; SIGTERM stops it.
 * Reads FLOOR_ADDRESS, FLOOR_NAMESPACE and FLOOR_TASK_QUEUE.
 */
import { bundleWorkflowCode, DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { workflowBundleOptions } from '../../src/workflow-bundle';

async function main(): Promise<void> {
  const env = process.env;
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const connection = await NativeConnection.connect({ address: env.FLOOR_ADDRESS });
  const workflowBundle = await bundleWorkflowCode({
    ...workflowBundleOptions(require.resolve('./workflows')),
    logger: Runtime.instance().logger,
  });
  const worker = await Worker.create({
    connection,
    namespace: env.FLOOR_NAMESPACE ?? 'default',
    taskQueue: env.FLOOR_TASK_QUEUE ?? 'bbm-sdk-floor',
    workflowBundle,
    activities: { echo: async (payload: Record<string, unknown>) => payload },
  });
  process.once('SIGTERM', () => worker.shutdown());
  const running = worker.run();
  process.stdout.write('ready\n');
  await running;
  await connection.close();
}

main().then(
  () => process.exit(0),
  (err: Error) => {
    process.stderr.write(`sdk floor worker failed: ${err.stack ?? String(err)}\n`);
    process.exit(1);
  },
);
