import { WorkflowExecutionAlreadyStartedError, WorkflowFailedError, WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { Command } from 'commander';
import { MigrationStatus } from '../../engine/constants';
import { pauseMigrations, resumeMigrations, retryMigration } from '../../engine/control';
import { listMigrations, migrationByName } from '../../store/migrations';
import type { Knobs } from '../../knobs';
import { repositoryWorkflowId } from '../../contract/ids';
import { WORKFLOW_TYPES, type RepositoryWorkflow } from '../../contract/workflows';
import { SA } from '../../contract/search-attributes';
import { action } from '../action';
import type { CliContext } from '../context';
import { ExitCode } from '../exit-codes';
import { duration } from '../parse';
import { repositoryWorkflowStatus, signalRepositories } from '../temporal';
import { unknownRepository } from '../../errors';

interface SelectorOptions {
  repository?: string;
  start?: boolean;
}

export function registerMigrationControl(group: Command): void {
  for (const kind of ['pause', 'resume'] as const) {
    const cmd = group
      .command(`${kind} [name]`)
      .description(
        kind === 'pause'
          ? "pause one migration, a repository's (--repository) or all; running workflows stop after the job in flight"
          : "resume paused migrations (one, a repository's, or all); running workflows continue at once",
      )
      .option('--repository <key>', 'all migrations of this repository');
    if (kind === 'resume') cmd.option('--start', 'also start the workflow of each resumed repository that is not running');
    cmd.action(action<SelectorOptions>((ctx, [name], opts) => control(ctx, kind, name, opts)));
  }

  group
    .command('retry <name>')
    .description('put a failed migration back to running with a fresh attempt budget (stored attempts are kept)')
    .action(
      action(async (ctx, [name]) => {
        const pool = await ctx.db();
        await retryMigration(pool, name as string);
        const row = await migrationByName(pool, name as string);
        const repository = row?.repository ?? '';
        // A workflow still running for the repository stops skipping the migration on this signal.
        const report = await signalRepositories(ctx, [repository], 'resume', name as string);
        const signalled = report.signalled.includes(repository);
        ctx.out.result({ action: 'retry', migration: name, status: 'running', repository, signalled }, () =>
          [
            `Migration ${name} is running again; its failed jobs get a fresh attempt budget.`,
            signalled
              ? `Signalled the running workflow of ${repository}; it picks the migration up after its current batch.`
              : `It continues when its repository runs: bbm repositories start ${repository}   (or bbm enqueue)`,
          ].join('\n'),
        );
      }),
    );

  addCancelCommand(group.command('cancel <repository>'));
}

/** `migrations cancel` and `repositories cancel` are the same command. */
export function addCancelCommand(cmd: Command): Command {
  return cmd
    .description('cancel the repository workflow; the job in flight rolls back and its migrations stay resumable')
    .option('--timeout <duration>', 'how long to wait for the workflow to close', duration, 60_000)
    .action(action<{ timeout: number }>((ctx, [repository], opts) => cancel(ctx, repository as string, opts.timeout)));
}

async function control(ctx: CliContext, kind: 'pause' | 'resume', name: string | undefined, opts: SelectorOptions): Promise<number> {
  const { repository } = opts;
  const pool = await ctx.db();
  const selector = { name, repository };
  const before = await listMigrations(pool, { repository });
  if (repository && !name && before.length === 0) throw unknownRepository(repository);
  const changed = kind === 'pause' ? await pauseMigrations(pool, selector) : await resumeMigrations(pool, selector);
  const repositories = [...new Set(before.filter((m) => changed.includes(m.name)).map((m) => m.repository))].sort();
  const report = await signalRepositories(ctx, repositories, kind, name);
  if (report.warning) ctx.out.note(`warning: ${report.warning}`);
  let idle = repositories.filter((r) => !report.signalled.includes(r));
  const started: string[] = [];
  if (kind === 'resume' && opts.start && !report.warning) {
    // Every selected repository with work to do, including ones resumed earlier but never restarted.
    const runnable = (await listMigrations(pool, { repository }))
      .filter((m) => (!name || m.name === name) && (m.status === MigrationStatus.ACTIVE || m.status === MigrationStatus.RUNNING))
      .map((m) => m.repository);
    for (const r of [...new Set(runnable)].sort()) if (await startRepository(await ctx.client(), ctx.config.taskQueue, r)) started.push(r);
    idle = idle.filter((r) => !started.includes(r));
  }
  ctx.out.result({ action: kind, changed, signalled: report.signalled, started, warning: report.warning ?? null }, () => {
    if (changed.length === 0 && started.length === 0) {
      return kind === 'pause'
        ? 'Nothing to pause: no selected migration is active or running.'
        : 'Nothing to resume: no selected migration is paused.';
    }
    const lines = [
      changed.length > 0
        ? `${kind === 'pause' ? 'Paused' : 'Resumed'} ${changed.length} migration(s): ${changed.join(', ')}.`
        : 'No selected migration was paused.',
    ];
    if (report.signalled.length > 0) lines.push(`Signalled the running workflow(s) of ${report.signalled.join(', ')}.`);
    if (started.length > 0) lines.push(`Started the workflow(s) of ${started.join(', ')}.`);
    if (kind === 'resume' && idle.length > 0 && !report.warning) {
      lines.push(`No workflow is running for ${idle.join(', ')}: add --start, or run \`bbm repositories start <key>\` or \`bbm enqueue\`.`);
    }
    return lines.join('\n');
  });
  return ExitCode.OK;
}

/** Start a repository's workflow and return its run id; undefined when one is already running. */
export async function startRepository(
  client: Client,
  taskQueue: string,
  repository: string,
  extra: { knobs?: Partial<Knobs>; retryFailed?: boolean } = {},
): Promise<string | undefined> {
  try {
    const handle = await client.workflow.start<RepositoryWorkflow>(WORKFLOW_TYPES.repository, {
      taskQueue,
      workflowId: repositoryWorkflowId(repository),
      args: [{ repository, ...(extra.knobs ? { knobs: extra.knobs } : {}), ...(extra.retryFailed ? { retryFailed: true } : {}) }],
      typedSearchAttributes: [{ key: SA.repository, value: repository }],
    });
    return handle.firstExecutionRunId;
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) return undefined;
    throw err;
  }
}

