import fs from 'node:fs';

/**
 * CPU time by process group during a run, from /proc (Linux only; empty elsewhere): the
 * benchmark's Postgres (postmaster on its port and its backends), its Temporal dev server, the
 * worker, this process, and everything else on the machine, which competes for the same cores.
 */
export type CpuGroup = 'postgres' | 'temporal' | 'worker' | 'bench' | 'other';
export type CpuSeconds = Record<CpuGroup, number>;

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

interface ProcSample {
  ppid: number;
  ticks: number;
  cmdline: string;
}

function readProcs(): Map<number, ProcSample> {
  const out = new Map<number, ProcSample>();
  let entries: string[];
  try {
    entries = fs.readdirSync('/proc').filter((e) => /^\d+$/.test(e));
  } catch {
    return out;
  }
  for (const e of entries) {
    try {
      const stat = fs.readFileSync(`/proc/${e}/stat`, 'utf8');
      // Fields after the ")" closing the command name: state ppid ... utime(14) stime(15) [1-based, whole line]
      const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const ppid = Number(rest[1]);
      const ticks = Number(rest[11]) + Number(rest[12]);
      const cmdline = fs.readFileSync(`/proc/${e}/cmdline`, 'utf8').replace(/\0/g, ' ');
      out.set(Number(e), { ppid, ticks, cmdline });
    } catch {
      // the process ended while we looked
    }
  }
  return out;
}

export class CpuMeter {
  constructor(private readonly ids: { postgresPort?: number; temporalPort?: number; temporalPids?: number[]; workerPid: number }) {}

  private classify(pid: number, procs: Map<number, ProcSample>): CpuGroup {
    if (pid === this.ids.workerPid) return 'worker';
    if (this.ids.temporalPids?.includes(pid)) return 'temporal';
    if (pid === process.pid) return 'bench';
    const self = procs.get(pid);
    const parent = self ? procs.get(self.ppid) : undefined;
    const pg = this.ids.postgresPort;
    // The postmaster has `-p <port>` on its command line; its backends and helpers are its children.
    const isOurPostmaster = (s: ProcSample | undefined): boolean =>
      Boolean(pg && s && /postgres/.test(s.cmdline) && s.cmdline.includes(` -p ${pg} `));
    if (isOurPostmaster(self) || isOurPostmaster(parent)) return 'postgres';
    const tp = this.ids.temporalPort;
    if (tp && self && self.cmdline.includes('start-dev') && self.cmdline.includes(`--port ${tp} `)) return 'temporal';
    return 'other';
  }

  /** Start measuring; the returned function gives the CPU seconds each group used since. */
  start(): () => CpuSeconds {
    const before = readProcs();
    return () => {
      const after = readProcs();
      const total: CpuSeconds = { postgres: 0, temporal: 0, worker: 0, bench: 0, other: 0 };
      for (const [pid, s] of after) {
        const used = s.ticks - (before.get(pid)?.ticks ?? 0);
        if (used > 0) total[this.classify(pid, after)] += used / TICKS_PER_SECOND;
      }
      return total;
    };
  }
}

export function formatCpu(cpu: CpuSeconds, wallMs: number): string {
  const wall = wallMs / 1000;
  const parts = (Object.entries(cpu) as [CpuGroup, number][]).map(([g, s]) => `${g} ${(s / wall).toFixed(2)}`);
  return `cores busy: ${parts.join(', ')}`;
}
