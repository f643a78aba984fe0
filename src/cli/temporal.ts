import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { isBbmError } from '../errors';
import { repositoryWorkflowId } from '../contract/ids';
import { pauseSignal, resumeSignal } from '../contract/messages';
import type { CliContext } from './context';

/** The repository workflow's status name (RUNNING, COMPLETED, ...), or undefined when it never ran. */
export async function repositoryWorkflowStatus(client: Client, repository: string): Promise<string | undefined> {
  try {
    const description = await client.workflow.getHandle(repositoryWorkflowId(repository)).describe();
    return description.status.name;
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return undefined;
    throw err;
  }
}

export interface SignalReport {
  /** Repositories whose running workflow got the signal. */
  signalled: string[];
  /** Set when Temporal could not be reached: the database change stands, workflows notice it at their next job. */
  warning?: string;
}

/**
 * Tell running repository workflows about a pause or resume already written to the database, so
 * they react between jobs instead of at their next lookup. Best effort by design: the database
 * is the source of truth and pause/resume must work with Temporal down.
 */
export async function signalRepositories(
  ctx: CliContext,
  repositories: string[],
  kind: 'pause' | 'resume',
  migration?: string,
): Promise<SignalReport> {
  const report: SignalReport = { signalled: [] };
  if (repositories.length === 0) return report;
  let client: Client;
  try {
    client = await ctx.client();
  } catch (err) {
    if (!isBbmError(err)) throw err;
    report.warning = `${err.message} The ${kind} is saved in the database; running workflows apply it at their next job.`;
    return report;
  }
  for (const repository of repositories) {
    if ((await repositoryWorkflowStatus(client, repository)) !== 'RUNNING') continue;
    const handle = client.workflow.getHandle(repositoryWorkflowId(repository));
    await handle.signal(kind === 'pause' ? pauseSignal : resumeSignal, migration ? { migration } : {});
    report.signalled.push(repository);
  }
  return report;
}
