import {
  allHandlersFinished,
  condition,
  continueAsNew,
  log,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  workflowInfo,
  type RetryPolicy,
} from '@temporalio/workflow';
import type { EnqueuerActivities, WakeUpContext } from '../activities/enqueuer';
import { ENQUEUER_DEFAULTS } from '../src/enqueuer/policy';
import type { Knobs } from '../src/knobs';
import {
  asFailure,
  assertNoQueryArgs,
  capacityRequestProblem,
  enqueuerStartProblem,
  noteIgnoredSignal,
  repositoryDoneProblem,
  tickInputProblem,
  wakeProblem,
} from '../src/contract/checks';
import {
  capacityQuery,
  enqueuerStatusQuery,
  repositoryDoneSignal,
  setCapacityUpdate,
  wakeSignal,
  type CapacityRequest,
  type EnqueuerReport,
  type RepositoryDone,
  type WakeRequest,
} from '../src/contract/messages';
import type { EnqueuerInput, EnqueuerTickInput } from '../src/contract/workflows';

// Reads and idempotent starts: retry until they pass (a Postgres or Temporal outage just delays).
const RETRY: RetryPolicy = { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s' };
// Local activities: a wake-up (signal -> survey -> start) completes in one workflow task instead of
// three plus two activity round trips, which is the time a freed slot stays empty. A killed worker's
// wake-up is retried on the next worker when its workflow task times out.
const { surveyRepositories, startRepositories } = proxyLocalActivities<EnqueuerActivities>({
  startToCloseTimeout: '2 minutes',
  retry: RETRY,
});
const { wakeEnqueuerFromTick } = proxyActivities<EnqueuerActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { ...RETRY, maximumAttempts: 10 },
});

/** A repository that reported done but had not closed is looked at again after this long, this many times. */
const CLOSING_RECHECK_MS = 2_000;
const CLOSING_CHECKS = 5;
/** Reasons listed in a wake-up's report and log line; the rest are counted. */
const MAX_REASONS = 10;

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
 * Each wake-up: survey (what runs, what is eligible) -> start at most `capacity - running` ->
 * report. Capacity, knobs and the repositories it waits on are workflow state, carried across
 * continue-as-new.
 */
