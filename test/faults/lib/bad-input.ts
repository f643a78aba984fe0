import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isDeepStrictEqual, promisify } from 'node:util';
import { ApplicationFailure } from '@temporalio/common';
import { WorkflowFailedError, WorkflowUpdateFailedError, type Client, type WorkflowHandle } from '@temporalio/client';
import type { Pool } from 'pg';
import { defineMigration, type MigrationDefinition } from '../../../src/engine/definitions';
import { BUILTIN_WORK } from '../../../src/engine/builtin-work';
import { WorkRegistry } from '../../../src/engine/registry';
import { isBbmError } from '../../../src/errors';
import { repositoryWorkflowId } from '../../../src/contract/ids';
import { configureUpdate, pauseSignal, progressQuery, resumeSignal } from '../../../src/contract/messages';
import { repositoryMigration } from '../../../workflows/repository';
import { createTestDatabase } from '../../helpers/db';
import { testEnv } from '../../helpers/env';
import { startTestWorker, testClient, uniqueTaskQueue } from '../../helpers/temporal';
import { createCounterTable, snapshot, waitFor } from './data';

const execFileAsync = promisify(execFile);
const ROOT = path.join(__dirname, '..', '..', '..');

/** What a refused input produced: a stable code (error type, or the CLI's `error[CODE]` and exit code). */
export type Observed = string;

export interface BadInputCase {
  entry: 'Temporal CLI --input' | 'Temporal CLI update' | 'signal' | 'configure update' | 'defineMigration' | 'bbm CLI';
  what: string;
  /** The stable code the refusal must carry. */
  expected: string;
  run(ctx: BadInputContext): Promise<Observed>;
  /** Known product bug: reported as a TODO instead of failing the run. */
  bug?: string;
}

export interface BadInputOutcome {
  entry: string;
  what: string;
  expected: string;
  observed: string;
  unchanged: boolean;
  bug?: string;
}

export interface BadInputContext {
  pool: Pool;
  url: string;
  client: Client;
  taskQueue: string;
  registry: WorkRegistry;
  /** A repository workflow kept running (its lease is held by someone else), for signals and updates. */
  blocked: WorkflowHandle<typeof repositoryMigration>;
  temporalCli: string;
  temporalAddress: string;
}

const RUNNING_REPO = 'bad-r1';
const IDLE_REPO = 'bad-r2';

/** Start the workflow through the Temporal CLI with raw JSON, as an operator would, and report how it failed. */
function viaTemporalCli(what: string, input: string, workflowId?: (n: string) => string): BadInputCase {
  return {
    entry: 'Temporal CLI --input',
    what,
    expected: 'INVALID_INPUT',
    async run(ctx) {
      const id = workflowId ? workflowId(`${Date.now()}${Math.floor(Math.random() * 1e6)}`) : repositoryWorkflowId(IDLE_REPO);
      await execFileAsync(ctx.temporalCli, [
        'workflow',
        'start',
        '--address',
        ctx.temporalAddress,
        '--namespace',
        'default',
        '--task-queue',
        ctx.taskQueue,
        '--type',
        'repositoryMigration',
        '--workflow-id',
        id,
        '--input',
        input,
      ]);
      try {
        await ctx.client.workflow.getHandle(id).result();
        return 'COMPLETED';
      } catch (err) {
        return failureType(err);
      }
    },
  };
}

function viaUpdate(what: string, request: unknown, expected = 'INVALID_INPUT'): BadInputCase {
  return {
    entry: 'configure update',
    what,
    expected,
    async run(ctx) {
      const before = await ctx.blocked.query(progressQuery);
      let observed: string;
      try {
        await ctx.blocked.executeUpdate(configureUpdate, { args: [request as never] });
        observed = 'ACCEPTED';
      } catch (err) {
        observed = failureType(err);
      }
      const after = await ctx.blocked.query(progressQuery);
      assert.deepEqual(after.knobs, before.knobs, `${what}: knobs changed`);
      return observed;
    },
  };
}

