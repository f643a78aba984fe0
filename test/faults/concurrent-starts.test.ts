import { test } from 'node:test';
import { concurrentStartsDrill, concurrentWakesDrill } from './lib/concurrent-starts';

test('50 concurrent starts of one repository workflow admit exactly one execution, and the data changes once', async (t) => {
  const r = await concurrentStartsDrill({ label: 'starts', starts: 50, rows: 50_000 });
  t.diagnostic(
    `${r.started} started, ${r.refused} refused with WorkflowExecutionAlreadyStartedError, ${r.executions} execution; ${r.rows} rows at exactly 1`,
  );
});

test('50 concurrent enqueuer wake-ups land on one enqueuer, which starts each repository exactly once', async (t) => {
  const r = await concurrentWakesDrill({ label: 'wakes', wakes: 50, repositories: 4, rowsPerRepository: 5_000 });
  t.diagnostic(
    `${r.wakes} wake-ups -> ${r.enqueuerExecutions} enqueuer execution; repository executions ${r.repositoryExecutions.join(', ')}; ${r.rows} rows at exactly 1`,
  );
});
