import { randomInt } from 'node:crypto';
import net from 'node:net';
import path from 'node:path';
import { BbmError, ErrorCode } from '../errors';
import type { Logger } from '../logger';
import { writeFrontendsName, type FrontendsName } from './frontends-name';
import type { ClusterBinaries } from './temporal-cluster-tools';
import { prepareNamespace } from './temporal-cluster-setup';
import { NODE_PORTS, temporalNode, type TemporalNode } from './temporal-node';
import { setUpTemporalSchemas, type SchemaConnection, type TemporalDatabases } from './temporal-schema';
import { startTemporalUi, type TemporalUi } from './temporal-ui';

export interface StartTemporalClusterOptions {
  binaries: ClusterBinaries;
  /** Server nodes, each running all services. @default 3 */
  nodes?: number;
  /** The PostgreSQL server that holds both Temporal stores; the schema tool creates the databases. */
  postgres: SchemaConnection;
  /** @default temporal, temporal_visibility */
  databases?: TemporalDatabases;
  /** @default "default" */
  namespace?: string;
  /** Fixed when the cluster's databases are first set up. @default 16 */
  numHistoryShards?: number;
  /** A folder for the UI's configuration and the frontends hosts file. */
  dir: string;
  /** The server's own log level. @default "error" */
  nodeLogLevel?: string;
  logger: Logger;
}

export interface TemporalCluster {
  nodes: TemporalNode[];
  /** host:port of every node's frontend, node 1 first. */
  frontends: string[];
  namespace: string;
  databases: TemporalDatabases;
  /** Web UI base URL (pointed at node 1's frontend); undefined without a UI binary. */
  uiUrl: string | undefined;
  /** One host name for every frontend, for processes run with a private /etc/hosts (frontends-name.ts). */
  frontendsName: FrontendsName;
  /** Stop the UI and every node this launcher started (gracefully, in reverse order); safe to call twice. */
  stop(): Promise<void>;
}

/**
 * Start a Temporal cluster on PostgreSQL persistence and visibility: set up both schemas with
 * the schema tool, start node 1 (it records the cluster's metadata: nodes starting together
 * would race to write it), then the other nodes at once, each on a loopback address of its own
 * with Temporal's standard ports; they find each other through the membership table. Then
 * register the namespace and bbm's search attributes, and start the UI on node 1's frontend.
 *
 * @throws BbmError SERVICE_START_FAILED (with the failing part's output); what was started is stopped.
 */
export async function startTemporalCluster(options: StartTemporalClusterOptions): Promise<TemporalCluster> {
  const count = options.nodes ?? 3;
  const databases = options.databases ?? { database: 'temporal', visibilityDatabase: 'temporal_visibility' };
  const namespace = options.namespace ?? 'default';
  const started = Date.now();
  await setUpTemporalSchemas(options.binaries.sqlTool, options.postgres, databases, options.logger);
  const ips = await freeAddressBlock(count);
  const nodes = ips.map((ip, i) =>
    temporalNode({
      binary: options.binaries.server,
      index: i + 1,
      ip,
      clusterAddress: `${ips[0]}:${NODE_PORTS.frontend}`,
      postgres: options.postgres,
      databases,
      numHistoryShards: options.numHistoryShards ?? 16,
      logLevel: options.nodeLogLevel,
      logger: options.logger,
    }),
  );
  let ui: TemporalUi | undefined;
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await ui?.stop();
    for (const node of [...nodes].reverse())
      await node
        .stop()
        .catch((err: Error) => options.logger.warn({ node: node.index, err: err.message }, 'stopping a Temporal node failed'));
  };
  try {
    const [first, ...rest] = nodes as [TemporalNode, ...TemporalNode[]];
    await first.start();
    await Promise.all(rest.map((n) => n.start()));
    const frontends = nodes.map((n) => n.frontend);
    await prepareNamespace({ address: first.frontend, frontends, namespace, logger: options.logger });
    if (options.binaries.uiServer) {
      ui = await startTemporalUi({
        binary: options.binaries.uiServer,
        frontend: first.frontend,
        dir: path.join(options.dir, 'ui'),
        namespace,
        logger: options.logger,
      });
    }
    options.logger.info({ nodes: count, frontends, ui: ui?.url, duration_s: (Date.now() - started) / 1000 }, 'Temporal cluster is up');
    return {
      nodes,
      frontends,
      namespace,
      databases,
      uiUrl: ui?.url,
      frontendsName: writeFrontendsName(options.dir, ips, NODE_PORTS.frontend),
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/**
 * `count` loopback addresses 127.A.B.1..count (A, B random) on which every node port is free.
 * The whole of 127.0.0.0/8 is loopback on Linux, so each node gets standard ports on an address
 * of its own, as on separate hosts, and two clusters on one machine do not collide.
 */
async function freeAddressBlock(count: number): Promise<string[]> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const prefix = `127.${randomInt(16, 250)}.${randomInt(1, 250)}`;
    const ips = Array.from({ length: count }, (_, i) => `${prefix}.${i + 1}`);
    const checks = ips.flatMap((ip) => Object.values(NODE_PORTS).map((port) => canBind(ip, port)));
    if ((await Promise.all(checks)).every(Boolean)) return ips;
  }
  throw new BbmError(
    ErrorCode.SERVICE_START_FAILED,
    "Found no loopback address block with Temporal's ports free (tried 20); is something listening on 0.0.0.0:7233?",
  );
}

function canBind(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, host, () => server.close(() => resolve(true)));
  });
}
