import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { resolveConfig } from '../../../src/config';
import { postgresOf } from '../../../src/dev/cluster-stack';
import { privateHostsSupported } from '../../../src/dev/frontends-name';
import { startTemporalCluster, type TemporalCluster } from '../../../src/dev/temporal-cluster';
import { clusterUnavailableReason, findOrBuildClusterBinaries } from '../../../src/dev/temporal-cluster-tools';
import { createLogger } from '../../../src/logger';
import { connectClient } from '../../../src/temporal/connection';
import { spawnWorker, type WorkerProcess } from '../../helpers/worker-process';

const config = resolveConfig(process.env);

/**
 * Set when this machine cannot run a cluster: no Go toolchain and the binaries not built. The
 * cluster tests skip with this message, and only then (a machine with Go builds them once).
 */
export const CLUSTER_SKIP: string | undefined = clusterUnavailableReason({
  explicit: config.clusterBinaries,
  searchPath: process.env.PATH ?? '',
  toolsDir: config.toolsDir,
});

export interface TestCluster {
  cluster: TemporalCluster;
  /** TEMPORAL_ADDRESS of the bbm workers: one name for every frontend, or node 1's frontend where that cannot be had. */
  workerAddress: string;
  /** Whether workers see every frontend through one name (root and mount namespaces needed). */
  workersSeeEveryFrontend: boolean;
  /** A client connected to node `index` (1-based) only, for tests that pick their frontend. */
  client(index: number): Promise<Client>;
  /** A bbm worker process on this cluster (production factory, test workflow bundle), with `env` added to its environment. */
  spawnWorker(databaseUrl: string, taskQueue: string, env?: Record<string, string>): Promise<WorkerProcess>;
  stop(): Promise<void>;
}

/**
 * A Temporal cluster of `nodes` nodes for one test file, with its two databases in the test run's
 * Postgres (named after `label`), Temporal's web UI, and bbm's search attributes registered.
 */
export async function startTestCluster(label: string, nodes = 3): Promise<TestCluster> {
  const logger = createLogger({ level: 'warn', pretty: false, destination: process.stderr });
  const binaries = await findOrBuildClusterBinaries({
    explicit: config.clusterBinaries,
    searchPath: process.env.PATH ?? '',
    toolsDir: config.toolsDir,
    logger,
    ui: true,
  });
  const adminUrl = process.env.BBM_TEST_ADMIN_URL;
  if (!adminUrl) throw new Error('BBM_TEST_ADMIN_URL is not set: run tests through `npm test` (test/run.ts).');
  const suffix = `${label.replace(/\W/g, '_').slice(0, 20)}_${randomBytes(3).toString('hex')}`;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bbm-test-cluster-'));
  const cluster = await startTemporalCluster({
    binaries,
    nodes,
    postgres: postgresOf(adminUrl),
    databases: { database: `temporal_${suffix}`, visibilityDatabase: `temporal_vis_${suffix}` },
    dir,
    logger,
  });
  const viaName = privateHostsSupported();
  const clients = new Map<number, Client>();
  const workers = new Set<WorkerProcess>();
  return {
    cluster,
    workerAddress: viaName ? cluster.frontendsName.address : (cluster.frontends[0] as string),
    workersSeeEveryFrontend: viaName,
    async client(index) {
      const existing = clients.get(index);
      if (existing) return existing;
      const frontend = cluster.frontends[index - 1];
      if (!frontend) throw new Error(`the cluster has no node ${index}`);
      const client = await connectClient(resolveConfig({ ...process.env, TEMPORAL_ADDRESS: frontend }));
      clients.set(index, client);
      return client;
    },
    async spawnWorker(databaseUrl, taskQueue, extra = {}) {
      const env = { TEMPORAL_ADDRESS: viaName ? cluster.frontendsName.address : cluster.frontends[0], ...extra };
      const worker = await spawnWorker({ databaseUrl, taskQueue, env, wrap: viaName ? cluster.frontendsName.wrap : undefined });
      workers.add(worker);
      return worker;
    },
    async stop() {
      await Promise.all([...workers].map((w) => w.stop()));
      for (const client of clients.values()) await client.connection.close().catch(() => undefined);
      await cluster.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * The remote `ip:port`s process `pid` has established TCP connections to, from /proc (Linux): which
 * frontends a worker is actually connected to.
 */
export function establishedPeers(pid: number): string[] {
  const inodes = new Set<string>();
  for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(fs.readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m?.[1]) inodes.add(m[1]);
    } catch {
      // closed while we looked
    }
  }
  const peers: string[] = [];
  for (const line of fs.readFileSync(`/proc/${pid}/net/tcp`, 'utf8').split('\n').slice(1)) {
    const cols = line.trim().split(/\s+/);
    const [remote, state, inode] = [cols[2], cols[3], cols[9]];
    if (!remote || state !== '01' || !inode || !inodes.has(inode)) continue; // 01 = ESTABLISHED
    const [hexIp, hexPort] = remote.split(':') as [string, string];
    // /proc prints the IPv4 address as a little-endian 32-bit number.
    const ip = [3, 2, 1, 0].map((i) => parseInt(hexIp.slice(i * 2, i * 2 + 2), 16)).join('.');
    peers.push(`${ip}:${parseInt(hexPort, 16)}`);
  }
  return peers;
}
