import { invalidInput, isBbmError } from '../errors';
import type { WorkContext, WorkFunction, WorkTarget } from '../engine/registry';

/** What a typed work function receives for one job: WorkContext with `args` already of type `A`. */
export type TypedWorkContext<A> = Omit<WorkContext, 'args'> & { readonly args: A };

/**
 * A work function as the user writes it. `A` is the shape of the migration's `work_args` once
 * `validateArgs` accepted them.
 */
export interface WorkFunctionSpec<A> {
  /** Registry name: lower-case letters, digits, `_ . -`, starting with a letter, at most 100 characters. */
  name: string;
  /** One line for `bbm migrations create --help` readers and the worker's start-up log. */
  description: string;
  /**
   * Check the migration's `work_args` and return them typed. Called when a migration is defined
   * (a throw refuses the definition; throw `BbmError` with code INVALID_INPUT, or any Error, which
   * becomes INVALID_INPUT) and again before every job, so `run` always sees checked arguments.
   * Arguments that name columns should go through `parseIdentifier` and reach SQL only through
   * `quoteIdent`. @default accept only an empty object
   */
  validateArgs?(args: Record<string, unknown>, target: WorkTarget): A;
  /** Columns needed besides the migration's column, as exact names; bbm checks they exist at definition. @default none */
  requiredColumns?(args: A, target: WorkTarget): string[];
  /**
   * Do one job's work inside the job's transaction (`ctx.client`) and return the number of rows
   * changed. Use `ctx.where` for the job's rows and the quoted identifiers from `ctx`; a throw
   * fails the job's attempt (retried up to the migration's attempt budget).
   */
  run(ctx: TypedWorkContext<A>): Promise<number>;
}

/**
 * Build a work function bbm can register (pass it to `runWorker({ workFunctions })`, export it from
 * a `--work-module`, or give it to `BbmClient`). Returns a plain WorkFunction whose arguments are
 * checked by `spec.validateArgs` both at definition time and before each job.
 * Throws nothing itself; a bad name is refused with INVALID_INPUT when it is registered.
 */
export function defineWorkFunction<A = Record<string, never>>(spec: WorkFunctionSpec<A>): WorkFunction {
  const check = (args: Record<string, unknown>, target: WorkTarget): A => {
    if (spec.validateArgs) {
      try {
        return spec.validateArgs(args, target);
      } catch (err) {
        if (isBbmError(err)) throw err;
        throw invalidInput(`Work function ${spec.name} refused its arguments: ${(err as Error).message}`, { work: spec.name });
      }
    }
    if (Object.keys(args).length > 0) {
      throw invalidInput(`Work function ${spec.name} takes no arguments; got ${Object.keys(args).join(', ')}.`, { work: spec.name });
    }
    return args as A;
  };
  return {
    name: spec.name,
    description: spec.description,
    validateArgs(args, target) {
      check(args, target);
    },
    ...(spec.requiredColumns ? { requiredColumns: (args, target) => spec.requiredColumns!(check(args, target), target) } : {}),
    async run(ctx) {
      const args = check(ctx.args, { strategy: ctx.strategy, column: ctx.column });
      return spec.run({ ...ctx, args });
    },
  };
}
