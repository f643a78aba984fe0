import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  checkGivenTunerSettings,
  checkTunerSettings,
  resolveTunerSettings,
  DEFAULT_TUNER_SETTINGS,
  initialTunerState,
  recordJob,
  TUNER,
  type BatchTunerSettings,
  type BatchTunerState,
} from '../../src/engine/batch-tuner';
import { ErrorCode } from '../../src/errors';

const SETTINGS: BatchTunerSettings = { targetJobMs: 500, minBatchSize: 100, maxBatchSize: 1_000_000 };

/** A deterministic ±5 % jitter, so the simulation is noisy like real jobs but repeatable. */
function jitter(seed: number): () => number {
  let x = seed;
  return () => {
    x = (x * 1_103_515_245 + 12_345) % 2 ** 31;
    return 0.95 + (x / 2 ** 31) * 0.1;
  };
}

interface Job {
  size: number;
  ms: number;
}

/** The i-th job of a trace (throws past the end, so a short trace fails loudly). */
function at(trace: Job[], i: number): Job {
  const job = trace[i];
  if (!job) throw new Error(`no job ${i} in a trace of ${trace.length}`);
  return job;
}

/** Run `jobs` simulated jobs: each takes 9 ms of fixed cost plus costPerRow(i) per row. Returns every job's size and duration. */
function simulate(jobs: number, costPerRow: (job: number) => number, start: BatchTunerState, settings = SETTINGS): Job[] {
  const noise = jitter(42);
  const trace: Job[] = [];
  let state = start;
  for (let i = 0; i < jobs; i++) {
    const ms = (9 + costPerRow(i) * state.batchSize) * noise();
    trace.push({ size: state.batchSize, ms });
    state = recordJob(state, settings, { ok: true, rows: state.batchSize, durationMs: ms });
  }
  return trace;
}

test('the batch size grows toward the target duration by at most 10 % per job and then holds it', () => {
  const trace = simulate(40, () => 0.05, initialTunerState(1_000, SETTINGS)); // ideal size about 9,800
  for (let i = 1; i < trace.length; i++)
    assert.ok(at(trace, i).size <= Math.round(at(trace, i - 1).size * TUNER.MAX_GROW) + 1, `job ${i} grew more than 10 %`);
  for (const job of trace.slice(30))
    assert.ok(Math.abs(job.ms - 500) <= 0.15 * 500, `settled job took ${job.ms.toFixed(0)} ms, not about 500`);
});

test('when the cost per row doubles halfway, job durations are back within 30 % of the target after at most 5 jobs', () => {
  const trace = simulate(70, (i) => (i < 35 ? 0.05 : 0.1), initialTunerState(1_000, SETTINGS));
  assert.ok(
    Math.abs(at(trace, 34).ms - 500) <= 0.15 * 500,
    `before the change the jobs were on target (${at(trace, 34).ms.toFixed(0)} ms)`,
  );
  assert.ok(at(trace, 35).ms > 1.7 * 500, 'the first job after the change takes about twice the target');
  for (const [i, job] of trace.slice(40).entries()) {
    assert.ok(Math.abs(job.ms - 500) <= 0.3 * 500, `job ${40 + i} took ${job.ms.toFixed(0)} ms, outside 350..650`);
  }
  for (let i = 36; i < 40; i++)
    assert.ok(at(trace, i).size >= Math.round(at(trace, i - 1).size * TUNER.MAX_SHRINK) - 1, `job ${i} shrank more than 20 %`);
});

test('the size never grows right after a failure, neither at the failure nor at the next success', () => {
  let state = initialTunerState(1_000, SETTINGS);
  for (let i = 0; i < 3; i++) state = recordJob(state, SETTINGS, { ok: true, rows: state.batchSize, durationMs: 50 }); // far below target: growing
  const before = state.batchSize;
  assert.equal(
    recordJob(state, SETTINGS, { ok: true, rows: before, durationMs: 50 }).batchSize,
    Math.round(before * 1.1),
    'a fast job would grow the size',
  );
  const failed = recordJob(state, SETTINGS, { ok: false, rows: before, durationMs: 120_000 });
  assert.equal(failed.batchSize, before, 'a failure does not grow the size');
  assert.deepEqual(failed.samples, state.samples, 'a failure adds no sample');
  const next = recordJob(failed, SETTINGS, { ok: true, rows: before, durationMs: 50 });
  assert.equal(next.batchSize, before, 'the decision right after a failure does not grow either');
  assert.ok(recordJob(next, SETTINGS, { ok: true, rows: before, durationMs: 50 }).batchSize > before, 'later fast jobs grow it again');
});

