import type { ActivityInterceptorsFactory } from '@temporalio/worker';

/** What a hook receives: the activity's input, as the workflow sent it. */
export type GateHook = (input: Record<string, unknown>) => Promise<void>;

interface Armed {
  /** Calls to let through before the hook fires. */
  skip: number;
  hook: GateHook;
  fired: (value: Record<string, unknown>) => void;
}

/**
 * Holds one activity of one repository at a chosen call and runs a test's hook before letting
 * it proceed: a real worker and real servers, with the moment a request arrives chosen by the
 * test instead of by luck. Install `gate.interceptors` on the test worker.
 */
export class ActivityGate {
  private readonly armed = new Map<string, Armed>();

  readonly interceptors: { activity: ActivityInterceptorsFactory[] } = {
    activity: [
      (ctx) => ({
        inbound: {
          execute: async (input, next) => {
            const arg = (input.args[0] ?? {}) as Record<string, unknown>;
            const key = this.key(ctx.info.activityType, repositoryOf(arg));
            const armed = this.armed.get(key);
            if (armed && armed.skip-- <= 0) {
              this.armed.delete(key);
              await armed.hook(arg);
              armed.fired(arg);
            }
            return next(input);
          },
        },
      }),
    ],
  };

  /**
   * Run `hook` inside the `skip + 1`-th call of `activity` for `repository` from now on, before
   * the activity does its work. Resolves with that call's input once the hook has run.
   */
  arm(activity: string, repository: string, hook: GateHook, skip = 0): Promise<Record<string, unknown>> {
    return new Promise((fired) => this.armed.set(this.key(activity, repository), { skip, hook, fired }));
  }

  private key(activity: string, repository: string | undefined): string {
    return `${activity}\u0000${repository ?? ''}`;
  }
}

/** The repository an activity works on: a field of its input, or of its fence. */
function repositoryOf(arg: Record<string, unknown>): string | undefined {
  if (typeof arg.repository === 'string') return arg.repository;
  const fence = arg.fence as { repository?: unknown } | undefined;
  return typeof fence?.repository === 'string' ? fence.repository : undefined;
}

/**
 * `moment`, or a failure as soon as the workflow ends (or fails) before reaching it, so a test
 * that waits for a moment a broken workflow never reaches fails at once instead of hanging.
 */
export async function beforeEnd<T>(result: Promise<unknown>, moment: Promise<T>, what: string): Promise<T> {
  const ended = result.then(
    (r) => {
      throw new Error(`the workflow ended (${JSON.stringify((r as { state?: unknown })?.state)}) before ${what}`);
    },
    (err: unknown) => {
      throw new Error(`the workflow failed before ${what}: ${(err as Error).message}; cause: ${(err as { cause?: Error }).cause?.message}`);
    },
  );
  return Promise.race([moment, ended]);
}
