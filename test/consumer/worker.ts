// The TypeScript user's worker, run with `npx tsx worker.ts` (tsx is the project's devDependency).
import { isBbmError, runWorker } from 'bbm';
import work from './work';

runWorker({ workFunctions: work }).catch((err: unknown) => {
  console.error(`error[${isBbmError(err) ? err.code : 'UNEXPECTED'}]: ${(err as Error).message}`);
  process.exit(1);
});
