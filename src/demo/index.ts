import type { Client } from '@temporalio/client';
import type { Pool } from 'pg';
import type { BbmConfig } from '../config';
import type { WorkRegistry } from '../engine/registry';
import type { Knobs } from '../knobs';
import { formatCount, formatDuration, type Output } from '../cli/output';
import { ProgressView } from '../cli/progress';
import { repositoryWorkflowId } from '../contract/ids';
import { getCapacity, setCapacity, wakeEnqueuer } from '../enqueuer/client';
import { startRepositoryWorkflow } from '../repository/workflow';
import { ensureDataset, rowsLeft } from './dataset';
import { DEMO_PREFIX, demoMigrationStates, demoRepository, ensureDemoMigrations, type DemoMigrationState } from './migrations';

export interface DemoOptions {
  /** @default 1_000_000 */
  rows: number;
  /** @default 50 */
  repositories: number;
  /** Repository workflows the enqueuer runs at once. @default 10 */
  capacity: number;
  /** Start every repository workflow directly instead of through the enqueuer. */
  direct: boolean;
}

export interface DemoDeps {
  pool: Pool;
  client: Client;
  config: BbmConfig;
  registry: WorkRegistry;
  out: Output;
  /** Base URL of the Temporal web UI, when the dev stack runs one. */
  uiUrl: string | undefined;
  /** Ctrl-C: stop waiting (the workflows keep their state and resume on the next run). */
  signal: AbortSignal;
}

export interface DemoResult {
  finished: number;
  failed: number;
  interrupted: boolean;
}

/** Short pauses between batches: the demo should take a minute or two, not the production pace. */
export const DEMO_KNOBS: Partial<Knobs> = Object.freeze({ minDelayMs: 0, maxDelayMs: 50 });

/**
 * `npm start`'s demo: a realistic table, one migration per repository, started through the
 * enqueuer, followed live until all are done. Every step is idempotent, so a second run picks
 * up where the first stopped instead of duplicating anything.
 */
export async function runDemo(deps: DemoDeps, options: DemoOptions): Promise<DemoResult> {
  const { pool, out } = deps;
  out.line(
    `Demo: ${formatCount(options.rows)} image manifests over ${options.repositories} repositories; one migration per repository fills digest = md5(manifest).`,
  );
  const dataset = await ensureDataset(pool, options.rows, options.repositories);
  out.line(
    dataset.created
      ? `  generated demo.images (${formatCount(dataset.rows)} rows) in ${dataset.seconds.toFixed(1)}s`
      : `  demo.images already exists (${formatCount(dataset.rows)} rows, ${dataset.ranges.length} repositories): reusing it`,
  );
  const defined = await ensureDemoMigrations(pool, deps.registry, dataset.ranges);
  out.line(`  migrations: ${defined.created} defined now, ${defined.existing} already defined`);

  let states = await demoMigrationStates(pool);
  const example = demoRepository(Math.min(7, dataset.ranges.length), dataset.ranges.length);
  printLinks(deps, example);
  if (states.every(settled)) {
    out.line(`All ${states.length} demo migrations already finished earlier; nothing to do.`);
    return summarise(deps, states, 0, false);
  }

  const how = await startRepositories(deps, options, states);
  out.line(`  ${how}`);

  const started = Date.now();
  const view = new ProgressView({ out, title: 'demo', plainIntervalMs: 3_000 });
  const announced = new Set(states.filter(settled).map((s) => s.name));
  while (!deps.signal.aborted) {
    for (const s of states) {
      if (settled(s) && !announced.has(s.name)) {
        announced.add(s.name);
        view.log(`  ${s.status === 'finished' ? 'finished' : 'FAILED  '} ${s.repository} (${formatCount(s.rows)} rows)`);
      }
    }
    const rows = states.reduce((n, s) => n + s.rows, 0);
    const total = states.reduce((n, s) => n + s.total, 0);
    const running = states.filter((s) => s.status === 'running').length;
    view.update({
      fraction: total === 0 ? 1 : rows / total,
      rows,
      detail: `${announced.size}/${states.length} repositories done, ${running} running`,
    });
    if (states.every(settled)) break;
    await sleep(1_000, deps.signal);
    if (deps.signal.aborted) break;
    states = await demoMigrationStates(pool);
  }
  view.stop();
  return summarise(deps, states, (Date.now() - started) / 1000, deps.signal.aborted);
}

function settled(s: DemoMigrationState): boolean {
  return s.status === 'finished' || s.status === 'failed';
}

/** Through the enqueuer (capacity-limited, the production path), or directly with --direct. */
async function startRepositories(deps: DemoDeps, options: DemoOptions, states: DemoMigrationState[]): Promise<string> {
  const { client, config } = deps;
  if (!options.direct) {
    const current = await getCapacity(client, config.taskQueue);
    if (current !== undefined && current !== options.capacity) await setCapacity(client, config.taskQueue, options.capacity);
    await wakeEnqueuer(
      client,
      config.taskQueue,
      // Scoped to the demo's prefix: the enqueuer keeps these fast knobs for demo repositories only.
      { reason: 'demo', repositoryPrefix: DEMO_PREFIX, knobs: DEMO_KNOBS },
      { capacity: options.capacity },
    );
    return `woke the enqueuer (capacity ${options.capacity}): it starts the repository workflows, ${options.capacity} at a time`;
  }
  let started = 0;
  let running = 0;
  for (const repository of [...new Set(states.filter((s) => !settled(s)).map((s) => s.repository))]) {
    if ((await startRepositoryWorkflow(client, repository, { taskQueue: config.taskQueue, knobs: DEMO_KNOBS })).started) started += 1;
    else running += 1;
  }
  return `started ${started} repository workflows directly${running ? ` (${running} were already running)` : ''}`;
}

function printLinks(deps: DemoDeps, example: string): void {
  if (!deps.uiUrl) return;
  const ns = encodeURIComponent(deps.config.temporal.namespace);
  const query = (q: string): string => `${deps.uiUrl}/namespaces/${ns}/workflows?query=${encodeURIComponent(q)}`;
  deps.out.line(`  web UI, one repository:  ${query(`BbmRepository="${example}"`)}`);
  deps.out.line(`  web UI, all of the demo: ${query(`WorkflowId STARTS_WITH "${repositoryWorkflowId(DEMO_PREFIX)}"`)}`);
}

async function summarise(deps: DemoDeps, states: DemoMigrationState[], seconds: number, interrupted: boolean): Promise<DemoResult> {
  const finished = states.filter((s) => s.status === 'finished').length;
  const failed = states.filter((s) => s.status === 'failed').length;
  const rows = states.reduce((n, s) => n + s.rows, 0);
  if (interrupted) {
    deps.out.line(`Demo interrupted: ${finished}/${states.length} repositories done. The next \`npm start\` continues from here.`);
    return { finished, failed, interrupted };
  }
  if (seconds > 0) {
    deps.out.line(
      `Demo done: ${finished} finished, ${failed} failed; ${formatCount(rows)} rows in ${formatDuration(seconds)} (${formatCount(rows / Math.max(seconds, 0.001))} rows/s).`,
    );
  }
  const left = await rowsLeft(deps.pool);
  deps.out.line(
    left === 0
      ? 'Verified: every row has digest = md5(manifest).'
      : `Check: ${formatCount(left)} rows do not have digest = md5(manifest): unfinished demo migrations, or another migration changed them (see \`bbm migrations status\`).`,
  );
  return { finished, failed, interrupted };
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
