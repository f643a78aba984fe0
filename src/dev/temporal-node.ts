import { Connection } from '@temporalio/client';
import { BbmError, ErrorCode } from '../errors';
import type { Logger } from '../logger';
import { waitForPort } from './ports';
import { startProcess, type ManagedProcess } from './process';
import { TEMPORAL_CONFIG_DIR, TEMPORAL_CONFIG_ENV } from './temporal-cluster-tools';
import type { SchemaConnection, TemporalDatabases } from './temporal-schema';

/** Temporal's standard ports, the ones deploy/temporal/bbm.yaml gives every node (each node has an address of its own). */
export const NODE_PORTS = Object.freeze({
  frontend: 7233,
  frontendHttp: 7243,
  frontendMembership: 6933,
  history: 7234,
  historyMembership: 6934,
  matching: 7235,
  matchingMembership: 6935,
  worker: 7239,
  workerMembership: 6939,
});

export interface TemporalNodeOptions {
  /** Path of the `temporal-server` binary. */
  binary: string;
  /** 1-based, for names and logs. */
  index: number;
  /** Loopback address this node alone listens on, e.g. 127.18.40.2. */
  ip: string;
  /** The cluster's recorded frontend address: the same on every node (see bbm.yaml). */
  clusterAddress: string;
  postgres: SchemaConnection;
  databases: TemporalDatabases;
  /** Fixed when the cluster is created; every node must agree. */
  numHistoryShards: number;
  /** The server's own log level. @default "error" */
  logLevel?: string;
  logger: Logger;
}

/** One server process running all four services; it can be stopped, killed and started again on the same address. */
export interface TemporalNode {
  readonly index: number;
  readonly ip: string;
  /** host:port of its frontend. */
  readonly frontend: string;
  /** The running process; undefined while the node is down. */
  readonly process: ManagedProcess | undefined;
  alive(): boolean;
  /** Start it (again) and wait until its frontend reports SERVING. */
  start(): Promise<void>;
  /** SIGTERM (a graceful leave: it hands its shards over), SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
  /** SIGKILL: a crashed host, gone without a goodbye. */
  kill(): Promise<void>;
}

/** A node handle; nothing runs until `start()`. */
export function temporalNode(options: TemporalNodeOptions): TemporalNode {
  const frontend = `${options.ip}:${NODE_PORTS.frontend}`;
  let proc: ManagedProcess | undefined;
  const env = temporalNodeEnv(options);
  const args = temporalNodeArgs(TEMPORAL_CONFIG_DIR);
  return {
    index: options.index,
    ip: options.ip,
    frontend,
    get process() {
      return proc;
    },
    alive: () => proc?.alive() ?? false,
    async start() {
      if (proc?.alive()) return;
      // The config's dynamicconfig.yaml path is relative: run from the config folder.
      const started = startProcess(`temporal-node-${options.index}`, options.binary, args, { env, cwd: TEMPORAL_CONFIG_DIR });
      proc = started;
      try {
        await waitForPort(options.ip, NODE_PORTS.frontend, 120_000, started.alive);
        await waitServing(frontend, started);
      } catch (err) {
        await started.stop('SIGKILL');
        throw new BbmError(
          ErrorCode.SERVICE_START_FAILED,
          `Temporal node ${options.index} (${frontend}) did not start: ${(err as Error).message}\n${started.tail()}`,
        );
      }
      options.logger.debug({ node: options.index, frontend, pid: started.child.pid }, 'Temporal node is serving');
    },
    async stop(graceMs = 30_000) {
      await proc?.stop('SIGTERM', graceMs);
    },
    async kill() {
      await proc?.stop('SIGKILL');
    },
  };
}

/**
 * The environment a node's server reads deploy/temporal/bbm.yaml with (docker-compose.yml sets
 * the same variables on its temporal-N services; test/compose-cluster.test.ts compares them).
 */
export function temporalNodeEnv(options: Omit<TemporalNodeOptions, 'binary' | 'index' | 'logger'>): Record<string, string> {
  return {
    TEMPORAL_BIND_IP: options.ip,
    TEMPORAL_CLUSTER_ADDRESS: options.clusterAddress,
    TEMPORAL_POSTGRES_HOST: options.postgres.host,
    TEMPORAL_POSTGRES_PORT: String(options.postgres.port),
    TEMPORAL_POSTGRES_USER: options.postgres.user,
    TEMPORAL_POSTGRES_PASSWORD: options.postgres.password ?? '',
    TEMPORAL_DB: options.databases.database,
    TEMPORAL_VISIBILITY_DB: options.databases.visibilityDatabase,
    TEMPORAL_NUM_HISTORY_SHARDS: String(options.numHistoryShards),
    TEMPORAL_LOG_LEVEL: options.logLevel ?? 'error',
  };
}

/** The server's command line, with the configuration in `configDir` (docker-compose.yml's temporal-N run the same). */
export function temporalNodeArgs(configDir: string): string[] {
  return ['--root', '/', '--config', configDir, '--env', TEMPORAL_CONFIG_ENV, '--allow-no-auth', 'start'];
}

/** Poll the frontend's gRPC health service until it answers SERVING (the port opens a little earlier). */
async function waitServing(address: string, proc: ManagedProcess): Promise<void> {
  const deadline = Date.now() + 120_000;
  let last = '';
  while (Date.now() < deadline) {
    if (!proc.alive()) throw new Error('the server exited during start-up');
    try {
      const connection = await Connection.connect({ address, connectTimeout: '5 seconds' });
      try {
        const { status } = await connection.healthService.check({ service: 'temporal.api.workflowservice.v1.WorkflowService' });
        if (status === 1) return; // SERVING
        last = `health status ${String(status)}`;
      } finally {
        await connection.close();
      }
    } catch (err) {
      last = (err as Error).message;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`the frontend did not report SERVING within 120 s (last: ${last})`);
}
