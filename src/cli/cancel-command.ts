import type { Command } from 'commander';
import { action } from './action';
import type { CliContext } from './context';
import { ExitCode } from './exit-codes';
import { duration } from './parse';

/**
 * `bbm migrations cancel <repository>` and `bbm repositories cancel <repository>` are one command
 * (a repository's workflow is what runs its migrations), declared here so that neither command
 * file imports the other.
 */
export function addCancelCommand(cmd: Command): Command {
  return cmd
    .description('cancel the repository workflow; the job in flight rolls back and its migrations are paused, keeping their progress')
    .option('--timeout <duration>', 'how long to wait for the workflow to close', duration, 60_000)
    .action(action<{ timeout: number }>((ctx, [repository], opts) => cancel(ctx, repository as string, opts.timeout)));
}

async function cancel(ctx: CliContext, repository: string, timeoutMs: number): Promise<number> {
  const outcome = await ctx.repositories().cancel(repository, timeoutMs);
  ctx.out.result({ action: 'cancel', repository, cancelled: outcome.cancelled, workflowStatus: outcome.workflowStatus }, () => {
    if (!outcome.cancelled && !outcome.pending) {
      const last = outcome.workflowStatus ? `last one ${outcome.workflowStatus.toLowerCase()}` : 'never started';
      return `Repository ${repository} has no running workflow (${last}); nothing to cancel.`;
    }
    return outcome.pending
      ? `Cancellation of ${repository} requested; the workflow has not closed within ${timeoutMs / 1000}s (it finishes the job in flight first).`
      : `Cancelled ${repository}. Its migrations are paused and keep their progress; continue with: bbm migrations resume --repository ${repository} --start`;
  });
  return ExitCode.OK;
}
