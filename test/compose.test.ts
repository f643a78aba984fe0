// Static checks of the Docker stack (docker-compose.yml, Dockerfile): nothing here needs a Docker engine.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { SEARCH_ATTRIBUTES } from '../src/contract/search-attributes';

const ROOT = path.join(__dirname, '..');
const compose = parse(fs.readFileSync(path.join(ROOT, 'docker-compose.yml'), 'utf8'));
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- parsed YAML: the assertions below check its shape
const services: Record<string, any> = compose.services ?? {};
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- as above
const service = (name: string): any => {
  assert.ok(services[name], `docker-compose.yml has no "${name}" service`);
  return services[name];
};

/** Environment as a map, whichever of compose's two syntaxes (map or KEY=VALUE list) is used. */
function env(name: string): Record<string, string> {
  const raw = service(name).environment ?? {};
  if (!Array.isArray(raw)) return Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, String(v)]));
  return Object.fromEntries(raw.map((entry: string) => [entry.split('=')[0], entry.slice(entry.indexOf('=') + 1)]));
}

/** depends_on as service -> condition, whichever syntax is used. */
function dependsOn(name: string): Record<string, string> {
  const raw = service(name).depends_on ?? {};
  if (Array.isArray(raw)) return Object.fromEntries(raw.map((s: string) => [s, 'service_started']));
  return Object.fromEntries(
    Object.entries(raw as Record<string, { condition?: string } | null>).map(([s, v]) => [s, v?.condition ?? 'service_started']),
  );
}

/** What compose would produce with no variables set: ${X:-d} and ${X-d} become d, $$ becomes $. */
const withDefaults = (text: string): string =>
  text.replace(/\$\{\w+(?::?-([^}]*))?\}/g, (_m, d: string | undefined) => d ?? '').replace(/\$\$/g, '$');

const commandText = (name: string): string => [service(name).entrypoint, service(name).command].flat().filter(Boolean).join('\n');

test('the stack has postgres, the temporal schema job, three temporal nodes, temporal-setup, temporal-ui, the bbm worker, prometheus and grafana', () => {
  for (const name of [
    'postgres',
    'temporal-schema',
    'temporal-1',
    'temporal-2',
    'temporal-3',
    'temporal-setup',
    'temporal-ui',
    'bbm-worker',
    'prometheus',
    'grafana',
  ])
    service(name);
});

test('postgres reports its health with pg_isready and keeps its data in a named volume', () => {
  const pg = service('postgres');
  assert.match([pg.healthcheck?.test].flat().join(' '), /pg_isready/);
  const data = (pg.volumes ?? []).find((v: string) => String(v).endsWith(':/var/lib/postgresql/data'));
  assert.ok(data, 'no volume mounted at /var/lib/postgresql/data');
  assert.ok(Object.keys(compose.volumes ?? {}).includes(String(data).split(':')[0] ?? ''), 'the data volume is not a named volume');
});

test('postgres creates the bbm, temporal and temporal_visibility databases on first start', () => {
  const init = service('postgres').volumes.find((v: string) => String(v).includes('/docker-entrypoint-initdb.d/'));
  assert.ok(init, 'no init script mounted into /docker-entrypoint-initdb.d');
  const sql = fs.readFileSync(path.join(ROOT, String(init).split(':')[0] ?? ''), 'utf8');
  for (const db of ['bbm', 'temporal', 'temporal_visibility']) assert.match(sql, new RegExp(`CREATE DATABASE ${db}\\b`));
  assert.equal(env('postgres').POSTGRES_DB, 'bbm');
});

test('every temporal node persists to the postgres service, once its schemas are set up, and reports its health', () => {
  assert.equal(dependsOn('temporal-schema').postgres, 'service_healthy');
  for (const name of ['temporal-1', 'temporal-2', 'temporal-3']) {
    const e = env(name);
    assert.equal(e.TEMPORAL_POSTGRES_HOST, 'postgres');
    assert.equal(e.TEMPORAL_POSTGRES_PORT, '5432');
    assert.equal(e.TEMPORAL_DB, 'temporal');
    assert.equal(e.TEMPORAL_VISIBILITY_DB, 'temporal_visibility');
    assert.ok(service(name).healthcheck?.test, `${name} has no healthcheck, so nothing can wait for it`);
  }
  assert.equal(dependsOn('temporal-1')['temporal-schema'], 'service_completed_successfully');
});

