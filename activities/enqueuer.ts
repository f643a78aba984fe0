import { Context } from '@temporalio/activity';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { Pool } from 'pg';
import { wakeEnqueuer } from '../src/enqueuer/client';
import { eligibleRepositories } from '../src/store/eligible';
import { runningRepositories } from '../src/enqueuer/running';
import { startRepositories } from '../src/enqueuer/start';
import type { Knobs } from '../src/knobs';
import type { Logger } from '../src/logger';
import { enqueuerStartToken, enqueuerWorkflowId } from '../src/contract/ids';
import { repositoryDoneSignal, type RepositoryDone, type WakeRequest } from '../src/contract/messages';
import { adapt, checkInput } from './failures';

export interface EnqueuerActivityDeps {
  client: Client;
  logger: Logger;
  pool: Pool;
}

/** What the workflow knows about the wake-up being processed; every activity of it logs with these. */
export interface WakeUpContext {
  /** Sequence number of the wake-up (across continue-as-new). */
  wakeUp: number;
  reason: string;
  /** Wake requests merged into this wake-up. */
  coalesced: number;
  /** null: every repository. */
  prefixes: string[] | null;
  capacity: number;
}

export interface SurveyInput {
  wake: WakeUpContext;
  /** Repositories the enqueuer started (or found running) and has not seen finish. */
  tracked: string[];
  /** Repositories reported done since the last survey, with the reporting run. */
  closing: Array<{ repository: string; runId?: string }>;
}

export interface SurveyResult {
  /** Repositories running now. */
  running: string[];
  /** Tracked or closing repositories confirmed finished. */
  closed: string[];
  /** Reported done but not yet closed: counted as running, to be looked at again shortly. */
  stillClosing: string[];
  /** Eligible repositories to start, best first, at most the free slots. */
  candidates: string[];
  /** Eligible repositories running without this enqueuer having started them. */
  alreadyRunning: string[];
  /**
   * Running repositories this very wake-up started on an earlier attempt whose result was lost
   * (a worker crash: survey and start are local activities of one workflow task, so both run
   * again). Counted as started, not as already running. Absent from results recorded before it.
   */
  startedByThisWakeUp?: string[];
  noRepositoryFound: boolean;
  atCapacity: boolean;
  /** True when this survey logged the wake-up's line (nothing to start). */
  logged: boolean;
}

export interface StartInput {
  wake: WakeUpContext;
  repositories: string[];
  knobs: Partial<Knobs>;
  /** Knobs scoped to repository key prefixes. @default {} */
  knobsByPrefix?: Record<string, Partial<Knobs>>;
  /** From the survey, for the log line. */
  running: number;
  alreadyRunning: string[];
}

export interface StartResult {
  started: string[];
  alreadyRunning: string[];
}

