import { redactUrl, type BbmConfig } from '../config';
import { checkConnection, createPool } from '../db/pool';
import { BbmError, ErrorCode, isBbmError } from '../errors';
import { connectClient } from '../temporal/connection';

/**
 * `npm start` (and `npm test`) reuse the servers DATABASE_URL and TEMPORAL_ADDRESS point at
 * instead of starting their own. A shell still holding the exports of an earlier, stopped
 * `npm start` would make them fail with a bare "cannot connect": check the reused servers first
 * and say which settings sent bbm there and how to let it start its own.
 */
export async function checkReusedServices(config: BbmConfig): Promise<void> {
  if (config.databaseUrl) {
    const pool = createPool({ url: config.databaseUrl, max: 1, applicationName: 'bbm-dev' });
    try {
      await checkConnection(pool, config.databaseUrl);
    } catch (err) {
      throw reusedServiceError(config, 'Postgres', err);
    } finally {
      await pool.end().catch(() => undefined);
    }
  }
  if (config.temporal.address) {
    try {
      const client = await connectClient(config);
      await client.connection.close();
    } catch (err) {
      throw reusedServiceError(config, 'Temporal', err);
    }
  }
}

function reusedServiceError(config: BbmConfig, service: 'Postgres' | 'Temporal', err: unknown): unknown {
  if (!isBbmError(err, ErrorCode.CANNOT_CONNECT)) return err;
  return new BbmError(ErrorCode.CANNOT_CONNECT, reusedServicesMessage(config, err.message), { service, ...err.details }, { cause: err });
}

/**
 * The message, from the configuration and the connection error (which already names the
 * address, password redacted): which settings are set and where they point, then what to do.
 * Pure, so it is unit tested; it never shows a password.
 */
export function reusedServicesMessage(config: BbmConfig, failure: string): string {
  const settings: string[] = [];
  const unsettable: string[] = [];
  const { databaseUrl: dbFrom, temporalAddress: temporalFrom } = config.origins;
  if (config.databaseUrl && dbFrom) {
    const where = redactUrl(config.databaseUrl);
    settings.push(dbFrom === 'flag' ? `--database-url ${where}` : `DATABASE_URL=${where}`);
    if (dbFrom === 'env') unsettable.push('DATABASE_URL');
  }
  if (config.temporal.address && temporalFrom) {
    const where = config.temporal.address;
    settings.push(
      temporalFrom === 'flag'
        ? `--temporal-address ${where}`
        : temporalFrom === 'env'
          ? `TEMPORAL_ADDRESS=${where}`
          : `the Temporal CLI profile's address ${where} (TEMPORAL_CONFIG_FILE / TEMPORAL_PROFILE)`,
    );
    if (temporalFrom === 'env') unsettable.push('TEMPORAL_ADDRESS');
  }
  const many = settings.length > 1;
  const advice = [
    unsettable.length > 0
      ? `If ${unsettable.length > 1 ? 'they are' : 'it is'} left over from an earlier \`npm start\`, unset ${unsettable.length > 1 ? 'them' : 'it'} (\`unset ${unsettable.join(' ')}\`) and \`npm start\` runs its own Postgres and Temporal.`
      : '',
    settings.some((s) => s.startsWith('--')) ? 'Without the flags, `bbm dev` runs its own services.' : '',
    `Otherwise start the server${many ? 's' : ''} ${many ? 'they point' : 'it points'} at.`,
  ];
  return [
    `${settings.join(' and ')} ${many ? 'are' : 'is'} set, so bbm uses ${many ? 'those servers' : 'that server'} instead of starting its own, but: ${failure}`,
    ...advice.filter(Boolean),
  ].join('\n');
}
