// Account usage snapshots: counts of load balancers and VIPs at events and at each midnight.

import type { Db } from './store.ts';
import { num } from './rows.ts';
import type { AccountCounts, AccountSnapshot, SnapshotSource } from '../domain/snapshot.ts';

export interface AccountUsageRecord extends AccountCounts {
  id: number;
  accountId: number;
  timeMs: number;
}

export async function putSnapshots(db: Db, rows: { accountId: number; timeMs: number; source: SnapshotSource; counts: AccountCounts }[]): Promise<void> {
  for (const s of rows) {
    const counts = {
      num_load_balancers: s.counts.numLoadBalancers, num_public_vips: s.counts.numPublicVips, num_servicenet_vips: s.counts.numServicenetVips,
    };
    await db.insertInto('account_usage').values({ account_id: s.accountId, time_ms: s.timeMs, source: s.source, ...counts })
      .onConflict((oc) => oc.columns(['account_id', 'time_ms', 'source']).doUpdateSet(counts)).execute();
  }
}

/** The account's snapshots from fromMs on, replaced by these (its history changed). */
export async function replaceAccountSnapshots(db: Db, accountId: number, fromMs: number, snapshots: AccountSnapshot[]): Promise<void> {
  await db.deleteFrom('account_usage').where('account_id', '=', accountId).where('time_ms', '>=', fromMs).execute();
  await putSnapshots(db, snapshots.map((s) => ({ accountId, ...s })));
}

/** The latest midnight the rollup has taken daily snapshots for. */
export async function lastDailySnapshot(db: Db): Promise<number | undefined> {
  const r = await db.selectFrom('account_usage').select((eb) => eb.fn.max('time_ms').as('t')).where('source', '=', 'DAILY').executeTakeFirst();
  return r?.t === null || r?.t === undefined ? undefined : num(r.t as number);
}

export async function hasDailySnapshot(db: Db, dayMs: number): Promise<boolean> {
  const r = await db.selectFrom('account_usage').select('id').where('time_ms', '=', dayMs).where('source', '=', 'DAILY').limit(1).executeTakeFirst();
  return r !== undefined;
}

/** Snapshots with time in [start, end] in (account, time, id) order. */
export async function accountUsagePage(db: Db, w: { startMs: number; endMs: number; accountId?: number }, offset: number, limit: number): Promise<{ records: AccountUsageRecord[]; more: boolean }> {
  let q = db.selectFrom('account_usage').selectAll().where('time_ms', '>=', w.startMs).where('time_ms', '<=', w.endMs);
  if (w.accountId !== undefined) q = q.where('account_id', '=', w.accountId);
  const rows = await q.orderBy('account_id').orderBy('time_ms').orderBy('id').offset(offset).limit(limit + 1).execute();
  return { records: rows.slice(0, limit).map(toAccountUsage), more: rows.length > limit };
}

export async function accountUsageIn(db: Db, w: { startMs: number; endMs: number }): Promise<AccountUsageRecord[]> {
  return (await accountUsageQuery(db, w).execute()).map(toAccountUsage);
}

/** Snapshots with time in [start, end] in (account, time, id) order, not executed (a report streams it). */
export function accountUsageQuery(db: Db, w: { startMs: number; endMs: number; accountId?: number }) {
  let q = db.selectFrom('account_usage').selectAll().where('time_ms', '>=', w.startMs).where('time_ms', '<=', w.endMs);
  if (w.accountId !== undefined) q = q.where('account_id', '=', w.accountId);
  return q.orderBy('account_id').orderBy('time_ms').orderBy('id');
}

export async function purgeAccountUsageBefore(db: Db, cutoffMs: number): Promise<number> {
  const r = await db.deleteFrom('account_usage').where('time_ms', '<', cutoffMs).executeTakeFirst();
  return Number(r.numDeletedRows);
}

export function toAccountUsage(r: any): AccountUsageRecord {
  return {
    id: num(r.id), accountId: num(r.account_id), timeMs: num(r.time_ms),
    numLoadBalancers: num(r.num_load_balancers), numPublicVips: num(r.num_public_vips), numServicenetVips: num(r.num_servicenet_vips),
  };
}
