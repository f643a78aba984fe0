import fs from 'node:fs';
import path from 'node:path';
import { BbmError, ErrorCode } from '../errors';
import type { Logger } from '../logger';
import { SEARCH_ATTRIBUTES } from '../contract/search-attributes';
import { freePort, waitForPort } from './ports';
import { startProcess, type ManagedProcess } from './process';

export interface DevTemporalServer {
  /** gRPC frontend, host:port. */
  address: string;
  /** Web UI base URL. */
  uiUrl: string;
  process: ManagedProcess;
  stop(): Promise<void>;
}

export interface StartDevTemporalOptions {
  binary: string;
  /** Keep state in this SQLite file so workflows survive a restart; in memory when undefined. */
  dbFile?: string;
  /** @default a free port */
  port?: number;
  /** @default a free port; false disables the UI */
  uiPort?: number | false;
  logger: Logger;
}

/**
 * Start `temporal server start-dev` on loopback with bbm's search attributes registered,
 * and wait until its frontend accepts connections.
 */
export async function startDevTemporal(options: StartDevTemporalOptions): Promise<DevTemporalServer> {
  // A port found free can be taken by another process before the server binds it: try again.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(options);
    } catch (err) {
      if (attempt >= 3 || options.port !== undefined || !/address already in use/i.test((err as Error).message)) throw err;
      options.logger.debug({ attempt }, 'a dev server port was taken meanwhile; retrying with new ports');
    }
  }
}

async function startOnce(options: StartDevTemporalOptions): Promise<DevTemporalServer> {
  const port = options.port ?? (await freePort());
  const uiPort = options.uiPort === false ? undefined : (options.uiPort ?? (await freePort()));
  const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(port), '--log-level', 'error', '--log-format', 'json'];
  args.push(uiPort === undefined ? '--headless' : '--ui-port', ...(uiPort === undefined ? [] : [String(uiPort)]));
  args.push('--http-port', String(await freePort()), '--metrics-port', String(await freePort()));
  for (const [name, type] of Object.entries(SEARCH_ATTRIBUTES)) args.push('--search-attribute', `${name}=${type}`);
  // Eager dispatch hands an activity to the worker in the reply that scheduled it, saving a round trip.
  args.push('--dynamic-config-value', 'system.enableActivityEagerExecution=true');
  if (options.dbFile) {
    fs.mkdirSync(path.dirname(options.dbFile), { recursive: true });
    args.push('--db-filename', options.dbFile);
  }
  const proc = startProcess('temporal', options.binary, args);
  try {
    await waitForPort('127.0.0.1', port, 60_000, proc.alive);
    if (uiPort !== undefined) await waitForPort('127.0.0.1', uiPort, 30_000, proc.alive);
  } catch (err) {
    await proc.stop('SIGKILL');
    throw new BbmError(ErrorCode.SERVICE_START_FAILED, `The Temporal dev server did not start: ${(err as Error).message}\n${proc.tail()}`);
  }
  const address = `127.0.0.1:${port}`;
  options.logger.debug({ address, uiPort, dbFile: options.dbFile }, 'Temporal dev server is up');
  return {
    address,
    uiUrl: uiPort === undefined ? '' : `http://127.0.0.1:${uiPort}`,
    process: proc,
    stop: () => proc.stop('SIGTERM', 10_000),
  };
}
