import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { createLogger } from '../../src/logger';
import { sdkLogger } from '../../src/sdk-logger';
import { captureLogger as capture } from '../helpers/log-capture';

test('SDK log lines go through bbm logger at their level, with an error reduced to its message', () => {
  const { lines, logger } = capture('info');
  const sdk = sdkLogger(logger);
  sdk.warn('Activity failed', { error: new Error('boom'), workflowId: 'w' });
  sdk.debug('noise');
  assert.equal(lines.length, 1, 'debug is below the level');
  assert.equal(lines[0]!.level, 40);
  assert.equal(lines[0]!.msg, 'Activity failed');
  assert.equal(lines[0]!.error, 'boom');
  assert.equal(lines[0]!.error_stack, undefined, 'no stack trace unless debug is on');
  assert.equal(lines[0]!.workflowId, 'w');
});

test('core warnings about races the SDK already handled go to debug, so a terminal shows only what needs action', () => {
  const info = capture('info');
  sdkLogger(info.logger).log('WARN', 'Task not found when completing', { error: 'Workflow task not found.' });
  assert.deepEqual(info.lines, []);
  const debug = capture('debug');
  sdkLogger(debug.logger).log('WARN', 'Task not found when completing', { error: new Error('Workflow task not found.') });
  assert.equal(debug.lines[0]!.level, 20);
  assert.match(String(debug.lines[0]!.error_stack), /Workflow task not found/);
});

test('every JSON log line names its component once: bbm for bbm lines, temporal-sdk for the SDK lines', () => {
  const raw: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      raw.push(...chunk.toString().split('\n').filter(Boolean));
      done();
    },
  });
  const logger = createLogger({ level: 'info', pretty: false, destination });
  logger.info({ job_id: '1' }, 'job done');
  sdkLogger(logger).warn('Activity failed', { workflowId: 'w' });
  assert.equal(raw.length, 2);
  for (const line of raw) assert.equal(line.match(/"component":/g)?.length, 1, line);
  assert.deepEqual(
    raw.map((line) => (JSON.parse(line) as { component: string }).component),
    ['bbm', 'temporal-sdk'],
  );
  assert.equal((JSON.parse(raw[0]!) as { pid?: number }).pid, undefined, 'no pid or hostname, as before');
});
