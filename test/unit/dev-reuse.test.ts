import assert from 'node:assert/strict';
import { test } from 'node:test';
import { resolveConfig } from '../../src/config';
import { reusedServicesMessage } from '../../src/dev/reuse';

const FAILURE = 'Cannot connect to Postgres at postgres://me:***@db:5432/bbm: connect ECONNREFUSED.';

test('stale shell settings: the message names both variables and where they point, never the password, and says to unset them', () => {
  const config = resolveConfig({ DATABASE_URL: 'postgres://me:hunter2@db:5432/bbm', TEMPORAL_ADDRESS: 'tp:7233' });
  const message = reusedServicesMessage(config, FAILURE);
  assert.match(
    message,
    /^DATABASE_URL=postgres:\/\/me:\*\*\*@db:5432\/bbm and TEMPORAL_ADDRESS=tp:7233 are set, so bbm uses those servers instead of starting its own, but: Cannot connect/,
  );
  assert.match(message, /unset them \(`unset DATABASE_URL TEMPORAL_ADDRESS`\) and `npm start` runs its own Postgres and Temporal\./);
  assert.doesNotMatch(message, /hunter2/);
});

test('one stale variable is named alone, and settings given as flags are told apart from the environment', () => {
  const one = reusedServicesMessage(resolveConfig({ DATABASE_URL: 'postgres://db/bbm' }), FAILURE);
  assert.match(one, /^DATABASE_URL=postgres:\/\/db\/bbm is set, so bbm uses that server/);
  assert.match(one, /unset it \(`unset DATABASE_URL`\)/);
  assert.match(one, /Otherwise start the server it points at\.$/);

  const flags = reusedServicesMessage(
    resolveConfig({ TEMPORAL_ADDRESS: 'env-host:7233' }, { databaseUrl: 'postgres://u:pw@db/bbm', temporalAddress: 'flag-host:7233' }),
    FAILURE,
  );
  assert.match(flags, /^--database-url postgres:\/\/u:\*\*\*@db\/bbm and --temporal-address flag-host:7233 are set/);
  assert.match(flags, /Without the flags, `bbm dev` runs its own services\./);
  assert.doesNotMatch(flags, /unset|:pw@/);
});
