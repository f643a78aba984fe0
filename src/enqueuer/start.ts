import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import type { Knobs } from '../knobs';
import { repositoryWorkflowId } from '../../workflows/ids';
import { SA } from '../../workflows/search-attributes';
import { REPOSITORY_WORKFLOW_TYPE } from './running';

export interface StartRepositoriesInput {
  taskQueue: string;
  /** In order; each one either starts or is reported already running. */
  repositories: string[];
  knobs?: Partial<Knobs>;
  /** Shown as the workflow's summary in the UI. */
  reason: string;
  /** Already started by an earlier attempt of the same call (its heartbeat details). */
  startedBefore?: string[];
  /** Called after each start, with the repositories started so far (activity heartbeat). */
  onStarted?: (started: string[]) => void;
}

export interface StartRepositoriesResult {
  started: string[];
  /** A workflow for the repository was already running (started by hand, or another starter won). */
  alreadyRunning: string[];
}

/**
 * Start one repository workflow per repository, one at a time so the caller's capacity budget is
 * spent in order. The workflow ID is the repository's, so Temporal refuses a second run of a
 * running repository: that refusal is how "already running" is detected, with nothing to clean up.
 */
export async function startRepositories(client: Client, input: StartRepositoriesInput): Promise<StartRepositoriesResult> {
  const startedBefore = new Set(input.startedBefore ?? []);
  const started: string[] = [];
  const alreadyRunning: string[] = [];
  for (const repository of input.repositories) {
    try {
      await client.workflow.start(REPOSITORY_WORKFLOW_TYPE, {
        workflowId: repositoryWorkflowId(repository),
        taskQueue: input.taskQueue,
        args: [{ repository, ...(input.knobs && Object.keys(input.knobs).length > 0 ? { knobs: input.knobs } : {}) }],
        typedSearchAttributes: [{ key: SA.repository, value: repository }],
        staticSummary: `Started by the bbm enqueuer (${input.reason})`,
      });
      started.push(repository);
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
      // A retry of this call finds its own earlier starts running: those still count as started.
      (startedBefore.has(repository) ? started : alreadyRunning).push(repository);
    }
    input.onStarted?.(started);
  }
  return { started, alreadyRunning };
}