test('the web UI talks to the Temporal frontend at temporal:7233', () => {
  assert.equal(env('temporal-ui').TEMPORAL_ADDRESS, 'temporal:7233');
});

test('temporal-setup registers each bbm search attribute with its type', () => {
  const expected = { BbmRepository: 'Keyword', BbmMigration: 'Keyword', BbmStatus: 'Keyword', BbmProgress: 'Double' };
  assert.deepEqual({ ...SEARCH_ATTRIBUTES }, expected, 'the code writes different search attributes than this stack registers');
  const registered: Record<string, string> = {};
  for (const line of withDefaults(commandText('temporal-setup')).split('\n')) {
    if (!/temporal operator search-attribute create\b/.test(line)) continue;
    assert.match(line, /--address temporal:7233\b/);
    assert.match(line, /--namespace default\b/);
    for (const m of line.matchAll(/--name\s+(\w+)\s+--type\s+(\w+)/g)) registered[m[1]!] = m[2]!;
  }
  assert.deepEqual(registered, expected);
  assert.match(commandText('temporal-setup'), /already exists/, 'rerunning the setup must tolerate existing attributes');
  assert.match(
    withDefaults(commandText('temporal-setup')),
    /temporal operator namespace create --address temporal:7233 --namespace default\b/,
  );
  assert.equal(dependsOn('temporal-setup')['temporal-1'], 'service_healthy');
});

test('the worker service reaches Postgres and Temporal by their service names', () => {
  const worker = service('bbm-worker');
  assert.ok(worker.build === '.' || worker.build?.context === '.', 'bbm-worker is not built from the repository root');
  assert.deepEqual(worker.command, ['node', 'bin/bbm.js', 'worker']);
  const e = env('bbm-worker');
  const db = new URL(withDefaults(e.DATABASE_URL ?? ''));
  assert.equal(db.protocol, 'postgres:');
  assert.equal(db.hostname, 'postgres');
  assert.equal(db.pathname, '/bbm');
  assert.equal(e.TEMPORAL_ADDRESS, 'temporal:7233');
  assert.equal(e.TEMPORAL_NAMESPACE, 'default');
  assert.equal(e.BBM_TASK_QUEUE, 'bbm');
  assert.equal(e.BBM_METRICS_PORT, '9464');
});

test('the worker starts only after postgres, temporal and the search attributes are ready', () => {
  assert.deepEqual(dependsOn('bbm-worker'), {
    postgres: 'service_healthy',
    'temporal-1': 'service_healthy',
    'temporal-setup': 'service_completed_successfully',
  });
  assert.equal(service('bbm-worker').stop_signal, 'SIGTERM');
  assert.ok(service('bbm-worker').stop_grace_period, 'the worker needs longer than the default 10s to drain');
});

test('every published port is bound to 127.0.0.1 only', () => {
  let count = 0;
  for (const [name, svc] of Object.entries(services)) {
    for (const port of svc.ports ?? []) {
      count++;
      const parts = withDefaults(String(port)).split(':');
      const hostIp = typeof port === 'object' ? port.host_ip : parts.length === 3 ? parts[0] : undefined;
      assert.equal(hostIp, '127.0.0.1', `${name} publishes ${JSON.stringify(port)} on every interface`);
    }
  }
  assert.ok(count >= 4, 'expected postgres, temporal, the UI and worker metrics to be published');
});

test('no service hard-codes a password', () => {
  for (const name of Object.keys(services)) {
    for (const [key, value] of Object.entries(env(name))) {
      if (/PASSWORD|PWD|SECRET/i.test(key)) assert.match(value, /^\$\{[^}]+\}$/, `${name}.${key} is a literal`);
      const userinfo = /^\w+:\/\/[^:/@]+:(.+)@/.exec(value);
      if (userinfo) assert.match(userinfo[1]!, /^\$\{[^}]+\}$/, `${name}.${key} embeds a literal password`);
    }
  }
});

test('the Dockerfile runs the worker as the unprivileged node user', () => {
  const lines = fs
    .readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8')
    .split('\n')
    .map((l) => l.trim());
  const instr = (kw: string) => lines.filter((l) => l.toUpperCase().startsWith(`${kw} `)).map((l) => l.slice(kw.length + 1).trim());
  assert.match(instr('FROM')[0] ?? '', /^node:20-bookworm-slim\b/);
  assert.equal(instr('USER').at(-1), 'node', 'the last USER instruction must be node');
  assert.deepEqual(JSON.parse(instr('CMD').at(-1) ?? 'null'), ['node', 'bin/bbm.js', 'worker']);
  assert.ok(
    instr('RUN').some((r) => /npm ci\b.*--omit=dev/.test(r)),
    'dependencies are not installed with npm ci --omit=dev',
  );
});

