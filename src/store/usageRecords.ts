// Hourly usage records. A provisional hour is replaced whole by each rollup; a final one never
// changes. Keys (load balancer, start, closing) keep ids stable across re-rollups.

import { sql } from 'kysely';
import type { Db } from './store.ts';
import { bulkInsert, idBatches, idIn, type BulkColumn } from './dialect.ts';
import { ensureDayPartitions } from './partitions.ts';
import { HOUR_MS } from '../domain/time.ts';
import { big, num } from './rows.ts';
import type { UsageRecordDraft } from '../domain/rollup.ts';
import type { EventType, SslMode, Transfers, VipType } from '../domain/types.ts';

export interface UsageRecord extends Transfers {
  id: number;
  accountId: number;
  loadBalancerId: number;
  startMs: number;
  endMs: number;
  averageNumConnections: number;
  averageNumConnectionsSsl: number;
  numVips: number;
  numPolls: number;
  vipType: VipType;
  sslMode: SslMode;
  eventType?: EventType;
}

const RECORD_COLUMNS: BulkColumn<UsageRecordDraft>[] = [
  { name: 'account_id', pgType: 'bigint', value: (d) => d.accountId }, { name: 'load_balancer_id', pgType: 'bigint', value: (d) => d.loadBalancerId },
  { name: 'hour_ms', pgType: 'bigint', value: (d) => d.hourMs }, { name: 'start_ms', pgType: 'bigint', value: (d) => d.startMs },
  { name: 'end_ms', pgType: 'bigint', value: (d) => d.endMs }, { name: 'closing', pgType: 'integer', value: (d) => (d.closing ? 1 : 0) },
  { name: 'bytes_in', pgType: 'bigint', value: (d) => d.bytesIn }, { name: 'bytes_out', pgType: 'bigint', value: (d) => d.bytesOut },
  { name: 'bytes_in_ssl', pgType: 'bigint', value: (d) => d.bytesInSsl }, { name: 'bytes_out_ssl', pgType: 'bigint', value: (d) => d.bytesOutSsl },
  { name: 'avg_connections', pgType: 'double precision', value: (d) => d.averageNumConnections },
  { name: 'avg_connections_ssl', pgType: 'double precision', value: (d) => d.averageNumConnectionsSsl },
  { name: 'num_vips', pgType: 'integer', value: (d) => d.numVips }, { name: 'num_polls', pgType: 'integer', value: (d) => d.numPolls },
  { name: 'vip_type', pgType: 'text', value: (d) => d.vipType }, { name: 'ssl_mode', pgType: 'text', value: (d) => d.sslMode },
  { name: 'event_type', pgType: 'text', value: (d) => d.eventType ?? null },
];
const UPDATED = [...RECORD_COLUMNS.slice(4).map((c) => c.name).filter((name) => name !== 'closing'), 'final'].map((name) => `${name} = excluded.${name}`).join(', ');

/** Replaces the records of these load balancers in one hour (those not final). */
export async function replaceHourRecords(db: Db, hourMs: number, lbIds: number[], drafts: UsageRecordDraft[], final: boolean): Promise<void> {
  await ensureDayPartitions(db, 'usage_records', hourMs, hourMs + HOUR_MS - 1);
  // An upsert keeps the id of a record that a re-roll produces again; a final one never changes.
  await bulkInsert(db, 'usage_records', [...RECORD_COLUMNS, { name: 'final', pgType: 'integer', value: () => (final ? 1 : 0) }], drafts, `on conflict (load_balancer_id, start_ms, closing) do update set ${UPDATED} where usage_records.final = 0`);
  // Records this rollup no longer produces (an event moved or vanished) go, unless final.
  const keep = new Set(drafts.map((d) => `${d.loadBalancerId}/${d.startMs}/${d.closing ? 1 : 0}`));
  for (const part of idBatches(db, lbIds)) {
    const existing = await db.selectFrom('usage_records').select(['id', 'load_balancer_id', 'start_ms', 'closing'])
      .where('hour_ms', '=', hourMs).where(idIn(db, 'load_balancer_id', part)).where('final', '=', 0).execute();
    const stale = existing.filter((r) => !keep.has(`${num(r.load_balancer_id)}/${num(r.start_ms)}/${num(r.closing)}`)).map((r) => num(r.id));
    for (const ids of idBatches(db, stale)) await db.deleteFrom('usage_records').where(idIn(db, 'id', ids)).execute();
  }
}

export interface RecordWindow {
  startMs: number;
  endMs: number;
  /** 'inside': start and end both in the window (SPEC 3.4, 3.6); 'starts': start in the window. */
  match: 'inside' | 'starts';
  accountId?: number;
  loadBalancerId?: number;
}

/** A record's place in page order: where the next page starts after it. */
export interface RecordKey {
  accountId: number;
  loadBalancerId: number;
  startMs: number;
  id: number;
}

/**
 * One page in (account, load balancer, start, id) order; `more` tells whether rows follow.
 * Given `after` (the last key of the previous page), the page starts right after it through
 * the index instead of skipping `offset` rows.
 */
