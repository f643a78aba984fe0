import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { freePort } from '../src/dev/ports';
import { parseProcStatus, promByLabel, promHistogram, promSamples, type HistogramTotals } from './proc-memory';

export interface BenchWorker {
  pid: number;
  /** Largest RSS of the worker so far (the kernel's high-water mark), in bytes. */
  peakRss(): number;
  /** Largest RSS sampled since the previous call (per phase), in bytes. */
  phasePeakRss(): number;
  /**
   * A counter of the worker's /metrics so far, summed by one label: e.g. how run-aheads ended
   * (bbm_run_ahead_total by outcome) or the time the health throttle held repositories
   * (bbm_throttled_seconds_total by indicator).
   */
  counter(name: string, label: string): Promise<Record<string, number>>;
  /** An unlabelled histogram of the worker's /metrics so far (e.g. bbm_run_ahead_claim_wait_seconds). */
  histogram(name: string): Promise<HistogramTotals>;
  /** SIGTERM and wait (SIGKILL after 40 s). */
  stop(): Promise<void>;
  output(): string;
}

/** The worker's own /metrics samples logged beside /proc's figures (prom-client's default metrics, bbm_ prefix). */
const HEAP_SAMPLES = ['bbm_nodejs_heap_size_total_bytes', 'bbm_nodejs_heap_size_used_bytes', 'bbm_nodejs_external_memory_bytes'];

/**
 * The process settings of the Docker image (Dockerfile, README "Worker memory"): Node flags and
 * environment, so the bench measures a worker as it is deployed (the bench worker and the SDK
 * floor's alike). BBM_BENCH_NODE_DEFAULTS=1 in `env`: Node's and glibc's defaults instead.
 */
export function deployedProcess(env: NodeJS.ProcessEnv): { args: string[]; env: Record<string, string> } {
  if (env.BBM_BENCH_NODE_DEFAULTS === '1') return { args: [], env: {} };
  return { args: ['--max-old-space-size=256', '--max-semi-space-size=4'], env: { MALLOC_ARENA_MAX: '2' } };
}

/**
 * Start the production worker, `node <bbm> worker` (`bbm` from buildProduction: the compiled
 * package), in a child process, and resolve once it serves /metrics (it polls the task queue right
 * after). Its memory is read from outside, in /proc/<pid>/status (Linux), every
 * BBM_BENCH_RSS_INTERVAL_MS (default 250). `wrap` runs it through another program that keeps the
 * pid (a private /etc/hosts for a cluster's frontends name).
 * BBM_BENCH_MEMORY_LOG=<file>: append every sample there, one JSON line each: /proc's RSS, anonymous
 * and file-backed parts and the main thread's V8 heap from /metrics, to tell the main thread's heap
 * from the rest (the workflow thread's heap, Temporal Core, malloc).
 */
export async function startBenchWorker(
  bbm: string,
  env: NodeJS.ProcessEnv,
  wrap?: (command: string, args: string[]) => { command: string; args: string[] },
): Promise<BenchWorker> {
  // BBM_BENCH_CPU_PROF=<dir>: write V8 CPU profiles of the worker (every thread) there, for profiling.
  const profile = env.BBM_BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${env.BBM_BENCH_CPU_PROF}`] : [];
  const deployed = deployedProcess(env);
  const metricsPort = await freePort();
  const argv = [...profile, ...deployed.args, bbm, 'worker'];
  const { command, args } = wrap ? wrap(process.execPath, argv) : { command: process.execPath, args: argv };
  const child: ChildProcess = spawn(command, args, {
    env: { ...deployed.env, ...env, BBM_METRICS_PORT: String(metricsPort) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const pid = child.pid ?? -1;
  const killOnExit = (): void => void child.kill('SIGKILL');
  process.once('exit', killOnExit);
  let exited = false;
  const tail: string[] = [];
  // BBM_BENCH_WORKER_LOG=<file>: every line the worker writes is appended there too (diagnosis; the tail below is kept for errors).
  const workerLog = env.BBM_BENCH_WORKER_LOG;
  const keep = (chunk: Buffer): void => {
    if (workerLog) fs.appendFileSync(workerLog, chunk);
    tail.push(...chunk.toString().split('\n').filter(Boolean));
    tail.splice(0, Math.max(0, tail.length - 50));
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exit = new Promise<void>((resolve) =>
    child.once('exit', () => {
      exited = true;
      process.off('exit', killOnExit);
      resolve();
    }),
  );

  const metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
  let peak = 0;
  let phasePeak = 0;
  const memoryLog = env.BBM_BENCH_MEMORY_LOG;
  const sample = async (): Promise<void> => {
    let status: string;
    try {
      status = await fs.promises.readFile(`/proc/${pid}/status`, 'utf8');
    } catch {
      return; // exited, or not Linux
    }
    const mem = parseProcStatus(status);
    if (!mem) return;
    peak = Math.max(peak, mem.peak);
    phasePeak = Math.max(phasePeak, mem.rss);
    if (!memoryLog) return;
    const heap = await fetch(metricsUrl)
      .then(async (r) => promSamples(await r.text(), HEAP_SAMPLES))
      .catch(() => ({}));
    fs.appendFileSync(memoryLog, `${JSON.stringify({ at: Date.now(), ...mem, ...heap })}\n`);
  };
  const interval = Number(env.BBM_BENCH_RSS_INTERVAL_MS ?? 250);
  const timer = setInterval(() => void sample(), interval > 0 ? interval : 250);
  void exit.then(() => clearInterval(timer));

  // Ready: /metrics answers once Worker.create has succeeded, and the worker polls right after.
  for (;;) {
    if (exited) throw new Error(`the bench worker exited before it was ready:\n${tail.join('\n')}`);
    if (
      await fetch(metricsUrl).then(
        (r) => r.ok,
        () => false,
      )
    )
      break;
    await new Promise((r) => setTimeout(r, 100));
  }
  await sample();
  return {
    pid,
    peakRss: () => peak,
    phasePeakRss: () => {
      const p = phasePeak;
      phasePeak = 0;
      return p;
    },
    output: () => tail.join('\n'),
    counter: async (name, label) => promByLabel(await (await fetch(metricsUrl)).text(), name, label),
    histogram: async (name) => promHistogram(await (await fetch(metricsUrl)).text(), name),
    async stop() {
      if (exited) return;
      await sample(); // the high-water mark, before the process and its /proc entry are gone
      const timer = setTimeout(() => child.kill('SIGKILL'), 40_000);
      child.kill('SIGTERM');
      await exit;
      clearTimeout(timer);
    },
  };
}
