// Leases in the store (DESIGN, Scale). One statement takes a lease that is free, expired or
// already ours, on both engines: PostgreSQL re-checks the WHERE of ON CONFLICT against the row
// a concurrent taker committed, SQLite has one writer at a time. Leases run on the wall clock,
// never on a test's data clock.

import { sql } from 'kysely';
import type { Db } from './store.ts';
import { num } from './rows.ts';

/**
 * Takes or renews the lease: its token (the same while this holder renews it, new each time it
 * changes hands), or undefined when another holder has it and it has not expired.
 */
export async function takeLease(db: Db, name: string, holder: string, ttlMs: number, nowMs = Date.now()): Promise<number | undefined> {
  const row = await db.insertInto('leases').values({ name, holder, expires_ms: nowMs + ttlMs, token: nowMs })
    .onConflict((oc) => oc.column('name')
      .doUpdateSet({ holder, expires_ms: nowMs + ttlMs, token: sql`case when leases.holder = ${holder} then leases.token else ${nowMs} end` })
      .where((eb) => eb.or([eb('leases.expires_ms', '<=', nowMs), eb('leases.holder', '=', holder)])))
    .returning(['holder', 'token'])
    .executeTakeFirst();
  return row?.holder === holder ? num(row.token) : undefined;
}

/** Takes or renews the lease; false when another holder has it and it has not expired. */
export async function acquireLease(db: Db, name: string, holder: string, ttlMs: number, nowMs = Date.now()): Promise<boolean> {
  return (await takeLease(db, name, holder, ttlMs, nowMs)) !== undefined;
}

/**
 * The fence for work done under a lease, called in the transaction that stores the work: true
 * (and the lease extended) when the lease still has the holder and token it was taken with,
 * expired or not (if it expired, nobody has taken it since). On PostgreSQL the row stays locked
 * until commit, so nobody takes the lease while the work commits.
 */
export async function holdsLease(db: Db, name: string, holder: string, token: number, ttlMs: number, nowMs = Date.now()): Promise<boolean> {
  const r = await db.updateTable('leases').set({ expires_ms: nowMs + ttlMs })
    .where('name', '=', name).where('holder', '=', holder).where('token', '=', token)
    .executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}

export async function releaseLease(db: Db, name: string, holder: string): Promise<void> {
  await db.deleteFrom('leases').where('name', '=', name).where('holder', '=', holder).execute();
}

/** Holders of unexpired leases whose names start with prefix (the live members of a group). */
export async function liveHolders(db: Db, prefix: string, nowMs = Date.now()): Promise<string[]> {
  const rows = await db.selectFrom('leases').select(['holder', 'expires_ms'])
    .where('name', 'like', `${prefix}%`).where('expires_ms', '>', nowMs).execute();
  return [...new Set(rows.filter((r) => num(r.expires_ms) > nowMs).map((r) => r.holder))].sort();
}
