import { randomUUID } from 'node:crypto';
import {
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
  type Client,
  type WorkflowExecutionStatusName,
} from '@temporalio/client';
import { STARTED_BY_MEMO_KEY, repositoryWorkflowId } from '../contract/ids';
import { pauseSignal, progressQuery, resumeSignal, retrySignal, type RepositoryProgress } from '../contract/messages';
import { SA } from '../contract/search-attributes';
import { WORKFLOW_TYPES, type RepositorySummary, type RepositoryWorkflow } from '../contract/workflows';
import type { Knobs } from '../knobs';
import type { AuditStamp } from '../contract/audit';
import type { AuditContext } from '../engine/audit-record';

/**
 * Every Temporal call bbm's client side makes on a repository workflow (`bbm-repository:<key>`):
 * start, describe, signal, query, cancel and follow. The CLI, the enqueuer and the demo all come
 * through here, so each of these is written once.
 */

export interface StartRepositoryOptions {
  taskQueue: string;
  /** Overrides of the batch loop's defaults; an empty object is the same as none. */
  knobs?: Partial<Knobs>;
  /** Re-run the repository's failed migrations first. */
  retryFailed?: boolean;
  /** Shown as the workflow's summary in the web UI, e.g. "Started by the bbm enqueuer (schedule)". */
  summary?: string;
  /**
   * Who starts it, kept in the memo (`startedBy`). When given, a refused start whose running
   * workflow carries the same token counts as started: it is this starter's own earlier start.
   */
  startToken?: string;
}

/** `started: false` when the repository's workflow was already running (Temporal refused a second run). */
export type StartOutcome = { started: true; workflowId: string; runId: string } | { started: false; workflowId: string };

/**
 * Start the repository's workflow. The workflow ID is the repository's, so Temporal refuses a
 * second run while one runs: that refusal is how "already running" is detected, with nothing to
 * clean up. With `startToken`, a refusal costs one describe, and a running workflow carrying the
 * same token is reported started (a retry finding its own start). Other errors (Temporal
 * unreachable) are thrown as they come.
 */
export async function startRepositoryWorkflow(client: Client, repository: string, options: StartRepositoryOptions): Promise<StartOutcome> {
  const workflowId = repositoryWorkflowId(repository);
  const knobs = options.knobs && Object.keys(options.knobs).length > 0 ? { knobs: options.knobs } : {};
  try {
    const handle = await client.workflow.start<RepositoryWorkflow>(WORKFLOW_TYPES.repository, {
      workflowId,
      taskQueue: options.taskQueue,
      args: [{ repository, ...knobs, ...(options.retryFailed ? { retryFailed: true } : {}) }],
      typedSearchAttributes: [{ key: SA.repository, value: repository }],
      ...(options.summary ? { staticSummary: options.summary } : {}),
      ...(options.startToken ? { memo: { [STARTED_BY_MEMO_KEY]: options.startToken } } : {}),
    });
    return { started: true, workflowId, runId: handle.firstExecutionRunId };
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    if (options.startToken) {
      const running = await describeRepositoryWorkflow(client, repository);
      if (running?.status === 'RUNNING' && running.startedBy === options.startToken)
        return { started: true, workflowId, runId: running.runId };
    }
    return { started: false, workflowId };
  }
}

export interface RepositoryWorkflowDescription {
  /** RUNNING, COMPLETED, FAILED, CANCELLED, TERMINATED, CONTINUED_AS_NEW, TIMED_OUT. */
  status: WorkflowExecutionStatusName;
  /** The latest run's ID. */
  runId: string;
  /** The run's start token (memo `startedBy`), when its starter gave one (the enqueuer does). */
  startedBy?: string;
}

/** The latest run of the repository's workflow (DescribeWorkflowExecution: strongly consistent), or undefined when it never ran. */
export async function describeRepositoryWorkflow(client: Client, repository: string): Promise<RepositoryWorkflowDescription | undefined> {
  try {
    const d = await client.workflow.getHandle(repositoryWorkflowId(repository)).describe();
    const startedBy = d.memo?.[STARTED_BY_MEMO_KEY];
    return { status: d.status.name, runId: d.runId, ...(typeof startedBy === 'string' ? { startedBy } : {}) };
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return undefined;
    throw err;
  }
}

