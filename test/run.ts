/**
 * `npm test`: start (or reuse, when TEMPORAL_ADDRESS / DATABASE_URL are set) a real Temporal dev
 * server and a real Postgres once, prepare a template database and a workflow bundle, run every
 * test file with Node's test runner against them, then tear everything down.
 *
 * The full suite runs in three steps, cheapest first, and stops at the first that fails:
 *   1. the static gates (test/gates.ts): type check, lint, format;
 *   2. the unit tests (test/unit/), which need no service and take seconds;
 *   3. the integration tests (test/*.test.ts) against the real servers.
 *
 *   npm test                                    the full suite
 *   npm test -- test/engine-find.test.ts        chosen files (no gates; no services for test/unit/ files)
 *   npm test -- --test-name-pattern="lease"     any --test-* flag passes through to node --test
 *   npm run test:faults                         fault-injection suite (slow)
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
import { workflowBundleOptions } from '../src/workflow-bundle';
import { runGates } from './gates';

const TEMPLATE_DB = 'bbm_test_template';

/** node --test flags that take their value as the next argument when not written `--flag=value`. */
const VALUE_FLAGS = new Set([
  '--test-name-pattern',
  '--test-skip-pattern',
  '--test-concurrency',
  '--test-timeout',
  '--test-reporter',
  '--test-reporter-destination',
  '--test-shard',
]);

interface RunArgs {
  faults: boolean;
  files: string[];
  /** Flags for node --test, passed through as given. */
  nodeFlags: string[];
}

function parseArgs(argv: string[]): RunArgs {
  const out: RunArgs = { faults: false, files: [], nodeFlags: [] };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--faults') out.faults = true;
    else if (arg.startsWith('--test')) {
      out.nodeFlags.push(arg);
      const next = argv[i + 1];
      if (VALUE_FLAGS.has(arg) && next !== undefined) {
        out.nodeFlags.push(next);
        i++;
      }
    } else if (arg.startsWith('--'))
      throw new Error(`Unknown option ${arg}: use --faults, a --test-* flag of node --test, or test file paths.`);
    else out.files.push(...(fs.statSync(arg, { throwIfNoEntry: false })?.isDirectory() ? listTests(arg) : [arg]));
  }
  return out;
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  const fullSuite = args.files.length === 0 && !args.faults;
  if (fullSuite) {
    const failed = runGates();
    if (failed.length > 0) {
      console.error(`# static gates failed: ${failed.join(', ')}; fix them first (npm run check runs them alone).`);
      return 1;
    }
  }
  const unitFiles = fullSuite ? listTests('test/unit') : args.files.filter(isUnitTest);
  if (unitFiles.length > 0) {
    const code = await nodeTest(unitFiles, args.nodeFlags, process.env);
    if (code !== 0) return code;
  }
  const files = fullSuite
    ? listTests('test')
    : args.faults && args.files.length === 0
      ? listTests('test/faults')
      : args.files.filter((f) => !isUnitTest(f));
  if (files.length === 0) return 0;
  return runIntegration(files, args.nodeFlags);
}

function isUnitTest(file: string): boolean {
  return path.normalize(file).split(path.sep).includes('unit');
}

/** Run test files with Node's test runner in a child process; resolves to its exit code. */
function nodeTest(files: string[], nodeFlags: string[], env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise<number>((resolve) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', '--test', '--test-concurrency=2', '--test-timeout=600000', ...nodeFlags, ...files],
      { env, stdio: 'inherit' },
    );
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}

/** Start the real servers, prepare the template database and the workflow bundle, run the files. */
async function runIntegration(files: string[], nodeFlags: string[]): Promise<number> {
  const logger = createLogger({ level: 'info', pretty: false });
  const config = resolveConfig();
  const t0 = Date.now();
  const stack = await startDevStack({ config, logger, ephemeral: true, ui: true });
  // The bundle's folder goes with the run: each run makes a new one, so keeping them would fill
  // the temp folder (a few MB a run).
  const bundleDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bbm-bundle-'));
  const cleanup = (): void => {
    fs.rmSync(bundleDir, { recursive: true, force: true });
    void stack.stop();
  };
  process.once('SIGINT', cleanup);
  process.once('SIGTERM', cleanup);
  try {
    const adminUrl = stack.adminUrl ?? withDatabase(stack.databaseUrl, 'postgres');
    await prepareTemplate(adminUrl);
    const bundlePath = path.join(bundleDir, 'workflows.js');
    fs.writeFileSync(bundlePath, (await bundleWorkflowCode(workflowBundleOptions())).code);
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
    return await nodeTest(files, nodeFlags, env);
  } finally {
    process.off('SIGINT', cleanup);
    process.off('SIGTERM', cleanup);
    fs.rmSync(bundleDir, { recursive: true, force: true });
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