export async function usageRecordPage(db: Db, w: RecordWindow, offset: number, limit: number, after?: RecordKey): Promise<{ records: UsageRecord[]; more: boolean; last?: RecordKey }> {
  let q = windowQuery(db, w);
  if (after) {
    q = q.where((eb) => eb(eb.refTuple('account_id', 'load_balancer_id', 'start_ms', 'id'), '>', eb.tuple(after.accountId, after.loadBalancerId, after.startMs, after.id)));
  } else if (offset > 0) q = q.offset(offset);
  const rows = await q.orderBy('account_id').orderBy('load_balancer_id').orderBy('start_ms').orderBy('id').limit(limit + 1).execute();
  const records = rows.slice(0, limit).map(toRecord);
  const tail = records.at(-1);
  return { records, more: rows.length > limit, ...(tail ? { last: { accountId: tail.accountId, loadBalancerId: tail.loadBalancerId, startMs: tail.startMs, id: tail.id } } : {}) };
}

export async function usageRecordsIn(db: Db, w: RecordWindow): Promise<UsageRecord[]> {
  const rows = await windowQuery(db, w)
    .orderBy('account_id').orderBy('load_balancer_id').orderBy('start_ms').orderBy('id').execute();
  return rows.map(toRecord);
}

function windowQuery(db: Db, w: RecordWindow) {
  let q = db.selectFrom('usage_records').selectAll().where('start_ms', '>=', w.startMs).where('start_ms', '<=', w.endMs);
  if (w.match === 'inside') q = q.where('end_ms', '<=', w.endMs);
  if (w.accountId !== undefined) q = q.where('account_id', '=', w.accountId);
  if (w.loadBalancerId !== undefined) q = q.where('load_balancer_id', '=', w.loadBalancerId);
  return q;
}

export async function purgeUsageRecordsBefore(db: Db, cutoffMs: number): Promise<number> {
  // An unexported record is never purged (SPEC 5, Retention).
  const r = await db.deleteFrom('usage_records').where('end_ms', '<', cutoffMs).where('exported_ms', 'is not', null).executeTakeFirst();
  return Number(r.numDeletedRows);
}

/** Final records waiting for export. */
export async function exportBacklog(db: Db): Promise<number> {
  const r = await db.selectFrom('usage_records').select((eb) => eb.fn.countAll<number>().as('n')).where('final', '=', 1).where('exported_ms', 'is', null).executeTakeFirstOrThrow();
  return num(r.n);
}

/** Where the oldest record still waiting for export starts (its hour's samples must stay). */
export async function oldestUnexportedStart(db: Db): Promise<number | undefined> {
  const r = await db.selectFrom('usage_records').select((eb) => eb.fn.min('hour_ms').as('h')).where('exported_ms', 'is', null).executeTakeFirst();
  return r?.h === null || r?.h === undefined ? undefined : num(r.h as number);
}

/**
 * The record a reading at t is billed in (start < t <= end, see domain/rollup.ts); a reading
 * after the deletion goes to the last open record, one before the creation to the first.
 */
export async function recordBillingAt(db: Db, lbId: number, t: number): Promise<{ id: number; exported: boolean } | undefined> {
  const base = db.selectFrom('usage_records').select(['id', 'exported_ms']).where('load_balancer_id', '=', lbId).where('closing', '=', 0);
  const r = (await base.where('start_ms', '<', t).orderBy('start_ms', 'desc').limit(1).executeTakeFirst())
    ?? (await base.orderBy('start_ms').limit(1).executeTakeFirst());
  return r && { id: num(r.id), exported: r.exported_ms !== null };
}

/** An operator's correction of a final record. */
export async function addToRecord(db: Db, id: number, bytes: Transfers): Promise<void> {
  await db.updateTable('usage_records').set({
    bytes_in: sql<bigint>`bytes_in + ${bytes.bytesIn}`, bytes_out: sql<bigint>`bytes_out + ${bytes.bytesOut}`,
    bytes_in_ssl: sql<bigint>`bytes_in_ssl + ${bytes.bytesInSsl}`, bytes_out_ssl: sql<bigint>`bytes_out_ssl + ${bytes.bytesOutSsl}`,
  }).where('id', '=', id).execute();
}

export async function totalBytesOf(db: Db, lbId: number): Promise<Transfers> {
  const r = await db.selectFrom('usage_records').where('load_balancer_id', '=', lbId).select([
    sql<string>`coalesce(sum(bytes_in), 0)`.as('i'), sql<string>`coalesce(sum(bytes_out), 0)`.as('o'),
    sql<string>`coalesce(sum(bytes_in_ssl), 0)`.as('si'), sql<string>`coalesce(sum(bytes_out_ssl), 0)`.as('so'),
  ]).executeTakeFirstOrThrow();
  return { bytesIn: big(r.i), bytesOut: big(r.o), bytesInSsl: big(r.si), bytesOutSsl: big(r.so) };
}

export function toRecord(r: any): UsageRecord {
  const rec: UsageRecord = {
    id: num(r.id), accountId: num(r.account_id), loadBalancerId: num(r.load_balancer_id),
    startMs: num(r.start_ms), endMs: num(r.end_ms),
    bytesIn: big(r.bytes_in), bytesOut: big(r.bytes_out), bytesInSsl: big(r.bytes_in_ssl), bytesOutSsl: big(r.bytes_out_ssl),
    averageNumConnections: Number(r.avg_connections), averageNumConnectionsSsl: Number(r.avg_connections_ssl),
    numVips: num(r.num_vips), numPolls: num(r.num_polls), vipType: r.vip_type, sslMode: r.ssl_mode,
  };
  if (r.event_type) rec.eventType = r.event_type;
  return rec;
}

export function draftToRecord(d: UsageRecordDraft, id: number): UsageRecord {
  const { hourMs: _h, closing: _c, ...rest } = d;
  return { id, ...rest };
}

