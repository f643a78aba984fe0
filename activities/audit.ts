import { Context } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import type { Pool } from 'pg';
import { resolveOrigin } from '../src/audit/origin';
import type { AuditAction, AuditOrigin } from '../src/contract/audit';
import type { AuditContext } from '../src/engine/audit-record';
import { insertAuditEvent } from '../src/store/audit';
import { adapt, checkInput } from './failures';

export interface AuditActivityDeps {
  pool: Pool;
  /** Reads the run's history for the sender's identity (the worker's client). */
  client: Client;
}

/** An operator action a workflow applied without a database change of its own (knobs, capacity). */
export interface RecordAuditInput {
  action: AuditAction;
  origin: AuditOrigin;
  repository?: string;
  target: string;
  before?: unknown;
  after?: unknown;
}

/** Who sent the request `origin` points at, from the calling workflow's history (see resolveOrigin). */
export function originOf(client: Client, origin: AuditOrigin): Promise<AuditContext> {
  const workflowId = Context.current().info.workflowExecution?.workflowId ?? '';
  return resolveOrigin(client, workflowId, origin);
}

/** The audit activity: records one event (bbm.audit_events) for the calling workflow. */
export function createAuditActivities(deps: AuditActivityDeps) {
  return {
    async recordAudit(input: RecordAuditInput): Promise<void> {
      checkInput('recordAudit', input);
      return adapt(async () => {
        const who = await originOf(deps.client, input.origin);
        await insertAuditEvent(deps.pool, {
          actor: who.actor,
          via: who.via,
          action: input.action,
          repository: input.repository ?? null,
          target: input.target,
          before: input.before ?? null,
          after: input.after ?? null,
          detail: detailOf(input.action, who.detail),
        });
      });
    },
  };
}

/**
 * A capacity change names its enqueuer's task queue, as the client records it when it starts the
 * enqueuer itself (src/enqueuer/operator.ts): the enqueuer's activities run on its task queue, so
 * this is the enqueuer's own. Added here rather than by the workflow, so running enqueuers record
 * it too without a change to their history (the CLI's events lacked it; found by a tester).
 */
function detailOf(action: AuditAction, detail: Record<string, unknown> | undefined): Record<string, unknown> | null {
  if (action === 'capacity') return { taskQueue: Context.current().info.taskQueue, ...detail };
  return detail ?? null;
}

export type AuditActivities = ReturnType<typeof createAuditActivities>;
