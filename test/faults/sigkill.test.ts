import { test } from 'node:test';
import { sigkillDrill } from './lib/sigkill';

test('a worker SIGKILLed 5 times at random points of a 200,000-row migration is restarted each time, and every row is incremented exactly once', async (t) => {
  const r = await sigkillDrill({ label: 'kill5', rows: 200_000, batchSize: 2_000, kills: 5 });
  t.diagnostic(
    `killed at ${r.killedAt.join(', ')} rows (${r.midJob} with a job in flight); ${r.rows} rows at exactly 1 over ${r.jobs} jobs in ${(r.durationMs / 1000).toFixed(1)} s; workflow summary counted ${r.summaryRows} rows`,
  );
});