/** The `configure` update sent by the Temporal CLI with raw JSON; observed as the failure type it prints. */
function viaTemporalCliUpdate(what: string, input: string, expected: string): BadInputCase {
  return {
    entry: 'Temporal CLI update',
    what,
    expected,
    async run(ctx) {
      const before = await ctx.blocked.query(progressQuery);
      let observed: string;
      try {
        await execFileAsync(ctx.temporalCli, [
          'workflow',
          'update',
          'execute',
          '--address',
          ctx.temporalAddress,
          '--namespace',
          'default',
          '--workflow-id',
          repositoryWorkflowId(RUNNING_REPO),
          '--name',
          'configure',
          '--input',
          input,
        ]);
        observed = 'ACCEPTED';
      } catch (err) {
        const output = `${(err as { stderr?: string }).stderr ?? ''}${(err as { stdout?: string }).stdout ?? ''}`;
        observed = /\b(INVALID_[A-Z_]+)\b/.exec(output)?.[1] ?? `no code in: ${output.trim().split('\n')[0]}`;
      }
      assert.deepEqual((await ctx.blocked.query(progressQuery)).knobs, before.knobs, `${what}: knobs changed`);
      return observed;
    },
  };
}

/**
 * Signals cannot be refused to the sender (they have no validator), so a bad one must be ignored:
 * the workflow keeps running and changes nothing. Observed "IGNORED", or how the workflow ended.
 */
function viaSignal(what: string, send: (h: BadInputContext['blocked']) => Promise<void>, bug?: string): BadInputCase {
  return {
    entry: 'signal',
    what,
    expected: 'IGNORED',
    bug,
    async run(ctx) {
      // Each case gets a live workflow, even when an earlier case ended one.
      if ((await ctx.blocked.describe()).status.name !== 'RUNNING') ctx.blocked = await startBlocked(ctx.client, ctx.taskQueue);
      const before = (await ctx.blocked.describe()).historyLength;
      await send(ctx.blocked);
      // Processed once a workflow task after the signal has completed.
      await waitFor('the signal to be processed', async () => (await ctx.blocked.describe()).historyLength >= before + 4, 20_000, 100);
      await new Promise((r) => setTimeout(r, 300));
      const d = await ctx.blocked.describe();
      if (d.status.name !== 'RUNNING') {
        try {
          await ctx.blocked.result();
        } catch (err) {
          return `workflow ${d.status.name}: ${failureType(err)}`;
        }
        return `workflow ${d.status.name}`;
      }
      const p = await ctx.blocked.query(progressQuery);
      return p.state === 'waiting_for_lease' || p.state === 'running' ? 'IGNORED' : `state ${p.state}`;
    },
  };
}

function viaDefine(what: string, def: Record<string, unknown>, expected: string): BadInputCase {
  return {
    entry: 'defineMigration',
    what,
    expected,
    async run(ctx) {
      try {
        await defineMigration({ pool: ctx.pool, registry: ctx.registry }, {
          name: 'bad-new',
          repository: IDLE_REPO,
          work: 'increment',
          table: 'items',
          column: 'id',
          args: { target: 'counter' },
          ...def,
        } as unknown as MigrationDefinition);
        return 'ACCEPTED';
      } catch (err) {
        return isBbmError(err) ? err.code : `unexpected ${(err as Error).message}`;
      }
    },
  };
}

