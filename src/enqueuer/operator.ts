import type { Client } from '@temporalio/client';
import type { Pool } from 'pg';
import { enqueuerScheduleId } from '../contract/ids';
import type { AuditContext } from '../engine/audit-record';
import { insertAuditEvent } from '../store/audit';
import type { EnqueuerReport, WakeRequest } from '../contract/messages';
import { setCapacity, wakeEnqueuer, type EnqueuerStartOptions } from './client';
import { deleteSchedule, ensureSchedule, type EnsuredSchedule, type EnsureScheduleOptions } from './schedule';
import { stampOf } from '../repository/workflow';

/**
 * The enqueuer's operator actions as the CLI and the API run them, each recorded in the audit
 * trail: capacity changes (by the enqueuer itself, from the update's actor; here only when no
 * enqueuer ran and one was started with the capacity) and the schedule's create and delete
 * (Temporal only, no database change, so the event follows the Temporal call that succeeded).
 */
export interface EnqueuerOperatorDeps {
  client: Client;
  taskQueue: string;
  /** The pool the events go to; undefined: nothing is recorded (no database configured). */
  pool?: Pool;
  audit: AuditContext;
}

/**
 * setCapacity (src/enqueuer/client.ts) with the actor in the update; throws its codes
 * (INVALID_INPUT). `startedEnqueuer`: none ran, so this started one with the capacity (and
 * recorded it); otherwise the running enqueuer applied it (and recorded it, with its task queue).
 */
export async function setCapacityRecorded(
  deps: EnqueuerOperatorDeps,
  capacity: number,
): Promise<{ capacity: number; startedEnqueuer: boolean }> {
  let startedEnqueuer = false;
  const applied = await setCapacity(deps.client, deps.taskQueue, capacity, stampOf(deps.audit), async () => {
    startedEnqueuer = true;
    if (deps.pool) await record(deps, 'capacity', 'enqueuer', null, { capacity }, { startedEnqueuer: true });
  });
  return { capacity: applied, startedEnqueuer };
}

/**
 * ensureSchedule, then its `schedule_create` event when it changed something (before: whether it
 * existed and its settings; after: the settings, `{exists, intervalSeconds, paused}` from every
 * channel). Run on every deploy, an ensure that found the schedule as asked records nothing.
 */
export async function ensureScheduleRecorded(deps: EnqueuerOperatorDeps, options: EnsureScheduleOptions): Promise<EnsuredSchedule> {
  const result = await ensureSchedule(deps.client, deps.taskQueue, options);
  const { before, settings } = result;
  const unchanged = before && before.intervalSeconds === settings.intervalSeconds && before.paused === settings.paused;
  if (deps.pool && !unchanged) {
    const was = before ? { exists: true, ...before } : { exists: false };
    await record(deps, 'schedule_create', result.scheduleId, was, { exists: true, ...settings }, { created: result.created });
  }
  return result;
}

/** deleteSchedule, then its `schedule_delete` event when there was a schedule to delete. */
export async function deleteScheduleRecorded(deps: EnqueuerOperatorDeps): Promise<boolean> {
  const deleted = await deleteSchedule(deps.client, deps.taskQueue);
  if (deps.pool && deleted)
    await record(deps, 'schedule_delete', enqueuerScheduleId(deps.taskQueue), { exists: true }, { exists: false }, { deleted });
  return deleted;
}

/**
 * wakeEnqueuer (`bbm enqueue`), then what it changed: `configure` (target `enqueuer`, the knobs
 * for every repository it starts later, or for a `repositoryPrefix`'s) when the wake set knobs
 * other than the ones `previous` reported, and `capacity` when the call started the enqueuer with
 * a capacity (a running enqueuer keeps its own, so nothing changed). `previous` is the enqueuer's
 * status read just before the wake (undefined: none ran). Recorded after the Temporal call succeeded.
 */
export async function wakeEnqueuerRecorded(
  deps: EnqueuerOperatorDeps,
  request: WakeRequest,
  start: EnqueuerStartOptions,
  previous: EnqueuerReport | undefined,
): Promise<{ workflowId: string; runId: string }> {
  const woken = await wakeEnqueuer(deps.client, deps.taskQueue, request, start);
  if (!deps.pool) return woken;
  const prefix = request.repositoryPrefix;
  const scope = prefix === undefined ? {} : { repositoryPrefix: prefix };
  if (request.knobs !== undefined) {
    const was = (prefix === undefined ? previous?.knobs : previous?.knobsByPrefix?.[prefix]) ?? {};
    if (JSON.stringify(sorted(was)) !== JSON.stringify(sorted(request.knobs)))
      await record(
        deps,
        'configure',
        'enqueuer',
        { knobs: was, ...scope },
        { knobs: request.knobs, ...scope },
        { startedEnqueuer: !previous },
      );
  }
  if (!previous && start.capacity !== undefined)
    await record(deps, 'capacity', 'enqueuer', null, { capacity: start.capacity }, { startedEnqueuer: true });
  return woken;
}

/** An object with its keys in order, so two sets of knobs compare by value. */
function sorted(values: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(values).sort(([a], [b]) => a.localeCompare(b)));
}

async function record(
  deps: EnqueuerOperatorDeps,
  action: 'capacity' | 'configure' | 'schedule_create' | 'schedule_delete',
  target: string,
  before: unknown,
  after: unknown,
  detail: Record<string, unknown>,
): Promise<void> {
  await insertAuditEvent(deps.pool as Pool, {
    actor: deps.audit.actor,
    via: deps.audit.via,
    action,
    target,
    before,
    after,
    detail: { taskQueue: deps.taskQueue, ...detail, ...deps.audit.detail },
  });
}
