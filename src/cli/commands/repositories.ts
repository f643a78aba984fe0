import type { Command } from 'commander';
import type { Knobs } from '../../knobs';
import { overall, type RepositoryStatus } from '../../repository';
import { action } from '../action';
import { addCancelCommand } from '../cancel-command';
import type { CliContext } from '../context';
import { ExitCode } from '../exit-codes';
import { formatCount, formatPercent, renderFields, renderTable } from '../output';
import { checkedKnobs, collectKnob } from '../parse';
import { ProgressView } from '../progress';

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

async function start(ctx: CliContext, key: string, opts: StartOptions): Promise<number> {
  const repositories = ctx.repositories();
  const { workflowId, runId } = await repositories.start(key, { knobs: checkedKnobs(opts.knob), retryFailed: opts.retryFailed });
  const taskQueue = ctx.config.taskQueue;
  if (!opts.wait) {
    ctx.out.result({ repository: key, workflowId, runId, taskQueue, started: true }, () =>
      [
        `Started repository ${key}: workflow ${workflowId} (run ${runId}) on task queue ${taskQueue}.`,
        `Follow it: bbm repositories status ${key}`,
      ].join('\n'),
    );
    return ExitCode.OK;
  }
  ctx.out.line(`Started repository ${key}: workflow ${workflowId} (run ${runId}).`);
  const view = new ProgressView({ out: ctx.out, title: key });
  const summary = await repositories
    .follow(key, (p) => view.update({ ...overall(p.migrations), detail: p.detail ? `${p.state}: ${p.detail}` : p.state }))
    .finally(() => view.stop());
  ctx.out.result(
    summary,
    () =>
      `Repository ${key} ${summary.state}: ${formatCount(summary.jobs)} jobs, ${formatCount(summary.rows)} rows in ${(summary.durationMs / 1000).toFixed(1)}s.`,
  );
  return summary.state === 'failed' ? ExitCode.MIGRATION_FAILED : ExitCode.OK;
}

async function status(ctx: CliContext, key: string): Promise<number> {
  const s = await ctx.repositories().status(key);
  if (s.liveError) {
    ctx.out.note(
      `warning: the workflow did not answer the progress query (${s.liveError}); is a worker running? Showing the database's view.`,
    );
  }
  const { live } = s;
  const data = {
    repository: key,
    workflowId: s.workflowId,
    workflowStatus: s.workflowStatus,
    state: live?.state ?? null,
    detail: live?.detail ?? null,
    throttle: live?.throttle ?? null,
    knobs: live?.knobs ?? null,
    totals: live?.totals ?? null,
    migrations: s.migrations,
  };
  ctx.out.result(data, () => `${renderFields(statusFields(s))}\n\n${migrationTable(s)}`);
  return ExitCode.OK;
}

function statusFields(s: RepositoryStatus): [string, string | number | null][] {
  const fields: [string, string | number | null][] = [
    ['repository', s.repository],
    ['workflow', `${s.workflowId} (${s.workflowStatus ? s.workflowStatus.toLowerCase() : 'never started'})`],
  ];
  const { live } = s;
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
  return fields;
}

/** Statuses whose jobs a throttled repository holds. */
const RUNNABLE = ['active', 'running'];

function migrationTable(s: RepositoryStatus): string {
  const held = s.live?.state === 'throttled';
  return renderTable(
    ['MIGRATION', 'STATUS', 'PROGRESS', 'ROWS', 'JOBS DONE', 'FAILED JOBS'],
    s.migrations.map((m) => [
      m.name,
      m.failure ? `${m.status} (${m.failure})` : held && RUNNABLE.includes(m.status) ? `${m.status} (throttled)` : m.status,
      formatPercent(m.percent),
      formatCount(m.rowsProcessed),
      formatCount(m.jobs.finished),
      formatCount(m.jobs.failed),
    ]),
  );
}

async function list(ctx: CliContext): Promise<number> {
  const { repositories, warning } = await ctx.repositories().list();
  if (warning) ctx.out.note(`warning: ${warning}`);
  ctx.out.result(repositories, () =>
    repositories.length === 0
      ? 'No repositories yet: define a migration with `bbm migrations create`.'
      : renderTable(
          ['REPOSITORY', 'MIGRATIONS', 'STATUSES', 'WORKFLOW'],
          repositories.map((r) => [
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
