import assert from 'node:assert/strict';
import { test } from 'node:test';
import { knobsFor } from '../../src/enqueuer/policy';

test('a repository gets the knobs of the longest prefix its key starts with, or else the defaults', () => {
  const defaults = { maxJobAttempts: 3 };
  const byPrefix = { demo: { minDelayMs: 0 }, 'demo-orders': { minDelayMs: 5 } };
  assert.deepEqual(knobsFor('demo-orders-1', defaults, byPrefix), { minDelayMs: 5 });
  assert.deepEqual(knobsFor('demo-users', defaults, byPrefix), { minDelayMs: 0 });
  assert.deepEqual(knobsFor('billing', defaults, byPrefix), defaults, 'no prefix matches: the defaults');
  assert.deepEqual(knobsFor('demo', defaults), defaults, 'no scoped knobs at all');
});
