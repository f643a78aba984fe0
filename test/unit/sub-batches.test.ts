import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkSubBatchSettings, DEFAULT_SUB_BATCH_PAUSE_MS, SUB_BATCH_LIMITS } from '../../src/contract/sub-batches';

test('absent settings and null (sub-batches off) pass, as do values at both ends of each range', () => {
  assert.equal(checkSubBatchSettings({}), undefined);
  assert.equal(checkSubBatchSettings({ subBatchSize: null }), undefined);
  assert.equal(
    checkSubBatchSettings({ subBatchSize: SUB_BATCH_LIMITS.MIN_SIZE, subBatchPauseMs: SUB_BATCH_LIMITS.MIN_PAUSE_MS }),
    undefined,
  );
  assert.equal(
    checkSubBatchSettings({ subBatchSize: SUB_BATCH_LIMITS.MAX_SIZE, subBatchPauseMs: SUB_BATCH_LIMITS.MAX_PAUSE_MS }),
    undefined,
  );
  assert.equal(checkSubBatchSettings({ subBatchPauseMs: DEFAULT_SUB_BATCH_PAUSE_MS }), undefined);
});

test('a sub-batch size of the wrong type or out of range is refused with INVALID_SUB_BATCH_SIZE', () => {
  for (const value of [0, -1, 1.5, '100', SUB_BATCH_LIMITS.MAX_SIZE + 1, Number.NaN, true, [100]]) {
    const problem = checkSubBatchSettings({ subBatchSize: value });
    assert.equal(problem?.code, 'INVALID_SUB_BATCH_SIZE', `subBatchSize=${JSON.stringify(value)} was accepted`);
    assert.match(problem?.message ?? '', /subBatchSize must be an integer from 1 to 1000000/);
  }
});

test('a pause of the wrong type or out of range is refused with INVALID_SUB_BATCH_PAUSE', () => {
  for (const value of [-1, 0.5, '100', null, SUB_BATCH_LIMITS.MAX_PAUSE_MS + 1]) {
    assert.equal(
      checkSubBatchSettings({ subBatchPauseMs: value })?.code,
      'INVALID_SUB_BATCH_PAUSE',
      `subBatchPauseMs=${JSON.stringify(value)}`,
    );
  }
});

test('a sub-batch size above the batch size is refused, equal to it is allowed', () => {
  const problem = checkSubBatchSettings({ subBatchSize: 101 }, 100);
  assert.equal(problem?.code, 'INVALID_SUB_BATCH_SIZE');
  assert.match(problem?.message ?? '', /subBatchSize \(101\) must not exceed the batch size \(100\)/);
  assert.equal(checkSubBatchSettings({ subBatchSize: 100 }, 100), undefined);
  assert.equal(checkSubBatchSettings({ subBatchSize: null }, 1), undefined, 'off is never too large');
});
