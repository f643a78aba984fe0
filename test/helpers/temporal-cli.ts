import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { testEnv } from './env';

const run = promisify(execFile);

/** The real `temporal` binary, with the run's server address: exactly what the README tells people to type. */
export async function temporal(...args: string[]): Promise<string> {
  const binary = testEnv.temporalCli;
  assert.ok(binary, 'BBM_TEST_TEMPORAL_CLI is set by test/run.ts');
  const { stdout } = await run(binary, [...args, '--address', String(process.env.TEMPORAL_ADDRESS)], { timeout: 60_000 });
  return stdout;
}

/** Run a `temporal` command that must fail; resolves to its stdout and stderr together. */
export async function temporalFails(...args: string[]): Promise<string> {
  try {
    const out = await temporal(...args);
    assert.fail(`temporal ${args.join(' ')} succeeded: ${out}`);
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; code?: unknown };
    if (e.code === 'ERR_ASSERTION') throw err;
    return `${e.stdout ?? ''}${e.stderr ?? ''}`;
  }
}
