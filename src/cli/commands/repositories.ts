import type { Client } from '@temporalio/client';
import type { Command } from 'commander';
import { REPOSITORY_KEY_PATTERN } from '../../contract/schemas';
import { migrationProgress } from '../../engine/progress';
import type { MigrationProgress } from '../../engine/types';
import { BbmError, ErrorCode, invalidInput, isBbmError, unknownRepository } from '../../errors';
import type { Knobs } from '../../knobs';
import { listMigrations } from '../../store/migrations';
import { repositoryWorkflowId } from '../../contract/ids';
import { progressQuery, type RepositoryProgress } from '../../contract/messages';
import type { RepositorySummary, RepositoryWorkflow } from '../../contract/workflows';
import { action } from '../action';
import type { CliContext } from '../context';
import { ExitCode } from '../exit-codes';
import { formatCount, formatPercent, renderFields, renderTable } from '../output';
import { checkedKnobs, collectKnob } from '../parse';
import { ProgressView } from '../progress';
import { repositoryWorkflowStatus } from '../temporal';
import { addCancelCommand, startRepository } from './migration-control';
import { overall } from './migration-status';

interface StartOptions {
  knob?: Partial<Knobs>;
  retryFailed?: boolean;
  wait?: boolean;
}

export function registerRepositories(program: Command): void {
  const group = program.command('repositories').description('the per-repository workflows that run migrations');

  group
    .command('start <key>')
    .description('start the repository workflow (ID bbm-repository:<key>); exit 4 when it is already running')
    .option('--knob <name=value>', 'batch loop setting (repeatable), e.g. --knob maxDelayMs=200', collectKnob)
    .option('--retry-failed', "re-run the repository's failed migrations first")
    .option('--wait', 'follow its progress until it reaches a final state (exit 3 if a migration failed)')
    .action(action<StartOptions>((ctx, [key], opts) => start(ctx, key as string, opts)));

  group
    .command('status <key>')
    .description('live state of the repository workflow (progress query), or its migrations when no workflow runs')
    .action(action((ctx, [key]) => status(ctx, key as string)));

  group
    .command('list')
    .description('repositories that have migrations, with their workflow status')
    .action(action((ctx) => list(ctx)));

  addCancelCommand(group.command('cancel <repository>'));
}

function checkKey(key: string): void {
  if (!REPOSITORY_KEY_PATTERN.test(key))
    throw invalidInput(`Repository key ${JSON.stringify(key)} is invalid: use letters, digits, _ . : / @ - (up to 200).`);
}

async function start(ctx: CliContext, key: string, opts: StartOptions): Promise<number> {
  checkKey(key);
  checkedKnobs(opts.knob);
  if (ctx.config.databaseUrl && (await listMigrations(await ctx.db(), { repository: key })).length === 0) throw unknownRepository(key);
  const client = await ctx.client();
  const workflowId = repositoryWorkflowId(key);
  const runId = await startRepository(client, ctx.config.taskQueue, key, { knobs: checkedKnobs(opts.knob), retryFailed: opts.retryFailed });
  if (runId === undefined) {
    throw new BbmError(
      ErrorCode.ALREADY_RUNNING,
      `Repository ${key} is already running (workflow ${workflowId}). Follow it with \`bbm repositories status ${key}\`.`,
      { repository: key },
    );
  }
  if (!opts.wait) {
    ctx.out.result({ repository: key, workflowId, runId, taskQueue: ctx.config.taskQueue, started: true }, () =>
      [
        `Started repository ${key}: workflow ${workflowId} (run ${runId}) on task queue ${ctx.config.taskQueue}.`,
        `Follow it: bbm repositories status ${key}`,
      ].join('\n'),
    );
    return ExitCode.OK;
  }
  ctx.out.line(`Started repository ${key}: workflow ${workflowId} (run ${runId}).`);
  const summary = await follow(ctx, client, key);
  ctx.out.result(
    summary,
    () =>
      `Repository ${key} ${summary.state}: ${formatCount(summary.jobs)} jobs, ${formatCount(summary.rows)} rows in ${(summary.durationMs / 1000).toFixed(1)}s.`,
  );
  return summary.state === 'failed' ? ExitCode.MIGRATION_FAILED : ExitCode.OK;
}

/** Poll the progress query while waiting for the result. */
async function follow(ctx: CliContext, client: Client, key: string): Promise<RepositorySummary> {
  const handle = client.workflow.getHandle<RepositoryWorkflow>(repositoryWorkflowId(key));
  const view = new ProgressView({ out: ctx.out, title: key });
  let done = false;
  const result = handle.result().finally(() => (done = true));
  while (!done) {
    try {
      const p = await handle.query(progressQuery);
      view.update({ ...overall(p.migrations), detail: p.detail ? `${p.state}: ${p.detail}` : p.state });
    } catch {
      // The workflow may be between runs (continue-as-new) or just closing; the next poll catches up.
    }
    await Promise.race([result.catch(() => undefined), new Promise((r) => setTimeout(r, 1_000))]);
  }
  view.stop();
  return result;
}

