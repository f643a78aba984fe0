import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CAPACITY_RANGE, capacityProblem, enqueuerInputProblem, wakeRequestProblem } from '../../src/enqueuer/policy';

test('capacity takes an integer from 0 to 1000 and nothing else', () => {
  for (const ok of [CAPACITY_RANGE[0], 5, CAPACITY_RANGE[1]]) assert.equal(capacityProblem(ok), undefined);
  for (const bad of [-1, 1.5, 'x', 100_000, null, undefined]) assert.match(capacityProblem(bad) ?? '', /capacity must be an integer/);
});

test('a wake request refuses unknown fields and names the accepted ones', () => {
  assert.equal(wakeRequestProblem({}), undefined);
  assert.equal(wakeRequestProblem({ reason: 'cli', repositoryPrefix: 'demo/', knobs: { maxJobPerBatch: 2 } }), undefined);
  assert.match(wakeRequestProblem({ reasn: 'x' }) ?? '', /unknown wake request field "reasn"; accepted: reason, repositoryPrefix, knobs/);
  assert.match(wakeRequestProblem({ repositoryPrefix: '' }) ?? '', /repositoryPrefix must be a non-empty string/);
  assert.match(wakeRequestProblem({ knobs: { nope: 1 } }) ?? '', /knobs: unknown knob "nope"/);
  assert.ok(wakeRequestProblem([]));
});

test('the enqueuer input checks its capacity, budgets and knobs', () => {
  assert.equal(enqueuerInputProblem({ capacity: 3, historyEventBudget: 5000, recheckSeconds: 60 }), undefined);
  assert.match(enqueuerInputProblem({ historyEventBudget: 0 }) ?? '', /historyEventBudget must be an integer/);
  assert.match(enqueuerInputProblem({ recheckSeconds: 1.5 }) ?? '', /recheckSeconds must be an integer/);
  assert.match(enqueuerInputProblem({ capacity: -1 }) ?? '', /capacity/);
});
