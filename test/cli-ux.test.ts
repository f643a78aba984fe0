import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import { bbm, BIN, cliEnv, ROOT, shown } from './helpers/cli';

/** Small things a fresh tester met at the terminal: a pipe closed early, doubled help defaults. */

test('bbm --help into a pipe that is already closed exits 0 without an EPIPE stack', async () => {
  const child = spawn(process.execPath, [BIN, '--help'], { cwd: ROOT, env: cliEnv(undefined, 'ux'), stdio: ['ignore', 'pipe', 'pipe'] });
  // Close the reading end before bbm writes, as `bbm --help | head -0` does.
  child.stdout.destroy();
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  assert.equal(code, 0, stderr);
  assert.doesNotMatch(stderr, /EPIPE|Unhandled/);
});

test('bbm audit --help states the limit default once', async () => {
  const r = await bbm(['audit', '--help'], cliEnv(undefined, 'ux'));
  assert.equal(r.code, 0, shown(r));
  const line = r.stdout.split('\n').find((l) => l.includes('--limit')) ?? '';
  assert.equal(line.match(/default/g)?.length, 1, line);
});
