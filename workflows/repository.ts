import {
  CancellationScope,
  allHandlersFinished,
  condition,
  continueAsNew,
  isCancellation,
  log,
  patched,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { Knobs } from '../src/knobs';
import { configureUpdate, pauseSignal, progressQuery, resumeSignal, retrySignal } from '../src/contract/messages';
import { asFailure, assertNoQueryArgs, configureProblem, repositoryInputProblem } from '../src/contract/checks';
import type { Problem } from '../src/contract/schema-kit';
import type { RepositorySummary, RepositoryWorkflowInput } from '../src/contract/workflows';
import { runRound } from './repository-round';
import { applyRequests, begin, cancelled, decide, notify } from './repository-control';
import { PATCHES } from './patches';
import { RepositoryRun } from './repository-state';

/**
 * One workflow per repository (ID `bbm-repository:<key>`), so Temporal itself guarantees a single
 * runner per repository. It reproduces the anchor's batch loop (lease -> up to maxJobPerBatch x
 * (find -> execute) -> release -> jittered durable sleep) with every decision about data made
 * by the engine behind the activities, and the database as the source of truth.
 *
 * Signals and updates only record requests (RepositoryRun); the loop applies them between
 * batches. A request that arrives while the run completes or continues as new is applied before
 * it ends, or travels in the next run's input: it is never dropped, and never overwrites the
 * final state, because that state is decided again after every request.
 */
export async function repositoryMigration(input: RepositoryWorkflowInput): Promise<RepositorySummary> {
  refuseIf(repositoryInputProblem(input, workflowInfo().workflowId));
  const run = new RepositoryRun(input);
  setHandler(pauseSignal, (target) => run.request('pause', target));
  setHandler(resumeSignal, (target) => run.request('resume', target));
  setHandler(retrySignal, (target) => run.request('retry', target));
  setHandler(configureUpdate, (request) => run.configure(request), {
    validator: (request) => refuseIf(configureProblem(request, run.knobs)),
  });
  setHandler(progressQuery, (...args: unknown[]) => {
    assertNoQueryArgs('progress', args);
    return run.view();
  });

  try {
    await begin(run);
    for (;;) {
      if (run.pending.length > 0) await applyRequests(run);
      if (shouldContinueAsNew(run.knobs)) {
        await condition(allHandlersFinished);
        // Synchronous from here: requests not yet applied travel in the next run's input.
        return await continueAsNew<typeof repositoryMigration>(run.carry());
      }
      if (!run.drained) {
        await runRound(run);
        continue;
      }
      const summary = await decide(run);
      if (!summary) continue; // the database still has work
      await condition(allHandlersFinished);
      await notify(run, summary.state);
      await condition(allHandlersFinished);
      // Checked in the same activation as the return, so no request can slip in between: one
      // that arrived during completion is applied, and the final state decided again.
      if (run.pending.length === 0 || !patched(PATCHES.requestsAtCompletion)) {
        log.info('repository migration reached a final state', { repository: run.repository, state: summary.state, jobs: summary.jobs });
        return summary;
      }
      log.info('a request arrived while the run was completing; applying it', { repository: run.repository, pending: run.pending });
    }
  } catch (err) {
    if (!isCancellation(err)) throw err;
    await CancellationScope.nonCancellable(() => cancelled(run));
    throw err;
  }
}

/** Continue as new when Temporal suggests it or the history passed the knob's budget. */
function shouldContinueAsNew(knobs: Knobs): boolean {
  const info = workflowInfo();
  return info.continueAsNewSuggested || info.historyLength > knobs.historyEventBudget;
}

/** Bad input fails at once, with the stable code as the failure type. */
function refuseIf(problem: Problem | undefined): void {
  if (problem) throw asFailure(problem);
}
