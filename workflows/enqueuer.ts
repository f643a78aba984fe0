import {
  allHandlersFinished,
  condition,
  continueAsNew,
  currentUpdateInfo,
  log,
  patched,
  proxyActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { AuditActivities } from '../activities/audit';
import type { CapacityRequest } from '../src/contract/messages';
import { PATCHES } from './patches';
import type { EnqueuerActivities } from '../activities/enqueuer';
import { capacityQuery, enqueuerStatusQuery, repositoryDoneSignal, setCapacityUpdate, wakeSignal } from '../src/contract/messages';
import { asFailure, assertNoQueryArgs, capacityRequestProblem, enqueuerStartProblem, tickInputProblem } from '../src/contract/checks';
import type { Problem } from '../src/contract/schema-kit';
import type { EnqueuerInput, EnqueuerTickInput } from '../src/contract/workflows';
import { EnqueuerState } from './enqueuer-state';
import { ENQUEUER_RETRY, wakeUp } from './enqueuer-wake';

const { wakeEnqueuerFromTick } = proxyActivities<EnqueuerActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { ...ENQUEUER_RETRY, maximumAttempts: 10 },
});

/**
 * The one enqueuer of a task queue (ID `bbm-enqueuer/<task queue>`): starts repository
 * workflows up to a capacity. Triggers (a service's signal, the schedule's tick, a repository
 * reaching a final state) all arrive as signals, usually through signal-with-start, so one
 * execution receives them all and processes them one wake-up at a time: requests that arrive
 * during a wake-up coalesce into the next. That serialisation is what keeps starts within
 * capacity under concurrent triggers; per-repository exclusivity comes from the repository
 * workflow's own ID, so nothing here is a lease that a crash could leave behind. A killed
 * worker's wake-up resumes on the next worker by replay.
 *
 * Capacity, knobs and the repositories it waits on are workflow state (EnqueuerState), carried
 * across continue-as-new together with the requests not yet processed.
 */
export async function enqueuer(input: EnqueuerInput = {}): Promise<void> {
  const info = workflowInfo();
  refuseIf(enqueuerStartProblem(input, info.workflowId, info.taskQueue));
  const state = new EnqueuerState(input);
  setHandler(wakeSignal, (request) => state.wake(request));
  setHandler(repositoryDoneSignal, (done) => state.repositoryDone(done));
  setHandler(setCapacityUpdate, (request) => setCapacity(state, request), {
    validator: (request) => refuseIf(capacityRequestProblem(request)),
  });
  setHandler(capacityQuery, (...args: unknown[]) => {
    assertNoQueryArgs('capacity', args);
    return state.capacity;
  });
  setHandler(enqueuerStatusQuery, (...args: unknown[]) => {
    assertNoQueryArgs('status', args);
    return state.status();
  });

  for (;;) {
    if (state.pending.length === 0) {
      const timeoutMs = state.idleTimeoutMs();
      const woke =
        timeoutMs !== undefined
          ? await condition(() => state.pending.length > 0, timeoutMs)
          : await condition(() => state.pending.length > 0).then(() => true);
      if (!woke) state.pending.push({ reason: 'recheck' });
    }
    const current = workflowInfo();
    if (current.continueAsNewSuggested || current.historyLength > state.historyEventBudget) {
      await condition(allHandlersFinished);
      // Synchronous from here: requests not yet processed travel in the next run's input.
      return await continueAsNew<typeof enqueuer>(state.carry());
    }
    await wakeUp(state, state.pending.splice(0));
  }
}

const { recordAudit } = proxyActivities<AuditActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '500ms', backoffCoefficient: 2, maximumInterval: '10s', maximumAttempts: 20 },
});

/**
 * The setCapacity update: the change, then its audit event (who sent it: the payload's actor, or
 * the update's sender in the history). The capacity is workflow state, so the event follows the
 * change; a failure to record it is logged and does not undo the change.
 */
async function setCapacity(state: EnqueuerState, request: CapacityRequest): Promise<number> {
  const before = state.capacity;
  const after = state.setCapacity(request);
  if (!patched(PATCHES.auditTrail)) return after;
  // The same capacity again changed nothing: nothing to record.
  if (before === after && patched(PATCHES.capacityRecordsChanges)) return after;
  const origin = {
    runId: workflowInfo().runId,
    ...(currentUpdateInfo() ? { updateId: currentUpdateInfo()?.id } : {}),
    ...(request.actor !== undefined ? { actor: request.actor } : {}),
    ...(request.via !== undefined ? { via: request.via } : {}),
  };
  try {
    await recordAudit({ action: 'capacity', origin, target: 'enqueuer', before: { capacity: before }, after: { capacity: after } });
  } catch (err) {
    log.warn('could not record the capacity change in the audit trail', { error: String(err) });
  }
  return after;
}

/**
 * What the Temporal Schedule starts (a schedule can start workflows but not signal one): wakes
 * the enqueuer with signal-with-start, then ends. Its ID is the schedule's plus a timestamp.
 */
export async function enqueuerTick(input: EnqueuerTickInput = {}): Promise<{ workflowId: string }> {
  refuseIf(tickInputProblem(input));
  return wakeEnqueuerFromTick({ reason: input?.reason ?? 'schedule' });
}

/** Bad input fails at once, with the stable code as the failure type. */
function refuseIf(problem: Problem | undefined): void {
  if (problem) throw asFailure(problem);
}
