import { idText, type Queryable } from './types';

/** Named queries over bbm.leases: one row per repository, tokens only ever grow. */

export interface Fence {
  repository: string;
  holder: string;
  /** bigint as exact decimal text (see src/engine/int8.ts). */
  token: string;
}

/**
 * Take the lease when it is free, expired, or already ours (same holder: a retried attempt of
 * the same workflow takes over at once). Every acquisition bumps the token, which fences off any
 * activity still running under the previous one. Returns undefined when someone else holds it.
 */
export async function tryAcquireLease(db: Queryable, repository: string, holder: string, ttlMs: number): Promise<Fence | undefined> {
  const { rows } = await db.query(
    `INSERT INTO bbm.leases AS l (repository, holder, token, expires_at)
     VALUES ($1, $2, 1, now() + make_interval(secs => $3 / 1000.0))
     ON CONFLICT (repository) DO UPDATE
       SET holder = EXCLUDED.holder, token = l.token + 1, acquired_at = now(), expires_at = EXCLUDED.expires_at
       WHERE l.holder = EXCLUDED.holder OR l.expires_at < now()
     RETURNING token`,
    [repository, holder, ttlMs],
  );
  return rows[0] ? { repository, holder, token: idText(rows[0].token) } : undefined;
}

/**
 * Confirm the fence and extend the lease in one statement. The row stays locked until the
 * caller's transaction ends, so no takeover can interleave with what that transaction writes.
 */
export async function holdAndRenewLease(db: Queryable, fence: Fence, ttlMs: number): Promise<boolean> {
  const { rowCount } = await db.query(
    `UPDATE bbm.leases SET expires_at = greatest(expires_at, now() + make_interval(secs => $4::float8 / 1000))
      WHERE repository = $1 AND holder = $2 AND token = $3`,
    [fence.repository, fence.holder, fence.token, ttlMs],
  );
  return rowCount === 1;
}

/** Extend a lease we still hold; false when it has been taken over. */
export async function renewLease(db: Queryable, fence: Fence, ttlMs: number): Promise<boolean> {
  const { rowCount } = await db.query(
    `UPDATE bbm.leases SET expires_at = now() + make_interval(secs => $4 / 1000.0)
      WHERE repository = $1 AND holder = $2 AND token = $3`,
    [fence.repository, fence.holder, fence.token, ttlMs],
  );
  return rowCount === 1;
}

/**
 * Inside a job's transaction, just before COMMIT: confirm the fence and hold a share lock on the
 * lease row until the commit, so a takeover (an UPDATE of that row) cannot slip in between.
 */
export async function holdsLease(db: Queryable, fence: Fence): Promise<boolean> {
  const { rowCount } = await db.query('SELECT 1 FROM bbm.leases WHERE repository = $1 AND holder = $2 AND token = $3 FOR SHARE', [
    fence.repository,
    fence.holder,
    fence.token,
  ]);
  return rowCount === 1;
}

/** Let the lease go by expiring it; the row stays so the token keeps growing. */
export async function releaseLease(db: Queryable, fence: Fence): Promise<boolean> {
  const { rowCount } = await db.query('UPDATE bbm.leases SET expires_at = now() WHERE repository = $1 AND holder = $2 AND token = $3', [
    fence.repository,
    fence.holder,
    fence.token,
  ]);
  return rowCount === 1;
}

export interface LeaseInfo {
  repository: string;
  holder: string;
  token: string;
  expiresAt: Date;
  active: boolean;
}

export async function leaseOf(db: Queryable, repository: string): Promise<LeaseInfo | undefined> {
  const { rows } = await db.query(
    'SELECT repository, holder, token, expires_at, expires_at > now() AS active FROM bbm.leases WHERE repository = $1',
    [repository],
  );
  const r = rows[0];
  return r
    ? {
        repository: String(r.repository),
        holder: String(r.holder),
        token: idText(r.token),
        expiresAt: r.expires_at as Date,
        active: Boolean(r.active),
      }
    : undefined;
}
