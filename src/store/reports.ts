// Aggregates for the dashboard: top accounts by traffic, and when each host was last read.

import { sql } from 'kysely';
import type { Db } from './store.ts';
import { big, num } from './rows.ts';
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
    .where('start_ms', '>=', startMs).where('start_ms', '<', endMs)
    .groupBy('account_id')
    .orderBy(sql`sum(bytes_in) + sum(bytes_out) + sum(bytes_in_ssl) + sum(bytes_out_ssl)`, 'desc').orderBy('account_id')
    .limit(limit).execute();
  return rows.map((r) => ({
    accountId: num(r.account_id), loadBalancers: num(r.lbs),
    bytesIn: big(r.i), bytesOut: big(r.o), bytesInSsl: big(r.si), bytesOutSsl: big(r.so),
  }));
}

