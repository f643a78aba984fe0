/**
 * Shared by the enqueuer test files: many small repositories, a worker whose log lines can be
 * read, and the exact number of repository workflows running at once, computed from the start
 * and close times Temporal recorded (no sampling, no visibility lag).
 */
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import type { Client } from '@temporalio/client';
import type { Pool } from 'pg';
import { defineMigration } from '../../src/engine/definitions';
import type { WorkFunction, WorkRegistry } from '../../src/engine/registry';
import { WORKFLOW_TYPES } from '../../src/contract/workflows';
import { enqueuerWorkflowId, repositoryFromWorkflowId, repositoryWorkflowId } from '../../src/contract/ids';
import { createItems, type TestDatabase } from './db';
import { startTestWorker, uniqueTaskQueue, type TestWorker } from './temporal';
import { registryWith } from './work';

/** Knobs that make a tiny repository migration take a fraction of a second. */
export const FAST = Object.freeze({ minDelayMs: 0, maxDelayMs: 0 });

export function repoKey(i: number, prefix = 'r'): string {
  return `${prefix}${String(i).padStart(3, '0')}`;
}

/**
 * Repository workflow IDs are global to the Temporal namespace (`bbm-repository:<key>`), and test
 * files run in parallel against one server: each test needs keys of its own.
 */
export function uniquePrefix(): string {
  return `${randomBytes(3).toString('hex')}-r`;
}

/**
 * `count` repositories (keys `<unique prefix>001`...), each with one migration over its own 3 rows
 * of `items` (one job of batch 10), incrementing `counter`: at the end every row must be at 1,
 * proving each ran exactly once.
 */
export async function defineRepositories(
  db: TestDatabase,
  count: number,
  options: { registry?: WorkRegistry; work?: string; prefix?: string; table?: string } = {},
): Promise<string[]> {
  const registry = options.registry ?? registryWith();
  const table = options.table ?? 'items';
  await createItems(db.pool, table, count * 3);
  const keys: string[] = [];
  const prefix = options.prefix ?? uniquePrefix();
  for (let i = 1; i <= count; i++) {
    const repository = repoKey(i, prefix);
    const work = options.work ?? 'increment';
    await defineMigration(
      { pool: db.pool, registry },
      {
        name: `m_${repository}`,
        repository,
        work,
        table,
        column: 'id',
        targetJobMs: 0,
        batchSize: 10,
        minValue: 3 * i - 2,
        maxValue: 3 * i,
        args: work === 'increment' ? { target: 'counter' } : {},
      },
    );
    keys.push(repository);
  }
  return keys;
}

export function alwaysFails(name = 'always_fails'): WorkFunction {
  return {
    name,
    description: 'throws (tests)',
    async run() {
      throw new Error('this work always fails');
    },
  };
}

export interface LoggingWorker extends TestWorker {
  /** Every JSON line the worker's logger wrote. */
  lines: Array<Record<string, unknown>>;
}

/** Like startTestWorker, but at level info with the log lines captured. */
export async function startLoggingWorker(
  db: TestDatabase,
  options: { registry?: WorkRegistry; taskQueue?: string } = {},
): Promise<LoggingWorker> {
  const lines: Array<Record<string, unknown>> = [];
  let partial = '';
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      const text = partial + chunk.toString();
      const parts = text.split('\n');
      partial = parts.pop() ?? '';
      for (const line of parts) if (line.trim()) lines.push(JSON.parse(line) as Record<string, unknown>);
      callback();
    },
  });
  const worker = await startTestWorker(db, {
    taskQueue: options.taskQueue ?? uniqueTaskQueue('enq-log'),
    registry: options.registry,
    logLevel: 'info',
    logDestination: destination,
  });
  return { ...worker, lines };
}

/** The enqueuer's "enqueuer wake-up" log lines. */
export function wakeUpLines(lines: Array<Record<string, unknown>>): Array<Record<string, unknown>> {
  return lines.filter((l) => l.msg === 'enqueuer wake-up');
}

export interface Execution {
  repository: string;
  workflowId: string;
  runId: string;
  status: string;
  start: number;
  /** Infinity while running. */
  close: number;
}

/** Every repository workflow execution of a task queue, from visibility. */
export async function repositoryExecutions(client: Client, taskQueue: string): Promise<Execution[]> {
  const out: Execution[] = [];
  for await (const wf of client.workflow.list({ query: `WorkflowType="${WORKFLOW_TYPES.repository}" AND TaskQueue="${taskQueue}"` })) {
    out.push({
      repository: repositoryFromWorkflowId(wf.workflowId) ?? wf.workflowId,
      workflowId: wf.workflowId,
      runId: wf.runId,
      status: wf.status.name,
      start: wf.startTime.getTime(),
      close: wf.closeTime ? wf.closeTime.getTime() : Infinity,
    });
  }
  return out;
}

