import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ownWakeUp } from '../../src/cli/commands/enqueuer';
import type { EnqueuerReport, WakeUpOutcome } from '../../src/contract/messages';

const wake = (wakeUp: number, reason: string, started: string[] = []): WakeUpOutcome => ({
  wakeUp,
  reason,
  started,
  alreadyRunning: [],
  noRepositoryFound: started.length === 0,
  atCapacity: false,
  at: `2026-01-01T00:00:0${wakeUp}.000Z`,
});

function report(recent: WakeUpOutcome[] | undefined): EnqueuerReport {
  const last = recent?.[recent.length - 1] ?? wake(9, 'self');
  return {
    capacity: 5,
    running: ['a', 'b'],
    started: last.started,
    alreadyRunning: [],
    noRepositoryFound: last.noRepositoryFound,
    atCapacity: false,
    reason: last.reason,
    wakeUps: last.wakeUp,
    startedTotal: 2,
    pending: 0,
    tracked: [],
    knobs: {},
    runs: 1,
    at: last.at,
    ...(recent ? { recent } : {}),
  };
}

test("enqueue's report is the wake-up that served its reason plus the self re-wakes it chained, not a later wake-up", () => {
  const recent = [wake(1, 'start'), wake(2, 'cli,schedule', ['a']), wake(3, 'self', ['b']), wake(4, 'self'), wake(5, 'repository:x')];
  const own = ownWakeUp(report(recent), 1, 'cli');
  assert.deepEqual([own.reason, own.started, own.noRepositoryFound, own.at], ['cli,schedule', ['a', 'b'], false, recent[1]?.at]);
  assert.deepEqual(ownWakeUp(report(recent), 2, 'cli').started, [], 'a wake-up before the one awaited is not ours');
  assert.equal(ownWakeUp(report(undefined), 0, 'cli').reason, 'self', 'an enqueuer without recent wake-ups: its latest report, as before');
});
