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

/** A client for starting, signalling and querying workflows. */
export async function connectClient(config: BbmConfig): Promise<Client> {
  try {
    const connection = await Connection.connect({ ...config.temporal.connectionOptions, connectTimeout: '10 seconds' });
    return new Client({ connection, namespace: config.temporal.namespace });
  } catch (err) {
    throw unreachable(config, err);
  }
}

/** The worker's own connection (Rust core). */
export async function connectWorker(config: BbmConfig): Promise<NativeConnection> {
  try {
    return await NativeConnection.connect(config.temporal.connectionOptions);
  } catch (err) {
    throw unreachable(config, err);
  }
}
