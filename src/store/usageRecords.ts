// Hourly usage records. A provisional hour is replaced whole by each rollup; a final one changes
// only by an operator's correction, as a new revision. A record's key (load balancer, start,
// closing) keeps its id across re-rollups; a new record's id is derived from its hour, unique
// within its load balancer (domain/recordIds.ts). A voided record (removed by a correction after
// billing saw it) stays for the export and is shown nowhere else.

import { randomInt } from 'node:crypto';
import { sql } from 'kysely';
import type { Db, Store } from './store.ts';
import { bulkInsert, dialectOf, idBatches, idIn, selectRows, type BulkColumn } from './dialect/index.ts';
import { inIdRange, type IdRange } from './idRange.ts';
import { createDayPartition, ensureDayPartitions } from './partitions.ts';
import { perStore } from './perStore.ts';
import { allocateRecordId } from '../domain/recordIds.ts';
import { BILLING_RULE_VERSION } from '../domain/billingRules.ts';
import { floorDay, HOUR_MS } from '../domain/time.ts';
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
  // Compared like the figures: a seen record re-rolled under another rule is a new revision.
  { name: 'rule_version', pgType: 'integer', value: () => BILLING_RULE_VERSION },
];
const UPDATED = [...RECORD_COLUMNS.slice(4).map((c) => c.name).filter((name) => name !== 'closing'), 'final', 'roll_stamp']
  .map((name) => `${name} = excluded.${name}`).join(', ');
/** A fresh stamp for one roll of an hour (see replaceHourRecords). */
export const newRollStamp = () => randomInt(1, 2 ** 47);

const recordKey = (r: { loadBalancerId: number; startMs: number; closing: boolean }) => `${r.loadBalancerId}/${r.startMs}/${r.closing ? 1 : 0}`;

/**
 * Replaces the provisional records of an hour (of these load balancers, or all) with the drafts
 * of a rollup: the drafts are upserted with the roll's stamp, a record the re-roll produces again
 * keeping its id, and every record of the hour not written by this roll goes (an event moved, or
 * a late DELETE left nothing after it). A final record never changes here.
 */
export async function replaceHourRecords(db: Db, hourMs: number, drafts: UsageRecordDraft[], options: { final: boolean; stamp: number; loadBalancerIds?: number[] }): Promise<void> {
  await writeHourRecords(db, hourMs, drafts, options);
  await dropStaleHourRecords(db, hourMs, options.stamp, options.loadBalancerIds);
}

/**
 * The upsert half of replaceHourRecords: the drafts of these load balancers (a list, a range of
 * ids, or all) written with the roll's stamp. A roll of the fleet in slices writes each slice so,
 * then drops what none of them wrote (dropStaleHourRecords) once.
 */
export async function writeHourRecords(db: Db, hourMs: number, drafts: UsageRecordDraft[], options: { final: boolean; stamp: number; loadBalancerIds?: number[]; idRange?: IdRange }): Promise<void> {
  await ensureDayPartitions(db, 'usage_records', hourMs, hourMs + HOUR_MS - 1);
  const ids = await recordIdsOf(db, hourMs, drafts, options.loadBalancerIds, options.idRange);
  const columns = [
    { name: 'id', pgType: 'bigint', value: (d: UsageRecordDraft) => ids.get(d) }, ...RECORD_COLUMNS,
    { name: 'final', pgType: 'integer', value: () => (options.final ? 1 : 0) }, { name: 'roll_stamp', pgType: 'bigint', value: () => options.stamp },
  ] as BulkColumn<UsageRecordDraft>[];
  await bulkInsert(db, 'usage_records', columns, drafts, `on conflict (load_balancer_id, start_ms, closing) do update set ${UPDATED} where usage_records.final = 0`);
}

/** Provisional records of the hour (of these load balancers, or all) that the roll with `stamp` did not write. */
export async function dropStaleHourRecords(db: Db, hourMs: number, stamp: number, loadBalancerIds?: number[]): Promise<void> {
  const stale = (q: any) => q.where('hour_ms', '=', hourMs).where('final', '=', 0).where('roll_stamp', '!=', stamp);
  if (!loadBalancerIds) await stale(db.deleteFrom('usage_records')).execute();
  else for (const part of idBatches(db, loadBalancerIds)) await stale(db.deleteFrom('usage_records')).where(idIn(db, 'load_balancer_id', part)).execute();
}

/** The largest id a store held before ids were derived (migration 013): derived ones stay above it. */
const recordIdBase = perStore(() => ({ value: undefined as Promise<number> | undefined }));