/** The bbm CLI in its own process; observed as `error[CODE] exit N`. */
/** `file`: a definition file written to the temp folder first; `{file}` in `args` becomes its path. */
function viaBbmCli(what: string, args: string[], expected: string, file?: { name: string; text: string }): BadInputCase {
  return {
    entry: 'bbm CLI',
    what,
    expected,
    async run(ctx) {
      const written = file ? path.join(os.tmpdir(), `bbm-bad-input-${process.pid}-${file.name}`) : undefined;
      if (file && written) {
        fs.writeFileSync(written, file.text);
        args = args.map((a) => (a === '{file}' ? written : a));
      }
      const env = { ...process.env, DATABASE_URL: ctx.url, BBM_TASK_QUEUE: ctx.taskQueue, BBM_LOG_LEVEL: 'silent' };
      try {
        await execFileAsync(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src/cli/main.ts'), ...args], {
          cwd: ROOT,
          env,
          timeout: 60_000,
        });
        return 'exit 0';
      } catch (err) {
        const e = err as { code?: number; stderr?: string };
        const code = /error\[(\w+)\]/.exec(e.stderr ?? '')?.[1] ?? 'no error code';
        return `${code} exit ${e.code}`;
      } finally {
        if (written) fs.rmSync(written, { force: true });
      }
    },
  };
}

