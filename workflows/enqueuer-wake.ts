import { patched, proxyLocalActivities, type RetryPolicy } from '@temporalio/workflow';
import type { EnqueuerActivities, WakeUpContext } from '../activities/enqueuer';
import { RECENT_WAKE_UPS, type WakeRequest, type WakeUpOutcome } from '../src/contract/messages';
import { PATCHES } from './patches';
import { CLOSING_CHECKS, type EnqueuerState } from './enqueuer-state';

// Reads and idempotent starts: retry until they pass (a Postgres or Temporal outage just delays).
export const ENQUEUER_RETRY: RetryPolicy = { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s' };
// Local activities: a wake-up (signal -> survey -> start) completes in one workflow task instead of
// three plus two activity round trips, which is the time a freed slot stays empty. A killed worker's
// wake-up is retried on the next worker when its workflow task times out.
const { surveyRepositories, startRepositories } = proxyLocalActivities<EnqueuerActivities>({
  startToCloseTimeout: '2 minutes',
  retry: ENQUEUER_RETRY,
});

/** Reasons listed in a wake-up's report and log line; the rest are counted. */
const MAX_REASONS = 10;

/**
 * One wake-up: survey (what runs, what is eligible) -> start at most `capacity - running` ->
 * report. Below capacity after starting some, it asks for another wake-up at once (the seed's
 * self re-enqueue).
 */
export async function wakeUp(state: EnqueuerState, requests: WakeRequest[]): Promise<void> {
  const wake = wakeUpContext(requests, state.report.wakeUps + 1, state.capacity);
  const closingNow = [...state.closing].map(([repository, c]) => ({ repository, runId: c.runId, entry: c }));
  const survey = await surveyRepositories({
    wake,
    tracked: [...state.tracked],
    closing: closingNow.map(({ repository, runId }) => ({ repository, runId })),
  });
  const stillClosing = new Set(survey.stillClosing);
  for (const { repository, entry } of closingNow) {
    if (state.closing.get(repository) !== entry) continue; // a newer notice arrived during the survey: keep it
    entry.checks += 1;
    // Not closed yet: look again soon, a few times, then leave it to the regular re-check.
    if (!stillClosing.has(repository) || entry.checks >= CLOSING_CHECKS) state.closing.delete(repository);
  }
  for (const r of survey.closed) state.tracked.delete(r);
  for (const r of survey.alreadyRunning) state.tracked.add(r);
  // Runs this wake-up started on an attempt lost with its worker: started, not already running.
  const startedEarlier = survey.startedByThisWakeUp ?? [];
  for (const r of startedEarlier) state.tracked.add(r);

  let started: string[] = startedEarlier;
  let lostRace: string[] = [];
  if (survey.candidates.length > 0) {
    const result = await startRepositories({
      wake,
      repositories: survey.candidates,
      knobs: state.knobs,
      knobsByPrefix: state.knobsByPrefix,
      running: survey.running.length,
      alreadyRunning: survey.alreadyRunning,
    });
    started = [...startedEarlier, ...result.started];
    lostRace = result.alreadyRunning;
    for (const r of [...started, ...lostRace]) state.tracked.add(r);
  }
  const running = [...new Set([...survey.running, ...started, ...lostRace])].sort();
  const outcome: WakeUpOutcome = {
    wakeUp: wake.wakeUp,
    reason: wake.reason,
    started,
    alreadyRunning: [...survey.alreadyRunning, ...lostRace],
    noRepositoryFound: survey.noRepositoryFound,
    atCapacity: running.length >= wake.capacity,
    at: new Date().toISOString(),
  };
  const { wakeUp: wakeUps, ...latest } = outcome;
  state.report = {
    ...state.report,
    ...latest,
    capacity: wake.capacity,
    running,
    wakeUps,
    startedTotal: state.report.startedTotal + started.length,
  };
  if (patched(PATCHES.recentWakeUps)) state.report.recent = [...(state.report.recent ?? []), outcome].slice(-RECENT_WAKE_UPS);
  if (survey.candidates.length > 0 && running.length < state.capacity) {
    for (const repositoryPrefix of wake.prefixes ?? [undefined])
      state.pending.push({ reason: 'self', ...(repositoryPrefix ? { repositoryPrefix } : {}) });
  }
}

/** Merge the requests of one wake-up: reasons joined, and no prefix filter if any request had none. */
export function wakeUpContext(requests: WakeRequest[], wakeUp: number, capacity: number): WakeUpContext {
  let reasons = [...new Set(requests.map((r) => r.reason ?? 'unspecified'))];
  if (reasons.length > 1) reasons = reasons.filter((r) => r !== 'start');
  if (reasons.length > MAX_REASONS) reasons = [...reasons.slice(0, MAX_REASONS), `(+${reasons.length - MAX_REASONS} more)`];
  const prefixes = requests.some((r) => r.repositoryPrefix === undefined)
    ? null
    : [...new Set(requests.map((r) => r.repositoryPrefix as string))].sort();
  return { wakeUp, reason: reasons.join(','), coalesced: requests.length, prefixes, capacity };
}
