import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { postgresAccount, startDevPostgres } from '../../src/dev/postgres';
import { startStandby, type StandbyPostgres } from '../../src/dev/standby';
import { createLogger } from '../../src/logger';
import { waitFor } from './wait';

export interface ReplicatedCluster {
  /** The primary's `bbm` database and its maintenance database. */
  url: string;
  adminUrl: string;
  standby: StandbyPostgres;
  /** A directory the postgres user may write, for a working archive_command. */
  archiveDir: string;
  stop(): Promise<void>;
}

/**
 * A primary of the test's own with a real streaming standby (`pg_basebackup -R`), both as the
 * `postgres` user on free ports. The primary runs with archive_mode=on (it needs a restart to
 * change, so it is set at start) and no archive_command yet, and 1 MB WAL segments so a test can
 * make many quickly. Its own cluster, because replication lag, old transactions and the archive
 * are cluster-wide: they must not leak into the run's other tests.
 */
export async function startReplicatedCluster(label: string): Promise<ReplicatedCluster> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), `bbm-${label}-`));
  const account = postgresAccount();
  const archiveDir = path.join(root, 'archive');
  fs.mkdirSync(archiveDir, { mode: 0o700 });
  if (account) {
    fs.chmodSync(root, 0o711);
    fs.chownSync(archiveDir, account.uid, account.gid);
  }
  const primary = await startDevPostgres({
    dataDir: path.join(root, 'primary'),
    ephemeral: true,
    flavour: 'system',
    logger: createLogger({ level: 'silent', pretty: false }),
    settings: ['archive_mode=on', 'wal_keep_size=64MB'],
    initdbArgs: ['--wal-segsize=1'],
  });
  let standby: StandbyPostgres | undefined;
  try {
    standby = await startStandby({ primaryPort: primary.port, dataDir: path.join(root, 'standby') });
    await waitFor(
      'the standby to stream from the primary',
      () => query(primary.adminUrl, "SELECT 1 FROM pg_stat_replication WHERE state = 'streaming'").then((rows) => rows.length > 0),
      60_000,
    );
  } catch (err) {
    await primary.stop();
    throw err;
  }
  const started = standby;
  return {
    url: primary.url,
    adminUrl: primary.adminUrl,
    standby: started,
    archiveDir,
    async stop() {
      await started.stop();
      await primary.stop();
      fs.rmSync(root, { recursive: true, force: true });
    },
  };
}

/** One statement on a fresh connection (for servers whose pools a test does not keep). */
export async function query(url: string, sql: string, values: unknown[] = []): Promise<Record<string, unknown>[]> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(sql, values)).rows;
  } finally {
    await client.end();
  }
}
