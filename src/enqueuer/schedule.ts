import {
  ScheduleAlreadyRunning,
  ScheduleNotFoundError,
  ScheduleOverlapPolicy,
  type Client,
  type ScheduleOptionsStartWorkflowAction,
} from '@temporalio/client';
import { invalidInput } from '../errors';
import { enqueuerScheduleId } from '../contract/ids';
import { WORKFLOW_TYPES, type EnqueuerTickWorkflow } from '../contract/workflows';

export const DEFAULT_SCHEDULE_INTERVAL_SECONDS = 60;
const INTERVAL_RANGE = [1, 7 * 86_400] as const;

/** Workflow ID prefix of the ticks; the schedule appends each tick's timestamp. */
export function enqueuerTickWorkflowId(taskQueue: string): string {
  return `bbm-enqueuer-tick/${taskQueue}`;
}

export interface EnsureScheduleOptions {
  /** Seconds between wake-ups. @default 60 */
  intervalSeconds?: number;
  /** Create or leave the schedule paused. @default false */
  paused?: boolean;
}

/**
 * Create the schedule that wakes the enqueuer every `intervalSeconds`, or bring an existing one to
 * these settings: safe to run on every deploy. A schedule can only start workflows (each with a
 * timestamp-suffixed ID), not signal one, so it starts `enqueuerTick`, whose one activity
 * signal-with-starts the enqueuer with reason "schedule".
 */
export async function ensureSchedule(client: Client, taskQueue: string, options: EnsureScheduleOptions = {}): Promise<EnsuredSchedule> {
  const intervalSeconds = options.intervalSeconds ?? DEFAULT_SCHEDULE_INTERVAL_SECONDS;
  if (!Number.isInteger(intervalSeconds) || intervalSeconds < INTERVAL_RANGE[0] || intervalSeconds > INTERVAL_RANGE[1]) {
    throw invalidInput(
      `The schedule interval must be an integer number of seconds from ${INTERVAL_RANGE[0]} to ${INTERVAL_RANGE[1]}; got ${JSON.stringify(intervalSeconds)}.`,
    );
  }
  const scheduleId = enqueuerScheduleId(taskQueue);
  const settings: ScheduleSettings = { intervalSeconds, paused: options.paused ?? false };
  const action: ScheduleOptionsStartWorkflowAction<EnqueuerTickWorkflow> = {
    type: 'startWorkflow',
    workflowType: WORKFLOW_TYPES.enqueuerTick,
    workflowId: enqueuerTickWorkflowId(taskQueue),
    taskQueue,
    args: [{ reason: 'schedule' }],
    // A tick that cannot run (no worker) must not block the next ones for long.
    workflowExecutionTimeout: '5 minutes',
    staticSummary: 'bbm: wake the enqueuer',
  };
  const spec = { intervals: [{ every: intervalSeconds * 1000 }] };
  // Skip a tick while the previous one runs; after an outage, one catch-up tick is enough.
  const policies = { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: Math.max(intervalSeconds, 60) * 1000 };
  try {
    await client.schedule.create({
      scheduleId,
      spec,
      action,
      policies,
      state: { paused: options.paused ?? false, note: 'created by bbm' },
    });
    return { scheduleId, created: true, settings };
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
  }
  let before: ScheduleSettings | undefined;
  await client.schedule.getHandle(scheduleId).update((previous) => {
    const every = previous.spec.intervals?.[0]?.every;
    before = { intervalSeconds: typeof every === 'number' ? Math.round(every / 1000) : null, paused: previous.state.paused };
    return {
      ...previous,
      spec,
      action,
      policies: { ...previous.policies, ...policies },
      state: { ...previous.state, paused: settings.paused },
    };
  });
  return { scheduleId, created: false, settings, ...(before ? { before } : {}) };
}

/** The schedule's settings as bbm sets them: the audit trail's one shape for a schedule. */
export interface ScheduleSettings {
  /** Seconds between wake-ups; null when the schedule has no interval bbm knows. */
  intervalSeconds: number | null;
  paused: boolean;
}

/** What ensureSchedule did: created the schedule, or brought an existing one (`before`) to `settings`. */
export interface EnsuredSchedule {
  scheduleId: string;
  created: boolean;
  settings: ScheduleSettings;
  /** The existing schedule's settings before the update (absent when it was created). */
  before?: ScheduleSettings;
}

/** Delete the enqueuer's schedule; false when there was none. */
export async function deleteSchedule(client: Client, taskQueue: string): Promise<boolean> {
  try {
    await client.schedule.getHandle(enqueuerScheduleId(taskQueue)).delete();
    return true;
  } catch (err) {
    if (err instanceof ScheduleNotFoundError) return false;
    throw err;
  }
}
