import os from 'node:os';
import { actorProblem } from '../contract/audit';
import { invalidInput } from '../errors';

/**
 * The actor of the CLI's and the API's audit events: `--actor NAME` / `BbmClientOptions.actor`,
 * or the operating-system user running the process (what GitLab records from the signed-in user).
 * Throws INVALID_INPUT for an actor that is empty, longer than 200 characters or holds control
 * characters (src/contract/audit.ts ACTOR_PATTERN): it reaches the database and Temporal's history.
 */
export function resolveActor(given?: string): string {
  const actor = given ?? osUser();
  const problem = actorProblem(actor);
  if (problem) throw invalidInput(`${problem} (--actor, or the actor option of BbmClient)`, { actor });
  return actor;
}

/** The OS user name; 'unknown' where the platform has none (a container with an unnamed uid). */
function osUser(): string {
  try {
    return os.userInfo().username || 'unknown';
  } catch {
    return 'unknown';
  }
}

const UNIT_MS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/**
 * `bbm audit --since`: an ISO 8601 instant (`2026-11-30T12:00:00Z`, or a date alone: midnight UTC)
 * or a duration back from `now` (`90s`, `15m`, `1h`, `2d`, `1w`). Throws INVALID_INPUT otherwise.
 */
export function parseSince(text: string, now: Date = new Date()): Date {
  const raw = text.trim();
  const ago = /^(\d{1,9})\s*([smhdw])$/.exec(raw);
  if (ago) return new Date(now.getTime() - Number(ago[1]) * (UNIT_MS[ago[2] as string] as number));
  if (/^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(raw)) {
    const at = new Date(raw);
    if (!Number.isNaN(at.getTime())) return at;
  }
  throw invalidInput(
    `--since ${JSON.stringify(text)} is neither an ISO 8601 time (2026-11-30T12:00:00Z) nor a duration back from now (30m, 1h, 2d, 1w).`,
    { since: text },
  );
}
