// Who this process is when it holds a lease, waiting for one, and work done under one.

import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { Db } from '../store/store.ts';
import { holdsLease, releaseLease, takeLease } from '../store/leases.ts';

/** Unique per process, readable in the leases table: host/pid/random. */
export const PROCESS_HOLDER = `${hostname()}/${process.pid}/${randomBytes(3).toString('hex')}`;

export class LeaseLost extends Error {
  constructor(name: string) {
    super(`lease ${name} expired and was taken by another process`);
  }
}

/** Tries to take the lease until waitMs has passed (waitMs 0: once): its token, or undefined. */
export async function waitForLease(db: Db, name: string, holder: string, ttlMs: number, waitMs: number): Promise<number | undefined> {
  const until = Date.now() + waitMs;
  for (;;) {
    const token = await takeLease(db, name, holder, ttlMs);
    if (token !== undefined) return token;
    if (Date.now() >= until) return undefined;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Throws LeaseLost inside a storing transaction unless the lease is still the one taken for the work. */
export type Fence = (trx: Db) => Promise<void>;

export function leaseFence(name: string, holder: string, token: number, ttlMs: number): Fence {
  return async (trx) => {
    if (!(await holdsLease(trx, name, holder, token, ttlMs))) throw new LeaseLost(name);
  };
}

export interface LeaseTerms {
  name: string;
  ttlMs: number;
  /** How long to wait for another holder to let go (0: try once). */
  waitMs?: number;
  holder?: string;
}

/**
 * Runs `work` under the lease and lets it go after (it would expire anyway); undefined when
 * another process held it throughout the wait. The work gets the fence of its transactions.
 */
export async function underLease<T>(db: Db, terms: LeaseTerms, work: (fence: Fence) => Promise<T>): Promise<T | undefined> {
  const holder = terms.holder ?? PROCESS_HOLDER;
  const token = await waitForLease(db, terms.name, holder, terms.ttlMs, terms.waitMs ?? 0);
  if (token === undefined) return undefined;
  try {
    return await work(leaseFence(terms.name, holder, token, terms.ttlMs));
  } finally {
    await releaseLease(db, terms.name, holder).catch(() => {});
  }
}