export const BAD_INPUT_CASES: readonly BadInputCase[] = [
  viaTemporalCli('repository is a number', '{"repository":42}', (n) => `bad-cli-${n}`),
  viaTemporalCli('input is a bare string', '"bad-r2"', (n) => `bad-cli-${n}`),
  viaTemporalCli('input is null', 'null', (n) => `bad-cli-${n}`),
  viaTemporalCli('workflow ID does not match the repository', `{"repository":"${IDLE_REPO}"}`, (n) => `not-the-repository-id-${n}`),
  viaTemporalCli('SQL in the repository key', `{"repository":"bad-r2'; DROP TABLE items; --"}`, () =>
    repositoryWorkflowId("bad-r2'; DROP TABLE items; --"),
  ),
  viaTemporalCli('unknown knob', `{"repository":"${IDLE_REPO}","knobs":{"bogus":1}}`),
  viaTemporalCli('absurd maxJobPerBatch (1e12)', `{"repository":"${IDLE_REPO}","knobs":{"maxJobPerBatch":1000000000000}}`),
  viaTemporalCli('negative delay', `{"repository":"${IDLE_REPO}","knobs":{"minDelayMs":-5}}`),
  viaTemporalCli('knob of the wrong type ("5")', `{"repository":"${IDLE_REPO}","knobs":{"maxJobPerBatch":"5"}}`),
  viaTemporalCli('knobs is not an object', `{"repository":"${IDLE_REPO}","knobs":"fast"}`),
  viaTemporalCli('unknown field batchSize (issue 10 item 5)', `{"repository":"${IDLE_REPO}","batchSize":-5}`),
  viaTemporalCli('retryFailed is not a boolean', `{"repository":"${IDLE_REPO}","retryFailed":"yes"}`),
  viaTemporalCli('health threshold of the wrong type ("1.5s")', `{"repository":"${IDLE_REPO}","knobs":{"maxReplicationLagMs":"1.5s"}}`),
  viaTemporalCli(
    'a sub-batch size among the knobs (it belongs to the migration)',
    `{"repository":"${IDLE_REPO}","knobs":{"subBatchSize":10}}`,
  ),

  viaTemporalCliUpdate('subBatchSize 0', '{"subBatchSize":0}', 'INVALID_SUB_BATCH_SIZE'),
  viaTemporalCliUpdate('subBatchSize "50" (a string)', '{"subBatchSize":"50"}', 'INVALID_SUB_BATCH_SIZE'),
  viaTemporalCliUpdate('subBatchSize 500 above the stored batch size 100', '{"subBatchSize":500}', 'INVALID_SUB_BATCH_SIZE'),
  viaTemporalCliUpdate('subBatchPauseMs -1', '{"subBatchPauseMs":-1}', 'INVALID_SUB_BATCH_PAUSE'),
  viaTemporalCliUpdate('targetJobMs "fast" (a string)', '{"targetJobMs":"fast"}', 'INVALID_INPUT'),
  viaTemporalCliUpdate('maxBatchSize 50 below the stored minBatchSize 100', '{"maxBatchSize":50}', 'INVALID_BATCH_SIZE'),

  viaUpdate('maxJobPerBatch -1', { maxJobPerBatch: -1 }),
  viaUpdate('minDelayMs 5 > maxDelayMs 1', { minDelayMs: 5, maxDelayMs: 1 }),
  viaUpdate("batchSize 'x'", { batchSize: 'x' }, 'INVALID_BATCH_SIZE'),
  viaUpdate('batchSize 0', { batchSize: 0 }, 'INVALID_BATCH_SIZE'),
  viaUpdate('unknown knob bogus', { bogus: 1 }),
  viaUpdate('jobTimeoutMs 1e15', { jobTimeoutMs: 1e15 }),
  viaUpdate('maxJobPerBatch 2.5', { maxJobPerBatch: 2.5 }),
  viaUpdate('localActivities "no"', { localActivities: 'no' }),
  viaUpdate('migration is a number', { migration: 42 }),
  viaUpdate('request is an array', [1, 2]),
  viaUpdate('unknown field batchSzie next to a valid knob', { maxJobPerBatch: 2, batchSzie: 5 }),
  viaUpdate('maxWalArchiveBacklog -1', { maxWalArchiveBacklog: -1 }),
  viaUpdate('throttleOnVacuum "no"', { throttleOnVacuum: 'no' }),
  viaUpdate('subBatchSize 1.5', { subBatchSize: 1.5 }, 'INVALID_SUB_BATCH_SIZE'),
  viaUpdate('subBatchSize 2e6 (past 1,000,000)', { subBatchSize: 2_000_000 }, 'INVALID_SUB_BATCH_SIZE'),
  viaUpdate('subBatchSize 60 above batchSize 50 of the same request', { batchSize: 50, subBatchSize: 60 }, 'INVALID_SUB_BATCH_SIZE'),
  viaUpdate('subBatchSize 200 above the stored batch size 100', { subBatchSize: 200, maxJobPerBatch: 7 }, 'INVALID_SUB_BATCH_SIZE'),
  viaUpdate('subBatchPauseMs "100" (a string)', { subBatchPauseMs: '100' }, 'INVALID_SUB_BATCH_PAUSE'),
  viaUpdate('subBatchPauseMs 1e9 (past 60,000)', { subBatchPauseMs: 1e9 }, 'INVALID_SUB_BATCH_PAUSE'),
  viaUpdate('targetJobMs -1', { targetJobMs: -1 }, 'INVALID_INPUT'),
  viaUpdate('targetJobMs 2.5', { targetJobMs: 2.5 }, 'INVALID_INPUT'),
  viaUpdate('minBatchSize 0', { minBatchSize: 0 }, 'INVALID_BATCH_SIZE'),
  viaUpdate('minBatchSize 600 above maxBatchSize 500 of the same request', { minBatchSize: 600, maxBatchSize: 500 }, 'INVALID_BATCH_SIZE'),
  viaUpdate('maxBatchSize 50 below the stored minBatchSize 100', { maxBatchSize: 50, maxJobPerBatch: 7 }, 'INVALID_BATCH_SIZE'),

  viaSignal('pause with migration: 42', (h) => h.signal(pauseSignal, { migration: 42 as unknown as string })),
  viaSignal('pause naming no existing migration', (h) => h.signal(pauseSignal, { migration: 'no-such-migration' })),
  viaSignal('resume with migration: ["a"]', (h) => h.signal(resumeSignal, { migration: ['a'] as unknown as string })),
  viaSignal('pause with an unknown field migraton', (h) => h.signal(pauseSignal, { migraton: 'bad-m1' } as { migration?: string })),
  viaSignal('pause with a bare string payload', (h) => h.signal(pauseSignal, 'everything' as unknown as { migration?: string })),

  viaDefine('SQL in the table name', { table: 'items; DROP TABLE items' }, 'INVALID_IDENTIFIER'),
  viaDefine('SQL after a quoted column name', { column: '"id"; DROP TABLE items' }, 'INVALID_IDENTIFIER'),
  viaDefine('a quoted column name that tries to close its quote', { column: '"id"" OR 1=1 --"' }, 'INVALID_COLUMN'),
  viaDefine('SQL in a work argument', { args: { target: 'counter = 0; --' } }, 'INVALID_IDENTIFIER'),
  viaDefine('SQL in the repository key', { repository: "r'; DROP TABLE items; --" }, 'INVALID_INPUT'),
  viaDefine('SQL in the name', { name: "x'; DELETE FROM bbm.migrations; --" }, 'INVALID_INPUT'),
  viaDefine(
    'copy_column transform is an expression',
    { work: 'copy_column', args: { from: 'payload', to: 'payload', transform: 'pg_sleep(10)' } },
    'INVALID_INPUT',
  ),
  viaDefine('batch size 0', { batchSize: 0 }, 'INVALID_BATCH_SIZE'),
  viaDefine('batch size 1e12', { batchSize: 1e12 }, 'INVALID_BATCH_SIZE'),
  viaDefine("batch size 'x'", { batchSize: 'x' }, 'INVALID_BATCH_SIZE'),
  viaDefine('maxValue 2^60 (not a safe integer)', { maxValue: 2 ** 60 }, 'INVALID_RANGE'),
  viaDefine('minValue above maxValue', { minValue: 10, maxValue: 1 }, 'INVALID_RANGE'),
  viaDefine('sub-batch size 0', { subBatchSize: 0 }, 'INVALID_SUB_BATCH_SIZE'),
  viaDefine("sub-batch size '10'", { subBatchSize: '10' }, 'INVALID_SUB_BATCH_SIZE'),
  viaDefine('sub-batch size 200 above batch size 100', { batchSize: 100, subBatchSize: 200 }, 'INVALID_SUB_BATCH_SIZE'),
  viaDefine('sub-batch pause 60001 ms', { subBatchPauseMs: 60_001 }, 'INVALID_SUB_BATCH_PAUSE'),
  viaDefine("target job time '500'", { targetJobMs: '500' }, 'INVALID_INPUT'),
  viaDefine('target job time 3600001 ms', { targetJobMs: 3_600_001 }, 'INVALID_INPUT'),
  viaDefine('max batch size 0', { maxBatchSize: 0 }, 'INVALID_BATCH_SIZE'),
  viaDefine('min batch size 2000 above max batch size 1000', { minBatchSize: 2_000, maxBatchSize: 1_000 }, 'INVALID_BATCH_SIZE'),
  viaDefine('unknown work function', { work: 'drop_everything' }, 'INVALID_JOB_SIGNATURE'),
  viaDefine('unknown table', { table: 'no_such_table' }, 'INVALID_TABLE'),
  viaDefine('unknown column', { column: 'no_such_column' }, 'INVALID_COLUMN'),
  viaDefine('unknown strategy', { strategy: 'random' }, 'INVALID_BATCHING_STRATEGY'),
  viaDefine('duplicate name', { name: 'bad-m2' }, 'MIGRATION_EXISTS'),
  viaDefine('unknown field batchsize (lower case)', { batchsize: 10 }, 'INVALID_INPUT'),

  viaBbmCli(
    'migrations create with SQL in --table',
    [
      'migrations',
      'create',
      '--name',
      'cli-bad',
      '--work',
      'increment',
      '--table',
      'items; DROP TABLE items',
      '--column',
      'id',
      '--arg',
      'target=counter',
    ],
    'INVALID_IDENTIFIER exit 2',
  ),
  viaBbmCli(
    'migrations create --batch-size -5',
    [
      'migrations',
      'create',
      '--name',
      'cli-bad',
      '--work',
      'increment',
      '--table',
      'items',
      '--column',
      'id',
      '--arg',
      'target=counter',
      '--batch-size',
      '-5',
    ],
    'INVALID_BATCH_SIZE exit 2',
  ),
  ...(
    [
      ['--sub-batch-size 0', ['--sub-batch-size', '0'], 'INVALID_SUB_BATCH_SIZE exit 2'],
      ['--sub-batch-size ten', ['--sub-batch-size', 'ten'], 'INVALID_SUB_BATCH_SIZE exit 2'],
      ['--sub-batch-size 500 above --batch-size 100', ['--batch-size', '100', '--sub-batch-size', '500'], 'INVALID_SUB_BATCH_SIZE exit 2'],
      ['--sub-batch-pause-ms -1', ['--sub-batch-pause-ms', '-1'], 'INVALID_SUB_BATCH_PAUSE exit 2'],
      ['--target-job-ms soon', ['--target-job-ms', 'soon'], 'INVALID_INPUT exit 2'],
      ['--min-batch-size 0', ['--min-batch-size', '0'], 'INVALID_BATCH_SIZE exit 2'],
      [
        '--min-batch-size 5000 above --max-batch-size 4000',
        ['--min-batch-size', '5000', '--max-batch-size', '4000'],
        'INVALID_BATCH_SIZE exit 2',
      ],
    ] as const
  ).map(([what, flags, expected]) =>
    viaBbmCli(
      `migrations create ${what}`,
      [
        'migrations',
        'create',
        '--name',
        'cli-bad',
        '--work',
        'increment',
        '--table',
        'items',
        '--column',
        'id',
        '--arg',
        'target=counter',
        ...flags,
      ],
      expected,
    ),
  ),
  viaBbmCli(
    'migrations create --work drop_everything',
    ['migrations', 'create', '--name', 'cli-bad', '--work', 'drop_everything', '--table', 'items', '--column', 'id'],
    'INVALID_JOB_SIGNATURE exit 2',
  ),
  viaBbmCli('migrations create --file with an unknown field', ['migrations', 'create', '--file', '{file}'], 'INVALID_INPUT exit 2', {
    name: 'unknown-field.yaml',
    text: 'name: cli-bad\nwork: increment\ntable: items\ncolumn: id\nbatch_size: 10\n',
  }),
  viaBbmCli('repositories start with an unknown --knob', ['repositories', 'start', IDLE_REPO, '--knob', 'bogus=1'], 'INVALID_INPUT exit 2'),
  viaBbmCli('repositories start with SQL in the key', ['repositories', 'start', "r'; DROP TABLE items; --"], 'INVALID_INPUT exit 2'),
  viaBbmCli('migrations pause of an unknown name', ['migrations', 'pause', 'no-such-migration'], 'MIGRATION_NOT_FOUND exit 6'),
  viaBbmCli(
    'repositories start --knob maxReplicationLagBytes=-1',
    ['repositories', 'start', IDLE_REPO, '--knob', 'maxReplicationLagBytes=-1'],
    'INVALID_INPUT exit 2',
  ),
  viaBbmCli('health --knob healthCheckIntervalMs=soon', ['health', '--knob', 'healthCheckIntervalMs=soon'], 'INVALID_INPUT exit 2'),
];

