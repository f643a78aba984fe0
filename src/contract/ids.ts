/**
 * Workflow IDs come from business keys, so a duplicate trigger lands on the same execution and
 * Temporal itself guarantees one run per repository. Pure module, shared by workflows and clients.
 */

export const REPOSITORY_WORKFLOW_PREFIX = 'bbm-repository:';
/**
 * `bbm-enqueuer/<task queue>`: `bbm-enqueuer/bbm` with the default task queue. One enqueuer per
 * deployment (a task queue and its database), so two deployments sharing a namespace stay apart.
 */
export function enqueuerWorkflowId(taskQueue: string): string {
  return `bbm-enqueuer/${taskQueue}`;
}

export function enqueuerScheduleId(taskQueue: string): string {
  return `bbm-enqueuer-schedule/${taskQueue}`;
}

/** `bbm-repository:<repository key>`, e.g. `bbm-repository:public.images`. */
export function repositoryWorkflowId(repository: string): string {
  return `${REPOSITORY_WORKFLOW_PREFIX}${repository}`;
}

export function repositoryFromWorkflowId(workflowId: string): string | undefined {
  return workflowId.startsWith(REPOSITORY_WORKFLOW_PREFIX) ? workflowId.slice(REPOSITORY_WORKFLOW_PREFIX.length) : undefined;
}
