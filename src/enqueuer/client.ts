import { ApplicationFailure } from '@temporalio/common';
import { WorkflowNotFoundError, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import { BbmError, ErrorCode, invalidInput } from '../errors';
import { enqueuerWorkflowId } from '../contract/ids';
import {
  capacityQuery,
  enqueuerStatusQuery,
  setCapacityUpdate,
  wakeSignal,
  type EnqueuerReport,
  type WakeRequest,
} from '../contract/messages';
import { WORKFLOW_TYPES, type EnqueuerInput, type EnqueuerWorkflow } from '../contract/workflows';
import type { AuditStamp } from '../contract/audit';
import { capacityProblem, enqueuerInputProblem, wakeRequestProblem } from './policy';

/**
 * The enqueuer's client API, for the CLI, the schedule's tick, run-to-completion and any
 * TypeScript service. Every call addresses the one enqueuer of a task queue,
 * `bbm-enqueuer/<task queue>`.
 */

/** Start settings, used only when the call starts the enqueuer (a running one keeps its own). */
export type EnqueuerStartOptions = Omit<EnqueuerInput, 'carried'>;

/**
 * Wake the enqueuer with signal-with-start: signals the running enqueuer, or starts it and
 * delivers the signal as its first event. Concurrent calls land on the same execution and are
 * processed one wake-up at a time, so they coalesce instead of racing.
 */
export async function wakeEnqueuer(
  client: Client,
  taskQueue: string,
  request: WakeRequest = {},
  start: EnqueuerStartOptions = {},
): Promise<{ workflowId: string; runId: string }> {
  const problem = wakeRequestProblem(request) ?? enqueuerInputProblem(start);
  if (problem) throw invalidInput(`Cannot wake the enqueuer: ${problem}.`);
  const workflowId = enqueuerWorkflowId(taskQueue);
  const handle = await client.workflow.signalWithStart<EnqueuerWorkflow, [WakeRequest?]>(WORKFLOW_TYPES.enqueuer, {
    workflowId,
    taskQueue,
    args: [start],
    signal: wakeSignal,
    signalArgs: [request],
    staticSummary: 'bbm enqueuer: starts repository migrations up to its capacity',
  });
  return { workflowId, runId: handle.signaledRunId };
}

/** The running enqueuer's capacity, or undefined when no enqueuer runs on this task queue. */
export async function getCapacity(client: Client, taskQueue: string): Promise<number | undefined> {
  return orUndefined(() => client.workflow.getHandle(enqueuerWorkflowId(taskQueue)).query(capacityQuery));
}

/** What the enqueuer's last wake-up found and did, or undefined when no enqueuer runs. */
export async function enqueuerStatus(client: Client, taskQueue: string): Promise<EnqueuerReport | undefined> {
  return orUndefined(() => client.workflow.getHandle(enqueuerWorkflowId(taskQueue)).query(enqueuerStatusQuery));
}

/**
 * Change the capacity at runtime: the running enqueuer applies it at once (a higher one wakes it
 * to start more repositories; a lower one starts none until fewer run; running repositories are
 * never stopped). Starts the enqueuer with that capacity when none runs. Throws INVALID_INPUT
 * for a value outside 0..1000. `stamp` (actor, via) goes in the update, so the enqueuer records
 * who changed it in the audit trail; `onStarted` runs when no enqueuer ran and this started one
 * with the capacity instead (no update, so the caller records the change itself).
 */
export async function setCapacity(
  client: Client,
  taskQueue: string,
  capacity: number,
  stamp: AuditStamp = {},
  onStarted?: () => Promise<void>,
): Promise<number> {
  const problem = capacityProblem(capacity);
  if (problem) throw invalidInput(`Cannot set the enqueuer's capacity: ${problem}.`);
  try {
    return await client.workflow
      .getHandle(enqueuerWorkflowId(taskQueue))
      .executeUpdate(setCapacityUpdate, { args: [{ capacity, ...stamp }] });
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) {
      await wakeEnqueuer(client, taskQueue, { reason: 'capacity' }, { capacity });
      await onStarted?.();
      return capacity;
    }
    if (err instanceof WorkflowUpdateFailedError && err.cause instanceof ApplicationFailure && err.cause.type === ErrorCode.INVALID_INPUT) {
      throw new BbmError(ErrorCode.INVALID_INPUT, err.cause.message, {}, { cause: err });
    }
    throw err;
  }
}

async function orUndefined<T>(fn: () => Promise<T>): Promise<T | undefined> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return undefined;
    throw err;
  }
}
