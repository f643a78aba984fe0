import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';

const ROOT = path.join(__dirname, '..');

export interface BenchWorker {
  pid: number;
  /** Largest RSS the worker reported, in bytes. */
  peakRss(): number;
  /** Largest RSS reported since the previous call (per phase), in bytes. */
  phasePeakRss(): number;
  /** SIGTERM and wait (SIGKILL after 40 s). */
  stop(): Promise<void>;
  output(): string;
}

/**
 * Start bench/worker-main.ts in a child process and wait for its `ready` line; `wrap` runs it
 * through another program (a private /etc/hosts for a cluster's frontends name).
 */
export async function startBenchWorker(
  env: NodeJS.ProcessEnv,
  wrap?: (command: string, args: string[]) => { command: string; args: string[] },
): Promise<BenchWorker> {
  // BBM_BENCH_CPU_PROF=<dir>: write V8 CPU profiles of the worker (every thread) there, for profiling.
  const profile = env.BBM_BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${env.BBM_BENCH_CPU_PROF}`] : [];
  // The process settings of the Docker image (Dockerfile, README "Worker memory"), so the bench
  // measures the worker as it is deployed. BBM_BENCH_NODE_DEFAULTS=1: Node's and glibc's defaults.
  const deployed = env.BBM_BENCH_NODE_DEFAULTS === '1' ? [] : ['--max-old-space-size=256', '--max-semi-space-size=4'];
  const argv = [...profile, ...deployed, '--import', 'tsx', path.join(__dirname, 'worker-main.ts')];
  const { command, args } = wrap ? wrap(process.execPath, argv) : { command: process.execPath, args: argv };
  const child: ChildProcess = spawn(command, args, {
    cwd: ROOT,
    env: env.BBM_BENCH_NODE_DEFAULTS === '1' ? env : { MALLOC_ARENA_MAX: '2', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const killOnExit = (): void => void child.kill('SIGKILL');
  process.once('exit', killOnExit);
  let peak = 0;
  let phasePeak = 0;
  let exited = false;
  const tail: string[] = [];
  const exit = new Promise<void>((resolve) =>
    child.once('exit', () => {
      exited = true;
      process.off('exit', killOnExit);
      resolve();
    }),
  );
  const keep = (line: string): void => {
    tail.push(line);
    if (tail.length > 50) tail.shift();
  };
  const ready = new Promise<void>((resolve, reject) => {
    let buffered = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) {
        const [kind, a, b] = line.split(' ');
        if (kind === 'ready') resolve();
        else if (kind === 'rss') {
          peak = Math.max(peak, Number(b ?? a));
          phasePeak = Math.max(phasePeak, Number(a));
        } else if (kind === 'exit') peak = Math.max(peak, Number(a));
        else keep(line);
      }
    });
    child.stderr?.on('data', (chunk: Buffer) => chunk.toString().split('\n').filter(Boolean).forEach(keep));
    void exit.then(() => reject(new Error(`the bench worker exited before it was ready:\n${tail.join('\n')}`)));
  });
  await ready;
  return {
    pid: child.pid ?? -1,
    peakRss: () => peak,
    phasePeakRss: () => {
      const p = phasePeak;
      phasePeak = 0;
      return p;
    },
    output: () => tail.join('\n'),
    async stop() {
      if (exited) return;
      const timer = setTimeout(() => child.kill('SIGKILL'), 40_000);
      child.kill('SIGTERM');
      await exit;
      clearTimeout(timer);
    },
  };
}
