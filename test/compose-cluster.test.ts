// Static check that docker-compose.yml runs the Temporal cluster the cluster tests prove: the same
// server version, schema steps, configuration file, command line and settings as the launcher
// (src/dev/temporal-cluster.ts). Nothing here needs a Docker engine.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { parse } from 'yaml';
import { TEMPORAL_CONFIG_DIR, TEMPORAL_SERVER_VERSION, TEMPORAL_UI_VERSION } from '../src/dev/temporal-cluster-tools';
import { temporalNodeArgs, temporalNodeEnv } from '../src/dev/temporal-node';
import { schemaConnectionArgs, temporalSchemaSteps } from '../src/dev/temporal-schema';

const ROOT = path.join(__dirname, '..');
const compose = parse(fs.readFileSync(path.join(ROOT, 'docker-compose.yml'), 'utf8'));
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- parsed YAML: the assertions below check its shape
const services: Record<string, any> = compose.services ?? {};
const NODES = Object.keys(services)
  .filter((name) => /^temporal-\d+$/.test(name))
  .sort();
const env = (name: string): Record<string, string> =>
  Object.fromEntries(Object.entries(services[name]?.environment ?? {}).map(([k, v]) => [k, String(v)]));
const withDefaults = (text: string): string => text.replace(/\$\{\w+(?::?-([^}]*))?\}/g, (_m, d: string | undefined) => d ?? '');
/** Where the service mounts deploy/temporal, the launcher's configuration folder. */
const configMount = (name: string): string | undefined =>
  (services[name]?.volumes ?? [])
    .map(String)
    .find((v: string) => path.resolve(ROOT, v.split(':')[0] ?? '') === TEMPORAL_CONFIG_DIR)
    ?.split(':')[1];

test("compose runs three temporal nodes of the launcher's server version, and the UI and admin tools of the matching versions", () => {
  assert.deepEqual(NODES, ['temporal-1', 'temporal-2', 'temporal-3']);
  for (const name of NODES) assert.equal(services[name].image, `temporalio/server:${TEMPORAL_SERVER_VERSION}`, name);
  for (const name of ['temporal-schema', 'temporal-setup'])
    assert.equal(services[name].image, `temporalio/admin-tools:${TEMPORAL_SERVER_VERSION}`, name);
  assert.equal(services['temporal-ui'].image, `temporalio/ui:${TEMPORAL_UI_VERSION}`);
});

test("every node starts from the launcher's configuration folder with the launcher's command line", () => {
  for (const name of NODES) {
    const mount = configMount(name);
    assert.ok(mount, `${name} does not mount deploy/temporal`);
    assert.deepEqual(services[name].entrypoint, ['temporal-server', ...temporalNodeArgs(mount)], name);
    // bbm.yaml names its dynamic config file relative to the working directory.
    assert.equal(services[name].working_dir, mount, name);
  }
  assert.ok(
    fs.existsSync(path.join(TEMPORAL_CONFIG_DIR, 'bbm.yaml')) && fs.existsSync(path.join(TEMPORAL_CONFIG_DIR, 'dynamicconfig.yaml')),
  );
});

test('the nodes set exactly the variables the launcher sets, and every variable the config reads', () => {
  const launcher = temporalNodeEnv({
    ip: '127.0.0.1',
    clusterAddress: 'x:7233',
    postgres: { host: 'h', port: 1, user: 'u' },
    databases: { database: 'temporal', visibilityDatabase: 'temporal_visibility' },
    numHistoryShards: 16,
  });
  const read = new Set([...fs.readFileSync(path.join(TEMPORAL_CONFIG_DIR, 'bbm.yaml'), 'utf8').matchAll(/env "(\w+)"/g)].map((m) => m[1]));
  // The one variable neither sets: the broadcast address defaults to the bind address.
  assert.deepEqual([...read].sort(), [...Object.keys(launcher), 'TEMPORAL_BROADCAST_ADDRESS'].sort());
  for (const name of NODES) assert.deepEqual(Object.keys(env(name)).sort(), Object.keys(launcher).sort(), name);
});

test('the nodes agree on what the cluster shares, and each binds and advertises an address of its own under the name `temporal`', () => {
  const shared = [
    'TEMPORAL_CLUSTER_ADDRESS',
    'TEMPORAL_NUM_HISTORY_SHARDS',
    'TEMPORAL_DB',
    'TEMPORAL_VISIBILITY_DB',
    'TEMPORAL_POSTGRES_HOST',
  ];
  for (const key of shared) assert.equal(new Set(NODES.map((n) => env(n)[key])).size, 1, `${key} differs between nodes`);
  assert.equal(env('temporal-1').TEMPORAL_NUM_HISTORY_SHARDS, '16', 'the launcher creates clusters with 16 history shards');
  const ips = NODES.map((n) => env(n).TEMPORAL_BIND_IP);
  assert.equal(new Set(ips).size, NODES.length, 'two nodes share an address');
  for (const name of NODES) {
    const net = services[name].networks?.default;
    assert.equal(net?.ipv4_address, env(name).TEMPORAL_BIND_IP, `${name} binds an address it does not have`);
    assert.ok(net?.aliases?.includes('temporal'), `${name} does not answer to \`temporal\``);
  }
  assert.equal(env('temporal-1').TEMPORAL_CLUSTER_ADDRESS, 'temporal:7233');
  assert.equal(env('bbm-worker').TEMPORAL_ADDRESS, 'temporal:7233', 'the worker must use the name of every frontend');
});

test('node 1 starts first (it records the cluster metadata), the others once it is healthy', () => {
  for (const name of NODES.slice(1)) assert.equal(services[name].depends_on?.['temporal-1']?.condition, 'service_healthy', name);
});

test("the schema job runs exactly the launcher's schema tool steps for the nodes' databases", () => {
  const schema = services['temporal-schema'];
  const e = env('temporal-1');
  const text = withDefaults([schema.entrypoint, schema.command].flat().join('\n'));
  const ran = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.startsWith('temporal-sql-tool '));
  const conn = schemaConnectionArgs({
    host: e.TEMPORAL_POSTGRES_HOST ?? '',
    port: Number(e.TEMPORAL_POSTGRES_PORT),
    user: e.TEMPORAL_POSTGRES_USER ?? '',
  });
  const expected = temporalSchemaSteps({ database: e.TEMPORAL_DB ?? '', visibilityDatabase: e.TEMPORAL_VISIBILITY_DB ?? '' }).map((step) =>
    ['temporal-sql-tool', ...conn, ...step].join(' '),
  );
  assert.deepEqual(ran, expected);
  assert.match(text, /set -eu/, 'a failing step must stop the job');
  assert.equal(
    env('temporal-schema').SQL_PASSWORD,
    e.TEMPORAL_POSTGRES_PASSWORD,
    "the schema tool logs in with the nodes' password, from the environment",
  );
});
