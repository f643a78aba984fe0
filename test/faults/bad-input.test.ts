import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BAD_INPUT_CASES, badInputContext, closeBadInputContext, prefetch, runBadInputCase, type BadInputOutcome } from './lib/bad-input';

test('bad input through every entry point is refused with a stable code and changes neither data nor state', async (t) => {
  const ctx = await badInputContext('bad');
  const outcomes: BadInputOutcome[] = [];
  try {
    await prefetch(
      ctx,
      BAD_INPUT_CASES.filter((c) => c.entry === 'bbm CLI'),
    );
    for (const c of BAD_INPUT_CASES) {
      await t.test(`${c.entry}: ${c.what} -> ${c.expected}`, c.bug ? { todo: c.bug } : {}, async () => {
        const outcome = await runBadInputCase(ctx, c);
        outcomes.push(outcome);
        assert.equal(outcome.observed, c.expected);
        assert.ok(outcome.unchanged, 'data or bbm state changed');
      });
    }
  } finally {
    await closeBadInputContext(ctx);
  }
  // The table for the README.
  t.diagnostic('| entry point | input | expected | observed | data and state |');
  t.diagnostic('| --- | --- | --- | --- | --- |');
  for (const o of outcomes)
    t.diagnostic(
      `| ${o.entry} | ${o.what} | ${o.expected} | ${o.observed}${o.bug ? ' (known bug)' : ''} | ${o.unchanged ? 'unchanged' : 'CHANGED'} |`,
    );
});
