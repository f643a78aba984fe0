import { log } from '@temporalio/workflow';
import { ENQUEUER_DEFAULTS } from '../src/enqueuer/policy';
import { noteIgnoredSignal, repositoryDoneProblem, wakeProblem } from '../src/contract/checks';
import type { Problem } from '../src/contract/schema-kit';
import type { Knobs } from '../src/knobs';
import type { CapacityRequest, EnqueuerReport, RepositoryDone, WakeRequest } from '../src/contract/messages';
import type { EnqueuerInput } from '../src/contract/workflows';

/** A repository that reported done but had not closed is looked at again after this long, this many times. */
export const CLOSING_RECHECK_MS = 2_000;
export const CLOSING_CHECKS = 5;

/**
 * What the enqueuer knows between wake-ups, and the operations on it. The message handlers only
 * record here (a wake request, a repository's notice, a new capacity); the loop processes the
 * requests one wake-up at a time, and everything is carried across continue-as-new.
 */
export class EnqueuerState {
  capacity: number;
  /** Knobs for the repository workflows it starts. */
  knobs: Partial<Knobs>;
  /** Knobs for the repositories of a key prefix, set by wakes with a prefix (see knobsFor in src/enqueuer/policy). */
  knobsByPrefix: Record<string, Partial<Knobs>>;
  readonly historyEventBudget: number;
  readonly recheckSeconds: number;
  /** Repositories started or found running, not yet seen finish. */
  readonly tracked: Set<string>;
  /** Repositories that reported a final state, until a survey sees that run closed. */
  readonly closing: Map<string, { runId?: string; checks: number }>;
  /** Wake requests not yet processed; the next wake-up takes them all. */
  readonly pending: WakeRequest[];
  report: EnqueuerReport;

  constructor(input: EnqueuerInput) {
    const carried = input.carried;
    this.capacity = input.capacity ?? ENQUEUER_DEFAULTS.capacity;
    this.knobs = { ...input.knobs };
    this.knobsByPrefix = { ...carried?.knobsByPrefix };
    this.historyEventBudget = input.historyEventBudget ?? ENQUEUER_DEFAULTS.historyEventBudget;
    this.recheckSeconds = input.recheckSeconds ?? ENQUEUER_DEFAULTS.recheckSeconds;
    this.tracked = new Set(carried?.tracked ?? []);
    this.closing = new Map((carried?.closing ?? []).map((c) => [c.repository, { runId: c.runId, checks: c.checks ?? 0 }]));
    this.pending = [...(carried?.pending ?? [])];
    this.report = carried?.report ?? {
      capacity: this.capacity,
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
      knobs: this.knobs,
      runs: 0,
      at: null,
    };
    this.report.runs += 1;
    // A plain start (no signal) still does one wake-up.
    if (!carried) this.pending.push({ reason: 'start' });
  }

  // ---- messages: record, never act -----------------------------------------------------------

  /** The wake signal. An invalid request is logged and ignored (signals have no validator). */
  wake(request?: WakeRequest): void {
    const problem = wakeProblem(request);
    if (problem) return this.ignore('wake request', problem);
    if (request?.knobs !== undefined) {
      if (request.repositoryPrefix === undefined) this.knobs = { ...request.knobs };
      else if (Object.keys(request.knobs).length === 0) delete this.knobsByPrefix[request.repositoryPrefix];
      else this.knobsByPrefix[request.repositoryPrefix] = { ...request.knobs };
    }
    this.pending.push(request ?? {});
  }

  /** A repository reached a final state: look at it (and for a free slot) at once. */
  repositoryDone(done: RepositoryDone): void {
    const problem = repositoryDoneProblem(done);
    if (problem) return this.ignore('repositoryDone signal', problem);
    this.closing.set(done.repository, { runId: typeof done.runId === 'string' ? done.runId : undefined, checks: 0 });
    this.pending.push({ reason: `repository:${done.repository}` });
  }

  /** The setCapacity update (already validated); a raise wakes the enqueuer to fill the new slots. */
  setCapacity(request: CapacityRequest): number {
    const previous = this.capacity;
    this.capacity = request.capacity;
    log.info('capacity changed', { previous, capacity: this.capacity });
    if (this.capacity > previous) this.pending.push({ reason: 'capacity' });
    return this.capacity;
  }

  /** Signals cannot be refused: a malformed one is logged, and counted in the status query. */
  private ignore(what: string, problem: Problem): void {
    this.report = { ...this.report, ignoredSignals: noteIgnoredSignal(this.report.ignoredSignals, problem) };
    log.warn(`ignoring an invalid ${what}`, { problem: problem.message });
  }

  /** The status query. */
  status(): EnqueuerReport {
    return {
      ...this.report,
      capacity: this.capacity,
      pending: this.pending.length,
      tracked: [...this.tracked].sort(),
      knobs: this.knobs,
      knobsByPrefix: this.knobsByPrefix,
    };
  }

  // ---- the loop ------------------------------------------------------------------------------

  /**
   * How long to wait for a request before a re-check: soon while a repository reported done but
   * had not closed, every recheckSeconds while repositories run (a lost notice, such as from a
   * workflow terminated by hand, costs at most that), forever when nothing runs.
   */
  idleTimeoutMs(): number | undefined {
    if (this.closing.size > 0) return CLOSING_RECHECK_MS;
    return this.tracked.size > 0 || this.report.running.length > 0 ? this.recheckSeconds * 1000 : undefined;
  }

  /** The next run's input at continue-as-new, with the requests not yet processed. */
  carry(): EnqueuerInput {
    const { capacity, knobs, historyEventBudget, recheckSeconds } = this;
    return {
      capacity,
      knobs,
      historyEventBudget,
      recheckSeconds,
      carried: {
        tracked: [...this.tracked],
        closing: [...this.closing].map(([repository, c]) => ({ repository, ...c })),
        pending: this.pending.splice(0),
        report: this.report,
        knobsByPrefix: this.knobsByPrefix,
      },
    };
  }
}