async function status(ctx: CliContext, key: string): Promise<number> {
  checkKey(key);
  const client = await ctx.client();
  const workflowStatus = await repositoryWorkflowStatus(client, key);
  let live: RepositoryProgress | undefined;
  if (workflowStatus === 'RUNNING') {
    try {
      live = await client.workflow.getHandle(repositoryWorkflowId(key)).query(progressQuery);
    } catch (err) {
      // A query needs a worker to answer it; the database still knows the migrations' progress.
      ctx.out.note(
        `warning: the workflow did not answer the progress query (${(err as Error).message}); is a worker running? Showing the database's view.`,
      );
    }
  }
  let migrations: MigrationProgress[] | undefined = live?.migrations;
  if (!live && ctx.config.databaseUrl) {
    const pool = await ctx.db();
    migrations = [];
    for (const m of await listMigrations(pool, { repository: key })) {
      const p = await migrationProgress(pool, m);
      if (p) migrations.push(p);
    }
  }
  if (!workflowStatus && (!migrations || migrations.length === 0)) throw unknownRepository(key);
  const data = {
    repository: key,
    workflowId: repositoryWorkflowId(key),
    workflowStatus: workflowStatus ?? null,
    state: live?.state ?? null,
    detail: live?.detail ?? null,
    knobs: live?.knobs ?? null,
    totals: live?.totals ?? null,
    migrations: migrations ?? [],
  };
  ctx.out.result(data, () => {
    const fields: [string, string | number | null][] = [
      ['repository', key],
      ['workflow', `${data.workflowId} (${workflowStatus ? workflowStatus.toLowerCase() : 'never started'})`],
    ];
    if (live) {
      fields.push(['state', live.detail ? `${live.state}: ${live.detail}` : live.state]);
      fields.push([
        'done so far',
        `${formatCount(live.totals.jobs)} jobs, ${formatCount(live.totals.rows)} rows, ${formatCount(live.totals.batches)} batches, run ${live.totals.runs}`,
      ]);
      fields.push([
        'knobs',
        Object.entries(live.knobs)
          .map(([k, v]) => `${k}=${v}`)
          .join(' '),
      ]);
    }
    const table = renderTable(
      ['MIGRATION', 'STATUS', 'PROGRESS', 'ROWS', 'JOBS DONE', 'FAILED JOBS'],
      (migrations ?? []).map((m) => [
        m.name,
        m.failure ? `${m.status} (${m.failure})` : m.status,
        formatPercent(m.percent),
        formatCount(m.rowsProcessed),
        formatCount(m.jobs.finished),
        formatCount(m.jobs.failed),
      ]),
    );
    return `${renderFields(fields)}\n\n${table}`;
  });
  return ExitCode.OK;
}

async function list(ctx: CliContext): Promise<number> {
  const rows = await listMigrations(await ctx.db());
  const byRepository = new Map<string, { migrations: number; statuses: Record<string, number> }>();
  for (const m of rows) {
    const entry = byRepository.get(m.repository) ?? { migrations: 0, statuses: {} };
    const progress = await migrationProgress(await ctx.db(), m);
    entry.migrations += 1;
    const s = progress?.status ?? 'unknown';
    entry.statuses[s] = (entry.statuses[s] ?? 0) + 1;
    byRepository.set(m.repository, entry);
  }
  let client: Client | undefined;
  try {
    client = await ctx.client();
  } catch (err) {
    if (!isBbmError(err)) throw err;
    ctx.out.note(`warning: ${err.message} Workflow status is not shown.`);
  }
  const out: { repository: string; migrations: number; statuses: Record<string, number>; workflowStatus: string | null }[] = [];
  for (const [repository, entry] of [...byRepository.entries()].sort(([a], [b]) => a.localeCompare(b))) {
    out.push({
      repository,
      migrations: entry.migrations,
      statuses: entry.statuses,
      workflowStatus: client ? ((await repositoryWorkflowStatus(client, repository)) ?? null) : null,
    });
  }
  ctx.out.result(out, () =>
    out.length === 0
      ? 'No repositories yet: define a migration with `bbm migrations create`.'
      : renderTable(
          ['REPOSITORY', 'MIGRATIONS', 'STATUSES', 'WORKFLOW'],
          out.map((r) => [
            r.repository,
            r.migrations,
            Object.entries(r.statuses)
              .map(([s, n]) => `${n} ${s}`)
              .join(', '),
            r.workflowStatus?.toLowerCase() ?? '-',
          ]),
        ),
  );
  return ExitCode.OK;
}
