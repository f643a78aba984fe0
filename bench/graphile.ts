import { Logger, makeWorkerUtils, run, runMigrations, type Task } from 'graphile-worker';
import { Client } from 'pg';
import { TABLE } from './dataset';

const TASK = 'bench_range';
/** graphile-worker's own schema in the benchmark database (its default name). */
const SCHEMA = 'graphile_worker';

export interface GraphileResult {
  rows: number;
  jobs: number;
  workers: number;
  /** From the runner's start until the last job reported complete. */
  wallMs: number;
}

/**
 * The contender a Node user would pick instead of bbm: graphile-worker, a Postgres job queue. One
 * job per id range of `batch` ids (queued before the clock starts, as bbm defines its migration
 * before), each running the plain loop's UPDATE, processed by one runner with `workers` concurrent
 * jobs. It gives neither exactly-once bookkeeping nor per-repository exclusivity; it is here as the
 * floor bbm must beat. Throws when a job fails or when a range's UPDATE touched fewer rows than it
 * holds (the caller then checks every row's digest, as for every contender).
 */
export async function graphileRun(
  url: string,
  options: { rows: number; batch: number; workers: number },
  onProgress: (rows: number) => void,
  beforeEnd: () => void = () => undefined,
): Promise<GraphileResult> {
  const logger = quietLogger();
  await runMigrations({ connectionString: url, logger });
  const utils = await makeWorkerUtils({ connectionString: url, logger });
  try {
    const specs = [];
    // Bounds as strings: bigint-safe, and the UPDATE casts them.
    for (let lo = 1; lo <= options.rows; lo += options.batch)
      specs.push({ identifier: TASK, payload: { lo: String(lo), hi: String(Math.min(options.rows, lo + options.batch - 1)) } });
    for (let i = 0; i < specs.length; i += 10_000) await utils.addJobs(specs.slice(i, i + 10_000));
  } finally {
    await utils.release();
  }

  const jobs = Math.ceil(options.rows / options.batch);
  let rows = 0;
  let done = 0;
  let failure: Error | undefined;
  const task: Task = async (payload, helpers) => {
    const { lo, hi } = payload as { lo: string; hi: string };
    const result = await helpers.query(`UPDATE ${TABLE} SET digest = md5(payload) WHERE id BETWEEN $1::bigint AND $2::bigint`, [lo, hi]);
    const expected = Number(BigInt(hi) - BigInt(lo) + 1n);
    if ((result.rowCount ?? 0) !== expected) throw new Error(`range ${lo}..${hi} updated ${result.rowCount} rows, expected ${expected}`);
    rows += expected;
  };
  let finish: () => void = () => undefined;
  const allDone = new Promise<void>((resolve) => (finish = resolve));
  const started = performance.now();
  const runner = await run({
    connectionString: url,
    concurrency: options.workers,
    maxPoolSize: options.workers + 2,
    noHandleSignals: true,
    pollInterval: 1_000,
    logger,
    taskList: { [TASK]: task },
  });
  runner.events.on('job:complete', ({ error }) => {
    if (error && !failure) failure = error instanceof Error ? error : new Error(String(error));
    done += 1;
    if (done % 10 === 0) onProgress(rows);
    if (done >= jobs || failure) finish();
  });
  // A runner that dies (e.g. its pool loses the database) completes no more jobs: stop waiting then.
  runner.promise.then(
    () => finish(),
    (err: unknown) => {
      failure ??= err instanceof Error ? err : new Error(String(err));
      finish();
    },
  );
  await allDone;
  const wallMs = performance.now() - started;
  // job:complete can fire before the job's row is deleted; stopping the runner then has left one
  // job in the queue (seen on a loaded machine), so wait for the deletes, not just the events.
  if (!failure && done >= jobs) await queuedJobs(url, 60_000);
  beforeEnd();
  await runner.stop().catch((err: unknown) => {
    if (!failure) throw err; // a runner that already died may refuse to stop: its failure is the news
  });
  if (failure) throw new Error(`graphile-worker, ${options.workers} worker(s): ${failure.message}`);
  if (done < jobs) throw new Error(`graphile-worker, ${options.workers} worker(s): the runner stopped after ${done} of ${jobs} jobs`);
  const left = await queuedJobs(url, 0);
  if (left !== 0) throw new Error(`graphile-worker left ${String(left)} jobs in its queue`);
  return { rows, jobs: done, workers: options.workers, wallMs };
}

/**
 * Jobs still in graphile-worker's queue, polled 50 ms apart on one connection until none are left
 * or `timeoutMs` has passed (0: one look). A completed job is deleted, so 0 means every job ran.
 */
async function queuedJobs(url: string, timeoutMs: number): Promise<number> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const { rows } = await client.query(`SELECT count(*)::int AS n FROM ${SCHEMA}.jobs`);
      const left = Number(rows[0].n);
      if (left === 0 || Date.now() >= deadline) return left;
      await new Promise((r) => setTimeout(r, 50));
    }
  } finally {
    await client.end();
  }
}

/** Warnings and errors to stderr; graphile-worker's info lines would break the progress line. */
function quietLogger(): Logger {
  return new Logger(() => (level, message) => {
    if (level === 'error' || level === 'warning') process.stderr.write(`graphile-worker ${level}: ${message}\n`);
  });
}
