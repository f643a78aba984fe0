import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { BbmConfig } from '../config';
import { BbmError, ErrorCode } from '../errors';
import type { Logger } from '../logger';
import { startDevPostgres, type DevPostgres } from './postgres';
import type { DevStack } from './stack';
import { startTemporalCluster, type TemporalCluster } from './temporal-cluster';
import { findOrBuildClusterBinaries } from './temporal-cluster-tools';
import type { SchemaConnection } from './temporal-schema';

export interface ClusterStack extends DevStack {
  cluster: TemporalCluster;
}

export interface StartClusterStackOptions {
  config: BbmConfig;
  logger: Logger;
  /** Throw-away state in a temp folder with fsync off (tests, bench), or durable state under `<dataDir>/cluster`. */
  ephemeral: boolean;
  /** Server nodes. @default 3 */
  nodes?: number;
  /** Build and start the Temporal web UI server. @default true */
  ui?: boolean;
}

/**
 * The production topology on one machine: Postgres (DATABASE_URL's server, or a local one) holding
 * bbm's database and both Temporal stores, and a Temporal cluster of `nodes` nodes on it with the
 * web UI (src/dev/temporal-cluster.ts). `temporalAddress` is node 1's frontend; every frontend is
 * in `cluster.frontends`. Its own state folder (`<dataDir>/cluster`) keeps it apart from `bbm dev`'s.
 *
 * @throws BbmError CONFIG_INVALID when TEMPORAL_ADDRESS is set (the cluster is the Temporal to use).
 */
export async function startClusterStack(options: StartClusterStackOptions): Promise<ClusterStack> {
  const { config, logger } = options;
  if (config.temporal.address) {
    throw new BbmError(
      ErrorCode.CONFIG_INVALID,
      `TEMPORAL_ADDRESS is set (${config.temporal.address}), but a cluster run starts its own Temporal cluster. Unset TEMPORAL_ADDRESS (and TEMPORAL_PROFILE).`,
    );
  }
  const root = options.ephemeral ? fs.mkdtempSync(path.join(os.tmpdir(), 'bbm-cluster-')) : path.join(config.dataDir, 'cluster');
  // As root, Postgres runs as the `postgres` user, which must be able to walk down to its data folder.
  if (!options.ephemeral && process.getuid?.() === 0) for (const dir of [config.dataDir, root]) letOthersThrough(dir);
  const started: { stop(): Promise<void> }[] = [];
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    for (const s of started.reverse()) await s.stop().catch((err: Error) => logger.warn({ err: err.message }, 'stopping a service failed'));
    if (options.ephemeral) fs.rmSync(root, { recursive: true, force: true });
  };
  try {
    const ui = options.ui !== false;
    const binaries = await findOrBuildClusterBinaries({
      explicit: config.clusterBinaries,
      searchPath: process.env.PATH ?? '',
      toolsDir: config.toolsDir,
      logger,
      ui,
    });
    let pg: DevPostgres | undefined;
    if (!config.databaseUrl) {
      pg = await startDevPostgres({ dataDir: path.join(root, 'postgres'), ephemeral: options.ephemeral, logger });
      started.push(pg);
    }
    const databaseUrl = config.databaseUrl ?? (pg as DevPostgres).url;
    const cluster = await startTemporalCluster({
      binaries,
      nodes: options.nodes,
      postgres: postgresOf(databaseUrl),
      dir: path.join(root, 'temporal'),
      logger,
    });
    started.push(cluster);
    return {
      databaseUrl,
      adminUrl: pg?.adminUrl,
      temporalAddress: cluster.frontends[0] as string,
      uiUrl: cluster.uiUrl,
      temporalCli: undefined,
      stop,
      cluster,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** The schema tool's and the nodes' view of a postgres:// URL (its server and login; the database is Temporal's own). */
export function postgresOf(url: string): SchemaConnection {
  const u = new URL(url);
  return {
    host: u.hostname,
    port: u.port ? Number(u.port) : 5432,
    user: decodeURIComponent(u.username) || 'postgres',
    password: u.password ? decodeURIComponent(u.password) : undefined,
  };
}

function letOthersThrough(dir: string): void {
  fs.mkdirSync(dir, { recursive: true });
  const mode = fs.statSync(dir).mode & 0o7777;
  if ((mode & 0o001) === 0) fs.chmodSync(dir, mode | 0o011);
}
