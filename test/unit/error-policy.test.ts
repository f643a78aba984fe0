import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import { toFailure } from '../../activities/failures';
import { exitCodeFor } from '../../src/cli/exit-codes';
import { BbmError, ERROR_CODES, ERROR_POLICY, ErrorCode, JOB_FAILING_CODES, NON_RETRYABLE_CODES } from '../../src/errors';

const README = fs.readFileSync(path.join(__dirname, '..', '..', 'README.md'), 'utf8');

/** The rows of the markdown table that follows `heading`, as arrays of trimmed cells. */
function tableAfter(heading: string): string[][] {
  const start = README.indexOf(heading);
  assert.ok(start >= 0, `README has no "${heading}"`);
  const lines = README.slice(start).split('\n');
  const first = lines.findIndex((l) => l.startsWith('|'));
  const rows: string[][] = [];
  for (const line of lines.slice(first + 2)) {
    if (!line.startsWith('|')) break;
    rows.push(
      line
        .slice(1, -1)
        .split(' | ')
        .map((cell) => cell.trim()),
    );
  }
  return rows;
}

test("the README's troubleshooting table lists every error code with the policy's exit code, retry and meaning", () => {
  const rows = new Map(
    tableAfter('## Troubleshooting by error code').map(([code = '', ...rest]) => [/^`(\w+)`/.exec(code)?.[1] ?? code, rest]),
  );
  for (const code of ERROR_CODES) {
    const row = rows.get(code);
    assert.ok(row, `${code} is missing from the README's troubleshooting table`);
    const [exit, retried, meaning, todo] = row;
    const policy = ERROR_POLICY[code];
    assert.equal(exit, String(policy.exit), `${code}: exit code`);
    assert.equal(retried, policy.retryable ? 'yes' : 'no', `${code}: retried`);
    assert.equal(meaning, policy.meaning, `${code}: meaning`);
    assert.ok(todo && todo.length > 0, `${code}: what to do`);
  }
  const extra = [...rows.keys()].filter((code) => !(code in ERROR_POLICY) && code !== 'UNEXPECTED');
  assert.deepEqual(extra, [], 'codes in the README that src/errors.ts does not have');
});

test("the README's exit-code table lists each error code under its exit code", () => {
  const listed = new Map<string, number>();
  for (const [exit = '', , codes = ''] of tableAfter('### Exit codes'))
    for (const [, code] of codes.matchAll(/`(\w+)`/g)) if (code !== 'UNEXPECTED') listed.set(code as string, Number(exit));
  for (const code of ERROR_CODES) assert.equal(listed.get(code), ERROR_POLICY[code].exit, `${code} in the exit-code table`);
  assert.equal(listed.size, ERROR_CODES.length);
});

test('every code maps to its exit code, and an activity failure is non-retryable exactly when the policy says so', () => {
  for (const code of ERROR_CODES) {
    assert.equal(exitCodeFor(code), ERROR_POLICY[code].exit);
    const failure = toFailure(new BbmError(code, 'x'));
    assert.ok(failure instanceof ApplicationFailure);
    assert.equal(failure.type, code);
    assert.equal(failure.nonRetryable, !ERROR_POLICY[code].retryable, code);
  }
  assert.ok(NON_RETRYABLE_CODES.includes(ErrorCode.INVALID_INPUT));
  assert.ok(!NON_RETRYABLE_CODES.includes(ErrorCode.WORK_FAILED));
});

test('a job error fails the repository workflow only for bad-input codes; the others are waited out or handled', () => {
  assert.ok(JOB_FAILING_CODES.includes(ErrorCode.INVALID_INPUT));
  for (const handled of [ErrorCode.MAX_JOB_RETRY, ErrorCode.LEASE_LOST, ErrorCode.WORK_FUNCTION_NOT_FOUND, ErrorCode.WORK_FAILED])
    assert.ok(!JOB_FAILING_CODES.includes(handled), handled);
  for (const code of JOB_FAILING_CODES) assert.equal(ERROR_POLICY[code].exit, 2, code);
});

test('every error code is documented by a one-line meaning', () => {
  for (const code of ERROR_CODES) assert.match(ERROR_POLICY[code].meaning, /^[^\n]{10,120}\.$/, code);
});
