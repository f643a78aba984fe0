import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BbmError, ErrorCode, defineWorkFunction, isBbmError, type WorkContext } from '../../src/index';

const target = { strategy: 'serial' as const, column: 'id' };

test('defineWorkFunction hands run() the arguments validateArgs returned, checked again before each job', async () => {
  const seen: unknown[] = [];
  const fn = defineWorkFunction<{ times: number }>({
    name: 'twice',
    description: 'test',
    validateArgs: (args) => {
      if (typeof args.times !== 'number') throw new BbmError(ErrorCode.INVALID_INPUT, 'times must be a number');
      return { times: args.times * 2 };
    },
    run: async (ctx) => {
      seen.push(ctx.args);
      return ctx.args.times;
    },
  });
  fn.validateArgs?.({ times: 2 }, target);
  const ctx = { args: { times: 3 }, strategy: 'serial', column: 'id' } as unknown as WorkContext;
  assert.equal(await fn.run(ctx), 6);
  assert.deepEqual(seen, [{ times: 6 }]);
  await assert.rejects(fn.run({ ...ctx, args: { times: 'x' } }), (err) => isBbmError(err, ErrorCode.INVALID_INPUT));
});

test('a plain Error from validateArgs becomes INVALID_INPUT naming the work function', () => {
  const fn = defineWorkFunction({
    name: 'picky',
    description: 'test',
    validateArgs: () => {
      throw new Error('no thanks');
    },
    run: async () => 0,
  });
  assert.throws(
    () => fn.validateArgs?.({}, target),
    (err) => isBbmError(err, ErrorCode.INVALID_INPUT) && /picky refused its arguments: no thanks/.test(err.message),
  );
});

test('without validateArgs a work function accepts only empty arguments', () => {
  const fn = defineWorkFunction({ name: 'plain', description: 'test', run: async () => 0 });
  fn.validateArgs?.({}, target);
  assert.throws(
    () => fn.validateArgs?.({ extra: 1 }, target),
    (err) => isBbmError(err, ErrorCode.INVALID_INPUT) && /extra/.test(err.message),
  );
});

test('the public entry exports the documented API and nothing internal', async () => {
  const api = await import('../../src/index');
  assert.deepEqual(Object.keys(api).sort(), [
    'BbmClient',
    'BbmError',
    'ERROR_CODES',
    'ErrorCode',
    'defineWorkFunction',
    'ensureFinished',
    'formatIdent',
    'formatTable',
    'isBbmError',
    'parseIdentifier',
    'parseTableName',
    'queueMigration',
    'quoteIdent',
    'quoteTable',
    'runWorker',
    'startWorker',
  ]);
});

test("the worker factory takes the user's health indicators and refuses a bad one with INVALID_INPUT before it connects to anything", async () => {
  const { startWorker } = await import('../../src/index');
  const indicator = { name: 'Queue Depth', unit: 'jobs', description: 'x', threshold: 10, read: async () => 1 };
  await assert.rejects(
    startWorker({ databaseUrl: 'postgres://nobody@127.0.0.1:1/none', healthIndicators: [indicator] }),
    (err) => isBbmError(err, ErrorCode.INVALID_INPUT) && /Health indicator name "Queue Depth"/.test(err.message),
  );
});
