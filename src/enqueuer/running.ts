import type { Client } from '@temporalio/client';
import { WORKFLOW_TYPES } from '../contract/workflows';
import { repositoryFromWorkflowId } from '../contract/ids';
import { describeRepositoryWorkflow } from '../repository/workflow';
import { forEachLimited } from './limited';

/** Visibility query for the repository workflows running on a task queue. */
export function runningRepositoriesQuery(taskQueue: string): string {
  return `WorkflowType="${WORKFLOW_TYPES.repository}" AND ExecutionStatus="Running" AND TaskQueue="${taskQueue.replace(/["\\]/g, '')}"`;
}

export interface RunningInput {
  taskQueue: string;
  /** Repositories the enqueuer started (or found running) and has not seen finish. */
  tracked: string[];
  /** Repositories reported done, with the run that reported it. */
  closing: Array<{ repository: string; runId?: string }>;
  /**
   * The current wake-up's start token (enqueuerStartToken): running repositories whose run carries
   * it are returned in `startedByToken`.
   */
  startToken?: string;
  /** How long to wait for a run that reported done to close. @default 2000 */
  closeWaitMs?: number;
  /** Called while waiting (activity heartbeat). */
  onProgress?: () => void;
}

export interface RunningResult {
  /** Repositories with a running workflow, sorted. */
  running: string[];
  /** Tracked or closing repositories confirmed not running any more. */
  closed: string[];
  /** Reported done, but that run had not closed after the wait (counted as running; look again soon). */
  stillClosing: string[];
  /**
   * Running repositories whose run carries `startToken` (among those described): this wake-up
   * started them on an attempt whose result was lost, the worker having died before the workflow
   * task completed; the enqueuer has not counted them. Sorted.
   */
  startedByToken: string[];
  /** How many running repository workflows visibility listed (may lag; for the log line). */
  visible: number;
}

/**
 * Which repository workflows run now. Visibility lists them, but it is eventually consistent, so
 * only part of its answer is trusted:
 *  - a listed repository the enqueuer is tracking (started, not yet seen finish) is running;
 *  - a listed repository it is not tracking is checked with DescribeWorkflowExecution (strongly
 *    consistent): it was started by hand, or it is one that just closed and is still listed;
 *  - a tracked repository not listed yet (a fresh start) is checked the same way, so it counts;
 *  - a repository that reported done is checked too, waiting the few milliseconds between its
 *    notice and its close, so its slot is reused at once and never while it still runs.
 * What is left to visibility's lag is a workflow started by hand milliseconds ago. A described run
 * carrying `startToken` is also returned in `startedByToken`.
 */
export async function runningRepositories(client: Client, input: RunningInput): Promise<RunningResult> {
  const visible = new Set<string>();
  for await (const wf of client.workflow.list({ query: runningRepositoriesQuery(input.taskQueue) })) {
    const repository = repositoryFromWorkflowId(wf.workflowId);
    if (repository !== undefined) visible.add(repository);
  }
  input.onProgress?.();
  const closing = new Map(input.closing.map((c) => [c.repository, c.runId]));
  const tracked = new Set(input.tracked);
  const running = new Set<string>([...visible].filter((r) => tracked.has(r) && !closing.has(r)));
  const toCheck = [...new Set([...input.tracked, ...visible, ...closing.keys()])].filter((r) => !running.has(r));
  const closed: string[] = [];
  const stillClosing: string[] = [];
  const startedByToken: string[] = [];
  const noteRunning = (repository: string, startedBy: string | undefined): void => {
    running.add(repository);
    if (input.startToken !== undefined && startedBy === input.startToken) startedByToken.push(repository);
  };
  await forEachLimited(toCheck, 16, async (repository) => {
    const state = await describe(client, repository);
    input.onProgress?.();
    const reportedRun = closing.get(repository);
    if (state.running && reportedRun !== undefined && reportedRun === state.runId) {
      // It reported done and is finishing its last workflow task: wait for the close.
      const { outcome, startedBy } = await waitForClose(client, repository, reportedRun, input.closeWaitMs ?? 2_000, input.onProgress);
      if (outcome === 'closed') closed.push(repository);
      else if (outcome === 'newer-run') noteRunning(repository, startedBy);
      else running.add(repository);
      if (outcome === 'still-running') stillClosing.push(repository);
      return;
    }
    if (state.running) noteRunning(repository, state.startedBy);
    else if (tracked.has(repository) || closing.has(repository)) closed.push(repository);
  });
  return {
    running: [...running].sort(),
    closed: closed.sort(),
    stillClosing: stillClosing.sort(),
    startedByToken: startedByToken.sort(),
    visible: visible.size,
  };
}

async function describe(client: Client, repository: string): Promise<{ running: boolean; runId?: string; startedBy?: string }> {
  const d = await describeRepositoryWorkflow(client, repository);
  return { running: d?.status === 'RUNNING', runId: d?.runId, startedBy: d?.startedBy };
}

/** Wait for `runId` to close; `startedBy` is the start token of the newer run, when one started. */
async function waitForClose(
  client: Client,
  repository: string,
  runId: string,
  waitMs: number,
  onProgress?: () => void,
): Promise<{ outcome: 'closed' | 'newer-run' | 'still-running'; startedBy?: string }> {
  const deadline = Date.now() + waitMs;
  let delay = 10;
  for (;;) {
    const state = await describe(client, repository);
    if (!state.running) return { outcome: 'closed' };
    if (state.runId !== runId) return { outcome: 'newer-run', startedBy: state.startedBy };
    if (Date.now() >= deadline) return { outcome: 'still-running' };
    onProgress?.();
    await new Promise((resolve) => setTimeout(resolve, delay));
    delay = Math.min(200, delay * 2);
  }
}
