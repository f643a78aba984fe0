/**
 * The audit trail's vocabulary (issue 14): which operator actions are recorded, through which
 * channel, and what an actor name may look like. Pure module: the workflows validate the `actor`
 * of a signal or update payload with it; the store (src/store/audit.ts) writes `bbm.audit_events`.
 */

/** Every recorded action; the table's CHECK constraint lists the same (src/db/migrations/0007_audit_events.sql). */
export const AUDIT_ACTIONS = [
  'create',
  'pause',
  'resume',
  'retry',
  'cancel',
  'finalize',
  'configure',
  'batch_size',
  'capacity',
  'schedule_create',
  'schedule_delete',
] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];

/**
 * How the action reached bbm: the bbm CLI, the library API (BbmClient), a Temporal client that is
 * not bbm's (`temporal workflow signal`, a service), or a schema migration (queueMigration, ensureFinished).
 */
export const AUDIT_VIAS = ['cli', 'api', 'temporal', 'schema_migration'] as const;
export type AuditVia = (typeof AUDIT_VIAS)[number];

/** The channels a bbm client names in the payloads it sends; anything else is Temporal's. */
export const CLIENT_VIAS = ['cli', 'api'] as const;
export type ClientVia = (typeof CLIENT_VIAS)[number];

/** Who did an action and through what: bbm's CLI and API pass it down to where the action is applied. */
export interface AuditSource {
  /** 1..200 printable characters (ACTOR_PATTERN). */
  actor: string;
  via: AuditVia;
}

/**
 * An actor: 1 to 200 characters, no control or format characters, not starting with a space
 * (a user name, an e-mail address, a service name, a Temporal identity like `1234@host`).
 */
export const ACTOR_PATTERN = /^[^\s\p{C}][^\p{C}]{0,199}$/u;

/** Why `actor` is not usable as an actor, or undefined when it is. */
export function actorProblem(actor: unknown): string | undefined {
  if (typeof actor === 'string' && ACTOR_PATTERN.test(actor)) return undefined;
  return `Actor ${JSON.stringify(actor)} is invalid: give 1 to 200 printable characters, not starting with a space.`;
}

/**
 * Where a workflow got an operator request, so the activity that applies it can record who sent
 * it. The TypeScript SDK does not give workflow code the sender's identity, but the run's history
 * holds it: the activity reads the `signal`-th pause/resume/retry signal (1-based) of run `runId`,
 * the accepted update `updateId`, or the cancel request (`cancel`), and takes its identity
 * (src/audit/origin.ts). `actor` (and `via`) from the payload, when a bbm client sent them, need
 * no history read.
 */
export interface AuditOrigin {
  runId?: string;
  signal?: number;
  updateId?: string;
  cancel?: boolean;
  actor?: string;
  via?: ClientVia;
}

/** What bbm's own clients add to a signal or update payload: who sent it, and through what. */
export interface AuditStamp {
  /** Recorded as the actor (ACTOR_PATTERN); without it, the sender's Temporal identity. */
  actor?: string;
  /** `cli` or `api`; without it, `temporal`. */
  via?: ClientVia;
}

/** Knob values before and after a configure, keyed by knob name. */
export interface KnobChange {
  before: Record<string, unknown>;
  after: Record<string, unknown>;
}

/**
 * The knobs whose value moved (compared as JSON), or undefined when none did: the audit trail
 * records what changed, so a knob set to the value it had records nothing. Pure: the repository
 * workflow uses it too.
 */
export function changedKnobs(knobs: KnobChange | undefined): KnobChange | undefined {
  if (!knobs) return undefined;
  const moved = Object.keys(knobs.after).filter((k) => JSON.stringify(knobs.before[k]) !== JSON.stringify(knobs.after[k]));
  if (moved.length === 0) return undefined;
  const pick = (values: Record<string, unknown>): Record<string, unknown> => Object.fromEntries(moved.map((k) => [k, values[k] ?? null]));
  return { before: pick(knobs.before), after: pick(knobs.after) };
}
