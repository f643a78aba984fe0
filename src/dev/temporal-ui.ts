import fs from 'node:fs';
import path from 'node:path';
import { stringify } from 'yaml';
import { BbmError, ErrorCode } from '../errors';
import type { Logger } from '../logger';
import { freePort, waitForPort } from './ports';
import { startProcess, type ManagedProcess } from './process';

export interface TemporalUi {
  /** Base URL, e.g. http://127.0.0.1:41234. */
  url: string;
  process: ManagedProcess;
  stop(): Promise<void>;
}

export interface StartTemporalUiOptions {
  /** Path of the `temporal-ui-server` binary. */
  binary: string;
  /** host:port of the frontend it talks to. */
  frontend: string;
  /** Folder for its generated configuration (`<dir>/bbm.yaml`). */
  dir: string;
  namespace: string;
  /** @default a free port */
  port?: number;
  logger: Logger;
}

/**
 * The Temporal web UI server, on loopback, pointed at one frontend. The UI server takes a single
 * gRPC address; if that node goes down the UI shows errors until it is back (the workers and
 * clients, which use all frontends, are not affected).
 *
 * @throws BbmError SERVICE_START_FAILED with its last output when it does not come up.
 */
export async function startTemporalUi(options: StartTemporalUiOptions): Promise<TemporalUi> {
  const port = options.port ?? (await freePort());
  fs.mkdirSync(options.dir, { recursive: true });
  const config = {
    temporalGrpcAddress: options.frontend,
    host: '127.0.0.1',
    port,
    enableUi: true,
    defaultNamespace: options.namespace,
    notifyOnNewVersion: false,
  };
  fs.writeFileSync(path.join(options.dir, 'bbm.yaml'), stringify(config));
  const proc = startProcess('temporal-ui', options.binary, ['--root', '/', '--config', options.dir, '--env', 'bbm', 'start'], { env: {} });
  try {
    await waitForPort('127.0.0.1', port, 60_000, proc.alive);
  } catch (err) {
    await proc.stop('SIGKILL');
    throw new BbmError(ErrorCode.SERVICE_START_FAILED, `The Temporal UI server did not start: ${(err as Error).message}\n${proc.tail()}`);
  }
  const url = `http://127.0.0.1:${port}`;
  options.logger.debug({ url, frontend: options.frontend }, 'Temporal UI is up');
  return { url, process: proc, stop: () => proc.stop('SIGTERM', 10_000) };
}