async function cancel(ctx: CliContext, repository: string, timeoutMs: number): Promise<number> {
  const client = await ctx.client();
  const status = await repositoryWorkflowStatus(client, repository);
  if (status !== 'RUNNING') {
    if (status === undefined && ctx.config.databaseUrl && (await listMigrations(await ctx.db(), { repository })).length === 0)
      throw unknownRepository(repository);
    ctx.out.result(
      { action: 'cancel', repository, cancelled: false, workflowStatus: status ?? null },
      () =>
        `Repository ${repository} has no running workflow (${status ? `last one ${status.toLowerCase()}` : 'never started'}); nothing to cancel.`,
    );
    return ExitCode.OK;
  }
  const handle = client.workflow.getHandle(repositoryWorkflowId(repository));
  await handle.cancel();
  const closed = await Promise.race([
    handle.result().then(
      () => 'completed',
      (err: unknown) => (err instanceof WorkflowFailedError ? 'cancelled' : err instanceof WorkflowNotFoundError ? 'gone' : 'cancelled'),
    ),
    new Promise<string>((r) => setTimeout(() => r('pending'), timeoutMs).unref()),
  ]);
  ctx.out.result(
    {
      action: 'cancel',
      repository,
      cancelled: closed !== 'pending',
      workflowStatus: closed === 'pending' ? 'RUNNING' : closed.toUpperCase(),
    },
    () =>
      closed === 'pending'
        ? `Cancellation of ${repository} requested; the workflow has not closed within ${timeoutMs / 1000}s (it finishes the job in flight first).`
        : `Cancelled ${repository}. Its migrations keep their progress; continue with: bbm repositories start ${repository}`,
  );
  return ExitCode.OK;
}
