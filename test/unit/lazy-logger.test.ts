import assert from 'node:assert/strict';
import { test } from 'node:test';
import { lazyChild } from '../../src/logger';
import { captureLogger as capture } from '../helpers/log-capture';

test('a lazy child logger below its level writes nothing and never asks for its bindings', () => {
  const { lines, logger } = capture('warn');
  let asked = 0;
  const log = lazyChild(logger, () => {
    asked += 1;
    return { job_id: '9007199254740993' };
  });
  log.info({ rows: '10' }, 'job completed');
  log.debug({}, 'noise');
  assert.equal(asked, 0);
  assert.deepEqual(lines, []);
});

test('a lazy child logger writes its bindings and the line fields once a level is enabled, building the child once', () => {
  const { lines, logger } = capture('info');
  let asked = 0;
  const log = lazyChild(logger, () => {
    asked += 1;
    return { job_id: '9007199254740993', bbm_name: 'backfill' };
  });
  log.info({ job_attempts: 0 }, 'found job, starting execution');
  log.error({ code: 'WORK_FAILED' }, 'failed to execute job');
  log.debug({}, 'below the level');
  assert.equal(asked, 1);
  assert.equal(lines.length, 2);
  assert.deepEqual(
    lines.map((l) => [l.level, l.msg, l.job_id, l.bbm_name]),
    [
      [30, 'found job, starting execution', '9007199254740993', 'backfill'],
      [50, 'failed to execute job', '9007199254740993', 'backfill'],
    ],
  );
  assert.equal(lines[0]!.job_attempts, 0);
  assert.equal(lines[1]!.code, 'WORK_FAILED');
});
