import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_KNOBS } from '../../src/knobs';
import { enqueuerWorkflowId, isRepositoryKey, REPOSITORY_KEY_PATTERN, repositoryWorkflowId } from '../../src/contract/ids';
import {
  capacityRequestProblem,
  configureRequestProblem,
  enqueuerStartProblem,
  parseControlRequest,
  repositoryInputProblem,
} from '../../src/contract/validate';

const ID = repositoryWorkflowId('public.images');

test('repository keys: letters, digits and _ . : / @ - up to 200 characters, starting with a letter or digit', () => {
  for (const key of ['public.images', 'tenant-7/orders', 'a', 'x@y:z_1', 'A'.repeat(200)]) assert.ok(isRepositoryKey(key), key);
  for (const key of ['', '-lead', 'has space', "quote'", 'A'.repeat(201), 42, null, 'semi;colon'])
    assert.equal(isRepositoryKey(key), false, String(key));
  assert.equal(REPOSITORY_KEY_PATTERN.test('public.images'), true);
});

test('a well-formed repository workflow input passes', () => {
  assert.equal(repositoryInputProblem({ repository: 'public.images' }, ID), undefined);
  assert.equal(repositoryInputProblem({ repository: 'public.images', knobs: { maxJobPerBatch: 3 }, retryFailed: true }, ID), undefined);
});

test('a repository workflow input that is not an object, has a bad key or a mismatching workflow ID is refused with INVALID_INPUT', () => {
  for (const input of [null, 'public.images', [], 42]) assert.equal(repositoryInputProblem(input, ID)?.code, 'INVALID_INPUT');
  assert.match(repositoryInputProblem({ repository: 'bad key' }, ID)?.message ?? '', /"repository" must be a repository key/);
  const mismatch = repositoryInputProblem({ repository: 'public.images' }, 'bbm-repository:other');
  assert.match(mismatch?.message ?? '', /must be "bbm-repository:public.images"/);
});

test('bad knobs and a non-boolean retryFailed in the repository input are refused, naming the field', () => {
  assert.match(repositoryInputProblem({ repository: 'public.images', knobs: { nope: 1 } }, ID)?.message ?? '', /unknown knob "nope"/);
  assert.match(
    repositoryInputProblem({ repository: 'public.images', retryFailed: 'yes' }, ID)?.message ?? '',
    /"retryFailed" must be true or false/,
  );
});

test('configure accepts knobs with a batch size, and refuses a bad batch size with INVALID_BATCH_SIZE', () => {
  assert.equal(configureRequestProblem({ maxJobPerBatch: 2, batchSize: 50, migration: 'm' }, { ...DEFAULT_KNOBS }), undefined);
  assert.equal(configureRequestProblem({}, { ...DEFAULT_KNOBS }), undefined);
  for (const batchSize of [0, -5, 1.5, '10', 1_000_001])
    assert.equal(configureRequestProblem({ batchSize }, { ...DEFAULT_KNOBS })?.code, 'INVALID_BATCH_SIZE', String(batchSize));
});

test('configure refuses non-objects, bad knobs and a non-string migration with INVALID_INPUT', () => {
  for (const request of [null, [], 'fast', 3]) assert.equal(configureRequestProblem(request, { ...DEFAULT_KNOBS })?.code, 'INVALID_INPUT');
  assert.match(
    configureRequestProblem({ maxJobPerBatch: 0 }, { ...DEFAULT_KNOBS })?.message ?? '',
    /maxJobPerBatch must be an integer from 1/,
  );
  assert.equal(configureRequestProblem({ migration: 7 }, { ...DEFAULT_KNOBS })?.code, 'INVALID_INPUT');
});

test('configure checks delays against the knobs in force, not the defaults', () => {
  const current = { ...DEFAULT_KNOBS, minDelayMs: 500, maxDelayMs: 600 };
  assert.match(
    configureRequestProblem({ maxDelayMs: 400 }, current)?.message ?? '',
    /minDelayMs \(500\) must not exceed maxDelayMs \(400\)/,
  );
});

test('pause, resume and retry payloads: nothing or {} targets every migration, {"migration"} one of them', () => {
  for (const payload of [undefined, null, {}]) assert.deepEqual(parseControlRequest('pause', payload), { request: { kind: 'pause' } });
  assert.deepEqual(parseControlRequest('retry', { migration: 'm1' }), { request: { kind: 'retry', migration: 'm1' } });
  assert.deepEqual(parseControlRequest('resume', { migration: 'm1' }), { request: { kind: 'resume', migration: 'm1' } });
});

test('a malformed control payload is refused with a message quoting it, never guessed at', () => {
  for (const payload of ['everything', { migration: 42 }, { migration: ['a'] }, { migration: '' }, { migration: 'x'.repeat(201) }, [1]]) {
    const parsed = parseControlRequest('pause', payload);
    assert.ok('refusal' in parsed, JSON.stringify(payload));
    assert.equal(parsed.refusal.code, 'INVALID_INPUT');
    assert.match(parsed.refusal.message, /ignored a malformed pause signal/);
  }
});

test('the enqueuer start input and its workflow ID are checked together', () => {
  const id = enqueuerWorkflowId('bbm');
  assert.equal(enqueuerStartProblem({}, id, 'bbm'), undefined);
  assert.equal(enqueuerStartProblem({ capacity: 5, recheckSeconds: 30 }, id, 'bbm'), undefined);
  assert.match(enqueuerStartProblem({ capacity: -1 }, id, 'bbm')?.message ?? '', /Invalid enqueuer input: capacity must be an integer/);
  assert.match(enqueuerStartProblem({}, 'bbm-enqueuer/other', 'bbm')?.message ?? '', /must be "bbm-enqueuer\/bbm"/);
  assert.equal(enqueuerStartProblem([], id, 'bbm')?.code, 'INVALID_INPUT');
});

test('setCapacity takes {"capacity": 0..1000} and nothing else', () => {
  assert.equal(capacityRequestProblem({ capacity: 0 }), undefined);
  assert.equal(capacityRequestProblem({ capacity: 1000 }), undefined);
  for (const request of [{ capacity: 1001 }, { capacity: 2.5 }, { capacity: '3' }, {}, null, 5])
    assert.equal(capacityRequestProblem(request)?.code, 'INVALID_INPUT', JSON.stringify(request));
});
