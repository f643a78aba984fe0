/**
 * Errors that mean "the database is not reachable right now", as opposed to "this statement is
 * wrong": a restart, a crash, a failover or a network cut. Retrying them soon is right, and they
 * say nothing about the job that met them. Pure module (no I/O), unit-tested.
 */

/** SQLSTATE classes and codes of lost or refused connections (PostgreSQL appendix A). */
const CONNECTION_SQLSTATES = new Set([
  '57P01', // admin_shutdown: the server is shutting down (fast or immediate)
  '57P02', // crash_shutdown: another backend crashed, every session is reset
  '57P03', // cannot_connect_now: the server is starting up or in recovery
  '53300', // too_many_connections: transient while a restarted server fills up again
]);

/** Node socket errors of a connection that could not be made or was cut. */
const SOCKET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);

/** node-postgres's messages for a connection lost mid-use or a pool that cannot connect in time. */
const PG_MESSAGES = [
  /^Connection terminated/i,
  /^Client has encountered a connection error and is not queryable/i,
  /^timeout exceeded when trying to connect/i,
  /^Client was closed and is not queryable/i,
];

/** True when `err` (or an error in its `cause` chain) is a lost or refused database connection. */
export function isConnectionError(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e && typeof e === 'object' && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const { code, message } = e as { code?: unknown; message?: unknown };
    if (typeof code === 'string' && (code.startsWith('08') || CONNECTION_SQLSTATES.has(code) || SOCKET_CODES.has(code))) return true;
    if (typeof message === 'string' && PG_MESSAGES.some((p) => p.test(message))) return true;
  }
  return false;
}