export async function enqueuer(input: EnqueuerInput = {}): Promise<void> {
  const info = workflowInfo();
  validateInput(input, info.workflowId, info.taskQueue);
  let capacity = input.capacity ?? ENQUEUER_DEFAULTS.capacity;
  let knobs: Partial<Knobs> = { ...input.knobs };
  const historyEventBudget = input.historyEventBudget ?? ENQUEUER_DEFAULTS.historyEventBudget;
  const recheckSeconds = input.recheckSeconds ?? ENQUEUER_DEFAULTS.recheckSeconds;
  const carried = input.carried;
  const tracked = new Set<string>(carried?.tracked ?? []);
  // Repositories that reported a final state, until a survey sees that run closed.
  const closing = new Map<string, { runId?: string; checks: number }>(
    (carried?.closing ?? []).map((c) => [c.repository, { runId: c.runId, checks: c.checks ?? 0 }]),
  );
  const pending: WakeRequest[] = [...(carried?.pending ?? [])];
  let report: EnqueuerReport = carried?.report ?? {
    capacity,
    running: [],
    started: [],
    alreadyRunning: [],
    noRepositoryFound: false,
    atCapacity: false,
    reason: null,
    wakeUps: 0,
    startedTotal: 0,
    pending: 0,
    tracked: [],
    knobs,
    runs: 0,
    at: null,
  };
  report.runs += 1;

  setHandler(wakeSignal, (request?: WakeRequest) => {
    const problem = wakeProblem(request);
    if (problem) {
      report = { ...report, ignoredSignals: noteIgnoredSignal(report.ignoredSignals, problem) };
      log.warn('ignoring an invalid wake request', { problem: problem.message });
      return;
    }
    if (request?.knobs !== undefined) knobs = { ...request.knobs };
    pending.push(request ?? {});
  });
  setHandler(repositoryDoneSignal, (done: RepositoryDone) => {
    const problem = repositoryDoneProblem(done);
    if (problem) {
      report = { ...report, ignoredSignals: noteIgnoredSignal(report.ignoredSignals, problem) };
      log.warn('ignoring an invalid repositoryDone signal', { problem: problem.message });
      return;
    }
    closing.set(done.repository, { runId: typeof done.runId === 'string' ? done.runId : undefined, checks: 0 });
    pending.push({ reason: `repository:${done.repository}` });
  });
  setHandler(
    setCapacityUpdate,
    (request: CapacityRequest) => {
      const previous = capacity;
      capacity = request.capacity;
      log.info('capacity changed', { previous, capacity });
      if (capacity > previous) pending.push({ reason: 'capacity' });
      return capacity;
    },
    { validator: validateCapacity },
  );
  setHandler(capacityQuery, (...args: unknown[]) => {
    assertNoQueryArgs('capacity', args);
    return capacity;
  });
  setHandler(enqueuerStatusQuery, (...args: unknown[]): EnqueuerReport => {
    assertNoQueryArgs('status', args);
    return { ...report, capacity, pending: pending.length, tracked: [...tracked].sort(), knobs };
  });

  // A plain start (no signal) still does one wake-up.
  if (!carried) pending.push({ reason: 'start' });

  for (;;) {
    if (pending.length === 0) {
      // With repositories running, a lost notice (a workflow terminated by hand) costs at most one re-check
      // interval; a repository that reported done but had not closed yet is looked at again shortly.
      const watching = tracked.size > 0 || report.running.length > 0;
      const timeoutMs = closing.size > 0 ? CLOSING_RECHECK_MS : watching ? recheckSeconds * 1000 : undefined;
      const woke =
        timeoutMs !== undefined
          ? await condition(() => pending.length > 0, timeoutMs)
          : await condition(() => pending.length > 0).then(() => true);
      if (!woke) pending.push({ reason: 'recheck' });
    }
    const current = workflowInfo();
    if (current.continueAsNewSuggested || current.historyLength > historyEventBudget) {
      await condition(allHandlersFinished);
      return await continueAsNew<typeof enqueuer>({
        capacity,
        knobs,
        historyEventBudget,
        recheckSeconds,
        carried: {
          tracked: [...tracked],
          closing: [...closing].map(([repository, c]) => ({ repository, ...c })),
          pending: pending.splice(0),
          report,
        },
      });
    }
    await wakeUp(pending.splice(0));
  }

  async function wakeUp(requests: WakeRequest[]): Promise<void> {
    const wake = wakeUpContext(requests, report.wakeUps + 1, capacity);
    const closingNow = [...closing].map(([repository, c]) => ({ repository, runId: c.runId, entry: c }));
    const survey = await surveyRepositories({
      wake,
      tracked: [...tracked],
      closing: closingNow.map(({ repository, runId }) => ({ repository, runId })),
    });
    const stillClosing = new Set(survey.stillClosing);
    for (const { repository, entry } of closingNow) {
      if (closing.get(repository) !== entry) continue; // a newer notice arrived during the survey: keep it
      entry.checks += 1;
      // Not closed yet: look again soon, a few times, then leave it to the regular re-check.
      if (!stillClosing.has(repository) || entry.checks >= CLOSING_CHECKS) closing.delete(repository);
    }
    for (const r of survey.closed) tracked.delete(r);
    for (const r of survey.alreadyRunning) tracked.add(r);

    let started: string[] = [];
    let lostRace: string[] = [];
    if (survey.candidates.length > 0) {
      const result = await startRepositories({
        wake,
        repositories: survey.candidates,
        knobs,
        running: survey.running.length,
        alreadyRunning: survey.alreadyRunning,
      });
      started = result.started;
      lostRace = result.alreadyRunning;
      for (const r of [...started, ...lostRace]) tracked.add(r);
    }
    const running = [...new Set([...survey.running, ...started, ...lostRace])].sort();
    report = {
      ...report,
      capacity: wake.capacity,
      running,
      started,
      alreadyRunning: [...survey.alreadyRunning, ...lostRace],
      noRepositoryFound: survey.noRepositoryFound,
      atCapacity: running.length >= wake.capacity,
      reason: wake.reason,
      wakeUps: wake.wakeUp,
      startedTotal: report.startedTotal + started.length,
      at: new Date().toISOString(),
    };
    // The seed's self re-enqueue: below capacity after starting some, look again at once.
    if (survey.candidates.length > 0 && running.length < capacity) {
      for (const repositoryPrefix of wake.prefixes ?? [undefined])
        pending.push({ reason: 'self', ...(repositoryPrefix ? { repositoryPrefix } : {}) });
    }
  }
}

/**
 * What the Temporal Schedule starts (a schedule can start workflows but not signal one): wakes
 * the enqueuer with signal-with-start, then ends. Its ID is the schedule's plus a timestamp.
 */
export async function enqueuerTick(input: EnqueuerTickInput = {}): Promise<{ workflowId: string }> {
  const problem = tickInputProblem(input);
  if (problem) throw asFailure(problem);
  return wakeEnqueuerFromTick({ reason: input?.reason ?? 'schedule' });
}

/** Merge the requests of one wake-up: reasons joined, and no prefix filter if any request had none. */
function wakeUpContext(requests: WakeRequest[], wakeUp: number, capacity: number): WakeUpContext {
  let reasons = [...new Set(requests.map((r) => r.reason ?? 'unspecified'))];
  if (reasons.length > 1) reasons = reasons.filter((r) => r !== 'start');
  if (reasons.length > MAX_REASONS) reasons = [...reasons.slice(0, MAX_REASONS), `(+${reasons.length - MAX_REASONS} more)`];
  const prefixes = requests.some((r) => r.repositoryPrefix === undefined)
    ? null
    : [...new Set(requests.map((r) => r.repositoryPrefix as string))].sort();
  return { wakeUp, reason: reasons.join(','), coalesced: requests.length, prefixes, capacity };
}

function validateCapacity(request: CapacityRequest): void {
  const problem = capacityRequestProblem(request);
  if (problem) throw asFailure(problem);
}

function validateInput(input: EnqueuerInput, workflowId: string, taskQueue: string): void {
  const problem = enqueuerStartProblem(input, workflowId, taskQueue);
  if (problem) throw asFailure(problem);
}
