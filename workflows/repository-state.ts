import { currentUpdateInfo, log, patched, setCurrentDetails, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import { addDecimal } from '../src/engine/int8';
import type { ExecuteJobResult, FenceToken, FindJobResult, MigrationProgress } from '../src/engine/types';
import { DEFAULT_KNOBS, type Knobs } from '../src/knobs';
import type { ConfigureRequest, RepositoryProgress, RepositoryState, RepositoryTotals, ThrottleView } from '../src/contract/messages';
import { SA } from '../src/contract/search-attributes';
import { migrationTargetProblem, noteIgnoredSignal, targetMigration } from '../src/contract/checks';
import type { ControlKind, ControlRequest, RepositoryWorkflowInput } from '../src/contract/workflows';
import { changedKnobs, type AuditOrigin, type AuditStamp } from '../src/contract/audit';
import { PATCHES } from './patches';
import { auditor, bookkeeping } from './repository-activities';

type MigrationId = MigrationProgress['id'];

/** States a run may end in; a request arriving later never overwrites one. */
const FINAL_STATES: ReadonlySet<RepositoryState> = new Set(['finished', 'paused', 'failed', 'cancelled']);

/**
 * What one repository workflow knows and the operations on it (the shape of samples-typescript's
 * safe-message-handlers): the message handlers only record requests here, and the batch loop
 * applies them at its own pace, so a handler never changes the state out from under a decision.
 * Everything here is a cache of the database, which stays the source of truth.
 */
export class RepositoryRun {
  readonly repository: string;
  knobs: Knobs;
  readonly totals: RepositoryTotals;
  /** Migrations that failed in this execution and are passed over until a retry (or the database) says otherwise. */
  readonly failed: Set<MigrationId>;
  /** Control requests in arrival order, applied at the top of the batch loop, carried at continue-as-new. */
  readonly pending: ControlRequest[];
  /** Latest progress of each migration, as the database last reported it. */
  readonly progress: Map<MigrationId, MigrationProgress>;
  retryFailed: boolean;
  state: RepositoryState = 'starting';
  detail: string | null = null;
  startedAt: string | undefined;
  /** The lease held by the batch in flight, released on cancellation. */
  fence: FenceToken | undefined;
  /** A find returned no job: the run may be complete, and the final read of the database decides. */
  drained = false;
  /**
   * Job time plus pauses between batches (ms, from activity results, so deterministic) since the
   * last health check; a check is due when it reaches healthCheckIntervalMs. Starts due.
   */
  sinceHealthCheckMs = Number.POSITIVE_INFINITY;
  /**
   * Time spent in local activities since the workflow last yielded a workflow task (patch
   * local-yield-wall): rounds with no pause between them run on in the same task, so it carries over.
   */
  localTaskMs = 0;
  /** Set while a health indicator holds the jobs back; `at` is the last check's reading time (database clock). */
  throttle: (ThrottleView & { at: string }) | undefined;
  private readonly published: { status?: string; migration?: string; percent?: number } = {};
  /** pause/resume/retry signals received by this run, malformed ones included: the audit trail's reference into the history. */
  private controlSignals = 0;

  constructor(input: RepositoryWorkflowInput) {
    const carried = input.carried;
    this.repository = input.repository;
    this.knobs = { ...DEFAULT_KNOBS, ...input.knobs };
    this.totals = carried?.totals ?? { jobs: 0, rows: '0', batches: 0, migrationsFinished: [], migrationsFailed: [], runs: 0 };
    this.totals.runs += 1;
    // String(): a run continued from an older version carried these ids as numbers.
    this.failed = new Set((carried?.failedMigrationIds ?? []).map(String));
    this.pending = [...(carried?.pending ?? [])];
    this.progress = new Map((carried?.progress ?? []).map((p) => [String(p.id), p]));
    this.retryFailed = input.retryFailed ?? false;
    this.startedAt = carried?.startedAt;
  }

  // ---- messages: record, never decide ------------------------------------------------------

  /**
   * A pause, resume or retry signal: nothing, `{}` or `{"migration":"<name>"}`. Signals cannot be
   * refused, so a malformed one is logged and counted (progress query) and otherwise ignored: a
   * typo must not stop a repository.
   */
  request(kind: ControlKind, payload: unknown): void {
    // Counted before any check: the n-th such signal in this run's history is this one.
    this.controlSignals += 1;
    const problem = migrationTargetProblem(kind, payload);
    if (problem) {
      this.totals.ignoredSignals = noteIgnoredSignal(this.totals.ignoredSignals, problem);
      log.warn(`ignored a malformed ${kind} signal: ${problem.message}`, { payload: JSON.stringify(payload) ?? String(payload) });
      return;
    }
    const migration = targetMigration(payload);
    const origin = originOf(payload as AuditStamp | undefined, { runId: workflowInfo().runId, signal: this.controlSignals });
    this.pending.push(migration === undefined ? { kind, origin } : { kind, migration, origin });
    if (kind === 'pause' && !FINAL_STATES.has(this.state)) this.state = 'pausing';
  }

  /** The configure update (already validated): knobs, and the batch and sub-batch settings in the database. */
  async configure(request: ConfigureRequest): Promise<Knobs> {
    const { batchSize, subBatchSize, subBatchPauseMs, targetJobMs, minBatchSize, maxBatchSize, migration, actor, via, ...knobs } = request;
    const settings = { batchSize, subBatchSize, subBatchPauseMs, targetJobMs, minBatchSize, maxBatchSize };
    // Who sent it, for the audit trail: the payload's actor, or the update's sender in the history.
    const origin = patched(PATCHES.auditTrail)
      ? originOf({ actor, via }, { runId: workflowInfo().runId, updateId: currentUpdateInfo()?.id })
      : undefined;
    const knobNames = Object.keys(knobs) as (keyof Knobs)[];
    const knobsBefore = Object.fromEntries(knobNames.map((k) => [k, this.knobs[k]]));
    const knobChange = knobNames.length > 0 ? { knobs: { before: knobsBefore, after: { ...knobs } } } : {};
    // Migration settings first: when the database refuses them (a sub-batch size above a stored
    // batch size), the update fails with nothing changed, knobs included. Histories recorded
    // before this order replay the old one (knobs first).
    const settingsFirst = patched(PATCHES.configureSettingsFirst);
    if (!settingsFirst) this.knobs = { ...this.knobs, ...knobs };
    const checksMigration = patched(PATCHES.configureChecksMigration);
    const movedKnobs = checksMigration ? changedKnobs(knobChange.knobs) : knobChange.knobs;
    if (Object.values(settings).some((v) => v !== undefined) || (checksMigration && migration !== undefined))
      await bookkeeping.setBatchSize({
        repository: this.repository,
        migration,
        ...definedOnly(settings),
        ...(origin ? { origin, ...knobChange } : {}),
      });
    else if (origin && knobNames.length > 0 && movedKnobs)
      await auditor.recordAudit({
        action: 'configure',
        origin,
        repository: this.repository,
        target: migration ?? this.repository,
        before: { settings: {}, knobs: checksMigration ? movedKnobs.before : knobsBefore },
        after: { settings: {}, knobs: checksMigration ? movedKnobs.after : knobs },
      });
    if (settingsFirst) this.knobs = { ...this.knobs, ...knobs };
    log.info('knobs changed', { repository: this.repository, knobs: this.knobs, ...settings, migration });
    return this.knobs;
  }

  /** The progress query. */
  view(): RepositoryProgress {
    const { repository, state, detail, knobs, totals } = this;
    const view: RepositoryProgress = { repository, state, detail, knobs, migrations: [...this.progress.values()], totals };
    if (this.throttle && state === 'throttled') view.throttle = { since: this.throttle.since, tripped: this.throttle.tripped };
    return view;
  }

  // ---- bookkeeping -------------------------------------------------------------------------

  setState(state: RepositoryState, detail: string | null = null): void {
    // A throttle's detail (which indicators, their values) changes within the state: show it too.
    const detailShown = state === 'throttled' && (this.state !== state || this.detail !== detail);
    this.state = state;
    this.detail = detail;
    this.publish(undefined, detailShown);
  }

  recordFind(found: FindJobResult): void {
    for (const m of found.finished) this.totals.migrationsFinished.push(m.name);
    for (const m of found.failed) this.migrationFailed(m.id, m.name);
  }

  migrationFailed(id: MigrationId, name: string): void {
    this.totals.migrationsFailed.push(name);
    this.failed.add(id);
  }

  recordExecution(result: ExecuteJobResult): void {
    // already_finished: an earlier attempt committed but its result never reached the workflow.
    if (result.outcome === 'finished' || result.outcome === 'already_finished') {
      this.totals.jobs += 1;
      this.totals.rows = addDecimal(this.totals.rows, result.rows);
    }
    if (result.progress) {
      this.progress.set(String(result.progress.id), result.progress);
      this.publish(result.progress);
    }
  }

  /** Replace every migration's progress with the database's list (a migration gone from it is gone here too). */
  replaceProgress(migrations: MigrationProgress[]): void {
    this.progress.clear();
    for (const p of migrations) this.progress.set(String(p.id), p);
  }

  /** The next run's input at continue-as-new, with the requests not yet applied. */
  carry(): RepositoryWorkflowInput {
    const { repository, knobs, retryFailed, totals, startedAt } = this;
    return {
      repository,
      knobs,
      retryFailed,
      carried: {
        totals,
        failedMigrationIds: [...this.failed],
        pending: this.pending.splice(0),
        progress: [...this.progress.values()],
        startedAt: startedAt ?? '',
      },
    };
  }

  /**
   * Status line in the web UI and the search attributes, updated only when something shown
   * changed (`detailChanged`: the detail did; only the throttled state passes it, so histories of
   * other states keep their upserts).
   */
  publish(migration?: MigrationProgress, detailChanged = false): void {
    const next = {
      status: this.state,
      migration: migration?.name ?? this.published.migration,
      percent: migration ? Math.floor(migration.percent) : this.published.percent,
    };
    const p = this.published;
    if (!detailChanged && next.status === p.status && next.migration === p.migration && next.percent === p.percent) return;
    Object.assign(p, next);
    const shown = next.migration !== undefined ? ` · ${next.migration} ${next.percent ?? 0}%` : '';
    setCurrentDetails(`**${this.state}**${shown}${this.detail ? ` · ${this.detail}` : ''}`);
    upsertSearchAttributes([
      { key: SA.repository, value: this.repository },
      { key: SA.status, value: this.state },
      ...(next.migration !== undefined ? [{ key: SA.migration, value: next.migration }] : []),
      ...(next.percent !== undefined ? [{ key: SA.progress, value: next.percent }] : []),
    ]);
  }

  /** An id for the log lines of the round in flight (the `batch_id` log field, the anchor's name for it). */
  roundId(): string {
    return `${workflowInfo().runId.slice(0, 8)}-${this.totals.batches}`;
  }
}

/** The fields that are set: an activity input carries no `undefined` (the payload converter drops them anyway). */
function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** An audit origin: the request's reference into the history, plus the sender's stamp when the payload has one. */
function originOf(stamp: AuditStamp | undefined, reference: AuditOrigin): AuditOrigin {
  const origin: AuditOrigin = { ...definedOnly(reference) };
  if (stamp?.actor !== undefined) origin.actor = stamp.actor;
  if (stamp?.via !== undefined) origin.via = stamp.via;
  return origin;
}