/** Wait until visibility has recorded `count` closed repository executions. */
export async function closedExecutions(client: Client, taskQueue: string, count: number, timeoutMs = 60_000): Promise<Execution[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const all = await repositoryExecutions(client, taskQueue);
    if (all.filter((e) => e.close !== Infinity).length >= count) return all;
    if (Date.now() > deadline)
      throw new Error(`visibility shows ${all.filter((e) => e.close !== Infinity).length} closed repository executions, expected ${count}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** The concurrency over time, as steps: [time, running from then on]. A close and a start at the same ms: the close first. */
export function concurrencySteps(executions: Execution[]): Array<[number, number]> {
  const events: Array<[number, number]> = [];
  for (const e of executions) {
    events.push([e.start, +1]);
    if (e.close !== Infinity) events.push([e.close, -1]);
  }
  events.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const steps: Array<[number, number]> = [];
  let level = 0;
  for (const [t, d] of events) {
    level += d;
    steps.push([t, level]);
  }
  return steps;
}

export function maxConcurrency(executions: Execution[]): number {
  return Math.max(0, ...concurrencySteps(executions).map(([, n]) => n));
}

/**
 * While at least `capacity` repositories were still unfinished (so a full house was possible):
 * the time-weighted mean running, the share of time all slots were busy, the longest stretch
 * below capacity, and how long a freed slot stayed empty (a close to the next start).
 */
export function utilisation(
  executions: Execution[],
  capacity: number,
): { mean: number; fullShare: number; longestGapMs: number; windowMs: number; refillMedianMs: number; refillP90Ms: number } {
  const closes = executions
    .map((e) => e.close)
    .filter((c) => c !== Infinity)
    .sort((a, b) => a - b);
  const starts = executions.map((e) => e.start).sort((a, b) => a - b);
  const firstStart = starts[0] ?? 0;
  // Once this close happens, fewer than `capacity` repositories remain.
  const windowEnd = closes[executions.length - capacity] ?? Infinity;
  const steps = concurrencySteps(executions).filter(([t]) => t < windowEnd);
  let full = 0;
  let area = 0;
  let longestGap = 0;
  let gapStart: number | null = null;
  for (let i = 0; i < steps.length; i++) {
    const [t, n] = steps[i]!;
    const next = i + 1 < steps.length ? steps[i + 1]![0] : windowEnd;
    area += n * (next - t);
    if (n >= capacity) {
      full += next - t;
      if (gapStart !== null) longestGap = Math.max(longestGap, t - gapStart);
      gapStart = null;
    } else if (gapStart === null) {
      gapStart = t;
    }
  }
  if (gapStart !== null) longestGap = Math.max(longestGap, windowEnd - gapStart);
  // Each close inside the window is followed by one start: pair them in order.
  const refills: number[] = [];
  const laterStarts = starts.slice(capacity);
  for (let i = 0; i < laterStarts.length && i < closes.length; i++) refills.push(Math.max(0, laterStarts[i]! - closes[i]!));
  refills.sort((a, b) => a - b);
  const windowMs = windowEnd - firstStart;
  return {
    mean: windowMs > 0 ? area / windowMs : capacity,
    fullShare: windowMs > 0 ? full / windowMs : 1,
    longestGapMs: longestGap,
    windowMs,
    refillMedianMs: refills[Math.floor(refills.length / 2)] ?? 0,
    refillP90Ms: refills[Math.floor(refills.length * 0.9)] ?? 0,
  };
}

/** Poll Postgres until no migration is active or running; returns the counts by status. */
export async function waitForMigrations(pool: Pool, timeoutMs: number, onPoll?: () => Promise<void>): Promise<Record<string, number>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { rows } = await pool.query('SELECT status, count(*)::int AS n FROM bbm.migrations GROUP BY status');
    const counts: Record<string, number> = {};
    for (const r of rows) counts[String(r.status)] = r.n;
    if (!counts['1'] && !counts['4']) return counts;
    if (Date.now() > deadline)
      throw new Error(`migrations still unfinished after ${timeoutMs} ms: ${JSON.stringify(counts)} (status: count)`);
    if (onPoll) await onPoll();
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Leave none of these repositories' workflows running in the shared Temporal server. */
export async function terminateRepositories(client: Client, repositories: string[]): Promise<void> {
  await Promise.all(
    repositories.map(
      (r) =>
        client.workflow
          .getHandle(repositoryWorkflowId(r))
          .terminate('test over')
          .catch(() => undefined), // already gone
    ),
  );
}

/** Leave no enqueuer behind in the shared Temporal server. */
export async function terminateEnqueuer(client: Client, taskQueue: string): Promise<void> {
  try {
    await client.workflow.getHandle(enqueuerWorkflowId(taskQueue)).terminate('test finished');
  } catch {
    // already gone
  }
}

/**
 * Run a test body, then terminate the enqueuer and stop the worker even when it fails, while the
 * database is still there (its pool closes in an after hook that would otherwise run first and
 * leave in-flight activities retrying against a closed pool).
 */
export async function withCleanup(
  worker: { client: Client; taskQueue: string; stop(): Promise<void> },
  body: () => Promise<void>,
): Promise<void> {
  try {
    await body();
  } finally {
    await terminateEnqueuer(worker.client, worker.taskQueue);
    await worker.stop();
  }
}
