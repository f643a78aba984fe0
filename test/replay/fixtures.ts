import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { History } from '@temporalio/common/lib/proto-utils';
import * as proto from '@temporalio/proto';
import { patchProtobufRoot } from '@temporalio/proto/lib/patch-protobuf-root';
import { enqueuerWorkflowId } from '../../src/contract/ids';
import { WORKFLOW_TYPES } from '../../src/contract/workflows';

/** Recorded workflow histories (`npm run replay:record` writes them; test/unit/replay.test.ts replays them). */
export const FIXTURES_DIR = path.join(__dirname, 'fixtures');

/**
 * The SDK names a replay worker's task queue `<replayName>-<n>`, n counting the replay workers of
 * the process, and workflowInfo().taskQueue is that name during replay. The enqueuer refuses a
 * workflow ID that does not match its task queue, so its histories (recorded on any queue, in
 * production too) are replayed under the ID that matches the first replay worker's queue.
 */
export const REPLAY_NAME = 'bbm-replay';
export const REPLAY_TASK_QUEUE = `${REPLAY_NAME}-0`;

/** One line of fixtures/index.json: a history file and the workflow ID it was recorded under. */
export interface FixtureEntry {
  file: string;
  /** Replay needs the real ID: bbm's workflows refuse an ID that does not match their input. */
  workflowId: string;
  what: string;
  events: number;
}

interface ProtoJson {
  toJson(type: unknown, message: unknown): unknown;
  fromJson(type: unknown, json: unknown, options?: { ignoreUnknownFields?: boolean }): History | null;
}

/**
 * Proto JSON (the format of `temporal workflow show --output json`) with the protobufjs copy that
 * @temporalio/proto itself loads. The SDK's historyToJSON/historyFromJSON use @temporalio/common's
 * own copy, and when npm installs the two side by side (as it does here) they throw "type must be
 * a Type": protobufjs checks types with instanceof.
 */
function historyCodec(): { type: { fromObject(o: unknown): unknown }; json: ProtoJson } {
  const fromProto = createRequire(require.resolve('@temporalio/proto'));
  const json = fromProto('protobufjs/ext/protojson') as ProtoJson;
  const type = (patchProtobufRoot(proto) as unknown as { lookupType(name: string): { fromObject(o: unknown): unknown } }).lookupType(
    'temporal.api.history.v1.History',
  );
  return { type, json };
}

/** A fetched history as proto JSON text. */
export function historyToJson(history: History): string {
  const { type, json } = historyCodec();
  return JSON.stringify(json.toJson(type, type.fromObject(history)));
}

/** A history from proto JSON; unknown fields (a newer server) are ignored. */
export function historyFromJson(value: unknown): History {
  const { type, json } = historyCodec();
  const history = json.fromJson(type, value, { ignoreUnknownFields: true });
  if (!history) throw new TypeError('not a workflow history');
  return history;
}

/**
 * Every fixture with its history and the workflow ID to replay it under, ready for
 * Worker.runReplayHistories. Fixture sets of older versions can stay in subdirectories of
 * fixtures/, each with its own index.json: they are replayed too.
 */
export function loadFixtures(): Array<FixtureEntry & { replayId: string; history: History }> {
  const dirs = [
    FIXTURES_DIR,
    ...fs
      .readdirSync(FIXTURES_DIR, { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => path.join(FIXTURES_DIR, d.name)),
  ];
  return dirs.flatMap((dir) => {
    const indexFile = path.join(dir, 'index.json');
    if (!fs.existsSync(indexFile)) return [];
    const index = JSON.parse(fs.readFileSync(indexFile, 'utf8')) as FixtureEntry[];
    return index.map((entry) => {
      const history = historyFromJson(JSON.parse(fs.readFileSync(path.join(dir, entry.file), 'utf8')));
      const type = history.events?.[0]?.workflowExecutionStartedEventAttributes?.workflowType?.name;
      const replayId = type === WORKFLOW_TYPES.enqueuer ? enqueuerWorkflowId(REPLAY_TASK_QUEUE) : entry.workflowId;
      return { ...entry, file: path.relative(FIXTURES_DIR, path.join(dir, entry.file)), replayId, history };
    });
  });
}