/** The signals the client side sends; each takes `{}` (the whole repository) or `{"migration": name}`. */
export const CONTROL_SIGNALS = Object.freeze({ pause: pauseSignal, resume: resumeSignal, retry: retrySignal });
export type ControlSignal = keyof typeof CONTROL_SIGNALS;

/**
 * Signal the repository's running workflow. Returns false when no workflow runs (it closed, or
 * never ran): the signal was not delivered and the caller must act without it.
 */
export async function signalRepositoryWorkflow(
  client: Client,
  repository: string,
  kind: ControlSignal,
  migration?: string,
  source?: AuditContext,
): Promise<boolean> {
  try {
    const payload = { ...(migration ? { migration } : {}), ...stampOf(source) };
    await client.workflow.getHandle(repositoryWorkflowId(repository)).signal(CONTROL_SIGNALS[kind], payload);
    return true;
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return false;
    throw err;
  }
}

/** The running workflow's live state (the `progress` query); needs a worker to answer. */
export function queryRepositoryProgress(client: Client, repository: string): Promise<RepositoryProgress> {
  return client.workflow.getHandle(repositoryWorkflowId(repository)).query(progressQuery);
}

/** The payload fields that tell the workflow who sent a request (src/contract/audit.ts AuditStamp). */
export function stampOf(source: AuditContext | undefined): AuditStamp {
  return source && source.actor !== null && (source.via === 'cli' || source.via === 'api') ? { actor: source.actor, via: source.via } : {};
}

/**
 * The cancel request with a reason naming bbm's client (`bbm-cli`, `bbm-api`): a cancellation has
 * no payload, so the reason is how the workflow's audit event tells bbm's clients from others
 * (src/audit/origin.ts); the client's identity, set to the actor, says who.
 */
async function requestCancel(client: Client, repository: string, via: 'cli' | 'api'): Promise<void> {
  try {
    await client.workflowService.requestCancelWorkflowExecution({
      namespace: client.options.namespace,
      identity: client.options.identity,
      requestId: randomUUID(),
      workflowExecution: { workflowId: repositoryWorkflowId(repository) },
      reason: `bbm-${via}`,
    });
  } catch (err) {
    if ((err as { code?: number }).code === 5)
      throw new WorkflowNotFoundError('no running workflow', repositoryWorkflowId(repository), undefined);
    throw err;
  }
}

/**
 * Request cancellation of the running workflow and wait up to `timeoutMs` for it to close. It
 * finishes (and rolls back) the job in flight first, so `pending` means "still closing". With a
 * `source` from bbm's CLI or API the request names it (see requestCancel), for the audit trail.
 */
export async function cancelRepositoryWorkflow(
  client: Client,
  repository: string,
  timeoutMs: number,
  source?: AuditContext,
): Promise<'cancelled' | 'completed' | 'gone' | 'pending'> {
  const handle = client.workflow.getHandle(repositoryWorkflowId(repository));
  if (source && (source.via === 'cli' || source.via === 'api')) await requestCancel(client, repository, source.via);
  else await handle.cancel();
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      handle.result().then(
        () => 'completed' as const,
        (err: unknown) => (err instanceof WorkflowNotFoundError ? ('gone' as const) : ('cancelled' as const)),
      ),
      new Promise<'pending'>((resolve) => (timer = setTimeout(() => resolve('pending'), timeoutMs))),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Wait for the workflow's result, calling `onProgress` with its live state every `intervalMs`
 * meanwhile (a display refresh: a missed query is simply skipped). Follows continue-as-new.
 */
export async function followRepositoryWorkflow(
  client: Client,
  repository: string,
  onProgress: (progress: RepositoryProgress) => void,
  intervalMs = 1_000,
): Promise<RepositorySummary> {
  const handle = client.workflow.getHandle<RepositoryWorkflow>(repositoryWorkflowId(repository));
  let done = false;
  const result = handle.result().finally(() => (done = true));
  while (!done) {
    try {
      onProgress(await handle.query(progressQuery));
    } catch {
      // Between runs (continue-as-new) or closing: the next refresh catches up.
    }
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([result.catch(() => undefined), new Promise((r) => (timer = setTimeout(r, intervalMs)))]);
    clearTimeout(timer);
  }
  return result;
}
