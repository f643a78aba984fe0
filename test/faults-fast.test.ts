// The fast fault-injection cases, part of `npm test` (the slow ones are in test/faults/, run by
// `npm run test:faults`, which runs these too). Every case ends by checking the data.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BAD_INPUT_CASES, badInputContext, closeBadInputContext, prefetch, runBadInputCase } from './faults/lib/bad-input';
import { concurrentStartsDrill, concurrentWakesDrill } from './faults/lib/concurrent-starts';
import { sigkillDrill } from './faults/lib/sigkill';

test('50 concurrent starts of one repository workflow admit exactly one execution, and the data changes once', async (t) => {
  const r = await concurrentStartsDrill({ label: 'fast-starts', starts: 50, rows: 20_000 });
  t.diagnostic(
    `${r.started} started, ${r.refused} refused with WorkflowExecutionAlreadyStartedError, ${r.executions} execution; ${r.rows} rows at exactly 1`,
  );
});

test('50 concurrent enqueuer wake-ups land on one enqueuer, which starts each repository exactly once', async (t) => {
  const r = await concurrentWakesDrill({ label: 'fast-wakes', wakes: 50, repositories: 3, rowsPerRepository: 2_000 });
  t.diagnostic(
    `${r.wakes} wake-ups -> ${r.enqueuerExecutions} enqueuer execution; repository executions ${r.repositoryExecutions.join(', ')}; ${r.rows} rows at exactly 1`,
  );
});

test('bad input through every entry point is refused with a stable code and changes neither data nor state', async (t) => {
  const ctx = await badInputContext('fast-bad');
  try {
    assert.ok(BAD_INPUT_CASES.length >= 20);
    await prefetch(
      ctx,
      BAD_INPUT_CASES.filter((c) => c.entry === 'bbm CLI'),
    );
    for (const c of BAD_INPUT_CASES) {
      await t.test(`${c.entry}: ${c.what} -> ${c.expected}`, c.bug ? { todo: c.bug } : {}, async (st) => {
        const outcome = await runBadInputCase(ctx, c);
        st.diagnostic(`observed ${outcome.observed}; data and state ${outcome.unchanged ? 'unchanged' : 'CHANGED'}`);
        assert.equal(outcome.observed, c.expected);
        assert.ok(outcome.unchanged, 'data or bbm state changed');
      });
    }
  } finally {
    await closeBadInputContext(ctx);
  }
});

test('a worker SIGKILLed mid-migration is replaced and every row is incremented exactly once', async (t) => {
  // A 3 s workflow task timeout hands the dead worker's task over sooner than Temporal's default 10 s.
  const r = await sigkillDrill({ label: 'fast-kill', rows: 20_000, batchSize: 2_000, kills: 1, workflowTaskTimeout: '3s' });
  t.diagnostic(
    `killed at ${r.killedAt.join(', ')} rows (${r.midJob} mid-job); ${r.rows} rows at exactly 1 over ${r.jobs} jobs in ${(r.durationMs / 1000).toFixed(1)} s; workflow summary counted ${r.summaryRows} rows`,
  );
});