test('the size stays within the bounds and the state survives a JSON round trip unchanged in effect', () => {
  const bounded: BatchTunerSettings = { targetJobMs: 500, minBatchSize: 2_000, maxBatchSize: 3_000 };
  assert.equal(initialTunerState(10, bounded).batchSize, 2_000);
  const fast = simulate(30, () => 0.001, initialTunerState(2_000, bounded), bounded);
  assert.ok(fast.every((j) => j.size >= 2_000 && j.size <= 3_000));
  assert.equal(at(fast, fast.length - 1).size, 3_000);
  const slow = simulate(30, () => 10, initialTunerState(3_000, bounded), bounded);
  assert.equal(at(slow, slow.length - 1).size, 2_000);

  let state = initialTunerState(5_000, SETTINGS);
  for (let i = 0; i < 25; i++) state = recordJob(state, SETTINGS, { ok: i !== 7, rows: state.batchSize, durationMs: 100 + i * 40 });
  assert.equal(state.samples.length, TUNER.WINDOW, 'only the last WINDOW jobs are kept');
  const copy = JSON.parse(JSON.stringify(state)) as BatchTunerState;
  const outcome = { ok: true, rows: state.batchSize, durationMs: 900 };
  assert.deepEqual(recordJob(copy, SETTINGS, outcome), recordJob(state, SETTINGS, outcome));
});

test('tuning settings of the wrong type or out of range are refused with a code', () => {
  assert.equal(checkTunerSettings(undefined), undefined);
  assert.equal(checkTunerSettings({ targetJobMs: 2_000, minBatchSize: 500 }), undefined);
  const cases: [unknown, string, RegExp][] = [
    ['fast', ErrorCode.INVALID_INPUT, /must be a JSON object/],
    [{ targetJobMs: '500' }, ErrorCode.INVALID_INPUT, /targetJobMs must be an integer from 0 to 3600000; got "500"/],
    [{ targetJobMs: -1 }, ErrorCode.INVALID_INPUT, /targetJobMs must be an integer/],
    [{ minBatchSize: 0 }, ErrorCode.INVALID_BATCH_SIZE, /minBatchSize must be an integer from 1 to 1000000/],
    [{ maxBatchSize: 2.5 }, ErrorCode.INVALID_BATCH_SIZE, /maxBatchSize/],
    [
      { minBatchSize: 5_000, maxBatchSize: 4_000 },
      ErrorCode.INVALID_BATCH_SIZE,
      /minBatchSize \(5000\) must not exceed maxBatchSize \(4000\)/,
    ],
    [{ batchSize: 10 }, ErrorCode.INVALID_INPUT, /unknown tuning setting "batchSize"/],
  ];
  for (const [input, code, message] of cases) {
    const problem = checkTunerSettings(input);
    assert.equal(problem?.code, code, JSON.stringify(input));
    assert.match(problem.message, message);
  }
  assert.deepEqual(DEFAULT_TUNER_SETTINGS, { targetJobMs: 500, minBatchSize: 1_000, maxBatchSize: 1_000_000 });
});

test('bounds a definition leaves out default to 1000..1000000, widened to take in its own batch size', () => {
  assert.deepEqual(resolveTunerSettings(5_000), { targetJobMs: 500, minBatchSize: 1_000, maxBatchSize: 1_000_000 });
  assert.deepEqual(resolveTunerSettings(100), { targetJobMs: 500, minBatchSize: 100, maxBatchSize: 1_000_000 });
  assert.deepEqual(resolveTunerSettings(5_000, { targetJobMs: 0, maxBatchSize: 500 }), {
    targetJobMs: 0,
    minBatchSize: 500,
    maxBatchSize: 500,
  });
  assert.equal(checkTunerSettings(resolveTunerSettings(100, { maxBatchSize: 50 })), undefined, 'a lone max never crosses the default min');
});

test('settings a configure request leaves out are not checked against defaults', () => {
  assert.equal(checkGivenTunerSettings({ maxBatchSize: 500, minBatchSize: undefined }), undefined);
  assert.equal(checkGivenTunerSettings({ targetJobMs: 0 }), undefined, '0 turns tuning off');
  assert.equal(checkGivenTunerSettings({ minBatchSize: 600, maxBatchSize: 500 })?.code, ErrorCode.INVALID_BATCH_SIZE);
  assert.equal(checkGivenTunerSettings({ targetJobMs: 3_600_001 })?.code, ErrorCode.INVALID_INPUT);
});
