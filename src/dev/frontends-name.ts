import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { findOnPath } from './temporal-cli';

/**
 * One host name for all of a local cluster's frontends, the way production gives workers one:
 * a DNS name with an A record per frontend (a Kubernetes headless service, a Docker network
 * alias, a Consul service). The bbm worker resolves it to every address and spreads its calls
 * over them (Temporal Core's DNS load balancing, src/temporal/connection.ts), so losing one
 * frontend does not stop it.
 *
 * Nothing on this machine resolves such a name, and the machine's /etc/hosts is not ours to
 * edit. So a process that should see it runs in a private mount namespace (`unshare --mount`)
 * whose /etc/hosts is a bind mount of a file listing the frontends: what Docker does for every
 * container. The machine's own /etc/hosts is never changed. Needs root and util-linux's unshare.
 */
export const FRONTENDS_HOST = 'frontends.bbm-cluster.test';

export interface FrontendsName {
  /** `FRONTENDS_HOST:port`, for TEMPORAL_ADDRESS. */
  address: string;
  /** The hosts file that maps FRONTENDS_HOST to every frontend. */
  hostsFile: string;
  /** The command line that runs `command args` with that hosts file as its /etc/hosts. */
  wrap(command: string, args: string[]): { command: string; args: string[] };
}

/** Write `<dir>/hosts`: the machine's hosts file plus one FRONTENDS_HOST line per frontend address. */
export function writeFrontendsName(dir: string, ips: string[], port: number): FrontendsName {
  fs.mkdirSync(dir, { recursive: true });
  const hostsFile = path.join(dir, 'hosts');
  let base: string;
  try {
    base = fs.readFileSync('/etc/hosts', 'utf8');
  } catch {
    base = '127.0.0.1 localhost\n';
  }
  const lines = ips.map((ip) => `${ip} ${FRONTENDS_HOST}`);
  fs.writeFileSync(hostsFile, `${base.trimEnd()}\n# bbm cluster frontends\n${lines.join('\n')}\n`);
  const unshare = findOnPath('unshare', process.env.PATH ?? '') ?? 'unshare';
  return {
    address: `${FRONTENDS_HOST}:${port}`,
    hostsFile,
    wrap: (command, args) => ({
      command: unshare,
      // $0 is the hosts file; "$@" the command. exec keeps the pid, so signals reach the command itself.
      args: [
        '--mount',
        '--propagation',
        'private',
        '--',
        '/bin/sh',
        '-c',
        'mount --bind "$0" /etc/hosts && exec "$@"',
        hostsFile,
        command,
        ...args,
      ],
    }),
  };
}

let supported: boolean | undefined;

/** Whether this machine can run a process with a private /etc/hosts (root, unshare, mount namespaces allowed). */
export function privateHostsSupported(): boolean {
  if (supported === undefined) {
    const unshare = findOnPath('unshare', process.env.PATH ?? '');
    supported =
      process.getuid?.() === 0 &&
      unshare !== undefined &&
      spawnSync(unshare, ['--mount', '--propagation', 'private', '--', 'true'], { stdio: 'ignore' }).status === 0;
  }
  return supported;
}