function recordIdBaseOf(db: Db): Promise<number> {
  const cached = recordIdBase(db);
  cached.value ??= db.selectFrom('store_state').select('value').where('name', '=', 'record_id_base').executeTakeFirst()
    .then((r) => (r ? num(r.value) : 0))
    .catch((err) => {
      cached.value = undefined;
      throw err;
    });
  return cached.value;
}

/**
 * Each draft's id: the id its record has already (same key), else a new one of its hour that no
 * record of its load balancer in that hour holds (the ones about to go stale included: an id is
 * not handed to another record in the roll that removes its holder).
 */
async function recordIdsOf(db: Db, hourMs: number, drafts: UsageRecordDraft[], lbIds?: number[], range?: IdRange): Promise<Map<UsageRecordDraft, number>> {
  const held = new Map<string, number>();
  const taken = new Map<number, Set<number>>();
  const takenBy = (lbId: number) => taken.get(lbId) ?? taken.set(lbId, new Set()).get(lbId)!;
  for (const part of lbIds ? idBatches(db, lbIds) : [undefined]) {
    let q = inIdRange(db.selectFrom('usage_records').select(['load_balancer_id', 'start_ms', 'closing', 'id']).where('hour_ms', '=', hourMs), 'load_balancer_id', range);
    if (part) q = q.where(idIn(db, 'load_balancer_id', part));
    for (const r of await q.execute()) {
      const lbId = num(r.load_balancer_id);
      const id = num(r.id);
      held.set(recordKey({ loadBalancerId: lbId, startMs: num(r.start_ms), closing: num(r.closing) === 1 }), id);
      takenBy(lbId).add(id);
    }
  }
  const base = await recordIdBaseOf(db);
  const ids = new Map<UsageRecordDraft, number>();
  for (const d of drafts) ids.set(d, held.get(recordKey(d)) ?? allocateRecordId(base, d, takenBy(d.loadBalancerId)));
  return ids;
}

/**
 * Corrects the final records of an hour for these load balancers (an operator released held
 * data): a record whose figures change, or that appears, is written; one that no longer exists
 * goes, or, once billing may have seen it, stays voided. A record offered to billing (sent at
 * least once, acknowledged or not: SPEC 5, Corrections under at-least-once delivery) gets a new
 * revision and is exported again; one never offered is simply offered with its new figures.
 * The revision is decided in the statement that writes it, from the row as it is then: an
 * export marking it offered meanwhile is never overwritten.
 */
export async function reviseFinalRecords(db: Db, hourMs: number, lbIds: number[], drafts: UsageRecordDraft[]): Promise<{ revised: number }> {
  const existing = new Map<string, any>();
  for (const part of idBatches(db, lbIds)) {
    for (const r of await db.selectFrom('usage_records').selectAll().where('hour_ms', '=', hourMs).where(idIn(db, 'load_balancer_id', part)).execute()) {
      existing.set(recordKey({ loadBalancerId: num(r.load_balancer_id), startMs: num(r.start_ms), closing: num(r.closing) === 1 }), r);
    }
  }
  const added = drafts.filter((d) => !existing.has(recordKey(d)));
  const ids = await recordIdsOf(db, hourMs, added, lbIds);
  // A correction can add the first record of a day no rollup wrote (a late CREATE for an hour
  // before the first one rolled): its partition is made here, in the correction's transaction.
  if (added.length && dialectOf(db).partitionsByDay) await createDayPartition(db, 'usage_records', floorDay(hourMs));
  let revised = 0;
  // Seen: offered by this version's export, or marked exported (by any version's).
  const seen = sql<boolean>`(offered = 1 or exported_ms is not null)`;
  const revision = sql<number>`revision + case when ${seen} then 1 else 0 end`;
  const byKey = (q: any, r: any) => q.where('load_balancer_id', '=', r.load_balancer_id).where('start_ms', '=', r.start_ms).where('closing', '=', r.closing);
  for (const draft of drafts) {
    const key = recordKey(draft);
    const old = existing.get(key);
    existing.delete(key);
    const values = Object.fromEntries(RECORD_COLUMNS.map((c) => [c.name, c.value(draft)]));
    if (!old) {
      await db.insertInto('usage_records').values({ ...values, id: ids.get(draft), final: 1, roll_stamp: 0 } as any).execute();
      revised++;
    } else if (num(old.voided) === 1 || RECORD_COLUMNS.some((c) => String(c.value(draft)) !== String(normalised(old[c.name])))) {
      await byKey(db.updateTable('usage_records').set({ ...values, final: 1, voided: 0, revision, offered: 0, exported_ms: null } as any), old).execute();
      revised++;
    }
  }
  for (const old of existing.values()) {
    // No revision of it ever offered (a revision past 0 means an earlier one was): billing cannot
    // have it, so it goes; else it stays, voided, to be exported as such.
    const everSeen = sql<boolean>`(${seen} or revision > 0)`;
    await byKey(db.deleteFrom('usage_records'), old).where(sql<boolean>`not ${everSeen}`).execute();
    await byKey(db.updateTable('usage_records').set({ voided: 1, revision, offered: 0, exported_ms: null }), old).where(everSeen).execute();
    revised++;
  }
  return { revised };
}

