import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bbm, cliEnv, shown } from './helpers/cli';

// Nothing listens on port 1, so connections are refused.
const DEAD_TEMPORAL = '127.0.0.1:1';
const DEAD_POSTGRES = 'postgres://bbm:s3cret-pw@127.0.0.1:1/bbm';

test('an unreachable Temporal server exits 5 with a message naming the address', async () => {
  for (const args of [['repositories', 'start', 'x'], ['enqueue'], ['capacity'], ['run']]) {
    const env = cliEnv(args[0] === 'run' ? DEAD_POSTGRES : undefined, 'q', { TEMPORAL_ADDRESS: DEAD_TEMPORAL });
    const r = await bbm(args, env);
    assert.equal(r.code, 5, `${args.join(' ')}\n${shown(r)}`);
    assert.match(
      r.stderr,
      /^error\[CANNOT_CONNECT\]: Cannot connect to (Temporal at 127\.0\.0\.1:1 \(namespace default\)|Postgres at postgres:\/\/bbm:\*\*\*@127\.0\.0\.1:1\/bbm)/,
      args.join(' '),
    );
  }
});

test('an unreachable Postgres exits 5 and the password never appears in the output', async () => {
  for (const args of [['migrations', 'list'], ['worker'], ['setup', '--no-search-attributes']]) {
    const r = await bbm(args, cliEnv(DEAD_POSTGRES, 'q'));
    assert.equal(r.code, 5, `${args.join(' ')}\n${shown(r)}`);
    assert.match(r.stderr, /^error\[CANNOT_CONNECT\]: Cannot connect to Postgres at postgres:\/\/bbm:\*\*\*@127\.0\.0\.1:1\/bbm/);
    assert.doesNotMatch(r.stdout + r.stderr, /s3cret-pw/);
  }
  const doctor = await bbm(['doctor'], cliEnv(DEAD_POSTGRES, 'q', { TEMPORAL_ADDRESS: DEAD_TEMPORAL }));
  assert.equal(doctor.code, 5, shown(doctor));
  assert.match(doctor.stdout, /^postgres\s+NO\s+Cannot connect to Postgres/m);
  assert.match(doctor.stdout, /^temporal\s+NO\s+Cannot connect to Temporal/m);
  assert.doesNotMatch(doctor.stdout + doctor.stderr, /s3cret-pw/);
});

test('invalid settings and flags exit 2 and name the setting', async () => {
  const cases: [string[], Record<string, string | undefined>, RegExp][] = [
    [['migrations', 'list'], { DATABASE_URL: undefined }, /^error\[CONFIG_INVALID\]: DATABASE_URL is not set/],
    [
      ['migrations', 'list'],
      { DATABASE_URL: 'mysql://root:hunter2@db/x' },
      /^error\[CONFIG_INVALID\]: Invalid DATABASE_URL: "mysql:\/\/root:\*\*\*@db\/x"\. Expected a postgres:\/\/ or postgresql:\/\/ URL\./,
    ],
    [['migrations', 'list'], { BBM_METRICS_PORT: 'abc' }, /^error\[CONFIG_INVALID\]: Invalid BBM_METRICS_PORT: "abc"/],
    [['migrations', 'list', '--task-queue', 'no spaces'], {}, /^error\[CONFIG_INVALID\]: Invalid --task-queue: "no spaces"/],
    [['--log-level', 'loud', 'migrations', 'list'], {}, /^error\[INVALID_INPUT\]: option '--log-level <level>' argument 'loud' is invalid/],
    [['--temporal-address', 'not an address', 'capacity'], {}, /^error\[CONFIG_INVALID\]: Invalid --temporal-address/],
    [['migratoins', 'list'], {}, /^error\[INVALID_INPUT\]: unknown command 'migratoins'\n\(Did you mean migrations\?\)/],
    [['migrations', 'status', '--watch', '--interval', '0s', 'x'], {}, /argument '0s' is invalid\. must be a duration/],
  ];
  for (const [args, extra, message] of cases) {
    const r = await bbm(args, cliEnv('postgres://u@127.0.0.1:1/db', 'q', extra));
    assert.equal(r.code, 2, `${args.join(' ')}\n${shown(r)}`);
    assert.match(r.stderr, message, args.join(' '));
    assert.doesNotMatch(r.stderr, /hunter2/);
  }
});

test('help and version exit 0 and list the exit codes', async () => {
  const help = await bbm(['--help'], cliEnv(undefined, 'q'));
  assert.equal(help.code, 0);
  assert.match(
    help.stdout,
    /Exit codes: 0 ok, 1 unexpected, 2 bad input, 3 migration failed, 4 already running, 5 cannot connect, 6 not found, 7 not finished \(finalize\)\./,
  );
  for (const command of ['migrations', 'repositories', 'enqueue', 'capacity', 'schedule', 'run', 'worker', 'setup', 'doctor', 'dev'])
    assert.match(help.stdout, new RegExp(`^  ${command}\\b`, 'm'));
  const version = await bbm(['--version'], cliEnv(undefined, 'q'));
  assert.equal(version.code, 0);
  assert.match(version.stdout, /^\d+\.\d+\.\d+\n$/);
});
