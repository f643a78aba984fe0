import { randomBytes } from 'node:crypto';
import type { Client } from '@temporalio/client';
import type { Command } from 'commander';
import { isBbmError } from '../../errors';
import { SEARCH_ATTRIBUTES } from '../../contract/search-attributes';
import { WORKFLOW_TYPES, type HealthCheckWorkflow } from '../../contract/workflows';
import { action } from '../action';
import type { CliContext } from '../context';
import { ExitCode, exitCodeFor } from '../exit-codes';
import { redactSecrets, renderTable } from '../output';
import { duration } from '../parse';

interface Check {
  check: string;
  ok: boolean;
  detail: string;
  /** Exit code this failure stands for. */
  exit?: number;
}

const TASK_QUEUE_TYPE_WORKFLOW = 1;

export function registerDoctor(program: Command): void {
  program
    .command('doctor')
    .description('check the configuration, Postgres, Temporal, search attributes and a worker round trip (healthCheck workflow)')
    .option('--timeout <duration>', 'how long the round trip through a worker may take', duration, 20_000)
    .action(
      action<{ timeout: number }>(async (ctx, _args, opts) => {
        const checks = await runChecks(ctx, opts.timeout);
        const failed = checks.filter((c) => !c.ok);
        ctx.out.result({ ok: failed.length === 0, checks }, () =>
          [
            renderTable(
              ['CHECK', 'OK', 'DETAIL'],
              checks.map((c) => [c.check, c.ok ? 'yes' : 'NO', c.detail]),
            ),
            '',
            failed.length === 0 ? 'All checks passed.' : `${failed.length} check(s) failed.`,
          ].join('\n'),
        );
        return failed[0]?.exit ?? ExitCode.OK;
      }),
    );
}

async function runChecks(ctx: CliContext, timeoutMs: number): Promise<Check[]> {
  const { config } = ctx;
  const checks: Check[] = [
    {
      check: 'configuration',
      ok: true,
      detail: `temporal ${config.temporal.address ?? 'localhost:7233'}${config.temporal.secure ? ' (TLS/API key)' : ''}, namespace ${config.temporal.namespace}, task queue ${config.taskQueue}`,
    },
  ];
  const fail = (check: string, err: unknown): Check => ({
    check,
    ok: false,
    detail: redactSecrets((err as Error).message),
    exit: isBbmError(err) ? exitCodeFor(err.code) : ExitCode.UNEXPECTED,
  });

  try {
    const { serverVersion, database, schemaVersion: version } = await ctx.databaseInfo();
    checks.push({ check: 'postgres', ok: true, detail: `PostgreSQL ${serverVersion}, database ${database} (${ctx.describeDatabase()})` });
    checks.push(
      version > 0
        ? { check: 'bbm schema', ok: true, detail: `version ${version}` }
        : {
            check: 'bbm schema',
            ok: false,
            detail: 'missing: run `bbm setup` (or start `bbm worker`, which creates it)',
            exit: ExitCode.BAD_INPUT,
          },
    );
  } catch (err) {
    checks.push(fail('postgres', err));
  }

  let client: Client;
  try {
    client = await ctx.client();
    const info = await client.workflowService.getSystemInfo({});
    checks.push({
      check: 'temporal',
      ok: true,
      detail: `server ${info.serverVersion || 'reachable'}, namespace ${config.temporal.namespace}`,
    });
  } catch (err) {
    checks.push(fail('temporal', err));
    return checks;
  }

  try {
    const { customAttributes } = await client.connection.operatorService.listSearchAttributes({ namespace: config.temporal.namespace });
    const missing = Object.keys(SEARCH_ATTRIBUTES).filter((n) => customAttributes[n] === undefined);
    checks.push(
      missing.length === 0
        ? { check: 'search attributes', ok: true, detail: Object.keys(SEARCH_ATTRIBUTES).join(', ') }
        : { check: 'search attributes', ok: false, detail: `missing ${missing.join(', ')}: run \`bbm setup\``, exit: ExitCode.BAD_INPUT },
    );
  } catch (err) {
    // Temporal Cloud does not expose the operator API to API keys of every role; not fatal.
    checks.push({ check: 'search attributes', ok: true, detail: `not checked: ${(err as Error).message}` });
  }

  const { pollers } = await client.workflowService.describeTaskQueue({
    namespace: config.temporal.namespace,
    taskQueue: { name: config.taskQueue },
    taskQueueType: TASK_QUEUE_TYPE_WORKFLOW,
  });
  if (!pollers || pollers.length === 0) {
    checks.push({
      check: 'worker',
      ok: false,
      detail: `no worker polls task queue ${config.taskQueue}: start one with \`bbm worker\``,
      exit: ExitCode.CANNOT_CONNECT,
    });
    return checks;
  }
  checks.push({
    check: 'worker',
    ok: true,
    detail: `${pollers.length} poller(s) on ${config.taskQueue}: ${[...new Set(pollers.map((p) => p.identity))].slice(0, 3).join(', ')}`,
  });

  const started = Date.now();
  try {
    const result = await client.workflow.execute<HealthCheckWorkflow>(WORKFLOW_TYPES.healthCheck, {
      taskQueue: config.taskQueue,
      workflowId: `bbm-doctor-${randomBytes(4).toString('hex')}`,
      args: [{}],
      workflowExecutionTimeout: timeoutMs,
    });
    checks.push({
      check: 'round trip',
      ok: true,
      detail: `healthCheck workflow in ${Date.now() - started} ms: worker reached PostgreSQL ${result.serverVersion}, database ${result.database}, schema ${result.schemaVersion}`,
    });
  } catch (err) {
    const cause = (err as { cause?: Error }).cause;
    checks.push({
      check: 'round trip',
      ok: false,
      detail: `healthCheck workflow did not complete within ${timeoutMs / 1000}s: ${cause?.message ?? (err as Error).message}`,
      exit: ExitCode.CANNOT_CONNECT,
    });
  }
  return checks;
}
