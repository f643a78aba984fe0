import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';

const ROOT = path.join(__dirname, '..', '..');
const ENTRY = path.join(__dirname, 'worker-main.ts');
/** Printed by worker-main.ts once the worker polls (kept literal here: importing worker-main would run it). */
const READY_LINE = 'bbm-worker ready';

export interface SpawnWorkerOptions {
  databaseUrl: string;
  taskQueue: string;
  /** Extra environment (e.g. TEMPORAL_ADDRESS of a test's own server, BBM_LOG_LEVEL). */
  env?: Record<string, string | undefined>;
  /** @default 60000 */
  readyTimeoutMs?: number;
  /** Run it through another program, e.g. with a private /etc/hosts (src/dev/frontends-name.ts). */
  wrap?: (command: string, args: string[]) => { command: string; args: string[] };
}

export interface WorkerProcess {
  pid: number;
  child: ChildProcess;
  /** Resolves when the process has exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  alive(): boolean;
  /** Send a signal and wait for the exit (SIGKILL: no goodbye, like a crashed host). */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Graceful stop: SIGTERM, then SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
  /** Last lines of its stdout/stderr, for failure messages. */
  output(): string;
}

const live = new Set<ChildProcess>();
// A test that fails half-way must not leave workers polling behind it.
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

/**
 * A bbm worker (production factory) in a child process, resolved once it prints its ready line.
 * It gets the test's environment (TEMPORAL_ADDRESS, BBM_TEST_WORKFLOW_BUNDLE) unless overridden.
 */
export async function spawnWorker(options: SpawnWorkerOptions): Promise<WorkerProcess> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    BBM_LOG_LEVEL: 'warn',
    ...options.env,
    DATABASE_URL: options.databaseUrl,
    BBM_TASK_QUEUE: options.taskQueue,
  };
  const { command, args } = options.wrap
    ? options.wrap(process.execPath, ['--import', 'tsx', ENTRY])
    : { command: process.execPath, args: ['--import', 'tsx', ENTRY] };
  const child = spawn(command, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(child);
  const lines: string[] = [];
  let exitedFlag = false;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => {
      exitedFlag = true;
      live.delete(child);
      resolve({ code, signal });
    });
  });
  const ready = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`worker did not get ready within ${options.readyTimeoutMs ?? 60_000} ms:\n${lines.join('\n')}`)),
      options.readyTimeoutMs ?? 60_000,
    );
    const onData = (chunk: Buffer): void => {
      for (const line of chunk.toString().split('\n').filter(Boolean)) {
        lines.push(line);
        if (line.startsWith(READY_LINE)) {
          clearTimeout(timer);
          resolve();
        }
      }
      if (lines.length > 200) lines.splice(0, lines.length - 200);
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`worker exited (code ${code}, signal ${signal}) before it was ready:\n${lines.join('\n')}`));
    });
  });
  const kill = async (signal: NodeJS.Signals = 'SIGKILL'): Promise<void> => {
    if (exitedFlag) return;
    child.kill(signal);
    await exited;
  };
  const handle: WorkerProcess = {
    pid: child.pid ?? -1,
    child,
    exited,
    alive: () => !exitedFlag,
    kill,
    async stop(graceMs = 35_000) {
      if (exitedFlag) return;
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      child.kill('SIGTERM');
      await exited;
      clearTimeout(timer);
    },
    output: () => lines.join('\n'),
  };
  try {
    await ready;
  } catch (err) {
    await kill('SIGKILL');
    throw err;
  }
  return handle;
}
