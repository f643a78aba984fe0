import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkAuditFilter, checkSelector } from '../../src/api/inputs';
import { ErrorCode, isBbmError } from '../../src/errors';

const refused = (field: string) => (err: unknown) => isBbmError(err, ErrorCode.INVALID_INPUT) && err.message.includes(field);

test('a selector string is a migration name, migration is an alias of name, and {} or nothing selects all', () => {
  assert.deepEqual(checkSelector('m1', 'pause'), { name: 'm1' });
  assert.deepEqual(checkSelector({ migration: 'm1' }, 'pause'), { name: 'm1' });
  assert.deepEqual(checkSelector({ name: 'm1', migration: 'm1', repository: 'r' }, 'pause'), { name: 'm1', repository: 'r' });
  assert.deepEqual(checkSelector({}, 'pause'), {});
  assert.deepEqual(checkSelector(undefined, 'pause'), {});
});

test('a selector with an unknown field, a non-string value or disagreeing names is refused naming the field', () => {
  assert.throws(() => checkSelector({ nme: 'm1' }, 'pause'), refused('"nme"'));
  assert.throws(() => checkSelector({ name: 1 }, 'resume'), refused('name'));
  assert.throws(() => checkSelector({ repository: '' }, 'resume'), refused('repository'));
  assert.throws(() => checkSelector({ name: 'a', migration: 'b' }, 'pause'), refused('disagree'));
  for (const bad of [null, 7, ['m1'], true]) assert.throws(() => checkSelector(bad, 'pause'), refused('selector'));
});

test('an audit filter takes since as a Date or the CLI forms and limit as an integer from 1 to 100000', () => {
  const now = new Date('2026-11-30T12:00:00Z');
  assert.deepEqual(checkAuditFilter({ since: '1h', limit: 5 }, now), { since: new Date('2026-11-30T11:00:00Z'), limit: 5 });
  assert.deepEqual(checkAuditFilter({ since: '2026-11-29' }, now).since, new Date('2026-11-29T00:00:00Z'));
  assert.throws(() => checkAuditFilter({ since: new Date('x') }), refused('since'));
  assert.throws(() => checkAuditFilter({ since: 5 }), refused('since'));
  for (const limit of [-5, 0, 2.5, 100_001, '10']) assert.throws(() => checkAuditFilter({ limit }), refused('limit'));
  assert.throws(() => checkAuditFilter({ repo: 'r' }), refused('"repo"'));
});