// ---- metrics: Prometheus scrapes the workers, Grafana shows bbm's dashboard ----------------------

const readYaml = (file: string) => parse(fs.readFileSync(path.join(ROOT, file), 'utf8'));
/** The compose volume `./host:container[:ro]` of `name` whose host side is `host`, as its container path. */
function mountOf(name: string, host: string): string | undefined {
  const volume = (service(name).volumes ?? []).map(String).find((v: string) => v.split(':')[0] === host);
  return volume?.split(':')[1];
}

test('prometheus scrapes every bbm-worker replica on its metrics port, by the service name', () => {
  const container = mountOf('prometheus', './deploy/prometheus/prometheus.yml');
  assert.ok(container, 'deploy/prometheus/prometheus.yml is not mounted into prometheus');
  assert.ok(commandText('prometheus').includes(`--config.file=${container}`), 'prometheus does not load the mounted config');
  const config = readYaml('deploy/prometheus/prometheus.yml');
  const job = config.scrape_configs?.find((j: { job_name: string }) => j.job_name === 'bbm-worker');
  assert.ok(job, 'no bbm-worker scrape job');
  const sd = job.dns_sd_configs?.[0];
  assert.deepEqual(sd?.names, ['bbm-worker']);
  assert.equal(String(sd?.port), env('bbm-worker').BBM_METRICS_PORT);
  assert.equal(job.metrics_path ?? '/metrics', '/metrics');
  assert.equal(dependsOn('prometheus')['bbm-worker'], 'service_started');
});

test('grafana provisions the prometheus data source and the dashboard folder it mounts', () => {
  const provisioning = mountOf('grafana', './deploy/grafana/provisioning');
  assert.equal(provisioning, '/etc/grafana/provisioning');
  const datasource = readYaml('deploy/grafana/provisioning/datasources/prometheus.yml').datasources?.[0];
  assert.equal(datasource?.type, 'prometheus');
  assert.equal(datasource?.url, 'http://prometheus:9090');
  const provider = readYaml('deploy/grafana/provisioning/dashboards/bbm.yml').providers?.[0];
  assert.equal(provider?.type, 'file');
  assert.equal(
    mountOf('grafana', './deploy/grafana/dashboards'),
    provider?.options?.path,
    'the dashboards are not mounted where the provider looks',
  );
  assert.equal(dependsOn('grafana').prometheus, 'service_started');
});

test("the dashboard's queries use only metrics bbm exports, and cover progress, rows/s, job duration, failures and throttling", async () => {
  const dashboard = JSON.parse(fs.readFileSync(path.join(ROOT, 'deploy/grafana/dashboards/bbm.json'), 'utf8'));
  const { BbmMetrics } = await import('../src/metrics');
  const exported = new Set<string>();
  for (const m of await new BbmMetrics().registry.getMetricsAsJSON()) {
    exported.add(m.name);
    if (String(m.type) === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) exported.add(m.name + suffix);
  }
  const ids = new Set<number>();
  const used = new Set<string>();
  for (const panel of dashboard.panels ?? []) {
    assert.ok(!ids.has(panel.id), `panel id ${panel.id} is used twice`);
    ids.add(panel.id);
    assert.equal(panel.datasource?.uid, '${datasource}', `panel "${panel.title}" does not use the data source variable`);
    assert.ok(panel.targets?.length > 0, `panel "${panel.title}" has no query`);
    for (const target of panel.targets) for (const name of String(target.expr).match(/\bbbm_\w+/g) ?? []) used.add(name);
  }
  assert.deepEqual(
    [...used].filter((n) => !exported.has(n)),
    [],
    'the dashboard queries metrics bbm does not export',
  );
  for (const needed of [
    'bbm_migration_progress_percent',
    'bbm_migrated_tuples_total',
    'bbm_job_duration_seconds_bucket',
    'bbm_failures_total',
    'bbm_throttled_seconds_total',
  ])
    assert.ok(used.has(needed), `no panel shows ${needed}`);
  const variable = dashboard.templating?.list?.find((v: { type: string }) => v.type === 'datasource');
  assert.equal(variable?.query, 'prometheus');
  assert.equal(env('grafana').GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH, `${mountOf('grafana', './deploy/grafana/dashboards')}/bbm.json`);
});
