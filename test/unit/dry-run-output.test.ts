import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatEstimate } from '../../src/cli/commands/dry-run-output';

test('the dry-run time estimate keeps sensible precision instead of rounding a small one to 0 s', () => {
  assert.equal(formatEstimate(0.0004), 'under 1 ms');
  assert.equal(formatEstimate(0.042), '42 ms');
  assert.equal(formatEstimate(0.4), '400 ms');
  assert.equal(formatEstimate(4.26), '4.3 s');
  assert.equal(formatEstimate(42.4), '42 s');
  assert.equal(formatEstimate(125), '2m05s');
  assert.equal(formatEstimate(7300), '2h01m');
  assert.equal(formatEstimate(0), '0 ms');
});