/** Activities that talk to Temporal and Postgres on behalf of the enqueuer: thin adapters over src/enqueuer. */
export function createEnqueuerActivities(deps: EnqueuerActivityDeps) {
  const log = (): Logger => {
    const info = Context.current().info;
    return deps.logger.child({
      workflow_id: info.workflowExecution?.workflowId,
      run_id: info.workflowExecution?.runId,
      activity: info.activityType,
      attempt: info.attempt,
    });
  };
  /** The wake-up's one structured line (the seed logged lease_already_taken / no_container_repository_found). */
  const logWakeUp = (
    wake: WakeUpContext,
    fields: { running: number; started: string[]; alreadyRunning: string[]; noRepositoryFound: boolean; atCapacity: boolean },
  ): void => {
    log().info(
      {
        wake_up: wake.wakeUp,
        reason: wake.reason,
        coalesced: wake.coalesced,
        repository_prefixes: wake.prefixes,
        capacity: wake.capacity,
        running: fields.running,
        free_slots: Math.max(0, wake.capacity - fields.running),
        started: fields.started,
        already_running: fields.alreadyRunning,
        no_repository_found: fields.noRepositoryFound,
        at_capacity: fields.atCapacity,
      },
      'enqueuer wake-up',
    );
  };

  return {
    /**
     * Tell the enqueuer a repository reached a final state so it can start the next one now.
     * Only a running enqueuer is signalled: with none running, nobody is managing capacity.
     */
    async notifyEnqueuer(input: RepositoryDone): Promise<{ delivered: boolean }> {
      checkInput('notifyEnqueuer', input);
      const info = Context.current().info;
      const workflowId = enqueuerWorkflowId(info.taskQueue);
      try {
        await deps.client.workflow
          .getHandle(workflowId)
          .signal(repositoryDoneSignal, { ...input, runId: input.runId ?? info.workflowExecution?.runId });
        return { delivered: true };
      } catch (err) {
        if (err instanceof WorkflowNotFoundError) return { delivered: false };
        throw err;
      }
    },

    /** Count what runs (Temporal) and pick what to start next (Postgres). Reads only: safe to retry. */
    async surveyRepositories(input: SurveyInput): Promise<SurveyResult> {
      checkInput('surveyRepositories', input);
      return adapt(async () => {
        const ctx = Context.current();
        const startToken = wakeUpStartToken(ctx, input.wake);
        const { running, closed, stillClosing, startedByToken } = await runningRepositories(deps.client, {
          taskQueue: ctx.info.taskQueue,
          tracked: input.tracked,
          closing: input.closing,
          ...(startToken ? { startToken } : {}),
          onProgress: heartbeat(ctx),
        });
        if (stillClosing.length > 0)
          log().warn(
            { repositories: stillClosing },
            'repository workflows reported a final state but have not closed yet; counted as running',
          );
        const free = Math.max(0, input.wake.capacity - running.length);
        // One more than the free slots tells "at capacity, work waiting" from "nothing to do".
        const eligible = await eligibleRepositories(deps.pool, { running, limit: Math.max(free, 1), prefixes: input.wake.prefixes });
        const tracked = new Set(input.tracked);
        const startedEarlier = new Set(startedByToken);
        const alreadyRunning = eligible.running.filter((r) => !tracked.has(r) && !startedEarlier.has(r));
        const candidates = eligible.next.slice(0, free);
        const result: SurveyResult = {
          running,
          closed,
          stillClosing,
          candidates,
          alreadyRunning,
          startedByThisWakeUp: startedByToken,
          noRepositoryFound: eligible.next.length === 0,
          atCapacity: free === 0,
          logged: candidates.length === 0,
        };
        if (result.logged)
          logWakeUp(input.wake, {
            running: running.length,
            started: startedByToken,
            alreadyRunning,
            noRepositoryFound: result.noRepositoryFound,
            atCapacity: result.atCapacity,
          });
        return result;
      });
    },

    /** Start the chosen repositories, in order; one already running keeps its slot and is reported. */
    async startRepositories(input: StartInput): Promise<StartResult> {
      checkInput('startRepositories', input);
      return adapt(async () => {
        const ctx = Context.current();
        const previous = ctx.info.heartbeatDetails as string[] | undefined;
        const result = await startRepositories(deps.client, {
          taskQueue: ctx.info.taskQueue,
          repositories: input.repositories,
          knobs: input.knobs,
          knobsByPrefix: input.knobsByPrefix,
          reason: input.wake.reason,
          startToken: wakeUpStartToken(ctx, input.wake),
          startedBefore: Array.isArray(previous) ? previous : [],
          onStarted: heartbeat(ctx),
        });
        logWakeUp(input.wake, {
          running: input.running,
          started: result.started,
          alreadyRunning: [...input.alreadyRunning, ...result.alreadyRunning],
          noRepositoryFound: false,
          atCapacity: input.running + result.started.length + result.alreadyRunning.length >= input.wake.capacity,
        });
        return result;
      });
    },

    /** The schedule's tick: wake (or start) the enqueuer of this task queue. */
    async wakeEnqueuerFromTick(input: WakeRequest): Promise<{ workflowId: string }> {
      checkInput('wakeEnqueuerFromTick', input);
      return adapt(async () => {
        const { workflowId } = await wakeEnqueuer(deps.client, Context.current().info.taskQueue, input);
        return { workflowId };
      });
    },
  };
}

/** The wake-up's start token (enqueuerStartToken): the same on every attempt of its survey and start. */
function wakeUpStartToken(ctx: Context, wake: WakeUpContext): string | undefined {
  const execution = ctx.info.workflowExecution;
  return execution ? enqueuerStartToken(execution.runId, wake.wakeUp) : undefined;
}

/** Heartbeats for a regular activity; a local one (the enqueuer's default) has none to send. */
function heartbeat(ctx: Context): (details?: unknown) => void {
  return ctx.info.isLocal ? () => undefined : (details) => ctx.heartbeat(details);
}

export type EnqueuerActivities = ReturnType<typeof createEnqueuerActivities>;
