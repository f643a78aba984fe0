import type { Command } from 'commander';
import { controlTimeout, DEFAULT_CONTROL_TIMEOUT_MS, type ControlReport } from '../../repository';
import { action } from '../action';
import { addCancelCommand } from '../cancel-command';
import type { CliContext } from '../context';
import { ExitCode } from '../exit-codes';
import { duration } from '../parse';

interface ControlOptions {
  repository?: string;
  start?: boolean;
  timeout: number;
}

export function registerMigrationControl(group: Command): void {
  for (const kind of ['pause', 'resume'] as const) {
    const cmd = group
      .command(`${kind} [name]`)
      .description(
        kind === 'pause'
          ? "pause one migration, a repository's (--repository) or all; a running workflow applies it after the job in flight"
          : "resume paused migrations (one, a repository's, or all); a running workflow applies it and continues at once",
      )
      .option('--repository <key>', 'all migrations of this repository')
      .option(
        '--timeout <duration>',
        'how long to wait for a running workflow to apply it (exit 1, TIMEOUT, after that)',
        duration,
        DEFAULT_CONTROL_TIMEOUT_MS,
      );
    if (kind === 'resume') cmd.option('--start', 'also start the workflow of each resumed repository that is not running');
    cmd.action(action<ControlOptions>((ctx, [name], opts) => control(ctx, kind, name, opts)));
  }

  group
    .command('retry <name>')
    .description('put a failed migration back to running with a fresh attempt budget (stored attempts are kept)')
    .action(action((ctx, [name]) => retry(ctx, name as string)));

  addCancelCommand(group.command('cancel <repository>'));
}

async function control(ctx: CliContext, kind: 'pause' | 'resume', name: string | undefined, opts: ControlOptions): Promise<number> {
  const selector = { name, repository: opts.repository };
  const options = { timeoutMs: opts.timeout, start: opts.start };
  const report = kind === 'pause' ? await ctx.repositories().pause(selector, options) : await ctx.repositories().resume(selector, options);
  if (report.warning) ctx.out.note(`warning: ${report.warning}`);
  ctx.out.result(
    {
      action: kind,
      changed: report.changed,
      appliedByWorkflow: report.appliedByWorkflow,
      writtenDirectly: report.writtenDirectly,
      pending: report.pending,
      started: report.started,
      keptPaused: report.keptPaused ?? [],
      warning: report.warning ?? null,
    },
    () => describeControl(report),
  );
  if (report.pending.length > 0) throw controlTimeout(report, opts.timeout, ctx.config.taskQueue);
  return ExitCode.OK;
}

function describeControl(report: ControlReport): string {
  const { action: kind, changed, started } = report;
  if (changed.length === 0 && started.length === 0 && report.pending.length === 0 && !report.keptPaused) {
    return kind === 'pause'
      ? 'Nothing to pause: no selected migration is active or running.'
      : 'Nothing to resume: no selected migration is paused.';
  }
  const lines = [
    changed.length > 0
      ? `${kind === 'pause' ? 'Paused' : 'Resumed'} ${changed.length} migration(s): ${changed.join(', ')}.`
      : `No selected migration was ${kind === 'pause' ? 'paused' : 'resumed'} yet.`,
  ];
  if (report.appliedByWorkflow.length > 0) lines.push(`Applied by the running workflow(s) of ${report.appliedByWorkflow.join(', ')}.`);
  if (report.pending.length > 0) lines.push(`Signalled, not applied yet: the running workflow(s) of ${report.pending.join(', ')}.`);
  if (started.length > 0) lines.push(`Started the workflow(s) of ${started.join(', ')}.`);
  if (report.keptPaused)
    lines.push(
      `Kept paused, as paused before the cancel: ${report.keptPaused.join(', ')} (resume each by name: bbm migrations resume <name>).`,
    );
  const idle = report.writtenDirectly.filter((r) => !started.includes(r));
  if (kind === 'resume' && idle.length > 0 && !report.warning) {
    lines.push(`No workflow is running for ${idle.join(', ')}: add --start, or run \`bbm repositories start <key>\` or \`bbm enqueue\`.`);
  }
  return lines.join('\n');
}

async function retry(ctx: CliContext, name: string): Promise<number> {
  const report = await ctx.repositories().retry(name);
  if (report.warning) ctx.out.note(`warning: ${report.warning}`);
  const { repository, signalled } = report;
  ctx.out.result({ action: 'retry', migration: name, status: report.status, repository, signalled }, () =>
    [
      `Migration ${name} is running again; its failed jobs get a fresh attempt budget.`,
      signalled
        ? `Signalled the running workflow of ${repository} (retry); it stops skipping the migration.`
        : `It continues when its repository runs: bbm repositories start ${repository}   (or bbm enqueue)`,
    ].join('\n'),
  );
  return ExitCode.OK;
}
