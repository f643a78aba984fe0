import type { Client } from '@temporalio/client';
import { actorProblem, type AuditOrigin } from '../contract/audit';
import type { AuditContext } from '../engine/audit-record';

/** The control signals whose order `AuditOrigin.signal` counts (workflows/repository-state.ts). */
const CONTROL_SIGNAL_NAMES: ReadonlySet<string> = new Set(['pause', 'resume', 'retry']);
/** The cancel reasons bbm's own clients send (src/repository/workflow.ts), naming their channel. */
const CLIENT_CANCEL_REASONS: Readonly<Record<string, 'cli' | 'api'>> = { 'bbm-cli': 'cli', 'bbm-api': 'api' };

/**
 * Who sent a request a workflow applies, for its audit event. The payload's `actor` when a bbm
 * client (or anyone) gave one; otherwise the sender's Temporal identity, read from the run's
 * history, because the TypeScript SDK drops `identity` before workflow code sees a signal:
 *  - signal n: the n-th pause/resume/retry WorkflowExecutionSignaled event of the run;
 *  - an update: WorkflowExecutionUpdateAccepted whose acceptedRequest.meta.updateId matches;
 *  - a cancellation: the last WorkflowExecutionCancelRequested (its `cause` is the reason bbm's
 *    clients set, `bbm-cli` or `bbm-api`).
 * When the history has no answer (a run too old, a reference missing), the actor is `unknown`
 * and the event's detail says why. Only operator actions come here, never the job path.
 */
export async function resolveOrigin(client: Client, workflowId: string, origin: AuditOrigin): Promise<AuditContext> {
  if (origin.actor !== undefined) return { actor: origin.actor, via: origin.via ?? 'temporal' };
  const unknown = (why: string): AuditContext => ({ actor: 'unknown', via: 'temporal', detail: { actorUnknown: why } });
  if (!origin.runId) return unknown('the request carries no reference to its run (sent to an older version)');
  let history;
  try {
    history = await client.workflow.getHandle(workflowId, origin.runId).fetchHistory();
  } catch (err) {
    return unknown(`the run's history could not be read: ${(err as Error).message}`);
  }
  const events = history.events ?? [];
  if (origin.signal !== undefined) {
    const signals = events.filter((e) => CONTROL_SIGNAL_NAMES.has(e.workflowExecutionSignaledEventAttributes?.signalName ?? ''));
    const identity = actorFromIdentity(signals[origin.signal - 1]?.workflowExecutionSignaledEventAttributes?.identity);
    return identity ? { actor: identity, via: 'temporal' } : unknown(`signal ${origin.signal} of run ${origin.runId} has no identity`);
  }
  if (origin.updateId !== undefined) {
    const accepted = events.find(
      (e) => e.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest?.meta?.updateId === origin.updateId,
    );
    const identity = actorFromIdentity(accepted?.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest?.meta?.identity);
    return identity ? { actor: identity, via: 'temporal' } : unknown(`update ${origin.updateId} has no identity in the history`);
  }
  if (origin.cancel) {
    const requested = events.filter((e) => e.workflowExecutionCancelRequestedEventAttributes).pop();
    const attributes = requested?.workflowExecutionCancelRequestedEventAttributes;
    const identity = actorFromIdentity(attributes?.identity);
    if (!identity) return unknown('the cancel request has no identity in the history');
    return { actor: identity, via: CLIENT_CANCEL_REASONS[attributes?.cause ?? ''] ?? 'temporal' };
  }
  return unknown('the request names neither a signal, an update nor a cancellation');
}

/**
 * A Temporal identity as an actor: any client may send any identity, so control and format
 * characters are dropped, leading spaces trimmed and the rest cut to 200 characters (what
 * bbm.audit_events accepts; an insert it refused would be retried for ever). Undefined when
 * nothing is left.
 */
export function actorFromIdentity(identity: string | null | undefined): string | undefined {
  const cleaned = [...(identity ?? '').replace(/\p{C}/gu, '').trimStart()].slice(0, 200).join('');
  return cleaned && !actorProblem(cleaned) ? cleaned : undefined;
}
