import assert from 'node:assert/strict';
import os from 'node:os';
import { test } from 'node:test';
import { parseSince, resolveActor } from '../../src/audit/actor';
import { actorProblem, AUDIT_ACTIONS } from '../../src/contract/audit';
import { actorFromIdentity } from '../../src/audit/origin';
import { ErrorCode, isBbmError } from '../../src/errors';

const NOW = new Date('2026-11-30T12:00:00Z');

test('--since takes a duration back from now in seconds, minutes, hours, days or weeks', () => {
  assert.equal(parseSince('90s', NOW).toISOString(), '2026-11-30T11:58:30.000Z');
  assert.equal(parseSince('15m', NOW).toISOString(), '2026-11-30T11:45:00.000Z');
  assert.equal(parseSince('1h', NOW).toISOString(), '2026-11-30T11:00:00.000Z');
  assert.equal(parseSince('2d', NOW).toISOString(), '2026-11-28T12:00:00.000Z');
  assert.equal(parseSince(' 1w ', NOW).toISOString(), '2026-11-23T12:00:00.000Z');
});

test('--since takes an ISO 8601 instant, with an offset or a date alone', () => {
  assert.equal(parseSince('2026-11-30T10:00:00Z', NOW).toISOString(), '2026-11-30T10:00:00.000Z');
  assert.equal(parseSince('2026-11-30T10:00:00+02:00', NOW).toISOString(), '2026-11-30T08:00:00.000Z');
  assert.equal(parseSince('2026-11-29', NOW).toISOString(), '2026-11-29T00:00:00.000Z');
});

test('an unusable --since is refused with INVALID_INPUT naming the accepted forms', () => {
  for (const bad of ['yesterday', '1y', '-1h', '2026-13-45T99:00:00Z', '', '1 hour', "1h'; DROP TABLE x"]) {
    assert.throws(
      () => parseSince(bad, NOW),
      (err: unknown) => isBbmError(err, ErrorCode.INVALID_INPUT) && /ISO 8601/.test(err.message),
      bad,
    );
  }
});

test('the actor defaults to the OS user and keeps a given one', () => {
  assert.equal(resolveActor(), os.userInfo().username);
  assert.equal(resolveActor('alice@example.com'), 'alice@example.com');
  assert.equal(resolveActor('temporal-cli:ops@host-1'), 'temporal-cli:ops@host-1');
  assert.equal(resolveActor('Zoë Ødegård'), 'Zoë Ødegård');
});

test('an empty, too long, space-led or control-character actor is refused with INVALID_INPUT', () => {
  for (const bad of ['', ' alice', 'a'.repeat(201), 'ali\nce', 'bell\u0007', 'rtl\u202e']) {
    assert.ok(actorProblem(bad), JSON.stringify(bad));
    assert.throws(
      () => resolveActor(bad),
      (err: unknown) => isBbmError(err, ErrorCode.INVALID_INPUT),
    );
  }
  assert.equal(actorProblem('a'.repeat(200)), undefined);
  assert.ok(actorProblem(42));
});

test('the recorded actions are the ones issue 14 lists', () => {
  assert.deepEqual([...AUDIT_ACTIONS].sort(), [
    'batch_size',
    'cancel',
    'capacity',
    'configure',
    'create',
    'finalize',
    'pause',
    'resume',
    'retry',
    'schedule_create',
    'schedule_delete',
  ]);
});

test('a Temporal identity becomes a storable actor: control characters dropped, cut to 200 characters, empty is none', () => {
  assert.equal(actorFromIdentity('temporal-cli:ops@host'), 'temporal-cli:ops@host');
  assert.equal(actorFromIdentity('12345@vm@'), '12345@vm@');
  assert.equal(actorFromIdentity('  evil\nname\u0000'), 'evilname');
  assert.equal(actorFromIdentity('x'.repeat(500))?.length, 200);
  assert.equal(actorFromIdentity(''), undefined);
  assert.equal(actorFromIdentity('\n\t'), undefined);
  assert.equal(actorFromIdentity(undefined), undefined);
});
