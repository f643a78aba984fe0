import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { startDevPostgres } from '../../../src/dev/postgres';
import { createLogger } from '../../../src/logger';

const execFileAsync = promisify(execFile);

export interface OwnPostgres {
  url: string;
  port: number;
  /** Fast shutdown (every connection dropped, open transactions rolled back), `downtimeMs` of nothing, then start on the same port. */
  restart(downtimeMs: number): Promise<void>;
  /**
   * Immediate shutdown (`pg_ctl stop -m immediate`: no checkpoint, WAL not yet written is lost,
   * as in a power cut or a failover to an asynchronous standby), `downtimeMs` of nothing, then
   * crash recovery and start on the same port. Resolves once it accepts connections again.
   */
  crash(downtimeMs: number): Promise<void>;
  stop(): Promise<void>;
}

/**
 * A Postgres of the test's own, so it can be restarted without disturbing the run's other tests.
 * The first start goes through the production dev helper (which picks a free port); restarts use
 * pg_ctl on the same data directory and port, because clients must find it where it was.
 */
export async function startOwnPostgres(label: string): Promise<OwnPostgres> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), `bbm-${label}-`));
  const dataDir = path.join(root, 'pg');
  const first = await startDevPostgres({ dataDir, ephemeral: true, logger: createLogger({ level: 'silent', pretty: false }) });
  const bin = postgresBinDir();
  const account = postgresAccount();
  const pgCtl = (args: string[]) => execFileAsync(path.join(bin, 'pg_ctl'), args, { ...account, cwd: os.tmpdir(), timeout: 60_000 });
  let byUs = false; // false: the dev helper's child runs it; true: pg_ctl started it
  const options = [
    '-p',
    String(first.port),
    '-k',
    dataDir,
    '-c',
    'listen_addresses=127.0.0.1',
    '-c',
    'fsync=off',
    '-c',
    'max_connections=300',
  ].join(' ');
  const stop = async (): Promise<void> => {
    if (byUs) await pgCtl(['stop', '-D', dataDir, '-m', 'fast', '-w']).catch(() => undefined);
    else await first.stop();
  };
  const start = async (downtimeMs: number): Promise<void> => {
    await new Promise((r) => setTimeout(r, downtimeMs));
    await pgCtl(['start', '-D', dataDir, '-o', options, '-l', path.join(dataDir, 'restart.log'), '-w']);
    byUs = true;
  };
  return {
    url: first.url,
    port: first.port,
    async restart(downtimeMs) {
      await stop();
      await start(downtimeMs);
    },
    async crash(downtimeMs) {
      await pgCtl(['stop', '-D', dataDir, '-m', 'immediate', '-w']);
      if (!byUs) await first.stop(); // reaps the dev helper's child, which has exited
      await start(downtimeMs);
    },
    async stop() {
      await stop();
      fs.rmSync(root, { recursive: true, force: true });
    },
  };
}

function postgresBinDir(): string {
  const dirs = (process.env.PATH ?? '').split(path.delimiter);
  try {
    for (const v of fs.readdirSync('/usr/lib/postgresql').sort().reverse()) dirs.push(`/usr/lib/postgresql/${v}/bin`);
  } catch {
    // not a Debian-style install
  }
  for (const dir of dirs) {
    const candidate = path.join(dir, 'pg_ctl');
    if (dir && fs.existsSync(candidate)) return path.dirname(fs.realpathSync(candidate));
  }
  throw new Error('pg_ctl not found on PATH or in /usr/lib/postgresql/*/bin');
}

/** Postgres refuses to run as root: as root, run pg_ctl as the `postgres` user, like the dev helper does. */
function postgresAccount(): { uid?: number; gid?: number } {
  if (process.getuid?.() !== 0) return {};
  const line = fs
    .readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('postgres:'));
  if (!line) throw new Error('running as root without a postgres user');
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}
