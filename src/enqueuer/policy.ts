import { wakeProblem } from '../contract/checks';
import { problemOf } from '../contract/schema-kit';
import { capacity, CAPACITY_RANGE, enqueuerInputSchema } from '../contract/enqueuer-schemas';
import { checkKnobs, type Knobs } from '../knobs';

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

export { CAPACITY_RANGE };

/** The problem with a capacity value, or undefined when it is fine. */
export function capacityProblem(value: unknown): string | undefined {
  return problemOf(capacity, value, 'capacity')?.message;
}

/** The problem with a wake request (the wake signal's payload), or undefined when it is fine. */
export function wakeRequestProblem(request: unknown): string | undefined {
  return wakeProblem(request)?.message;
}

/**
 * The knobs a repository starts with: those of the longest prefix in `byPrefix` that its key
 * starts with, or else the enqueuer's default `knobs`. Scoped knobs replace the defaults whole
 * (they are not merged), as a wake's knobs always have.
 */
export function knobsFor(
  repository: string,
  knobs: Partial<Knobs>,
  byPrefix: Readonly<Record<string, Partial<Knobs>>> = {},
): Partial<Knobs> {
  let best: string | undefined;
  for (const prefix of Object.keys(byPrefix))
    if (repository.startsWith(prefix) && (best === undefined || prefix.length > best.length)) best = prefix;
  return best === undefined ? knobs : byPrefix[best]!;
}

export interface EnqueuerSettings {
  capacity?: unknown;
  historyEventBudget?: unknown;
  recheckSeconds?: unknown;
  knobs?: unknown;
}

/** The problem with the enqueuer's start input (without `carried`), or undefined when it is fine. */
export function enqueuerInputProblem(input: EnqueuerSettings): string | undefined {
  const shape = problemOf(enqueuerInputSchema, input, 'The enqueuer input');
  if (shape) return shape.message;
  const knobs = checkKnobs(input.knobs);
  return knobs ? `knobs: ${knobs.message}` : undefined;
}