/** A stored value as the draft's column value prints (integers of either engine, null). */
function normalised(v: unknown): unknown {
  return typeof v === 'bigint' ? String(v) : v;
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
 * The columns a record is written from, in the order of its row: a page is sent straight from
 * the driver's rows (api/format/recordRows.ts), with no record object between.
 */
export const RECORD_ROW = ['id', 'account_id', 'load_balancer_id', 'start_ms', 'end_ms', 'bytes_in', 'bytes_out', 'bytes_in_ssl', 'bytes_out_ssl',
  'avg_connections', 'avg_connections_ssl', 'num_vips', 'num_polls', 'vip_type', 'ssl_mode', 'event_type'] as const;
export type RecordColumn = (typeof RECORD_ROW)[number];
/** A record as the driver gives it: RECORD_ROW's values (integers a number or a bigint, event_type null or a name). */
export type RecordRow = unknown[];
/** Where each column is in a RecordRow. */
export const AT = Object.fromEntries(RECORD_ROW.map((column, i) => [column, i])) as Record<RecordColumn, number>;

/** A record object as a row (a record computed in the process, written beside stored ones). */
export function recordRow(r: Omit<UsageRecord, 'id'> & { id?: number }): RecordRow {
  return [r.id ?? null, r.accountId, r.loadBalancerId, r.startMs, r.endMs, r.bytesIn, r.bytesOut, r.bytesInSsl, r.bytesOutSsl,
    r.averageNumConnections, r.averageNumConnectionsSsl, r.numVips, r.numPolls, r.vipType, r.sslMode, r.eventType ?? null];
}

/**
 * One page of rows in (account, load balancer, start, id) order; `more` tells whether rows
 * follow. Given `after` (the last key of the previous page), the page starts right after it
 * through the index instead of skipping `offset` rows.
 */
export async function usageRecordRowPage(store: Store, w: RecordWindow, offset: number, limit: number, after?: RecordKey): Promise<{ rows: RecordRow[]; more: boolean; last?: RecordKey }> {
  const rows = await selectRows(store.connection, usageRecordPageQuery(store.db, w, offset, limit + 1, after));
  const more = rows.length > limit;
  if (more) rows.length = limit;
  const tail = rows.at(-1);
  return { rows, more, ...(tail ? { last: { accountId: num(tail[AT.account_id] as number), loadBalancerId: num(tail[AT.load_balancer_id] as number), startMs: num(tail[AT.start_ms] as number), id: num(tail[AT.id] as number) } } : {}) };
}

/** The select of a page, not executed (the bench runs it bare, as its baseline). */
export function usageRecordPageQuery(db: Db, w: RecordWindow, offset: number, limit: number, after?: RecordKey) {
  let q = windowQuery(db, w).select(RECORD_ROW);
  if (after) {
    q = q.where((eb) => eb(eb.refTuple('account_id', 'load_balancer_id', 'start_ms', 'id'), '>', eb.tuple(after.accountId, after.loadBalancerId, after.startMs, after.id)));
  } else if (offset > 0) q = q.offset(offset);
  return q.orderBy('account_id').orderBy('load_balancer_id').orderBy('start_ms').orderBy('id').limit(limit);
}

export async function usageRecordsIn(db: Db, w: RecordWindow): Promise<UsageRecord[]> {
  const rows = await windowQuery(db, w).selectAll()
    .orderBy('account_id').orderBy('load_balancer_id').orderBy('start_ms').orderBy('id').execute();
  return rows.map(toRecord);
}

function windowQuery(db: Db, w: RecordWindow) {
  let q = db.selectFrom('usage_records').where('start_ms', '>=', w.startMs).where('start_ms', '<=', w.endMs).where('voided', '=', 0);
  if (w.match === 'inside') q = q.where('end_ms', '<=', w.endMs);
  if (w.accountId !== undefined) q = q.where('account_id', '=', w.accountId);
  if (w.loadBalancerId !== undefined) q = q.where('load_balancer_id', '=', w.loadBalancerId);
  return q;
}

/** Records that ended before cutoffMs; `keepUnexported`: not one still waiting for the billing sink (SPEC 5, Retention). */
export async function purgeUsageRecordsBefore(db: Db, cutoffMs: number, keepUnexported = true): Promise<number> {
  let purge = db.deleteFrom('usage_records').where('end_ms', '<', cutoffMs);
  if (keepUnexported) purge = purge.where('exported_ms', 'is not', null);
  const r = await purge.executeTakeFirst();
  return Number(r.numDeletedRows);
}

/** Final records waiting for export. */
export async function exportBacklog(db: Db): Promise<number> {
  const r = await db.selectFrom('usage_records').select((eb) => eb.fn.countAll<number>().as('n')).where('final', '=', 1).where('exported_ms', 'is', null).executeTakeFirstOrThrow();
  return num(r.n);
}

/** Where the hour of the oldest final record not exported yet ends (undefined: none waits). */
export async function oldestExportDueEnd(db: Db): Promise<number | undefined> {
  const r = await db.selectFrom('usage_records').select((eb) => eb.fn.min('hour_ms').as('h')).where('final', '=', 1).where('exported_ms', 'is', null).executeTakeFirst();
  return r?.h === null || r?.h === undefined ? undefined : num(r.h as number) + HOUR_MS;
}

/** Where the oldest record still waiting for export starts (its hour's samples must stay). */
export async function oldestUnexportedStart(db: Db): Promise<number | undefined> {
  const r = await db.selectFrom('usage_records').select((eb) => eb.fn.min('hour_ms').as('h')).where('exported_ms', 'is', null).executeTakeFirst();
  return r?.h === null || r?.h === undefined ? undefined : num(r.h as number);
}

export async function totalBytesOf(db: Db, lbId: number): Promise<Transfers> {
  const r = await db.selectFrom('usage_records').where('load_balancer_id', '=', lbId).where('voided', '=', 0).select([
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


/** Per load balancer, the bytes of its final records (not voided) in the hours [fromMs, toMs). */
export async function finalBytesPerLoadBalancer(db: Db, fromMs: number, toMs: number): Promise<Map<number, { accountId: number; bytes: Transfers }>> {
  const rows = await db.selectFrom('usage_records').where('final', '=', 1).where('voided', '=', 0)
    .where('hour_ms', '>=', fromMs).where('hour_ms', '<', toMs)
    .groupBy(['account_id', 'load_balancer_id']).select([
      'account_id', 'load_balancer_id',
      sql<string>`sum(bytes_in)`.as('i'), sql<string>`sum(bytes_out)`.as('o'), sql<string>`sum(bytes_in_ssl)`.as('si'), sql<string>`sum(bytes_out_ssl)`.as('so'),
    ]).execute();
  return new Map(rows.map((r) => [num(r.load_balancer_id), { accountId: num(r.account_id), bytes: { bytesIn: big(r.i), bytesOut: big(r.o), bytesInSsl: big(r.si), bytesOutSsl: big(r.so) } }]));
}

/** One record of a load balancer with what identifies it in its hour, voided or not (the audit). */
export async function recordById(db: Db, loadBalancerId: number, id: number): Promise<(UsageRecord & { hourMs: number; closing: boolean; final: boolean; revision: number; voided: boolean; exported: boolean; ruleVersion: number }) | undefined> {
  const r = await db.selectFrom('usage_records').selectAll().where('load_balancer_id', '=', loadBalancerId).where('id', '=', id).executeTakeFirst();
  return r && {
    ...toRecord(r), hourMs: num(r.hour_ms), closing: num(r.closing) === 1, final: num(r.final) === 1,
    revision: num(r.revision), voided: num(r.voided) === 1, exported: r.exported_ms !== null, ruleVersion: num(r.rule_version),
  };
}

/**
 * The records of a window in (account, load balancer, start, id) order, each RECORD_ROW's
 * columns and then its load balancer's name (at NAME_AT): the one query a billing report streams
 * (SPEC 3.4, 3.7). Not executed here. Only what a report prints: each column costs the driver's
 * parsing on every row.
 */
const REPORT_COLUMNS = RECORD_ROW.map((column) => `r.${column}` as const);
export const NAME_AT = RECORD_ROW.length;

export function namedRecordsQuery(db: Db, w: RecordWindow) {
  let q = db.selectFrom('usage_records as r').leftJoin('load_balancers as l', 'l.id', 'r.load_balancer_id')
    .select(REPORT_COLUMNS).select('l.name as lb_name')
    .where('r.start_ms', '>=', w.startMs).where('r.start_ms', '<=', w.endMs).where('r.voided', '=', 0);
  if (w.match === 'inside') q = q.where('r.end_ms', '<=', w.endMs);
  if (w.accountId !== undefined) q = q.where('r.account_id', '=', w.accountId);
  return q.orderBy('r.account_id').orderBy('r.load_balancer_id').orderBy('r.start_ms').orderBy('r.id');
}
