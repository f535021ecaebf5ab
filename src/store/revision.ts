// The store's revision (migration 008) and how far the hours are final: together they say
// whether a cached answer about a window of past hours still holds.

import { sql } from 'kysely';
import type { Db } from './store.ts';
import { num, optNum } from './rows.ts';

export interface StoreRevision {
  revision: number;
  /** The latest final hour; every hour before it is final too (the rollup goes in order). */
  lastFinalHour?: number;
}

/** One round trip, read at each request that may be answered from a cache. */
export async function storeRevision(db: Db): Promise<StoreRevision> {
  const r = await sql<{ revision: number | bigint | string; last_final: number | bigint | string | null }>`select
    (select value from store_state where name = 'revision') as revision,
    (select max(hour_ms) from hours where final = 1) as last_final`.execute(db);
  const row = r.rows[0]!;
  const lastFinalHour = optNum(row.last_final);
  return { revision: num(row.revision), ...(lastFinalHour !== undefined ? { lastFinalHour } : {}) };
}

/** Something a closed window shows has changed: every cached answer is outdated. */
export async function advanceRevision(db: Db): Promise<void> {
  await db.updateTable('store_state').set({ value: sql<number>`value + 1` }).where('name', '=', 'revision').execute();
}
