// The TypeScript user's worker, run with `npx tsx worker.ts` (tsx is the project's devDependency).
import { isBbmError, runWorker, type HealthIndicator } from 'bbm';
import work from './work';

// A custom health indicator, typed by the package's declarations.
const idleInTransaction: HealthIndicator = {
  name: 'idle_in_transaction',
  unit: 'sessions',
  description: 'sessions idle inside a transaction on this database',
  threshold: 1_000,
  async read({ db }) {
    const { rows } = await db.query(
      "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND state = 'idle in transaction'",
    );
    return typeof rows[0]?.n === 'number' ? rows[0].n : null;
  },
};

runWorker({ workFunctions: work, healthIndicators: [idleInTransaction] }).catch((err: unknown) => {
  console.error(`error[${isBbmError(err) ? err.code : 'UNEXPECTED'}]: ${(err as Error).message}`);
  process.exit(1);
});
