import type { Client } from '@temporalio/client';
import type { Knobs } from '../knobs';
import { startRepositoryWorkflow } from '../repository/workflow';
import { forEachLimited } from './limited';
import { knobsFor } from './policy';

export interface StartRepositoriesInput {
  taskQueue: string;
  /** In order; each one either starts or is reported already running. */
  repositories: string[];
  knobs?: Partial<Knobs>;
  /** Knobs for repositories of a key prefix instead of `knobs` (see knobsFor). @default {} */
  knobsByPrefix?: Record<string, Partial<Knobs>>;
  /** Shown as the workflow's summary in the UI. */
  reason: string;
  /**
   * The wake-up's start token (enqueuerStartToken), kept in each started workflow's memo: a retry
   * of the same wake-up's starts counts a refused start whose run carries it as started, not as
   * already running (a local activity has no heartbeat details to say what it started). The
   * survey finds such runs by the same token when they are already visible (src/enqueuer/running.ts).
   */
  startToken?: string;
  /** Already started by an earlier attempt of the same call (its heartbeat details). */
  startedBefore?: string[];
  /** Called after each start, with the repositories started so far (activity heartbeat). */
  onStarted?: (started: string[]) => void;
}

export interface StartRepositoriesResult {
  started: string[];
  /** A workflow for the repository was already running (started by hand, or another starter won). */
  alreadyRunning: string[];
}

/**
 * Starts in flight at once, as a sliding window (a slow start holds up one lane, not a chunk).
 * Against a bare dev server the rate hardly grows beyond 16 (200-330 starts/s here); on the bench
 * the limit is the CPU the new workflows take, not this number (README "Worker memory").
 */
export const START_CONCURRENCY = 32;

/**
 * Start one repository workflow per repository. The caller already cut the list to its free
 * capacity, so starting a chunk at once cannot overrun it; results keep the input order. The
 * workflow ID is the repository's, so Temporal refuses a second run of a running repository:
 * that refusal is how "already running" is detected, with nothing to clean up.
 */
export async function startRepositories(client: Client, input: StartRepositoriesInput): Promise<StartRepositoriesResult> {
  const startedBefore = new Set(input.startedBefore ?? []);
  const outcome = new Map<string, 'started' | 'already'>();
  const startOne = async (repository: string): Promise<void> => {
    const { started } = await startRepositoryWorkflow(client, repository, {
      taskQueue: input.taskQueue,
      knobs: knobsFor(repository, input.knobs ?? {}, input.knobsByPrefix),
      summary: `Started by the bbm enqueuer (${input.reason})`,
      ...(input.startToken ? { startToken: input.startToken } : {}),
    });
    // A retry of this call finds its own earlier starts running: those still count as started.
    outcome.set(repository, started || startedBefore.has(repository) ? 'started' : 'already');
  };
  const inOrder = (kind: 'started' | 'already'): string[] => input.repositories.filter((r) => outcome.get(r) === kind);
  await forEachLimited(input.repositories, START_CONCURRENCY, async (repository) => {
    await startOne(repository);
    input.onStarted?.(inOrder('started'));
  });
  return { started: inOrder('started'), alreadyRunning: inOrder('already') };
}
