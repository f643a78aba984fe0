import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { BbmError, ErrorCode } from '../errors';
import { findPostgresBin, launchPostgres, letPostgresThrough, postgresAccount } from './postgres';

const execFileAsync = promisify(execFile);

export interface StandbyPostgres {
  /** Connection string of the standby's maintenance database (read-only: it is in recovery). */
  adminUrl: string;
  port: number;
  dataDir: string;
  stop(): Promise<void>;
}

export interface StartStandbyOptions {
  /** Port of the primary on 127.0.0.1; it must accept replication connections from `postgres` (initdb --auth=trust does). */
  primaryPort: number;
  /** An empty or missing directory for the standby's copy of the cluster. */
  dataDir: string;
  /** More server settings (`name=value`). @default none */
  settings?: string[];
}

/**
 * A real streaming standby of a local primary, for tests and demos of replication lag: a base
 * backup with `pg_basebackup -R` (which writes primary_conninfo and standby.signal), then
 * `postgres` on a free port, run as the `postgres` user when we are root, like the primary.
 * Needs the machine's PostgreSQL binaries (the embedded package has no pg_basebackup).
 * @throws BbmError SERVICE_START_FAILED when the binaries are missing or the backup or start fails
 */
export async function startStandby(options: StartStandbyOptions): Promise<StandbyPostgres> {
  const bin = findPostgresBin();
  if (!bin || !fs.existsSync(path.join(bin, 'pg_basebackup'))) {
    throw new BbmError(
      ErrorCode.SERVICE_START_FAILED,
      "A standby needs the machine's PostgreSQL binaries (initdb, postgres, pg_basebackup); install PostgreSQL.",
    );
  }
  const account = postgresAccount();
  fs.mkdirSync(options.dataDir, { recursive: true, mode: 0o700 });
  if (account) {
    fs.chownSync(options.dataDir, account.uid, account.gid);
    letPostgresThrough(options.dataDir);
  }
  try {
    const args = [
      '-D',
      options.dataDir,
      '-R',
      '-X',
      'stream',
      '-c',
      'fast',
      '--no-sync',
      '-h',
      '127.0.0.1',
      '-p',
      String(options.primaryPort),
      '-U',
      'postgres',
    ];
    await execFileAsync(path.join(bin, 'pg_basebackup'), args, { ...(account ?? {}), cwd: os.tmpdir(), timeout: 120_000 });
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr ?? '';
    throw new BbmError(
      ErrorCode.SERVICE_START_FAILED,
      `pg_basebackup from port ${options.primaryPort} failed: ${stderr || (err as Error).message}`,
    );
  }
  // A hot standby refuses to run with fewer connections than its primary: the dev primary has 300.
  const settings = ['listen_addresses=127.0.0.1', 'hot_standby=on', 'fsync=off', 'max_connections=300', ...(options.settings ?? [])];
  const { port, adminUrl, stop } = await launchPostgres(bin, options.dataDir, settings, account);
  return { adminUrl, port, dataDir: options.dataDir, stop };
}