/** The failure `type` of a workflow or update failure (or of the error itself). */
export function failureType(err: unknown): string {
  let e: unknown = err;
  while (e && typeof e === 'object') {
    if (e instanceof ApplicationFailure) return e.type ?? 'ApplicationFailure';
    e = (e as { cause?: unknown }).cause;
  }
  if (err instanceof WorkflowFailedError || err instanceof WorkflowUpdateFailedError) return err.message;
  return (err as Error).message ?? String(err);
}

/**
 * Build the context: a database with `items` and one migration in each of two repositories, an
 * in-process worker, and the bad-r1 workflow kept running by a lease someone else holds.
 */
export async function badInputContext(label: string): Promise<BadInputContext> {
  const db = await createTestDatabase(label);
  await createCounterTable(db.pool, 'items', 1000);
  const registry = new WorkRegistry([...BUILTIN_WORK]);
  await defineMigration(
    { pool: db.pool, registry },
    {
      name: 'bad-m1',
      repository: RUNNING_REPO,
      work: 'increment',
      table: 'items',
      column: 'id',
      targetJobMs: 0,
      batchSize: 100,
      args: { target: 'counter' },
    },
  );
  await defineMigration(
    { pool: db.pool, registry },
    {
      name: 'bad-m2',
      repository: IDLE_REPO,
      work: 'increment',
      table: 'items',
      column: 'id',
      targetJobMs: 0,
      batchSize: 100,
      args: { target: 'counter' },
    },
  );
  await db.pool.query(
    "INSERT INTO bbm.leases (repository, holder, token, expires_at) VALUES ($1, 'someone-else', 1, now() + interval '1 hour')",
    [RUNNING_REPO],
  );
  const taskQueue = uniqueTaskQueue(label);
  await startTestWorker(db, { taskQueue, registry });
  const client = await testClient();
  const blocked = await startBlocked(client, taskQueue);
  const temporalCli = testEnv.temporalCli;
  const temporalAddress = process.env.TEMPORAL_ADDRESS;
  assert.ok(temporalCli && temporalAddress, 'BBM_TEST_TEMPORAL_CLI and TEMPORAL_ADDRESS are set by test/run.ts');
  return { pool: db.pool, url: db.url, client, taskQueue, registry, blocked, temporalCli, temporalAddress };
}

