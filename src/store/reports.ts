// Aggregates for the dashboard: top accounts by traffic, the fleet's traffic by hour, and what the
// open hour has read so far.

import { sql } from 'kysely';
import type { Db } from './store.ts';
import { big, num } from './rows.ts';
import { readingsBilledBetween } from './readings.ts';
import type { Transfers } from '../domain/types.ts';

export interface AccountTraffic extends Transfers {
  accountId: number;
  loadBalancers: number;
}

/** Accounts by all bytes of their records starting in [startMs, endMs), most first. */
export async function topAccounts(db: Db, startMs: number, endMs: number, limit: number): Promise<AccountTraffic[]> {
  const rows = await db.selectFrom('usage_records')
    .select([
      'account_id',
      sql<number>`count(distinct load_balancer_id)`.as('lbs'),
      sql<string>`sum(bytes_in)`.as('i'), sql<string>`sum(bytes_out)`.as('o'),
      sql<string>`sum(bytes_in_ssl)`.as('si'), sql<string>`sum(bytes_out_ssl)`.as('so'),
    ])
    .where('start_ms', '>=', startMs).where('start_ms', '<', endMs).where('voided', '=', 0)
    .groupBy('account_id')
    .orderBy(sql`sum(bytes_in) + sum(bytes_out) + sum(bytes_in_ssl) + sum(bytes_out_ssl)`, 'desc').orderBy('account_id')
    .limit(limit).execute();
  return rows.map((r) => ({
    accountId: num(r.account_id), loadBalancers: num(r.lbs),
    bytesIn: big(r.i), bytesOut: big(r.o), bytesInSsl: big(r.si), bytesOutSsl: big(r.so),
  }));
}


export interface HourTraffic extends Transfers {
  hourMs: number;
}

/** The fleet's bytes by UTC hour, of the records starting in [startMs, endMs) (removed ones aside). */
export async function fleetTrafficByHour(db: Db, startMs: number, endMs: number): Promise<HourTraffic[]> {
  const rows = await db.selectFrom('usage_records')
    .select(['hour_ms', sql<string>`sum(bytes_in)`.as('i'), sql<string>`sum(bytes_out)`.as('o'), sql<string>`sum(bytes_in_ssl)`.as('si'), sql<string>`sum(bytes_out_ssl)`.as('so')])
    .where('start_ms', '>=', startMs).where('start_ms', '<', endMs).where('voided', '=', 0)
    .groupBy('hour_ms').orderBy('hour_ms').execute();
  return rows.map((r) => ({ hourMs: num(r.hour_ms), bytesIn: big(r.i), bytesOut: big(r.o), bytesInSsl: big(r.si), bytesOutSsl: big(r.so) }));
}

/**
 * What the fleet's readings of the open hour bill so far ((hourMs, nowMs], held ones aside):
 * provisional, since the rollup may still hold some (after a deletion, say) and late readings come.
 */
export function openHourTraffic(db: Db, hourMs: number, nowMs: number): Promise<Transfers> {
  return readingsBilledBetween(db, hourMs, nowMs);
}
