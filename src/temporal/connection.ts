import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import type { BbmConfig } from '../config';
import { cannotConnect } from '../errors';

function unreachable(config: BbmConfig, err: unknown) {
  const address = config.temporal.address ?? 'localhost:7233';
  return cannotConnect(
    'Temporal',
    `${address} (namespace ${config.temporal.namespace})`,
    err,
    'Check TEMPORAL_ADDRESS (or your Temporal CLI profile) and that the server is running.',
  );
}

/**
 * A client for starting, signalling and querying workflows. `identity` is what Temporal records
 * as the sender of its signals, updates and cancel requests (the CLI and the API pass the audit
 * trail's actor). @default the SDK's `<pid>@<host>`
 */
export async function connectClient(config: BbmConfig, identity?: string): Promise<Client> {
  try {
    const connection = await Connection.connect({ ...config.temporal.connectionOptions, connectTimeout: '10 seconds' });
    return new Client({ connection, namespace: config.temporal.namespace, ...(identity ? { identity } : {}) });
  } catch (err) {
    throw unreachable(config, err);
  }
}

/**
 * The worker's own connection (Rust core). With DNS load balancing on (the default), a host name
 * with one address per frontend gives a connection to each and calls are spread over them, so
 * losing one frontend does not stop the worker (test/faults/cluster.test.ts).
 */
export async function connectWorker(config: BbmConfig): Promise<NativeConnection> {
  const { dnsRefreshSeconds } = config.temporal;
  try {
    return await NativeConnection.connect({
      ...config.temporal.connectionOptions,
      dnsLoadBalancingConfig: dnsRefreshSeconds > 0 ? { resolutionInterval: dnsRefreshSeconds * 1000 } : null,
    });
  } catch (err) {
    throw unreachable(config, err);
  }
}
