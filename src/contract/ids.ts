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

/**
 * The repository workflow's memo key naming who started the run: `<enqueuer run ID>#<wake-up>`
 * when the enqueuer did. A wake-up's survey and starts are local activities that run again from
 * the start when their worker dies; a running run carrying the wake-up's own token is then one it
 * started, counted as started, not as already running (src/enqueuer/running.ts, start.ts).
 */
export const STARTED_BY_MEMO_KEY = 'startedBy';

/** The start token of one enqueuer wake-up: the same on every retry of it, different for every other wake-up. */
export function enqueuerStartToken(enqueuerRunId: string, wakeUp: number): string {
  return `${enqueuerRunId}#${wakeUp}`;
}

/** `bbm-repository:<repository key>`, e.g. `bbm-repository:public.images`. */
export function repositoryWorkflowId(repository: string): string {
  return `${REPOSITORY_WORKFLOW_PREFIX}${repository}`;
}

export function repositoryFromWorkflowId(workflowId: string): string | undefined {
  return workflowId.startsWith(REPOSITORY_WORKFLOW_PREFIX) ? workflowId.slice(REPOSITORY_WORKFLOW_PREFIX.length) : undefined;
}

/**
 * What a repository key may look like: 1 to 200 characters, letters, digits and `_ . : / @ -`,
 * starting with a letter or digit (e.g. `public.images`, `tenant-42`, `team/a`). The key becomes
 * part of a workflow ID, a search attribute value and log lines, so it stays printable and short.
 */
export const REPOSITORY_KEY_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.:/@-]{0,199}$/;

/** Why `key` is not a repository key, or undefined when it is one. Pure, for the client side and workflow validators alike. */
export function repositoryKeyProblem(key: unknown): string | undefined {
  if (typeof key === 'string' && REPOSITORY_KEY_PATTERN.test(key)) return undefined;
  return `Repository key ${JSON.stringify(key)} is invalid: use letters, digits, _ . : / @ - (up to 200).`;
}
