import type { Command } from 'commander';
import { CliContext, type GlobalOptions } from './context';
import { ExitCode } from './exit-codes';

/** What a command's body gets: its context, positional arguments and its own options. */
export type CommandBody<O> = (ctx: CliContext, args: string[], options: O) => Promise<number | void>;

let lastExitCode: number = ExitCode.OK;
export function commandExitCode(): number {
  return lastExitCode;
}

/**
 * Adapt a command body to commander: build the context from the global options, run the body,
 * always close what it opened, and remember its exit code for main().
 */
export function action<O>(body: CommandBody<O>): (...raw: unknown[]) => Promise<void> {
  return async (...raw: unknown[]) => {
    const cmd = raw[raw.length - 1] as Command;
    const options = cmd.opts() as O;
    const globals = cmd.optsWithGlobals() as GlobalOptions;
    const args = raw.slice(0, -2).flatMap((a) => (Array.isArray(a) ? a : a === undefined ? [] : [String(a)]));
    const ctx = new CliContext(globals);
    try {
      lastExitCode = (await body(ctx, args, options)) ?? ExitCode.OK;
    } finally {
      await ctx.close();
    }
  };
}
