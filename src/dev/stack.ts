import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { BbmConfig } from '../config';
import type { Logger } from '../logger';
import { startDevPostgres, type DevPostgres } from './postgres';
import { checkReusedServices } from './reuse';
import { findOrBuildTemporalCli } from './temporal-cli';
import { startDevTemporal, type DevTemporalServer } from './temporal-server';

export interface DevStack {
  /** DATABASE_URL to use (given, or the local server's). */
  databaseUrl: string;
  /** Maintenance database of the local server, when bbm started it (tests create databases through it). */
  adminUrl: string | undefined;
  /** TEMPORAL_ADDRESS to use (given, or the dev server's). */
  temporalAddress: string;
  /** Web UI of the dev server; undefined when Temporal was given. */
  uiUrl: string | undefined;
  temporalCli: string | undefined;
  /** Stop what this stack started, in reverse order; safe to call twice. */
  stop(): Promise<void>;
}

export interface StartDevStackOptions {
  config: BbmConfig;
  logger: Logger;
  /** Throw-away state in a temp folder with fsync off (tests), or durable state under dataDir (npm start). */
  ephemeral: boolean;
  /** Start the Temporal web UI. @default true */
  ui?: boolean;
}

/**
 * Reuse what the configuration points at (DATABASE_URL, TEMPORAL_ADDRESS) and start the rest
 * locally: Postgres, and the Temporal dev server from a found-or-built `temporal` binary.
 */
export async function startDevStack(options: StartDevStackOptions): Promise<DevStack> {
  const { config, logger } = options;
  await checkReusedServices(config);
  const root = options.ephemeral ? fs.mkdtempSync(path.join(os.tmpdir(), 'bbm-dev-')) : config.dataDir;
  const started: { stop(): Promise<void> }[] = [];
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    for (const s of started.reverse()) await s.stop().catch((err: Error) => logger.warn({ err: err.message }, 'stopping a service failed'));
    if (options.ephemeral) fs.rmSync(root, { recursive: true, force: true });
  };
  try {
    let pg: DevPostgres | undefined;
    if (!config.databaseUrl) {
      pg = await startDevPostgres({ dataDir: path.join(root, 'postgres'), ephemeral: options.ephemeral, logger });
      started.push(pg);
    }
    let temporal: DevTemporalServer | undefined;
    let temporalCli: string | undefined;
    if (!config.temporal.address) {
      temporalCli = await findOrBuildTemporalCli({ explicitPath: config.temporalCli, toolsDir: config.toolsDir, logger });
      temporal = await startDevTemporal({
        binary: temporalCli,
        dbFile: options.ephemeral ? undefined : path.join(root, 'temporal.db'),
        uiPort: options.ui === false ? false : undefined,
        logger,
      });
      started.push(temporal);
    }
    return {
      databaseUrl: config.databaseUrl ?? (pg as DevPostgres).url,
      adminUrl: pg?.adminUrl,
      temporalAddress: config.temporal.address ?? (temporal as DevTemporalServer).address,
      uiUrl: temporal?.uiUrl,
      temporalCli,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
