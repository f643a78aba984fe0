// Fast checks of the cluster launcher's pure parts: where binaries are looked for, when the cluster
// tests may skip, the schema steps, the Postgres login the nodes get, and the frontends host name.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { resolveConfig } from '../src/config';
import { postgresOf } from '../src/dev/cluster-stack';
import { FRONTENDS_HOST, privateHostsSupported, writeFrontendsName } from '../src/dev/frontends-name';
import { locateGoTool } from '../src/dev/go-tools';
import { clusterUnavailableReason, TEMPORAL_SERVER_TOOL } from '../src/dev/temporal-cluster-tools';
import { temporalSchemaSteps } from '../src/dev/temporal-schema';

const run = promisify(execFile);

function executable(dir: string, name: string): string {
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, name);
  fs.writeFileSync(file, '#!/bin/sh\n', { mode: 0o755 });
  return file;
}

test('a cluster binary is taken from its variable first, then PATH, then the tools folder', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'bbm-tools-'));
  const onPath = executable(path.join(root, 'path'), 'temporal-server');
  const cached = executable(path.join(root, 'tools', 'bin'), 'temporal-server');
  const explicit = executable(path.join(root, 'elsewhere'), 'my-server');
  const toolsDir = path.join(root, 'tools');
  assert.equal(
    locateGoTool(TEMPORAL_SERVER_TOOL, { explicit: { 'temporal-server': explicit }, searchPath: path.dirname(onPath), toolsDir }),
    explicit,
  );
  assert.equal(locateGoTool(TEMPORAL_SERVER_TOOL, { explicit: {}, searchPath: path.dirname(onPath), toolsDir }), onPath);
  assert.equal(locateGoTool(TEMPORAL_SERVER_TOOL, { explicit: {}, searchPath: '/nonexistent', toolsDir }), cached);
  assert.equal(
    locateGoTool(TEMPORAL_SERVER_TOOL, { explicit: {}, searchPath: '/nonexistent', toolsDir: path.join(root, 'none') }),
    undefined,
  );
  assert.throws(
    () => locateGoTool(TEMPORAL_SERVER_TOOL, { explicit: { 'temporal-server': path.join(root, 'missing') }, searchPath: '', toolsDir }),
    { code: 'TEMPORAL_CLI_MISSING' },
  );
  fs.rmSync(root, { recursive: true, force: true });
});

test('the cluster tests skip only without Go and without the binaries, and the reason says what to install', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'bbm-tools-'));
  const none = { server: undefined, sqlTool: undefined, uiServer: undefined };
  const noGo = { searchPath: '/nonexistent', standardGo: '/nonexistent/go' };
  assert.match(
    clusterUnavailableReason({ explicit: none, toolsDir: root, ...noGo }) ?? '',
    /no Go toolchain to build temporal-server and temporal-sql-tool/,
  );
  executable(path.join(root, 'bin'), 'temporal-server');
  executable(path.join(root, 'bin'), 'temporal-sql-tool');
  assert.equal(clusterUnavailableReason({ explicit: none, toolsDir: root, ...noGo }), undefined, 'built binaries need no Go');
  const go = executable(path.join(root, 'go', 'bin'), 'go');
  assert.equal(
    clusterUnavailableReason({
      explicit: none,
      toolsDir: path.join(root, 'empty'),
      searchPath: path.dirname(go),
      standardGo: '/nonexistent/go',
    }),
    undefined,
    'Go can build them',
  );
  fs.rmSync(root, { recursive: true, force: true });
});

test('schema setup creates, versions and upgrades both databases with the schemas compiled into the tool', () => {
  assert.deepEqual(temporalSchemaSteps({ database: 'temporal', visibilityDatabase: 'temporal_visibility' }), [
    ['--db', 'temporal', 'create-database'],
    ['--db', 'temporal', 'setup-schema', '-v', '0.0'],
    ['--db', 'temporal', 'update-schema', '--schema-name', 'postgresql/v12/temporal'],
    ['--db', 'temporal_visibility', 'create-database'],
    ['--db', 'temporal_visibility', 'setup-schema', '-v', '0.0'],
    ['--db', 'temporal_visibility', 'update-schema', '--schema-name', 'postgresql/v12/visibility'],
  ]);
});

test("the nodes log in to DATABASE_URL's server with its user and decoded password", () => {
  assert.deepEqual(postgresOf('postgres://app%40x:p%2Fw%3Ad@db.internal:6432/bbm'), {
    host: 'db.internal',
    port: 6432,
    user: 'app@x',
    password: 'p/w:d',
  });
  assert.deepEqual(postgresOf('postgres://postgres@127.0.0.1/bbm'), {
    host: '127.0.0.1',
    port: 5432,
    user: 'postgres',
    password: undefined,
  });
});

test(
  "a process run through the frontends name resolves it to every frontend, and the machine's /etc/hosts is unchanged",
  { skip: !privateHostsSupported() && 'needs root and unshare' },
  async () => {
    const before = fs.readFileSync('/etc/hosts', 'utf8');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bbm-frontends-'));
    const name = writeFrontendsName(dir, ['127.9.8.1', '127.9.8.2', '127.9.8.3'], 7233);
    assert.equal(name.address, `${FRONTENDS_HOST}:7233`);
    const { command, args } = name.wrap('getent', ['ahostsv4', FRONTENDS_HOST]);
    const { stdout } = await run(command, args);
    const addresses = new Set(
      stdout
        .split('\n')
        .map((l) => l.split(/\s+/)[0])
        .filter(Boolean),
    );
    assert.deepEqual([...addresses].sort(), ['127.9.8.1', '127.9.8.2', '127.9.8.3']);
    assert.equal(fs.readFileSync('/etc/hosts', 'utf8'), before);
    await assert.rejects(run('getent', ['ahostsv4', FRONTENDS_HOST]), 'the name must not leak outside the wrapped process');
    fs.rmSync(dir, { recursive: true, force: true });
  },
);

test("the worker's DNS load balancing re-resolves every 30 s by default, 0 turns it off, and a bad value names the setting", () => {
  assert.equal(resolveConfig({}).temporal.dnsRefreshSeconds, 30);
  assert.equal(resolveConfig({ BBM_TEMPORAL_DNS_REFRESH_S: '0' }).temporal.dnsRefreshSeconds, 0);
  assert.equal(resolveConfig({ BBM_TEMPORAL_DNS_REFRESH_S: '5' }).temporal.dnsRefreshSeconds, 5);
  assert.throws(() => resolveConfig({ BBM_TEMPORAL_DNS_REFRESH_S: '0.5' }), {
    code: 'CONFIG_INVALID',
    message: /BBM_TEMPORAL_DNS_REFRESH_S/,
  });
  assert.deepEqual(resolveConfig({ TEMPORAL_SERVER: '/opt/t/server' }).clusterBinaries, {
    server: '/opt/t/server',
    sqlTool: undefined,
    uiServer: undefined,
  });
});
