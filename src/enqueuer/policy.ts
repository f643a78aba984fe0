import { checkKnobs } from '../knobs';

/**
 * The enqueuer's defaults and input checks. Pure module: the workflow's validators and the client
 * API use the same functions, so both refuse the same values with the same message.
 */

export const ENQUEUER_DEFAULTS = Object.freeze({
  /**
   * Repository workflows running at once. 5 keeps a small database busy without flooding it; the
   * seed ran with values from 0 to 40. Raise it with `setCapacity` once the database copes.
   */
  capacity: 5,
  /** History events after which the enqueuer continues as new (a wake-up costs about 8-12). */
  historyEventBudget: 5_000,
  /**
   * While repositories it started are running, re-check this often even without a signal: a safety
   * net for a repository workflow that ends without notifying (terminated by hand).
   */
  recheckSeconds: 60,
});

export const CAPACITY_RANGE = Object.freeze([0, 1000] as const);
const BUDGET_RANGE = [100, 50_000] as const;
const RECHECK_RANGE = [1, 86_400] as const;
const MAX_PREFIX_LENGTH = 200;
const MAX_REASON_LENGTH = 200;

/** The problem with a capacity value, or undefined when it is fine. */
export function capacityProblem(value: unknown): string | undefined {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < CAPACITY_RANGE[0] || value > CAPACITY_RANGE[1]) {
    return `capacity must be an integer from ${CAPACITY_RANGE[0]} (start nothing new) to ${CAPACITY_RANGE[1]}; got ${JSON.stringify(value) ?? String(value)}`;
  }
  return undefined;
}

/** The problem with a wake request, or undefined when it is fine. */
export function wakeRequestProblem(request: unknown): string | undefined {
  if (request === undefined || request === null) return undefined;
  if (typeof request !== 'object' || Array.isArray(request)) return 'a wake request must be a JSON object like {"reason":"cli"}';
  const r = request as Record<string, unknown>;
  for (const key of Object.keys(r)) {
    if (!['reason', 'repositoryPrefix', 'knobs'].includes(key))
      return `unknown wake request field "${key}"; known: reason, repositoryPrefix, knobs`;
  }
  if (r.reason !== undefined && (typeof r.reason !== 'string' || r.reason.length > MAX_REASON_LENGTH))
    return `reason must be a string of at most ${MAX_REASON_LENGTH} characters`;
  if (
    r.repositoryPrefix !== undefined &&
    (typeof r.repositoryPrefix !== 'string' || r.repositoryPrefix.length === 0 || r.repositoryPrefix.length > MAX_PREFIX_LENGTH)
  ) {
    return `repositoryPrefix must be a non-empty string of at most ${MAX_PREFIX_LENGTH} characters`;
  }
  const knobs = checkKnobs(r.knobs);
  if (knobs) return `invalid knobs: ${knobs.message}`;
  return undefined;
}

export interface EnqueuerSettings {
  capacity?: unknown;
  historyEventBudget?: unknown;
  recheckSeconds?: unknown;
  knobs?: unknown;
}

/** The problem with the enqueuer's start input, or undefined when it is fine. */
export function enqueuerInputProblem(input: EnqueuerSettings): string | undefined {
  if (input.capacity !== undefined) {
    const problem = capacityProblem(input.capacity);
    if (problem) return problem;
  }
  const ranged: Array<[string, unknown, readonly [number, number]]> = [
    ['historyEventBudget', input.historyEventBudget, BUDGET_RANGE],
    ['recheckSeconds', input.recheckSeconds, RECHECK_RANGE],
  ];
  for (const [name, value, [lo, hi]] of ranged) {
    if (value !== undefined && (typeof value !== 'number' || !Number.isInteger(value) || value < lo || value > hi)) {
      return `${name} must be an integer from ${lo} to ${hi}; got ${JSON.stringify(value)}`;
    }
  }
  const knobs = checkKnobs(input.knobs);
  if (knobs) return `invalid knobs: ${knobs.message}`;
  return undefined;
}
