// Who this process is when it holds a lease, and waiting for one.

import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { Db } from '../store/store.ts';
import { takeLease } from '../store/leases.ts';

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
