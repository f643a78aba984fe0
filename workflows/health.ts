import { proxyActivities } from '@temporalio/workflow';
import type { HealthActivities } from '../activities/health';
import { asFailure, healthInputProblem } from '../src/contract/checks';
import type { DatabaseInfo } from '../src/contract/workflows';

const { databaseInfo } = proxyActivities<HealthActivities>({ startToCloseTimeout: '30 seconds', retry: { maximumAttempts: 3 } });

/** The smallest useful workflow: proves a worker polls the queue and reaches Postgres (`bbm doctor`). */
export async function healthCheck(input: Record<string, never> = {}): Promise<DatabaseInfo> {
  const problem = healthInputProblem(input);
  if (problem) throw asFailure(problem);
  return databaseInfo({});
}
