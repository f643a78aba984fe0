import { Context } from '@temporalio/activity';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { Logger } from '../src/logger';
import { enqueuerWorkflowId } from '../workflows/ids';
import { repositoryDoneSignal, type RepositoryDone } from '../workflows/messages';

export interface EnqueuerActivityDeps {
  client: Client;
  logger: Logger;
}

/** Activities that talk to Temporal itself on behalf of bbm's workflows. */
export function createEnqueuerActivities(deps: EnqueuerActivityDeps) {
  return {
    /**
     * Tell the enqueuer a repository reached a final state so it can start the next one now.
     * Only a running enqueuer is signalled: with none running, nobody is managing capacity.
     */
    async notifyEnqueuer(input: RepositoryDone): Promise<{ delivered: boolean }> {
      const workflowId = enqueuerWorkflowId(Context.current().info.taskQueue);
      try {
        await deps.client.workflow.getHandle(workflowId).signal(repositoryDoneSignal, input);
        return { delivered: true };
      } catch (err) {
        if (err instanceof WorkflowNotFoundError) return { delivered: false };
        throw err;
      }
    },
  };
}

export type EnqueuerActivities = ReturnType<typeof createEnqueuerActivities>;
