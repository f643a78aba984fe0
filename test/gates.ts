/**
 * The static gates of the full suite: type check, lint and format. They run before any service
 * starts, so a type error, a floating promise, a Node import in workflow code or an unformatted
 * file fails `npm test` (and CI) in about a minute, whatever the tests would have said.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';

const ROOT = path.join(__dirname, '..');
const BIN = path.join(ROOT, 'node_modules', '.bin');

/** One gate: a name for the log and the command that must exit 0. */
interface Gate {
  name: string;
  command: string;
  args: string[];
}

export const GATES: readonly Gate[] = [
  { name: 'type check (tsc --noEmit, strict)', command: path.join(BIN, 'tsc'), args: ['--noEmit', '-p', '.'] },
  { name: 'lint (eslint)', command: path.join(BIN, 'eslint'), args: ['--max-warnings=0', '.'] },
  { name: 'format (prettier --check)', command: path.join(BIN, 'prettier'), args: ['--check', '--log-level=warn', '.'] },
];

/** Run every gate in order, printing each verdict; returns the names of the gates that failed. */
export function runGates(): string[] {
  const failed: string[] = [];
  for (const gate of GATES) {
    const t0 = Date.now();
    const result = spawnSync(gate.command, gate.args, { cwd: ROOT, stdio: 'inherit' });
    const ok = result.status === 0;
    console.log(`# gate ${ok ? 'passed' : 'FAILED'}: ${gate.name} in ${((Date.now() - t0) / 1000).toFixed(1)}s`);
    if (!ok) failed.push(gate.name);
  }
  return failed;
}
