import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkKnobs, DEFAULT_KNOBS, KNOB_NAMES } from '../../src/knobs';

test('the default knobs pass their own validation', () => {
  assert.equal(checkKnobs({ ...DEFAULT_KNOBS }), undefined);
  assert.equal(checkKnobs(undefined), undefined);
});

test('an unknown knob is refused with INVALID_INPUT and the message lists the known ones', () => {
  const problem = checkKnobs({ batchSizeTypo: 5 });
  assert.equal(problem?.code, 'INVALID_INPUT');
  assert.match(problem?.message ?? '', /unknown knob "batchSizeTypo"/);
  for (const name of KNOB_NAMES) assert.ok(problem?.message.includes(name), `${name} missing from the message`);
});

test('numeric knobs refuse fractions, strings, negatives and values past their range', () => {
  for (const value of [1.5, '10', -1, Number.MAX_SAFE_INTEGER, null]) {
    assert.equal(checkKnobs({ maxJobPerBatch: value })?.code, 'INVALID_INPUT', `maxJobPerBatch=${String(value)} was accepted`);
  }
});

test('boolean knobs take only true or false', () => {
  assert.equal(checkKnobs({ localActivities: false }), undefined);
  assert.equal(checkKnobs({ localActivities: 'false' })?.code, 'INVALID_INPUT');
});

test('minDelayMs above maxDelayMs is refused, also against the base it merges into', () => {
  assert.match(checkKnobs({ minDelayMs: 10, maxDelayMs: 5 })?.message ?? '', /minDelayMs \(10\) must not exceed maxDelayMs \(5\)/);
  assert.equal(checkKnobs({ minDelayMs: DEFAULT_KNOBS.maxDelayMs + 1 })?.code, 'INVALID_INPUT');
});

test('knobs must be an object, not an array or a scalar', () => {
  for (const value of [[], 5, 'x', true]) assert.equal(checkKnobs(value)?.code, 'INVALID_INPUT');
});
