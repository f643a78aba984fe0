import { CommanderError } from 'commander';
import { BbmError, ErrorCode, isBbmError } from '../errors';
import { commandExitCode } from './action';
import { ExitCode, exitCodeFor } from './exit-codes';
import { redactSecrets } from './output';
import { buildProgram } from './program';

/**
 * Run the CLI and return its exit code. Errors become `error[CODE]: message` on stderr: no stack
 * trace for errors bbm raised on purpose, and never a password.
 */
export async function runCli(argv: string[]): Promise<number> {
  quietOnClosedPipe(process.stdout);
  const program = buildProgram();
  // Commander's own errors (unknown option, bad value) get the same shape and exit code 2.
  const applyOutput = (cmd: typeof program): void => {
    cmd.exitOverride();
    cmd.configureOutput({ outputError: (text, write) => write(text.replace(/^error: /, `error[${ErrorCode.INVALID_INPUT}]: `)) });
    for (const sub of cmd.commands) applyOutput(sub as typeof program);
  };
  applyOutput(program);
  try {
    await program.parseAsync(argv);
    return commandExitCode();
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? ExitCode.OK : ExitCode.BAD_INPUT;
    const known = translate(err);
    if (isBbmError(known)) {
      process.stderr.write(`error[${known.code}]: ${redactSecrets(known.message)}\n`);
      return exitCodeFor(known.code);
    }
    const debug = /^(debug|trace)$/i.test(process.env.BBM_LOG_LEVEL ?? '') || /--log-level[= ](debug|trace)\b/.test(argv.join(' '));
    const message = err instanceof Error ? (debug && err.stack ? err.stack : err.message) : String(err);
    process.stderr.write(`error[UNEXPECTED]: ${redactSecrets(message)}\n`);
    if (!debug) process.stderr.write('(run with --log-level debug for the stack trace)\n');
    return ExitCode.UNEXPECTED;
  }
}

/**
 * `bbm --help | head` closes the pipe before bbm has written everything: stop quietly with
 * exit 0, as Unix tools do, instead of an unhandled EPIPE stack (found by a tester). Any other
 * stream error is rethrown. Installed once per stream.
 */
export function quietOnClosedPipe(stream: NodeJS.WriteStream): void {
  if (stream.listeners('error').includes(onStdoutError)) return;
  stream.on('error', onStdoutError);
}

function onStdoutError(err: NodeJS.ErrnoException): void {
  if (err.code === 'EPIPE') process.exit(ExitCode.OK);
  throw err;
}

/** Errors from below that have a well-known cause get a message that says what to do. */
function translate(err: unknown): unknown {
  const pgCode = (err as { code?: unknown }).code;
  if (pgCode === '42P01' && /bbm\./.test((err as Error).message)) {
    return new BbmError(
      ErrorCode.CONFIG_INVALID,
      `bbm's tables do not exist in this database (${(err as Error).message}). Run \`bbm setup\` (or start \`bbm worker\`, which creates them).`,
    );
  }
  return err;
}

if (require.main === module) {
  void runCli(process.argv).then((code) => process.exit(code));
}
