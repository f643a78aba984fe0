/**
 * `npm test`: start (or reuse, when TEMPORAL_ADDRESS / DATABASE_URL are set) a real Temporal dev
 * server and a real Postgres once, prepare a template database and a workflow bundle, run every
 * test file with Node's test runner against them, then tear everything down.
 *
 *   npm test                       fast suite
 *   npm test -- test/engine.test.ts  chosen files
 *   npm run test:faults            fault-injection suite (slow)
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { Client } from 'pg';
import { resolveConfig, withTemporalAddress } from '../src/config';
import { createPool } from '../src/db/pool';
import { migrateSchema } from '../src/db/schema';
import { startDevStack } from '../src/dev/stack';
import { createLogger } from '../src/logger';
import { WORKFLOWS_PATH } from '../src/worker';

const TEMPLATE_DB = 'bbm_test_template';

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  const faults = args.includes('--faults');
  const chosen = args.filter((a) => !a.startsWith('--'));
  const files = chosen.length > 0 ? chosen : listTests(faults ? 'test/faults' : 'test');
  const logger = createLogger({ level: 'info', pretty: false });
  const config = resolveConfig();
  const t0 = Date.now();
  const stack = await startDevStack({ config, logger, ephemeral: true, ui: true });
  const cleanup = (): void => void stack.stop();
  process.once('SIGINT', cleanup);
  process.once('SIGTERM', cleanup);
  try {
    const adminUrl = stack.adminUrl ?? withDatabase(stack.databaseUrl, 'postgres');
    await prepareTemplate(adminUrl);
    const bundlePath = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'bbm-bundle-')), 'workflows.js');
    fs.writeFileSync(bundlePath, (await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH })).code);
    console.log(
      `# services ready in ${((Date.now() - t0) / 1000).toFixed(1)}s: temporal ${stack.temporalAddress}${stack.uiUrl ? ` (ui ${stack.uiUrl})` : ''}, ${files.length} test files`,
    );
    const env = {
      ...process.env,
      TEMPORAL_ADDRESS: withTemporalAddress(config, stack.temporalAddress).temporal.address,
      BBM_TEST_ADMIN_URL: adminUrl,
      BBM_TEST_TEMPLATE_DB: TEMPLATE_DB,
      BBM_TEST_WORKFLOW_BUNDLE: bundlePath,
      BBM_TEST_UI_URL: stack.uiUrl ?? '',
      BBM_TEST_TEMPORAL_CLI: stack.temporalCli ?? config.temporalCli ?? '',
    };
    return await new Promise<number>((resolve) => {
      const child = spawn(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=2', '--test-timeout=600000', ...files], {
        env,
        stdio: 'inherit',
      });
      child.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
    });
  } finally {
    process.off('SIGINT', cleanup);
    process.off('SIGTERM', cleanup);
    await stack.stop();
  }
}

function listTests(dir: string): string[] {
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.test.ts'))
    .sort()
    .map((f) => path.join(dir, f));
}

function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

/** Every test database is a copy of this one, already at the latest bbm schema. */
async function prepareTemplate(adminUrl: string): Promise<void> {
  const admin = new Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${TEMPLATE_DB} WITH (FORCE)`);
    await admin.query(`CREATE DATABASE ${TEMPLATE_DB}`);
  } finally {
    await admin.end();
  }
  const pool = createPool({ url: withDatabase(adminUrl, TEMPLATE_DB), max: 2 });
  try {
    await migrateSchema(pool);
  } finally {
    await pool.end();
  }
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