async function startBlocked(client: Client, taskQueue: string): Promise<BadInputContext['blocked']> {
  const blocked = await client.workflow.start(repositoryMigration, {
    taskQueue,
    workflowId: repositoryWorkflowId(RUNNING_REPO),
    args: [{ repository: RUNNING_REPO, knobs: { lockWaitTimeoutMs: 300 } }],
  });
  await waitFor(
    'the blocked workflow to wait for its lock',
    async () => (await blocked.query(progressQuery)).state === 'waiting_for_lease',
    30_000,
    100,
  );
  return blocked;
}

/** Stop the kept-running workflow (the lease is someone else's, so it would wait forever). */
export async function closeBadInputContext(ctx: BadInputContext): Promise<void> {
  if ((await ctx.blocked.describe()).status.name === 'RUNNING') await ctx.blocked.terminate('bad-input table done');
}

/**
 * Run every case of one entry point at once (the bbm CLI cases each spend seconds starting a
 * process), with one snapshot before and after the lot: when nothing changed overall, no case
 * changed anything. `runBadInputCase` then answers from these results.
 */
export async function prefetch(ctx: BadInputContext, cases: readonly BadInputCase[], concurrency = 3): Promise<void> {
  const before = await snapshot(ctx.pool, 'items');
  const queue = [...cases];
  const observed = new Map<BadInputCase, Observed>();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let c = queue.shift(); c; c = queue.shift()) observed.set(c, await c.run(ctx));
    }),
  );
  const unchanged = isDeepStrictEqual(await snapshot(ctx.pool, 'items'), before);
  for (const [c, o] of observed) prefetched.set(c, { observed: o, unchanged });
}
const prefetched = new Map<BadInputCase, { observed: Observed; unchanged: boolean }>();

/** Run one case: the refusal's code, and a snapshot of bbm's tables and the data before and after. */
export async function runBadInputCase(ctx: BadInputContext, c: BadInputCase): Promise<BadInputOutcome> {
  const done = prefetched.get(c);
  if (done) return { entry: c.entry, what: c.what, expected: c.expected, ...done, bug: c.bug };
  const before = await snapshot(ctx.pool, 'items');
  const observed = await c.run(ctx);
  const unchanged = isDeepStrictEqual(await snapshot(ctx.pool, 'items'), before);
  return { entry: c.entry, what: c.what, expected: c.expected, observed, unchanged, bug: c.bug };
}
