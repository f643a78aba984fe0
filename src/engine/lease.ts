import type { Pool } from 'pg';
import { BbmError, ErrorCode } from '../errors';
import { leaseOf, tryAcquireLease } from '../store/leases';
import type { FenceToken } from './types';

export interface AcquireLeaseInput {
  repository: string;
  /** Who holds it: the repository workflow's ID, so any attempt or run of that workflow can take over at once. */
  holder: string;
  /** How long the lease lives without renewal; a crashed holder's lease frees itself after this. */
  ttlMs: number;
  /** How long to wait for another holder to let go (the anchor's lock wait timeout). */
  waitMs: number;
}

/** Poll until the lease is ours or `waitMs` has passed (LOCK_TIMEOUT naming the current holder). */
export async function acquireLease(pool: Pool, input: AcquireLeaseInput, signal?: AbortSignal, onWait?: () => void): Promise<FenceToken> {
  const deadline = Date.now() + input.waitMs;
  for (let delay = 50; ; delay = Math.min(delay * 2, 1000)) {
    const fence = await tryAcquireLease(pool, input.repository, input.holder, input.ttlMs);
    if (fence) return fence;
    if (signal?.aborted)
      throw new BbmError(ErrorCode.CANCELLED, `Stopped waiting for the lease on "${input.repository}": cancelled.`, {
        repository: input.repository,
      });
    if (Date.now() >= deadline) {
      const current = await leaseOf(pool, input.repository);
      throw new BbmError(
        ErrorCode.LOCK_TIMEOUT,
        `Repository "${input.repository}" is locked by ${current?.holder ?? 'another holder'} until ${current?.expiresAt.toISOString() ?? 'soon'}; gave up after ${input.waitMs} ms. It frees itself when that holder finishes or its lease expires.`,
        { repository: input.repository, holder: current?.holder },
      );
    }
    onWait?.();
    await new Promise((r) => setTimeout(r, Math.min(delay, Math.max(0, deadline - Date.now()))));
  }
}
