// Readings: what each host counted for each load balancer at each poll, as facts (SPEC 5). A row
// keeps the raw counters and process, the delta by the reset rule from the reading before it on
// the same host (in time), and what ingest or an operator said about it. The rollup decides what
// it bills (domain/reading.ts); the audit shows it.

import { sql, type ExpressionBuilder } from 'kysely';
import type { Db } from './store.ts';
import type { Database } from './schema.ts';
import { bulkInsert, idBatches, idIn, type BulkColumn } from './dialect/index.ts';
import { ensureDayPartitions } from './partitions.ts';
import { inIdRange, type IdRange } from './idRange.ts';
import { noteFactChanges, readingsChange } from './factChanges.ts';
import { big, num, optNum } from './rows.ts';
import { READING_KINDS, type ChainDelta, type ChainLink, type ReadingKind } from '../domain/delta.ts';
import type { IngestHold, OperatorDecision, StoredReading } from '../domain/reading.ts';
import type { RecordTotals } from '../domain/rollup.ts';
import type { Transfers } from '../domain/types.ts';
import { HOUR_MS, hourOfReading } from '../domain/time.ts';

const HOLDS: IngestHold[] = ['NONE', 'CEILING', 'LATE'];
const OPERATOR: OperatorDecision[] = ['NONE', 'RELEASED', 'DISCARDED'];
/** How kinds, holds and decisions are stored (also read by store/compaction.ts's SQL). */
export const HOLD_CODE = { NONE: 0, CEILING: 1, LATE: 2 } as const;
export const OPERATOR_CODE = { NONE: 0, RELEASED: 1, DISCARDED: 2 } as const;
export const KIND_CODE: Record<ReadingKind, number> = { NORMAL: 0, FIRST: 1, RESET: 2, HOURLY: 3 };

/**
 * HAProxy counters are unsigned 64-bit; stored as the int64 with the same bits (below 2^63 the
 * value itself: no new bigint a counter in the common case).
 */
const INT64_LIMIT = 2n ** 63n;
const toInt64 = (u: bigint) => (u < INT64_LIMIT ? u : BigInt.asIntN(64, u));
const fromInt64 = (v: number | bigint | string) => BigInt.asUintN(64, big(v));

export interface NewReading extends ChainDelta {
  loadBalancerId: number;
  accountId: number;
  hostId: number;
  timeMs: number;
  pid: number;
  processStartMs: number;
  counters: Transfers;
  connections: number;
  connectionsSsl: number;
  hold: IngestHold;
  /** The stamp it was read at, where its counters placed it at another (timeMs). */
  readMs?: number;
}

const READING_COLUMNS: BulkColumn<NewReading>[] = [
  { name: 'load_balancer_id', pgType: 'bigint', value: (r) => r.loadBalancerId }, { name: 'account_id', pgType: 'bigint', value: (r) => r.accountId },
  { name: 'host_id', pgType: 'bigint', value: (r) => r.hostId }, { name: 'time_ms', pgType: 'bigint', value: (r) => r.timeMs },
  { name: 'bytes_in', pgType: 'bigint', value: (r) => r.bytesIn }, { name: 'bytes_out', pgType: 'bigint', value: (r) => r.bytesOut },
  { name: 'bytes_in_ssl', pgType: 'bigint', value: (r) => r.bytesInSsl }, { name: 'bytes_out_ssl', pgType: 'bigint', value: (r) => r.bytesOutSsl },
  { name: 'connections', pgType: 'bigint', value: (r) => r.connections }, { name: 'connections_ssl', pgType: 'bigint', value: (r) => r.connectionsSsl },
  { name: 'pid', pgType: 'bigint', value: (r) => r.pid }, { name: 'process_start_ms', pgType: 'bigint', value: (r) => r.processStartMs },
  { name: 'counter_in', pgType: 'bigint', value: (r) => toInt64(r.counters.bytesIn) }, { name: 'counter_out', pgType: 'bigint', value: (r) => toInt64(r.counters.bytesOut) },
  { name: 'counter_in_ssl', pgType: 'bigint', value: (r) => toInt64(r.counters.bytesInSsl) }, { name: 'counter_out_ssl', pgType: 'bigint', value: (r) => toInt64(r.counters.bytesOutSsl) },
  { name: 'kind', pgType: 'integer', value: (r) => KIND_CODE[r.kind] }, { name: 'hold', pgType: 'integer', value: (r) => HOLD_CODE[r.hold] },
  { name: 'read_ms', pgType: 'bigint', value: (r) => r.readMs ?? null },
];

export async function insertReadings(db: Db, readings: NewReading[]): Promise<void> {
  if (readings.length === 0) return;
  let first = readings[0]!.timeMs;
  let last = first;
  for (const r of readings) {
    if (r.timeMs < first) first = r.timeMs;
    if (r.timeMs > last) last = r.timeMs;
  }
  await ensureDayPartitions(db, 'usage_samples', first, last);
  await bulkInsert(db, 'usage_samples', READING_COLUMNS, readings);
  await noteFactChanges(db, [readingsChange(first)]);
}

/** A stored reading with what identifies it and what the audit shows of it. */
export interface ReadingRow extends StoredReading {
  loadBalancerId: number;
  accountId: number;
  pid?: number;
  processStartMs?: number;
  /** Raw counters; absent on readings stored before they were kept. */
  counters?: Transfers;
  /** The stamp it was read at, where its counters placed it at another (timeMs). */
  readMs?: number;
}

export function toReading(r: any): ReadingRow {
  const row: ReadingRow = {
    loadBalancerId: num(r.load_balancer_id), accountId: num(r.account_id), hostId: num(r.host_id), timeMs: num(r.time_ms),
    bytesIn: big(r.bytes_in), bytesOut: big(r.bytes_out), bytesInSsl: big(r.bytes_in_ssl), bytesOutSsl: big(r.bytes_out_ssl),
    connections: num(r.connections), connectionsSsl: num(r.connections_ssl),
    kind: READING_KINDS[num(r.kind)]!, hold: HOLDS[num(r.hold)]!, operator: OPERATOR[num(r.operator)]!,
  };
  const polls = optNum(r.polls);
  if (polls !== undefined && polls !== 1) row.polls = polls;
  const pid = optNum(r.pid);
  if (pid !== undefined) row.pid = pid;
  const start = optNum(r.process_start_ms);
  if (start !== undefined) row.processStartMs = start;
  const readMs = optNum(r.read_ms);
  if (readMs !== undefined) row.readMs = readMs;
  if (r.counter_in !== null && r.counter_in !== undefined) {
    row.counters = { bytesIn: fromInt64(r.counter_in), bytesOut: fromInt64(r.counter_out), bytesInSsl: fromInt64(r.counter_in_ssl), bytesOutSsl: fromInt64(r.counter_out_ssl) };
  }
  return row;
}

/**
 * Readings of the load balancers with time in (fromMs, toMs] (fromMs undefined: no lower bound),
 * in (time, host) order.
 */
export async function readingsOf(db: Db, lbIds: number[], fromMs: number | undefined, toMs: number): Promise<Map<number, ReadingRow[]>> {
  const out = new Map<number, ReadingRow[]>();
  for (const part of idBatches(db, lbIds)) {
    let q = db.selectFrom('usage_samples').selectAll().where(idIn(db, 'load_balancer_id', part)).where('time_ms', '<=', toMs);
    if (fromMs !== undefined) q = q.where('time_ms', '>', fromMs);
    for (const r of await q.orderBy('time_ms').orderBy('host_id').execute()) push(out, num(r.load_balancer_id), toReading(r));
  }
  return out;
}

/** Readings after fromMs that an operator released (bytes after a deletion, billed in the last record). */
export async function releasedReadingsAfter(db: Db, lbIds: number[], fromMs: number): Promise<Map<number, ReadingRow[]>> {
  const out = new Map<number, ReadingRow[]>();
  for (const part of idBatches(db, lbIds)) {
    const rows = await db.selectFrom('usage_samples').selectAll().where(idIn(db, 'load_balancer_id', part))
      .where('time_ms', '>', fromMs).where('operator', '=', OPERATOR_CODE.RELEASED).orderBy('time_ms').orderBy('host_id').execute();
    for (const r of rows) push(out, num(r.load_balancer_id), toReading(r));
  }
  return out;
}

/** Readings in their host's chain: all but late ones no operator released (they wait outside it). */
const inChain = (eb: ExpressionBuilder<Database, 'usage_samples'>) => eb.or([eb('hold', '!=', HOLD_CODE.LATE), eb('operator', '=', OPERATOR_CODE.RELEASED)]);

/** What a held reading bills unless released: nothing; a late one is not even a poll. */
const billedIf = (column: string) => sql<bigint>`sum(case when hold = ${HOLD_CODE.NONE} or operator = ${OPERATOR_CODE.RELEASED} then ${sql.ref(column)} else 0 end)`;

/** The bytes every reading stamped in (fromMs, toMs] bills, held ones aside (the fleet's open hour). */
export async function readingsBilledBetween(db: Db, fromMs: number, toMs: number): Promise<Transfers> {
  const r = await db.selectFrom('usage_samples')
    .select([billedIf('bytes_in').as('i'), billedIf('bytes_out').as('o'), billedIf('bytes_in_ssl').as('si'), billedIf('bytes_out_ssl').as('so')])
    .where('time_ms', '>', fromMs).where('time_ms', '<=', toMs).where(inChain).executeTakeFirstOrThrow();
  return { bytesIn: big(r.i ?? 0), bytesOut: big(r.o ?? 0), bytesInSsl: big(r.si ?? 0), bytesOutSsl: big(r.so ?? 0) };
}

/** Whether a load balancer's readings of the hour (hourMs, hourMs + 1h] were compacted into hourly rows. */
export async function hourCompacted(db: Db, lbId: number, hourMs: number): Promise<boolean> {
  const row = await db.selectFrom('usage_samples').select('id').where('load_balancer_id', '=', lbId).where('kind', '=', KIND_CODE.HOURLY)
    .where('time_ms', '>', hourMs).where('time_ms', '<=', hourMs + HOUR_MS).limit(1).executeTakeFirst();
  return row !== undefined;
}

/** The load balancers with readings in (fromMs, toMs], of these or all (in `range`, given one). */
export async function loadBalancersReadIn(db: Db, lbIds: number[] | undefined, fromMs: number, toMs: number, range?: IdRange): Promise<number[]> {
  const out: number[] = [];
  for (const part of lbIds ? idBatches(db, lbIds) : [undefined]) {
    let q = inIdRange(db.selectFrom('usage_samples').select('load_balancer_id').distinct().where('time_ms', '>', fromMs).where('time_ms', '<=', toMs), 'load_balancer_id', range);
    if (part) q = q.where(idIn(db, 'load_balancer_id', part));
    for (const r of await q.execute()) out.push(num(r.load_balancer_id));
  }
  return out;
}

/**
 * Per load balancer, the totals of a quiet hour (domain/rollup.ts) over its readings with time in
 * (fromMs, toMs]: bytes of the readings not held, the busiest host's readings, and the sum over
 * hosts of their mean connections. One grouped query, one row a load balancer: the rollup of a
 * fleet's quiet hours moves one row a load balancer, not one a reading. `lbIds` undefined: every
 * load balancer with readings then (in `range`, given one).
 */
export async function readingTotalsOf(db: Db, lbIds: number[] | undefined, fromMs: number, toMs: number, range?: IdRange): Promise<Map<number, RecordTotals>> {
  const out = new Map<number, RecordTotals>();
  for (const part of lbIds ? idBatches(db, lbIds) : [undefined]) {
    let perHost = inIdRange(db.selectFrom('usage_samples').where('time_ms', '>', fromMs).where('time_ms', '<=', toMs).where(inChain), 'load_balancer_id', range);
    if (part) perHost = perHost.where(idIn(db, 'load_balancer_id', part));
    // account_id is the load balancer's own: grouping by it changes nothing here, and lets each
    // shard of a Citus cluster distributed by account compute its groups alone.
    const hosts = perHost.groupBy(['account_id', 'load_balancer_id', 'host_id']).select([
      'account_id', 'load_balancer_id',
      billedIf('bytes_in').as('bi'), billedIf('bytes_out').as('bo'), billedIf('bytes_in_ssl').as('bis'), billedIf('bytes_out_ssl').as('bos'),
      // An hourly row (compacted readings) stands for `polls` readings and their connections' sums.
      sql<number>`sum(polls)`.as('polls'),
      sql<number>`cast(sum(connections) as double precision) / sum(polls)`.as('c'),
      sql<number>`cast(sum(connections_ssl) as double precision) / sum(polls)`.as('cs'),
    ]).as('h');
    const rows = await db.selectFrom(hosts).groupBy(['h.account_id', 'h.load_balancer_id']).select([
      'h.load_balancer_id',
      sql<string | bigint>`sum(h.bi)`.as('bi'), sql<string | bigint>`sum(h.bo)`.as('bo'),
      sql<string | bigint>`sum(h.bis)`.as('bis'), sql<string | bigint>`sum(h.bos)`.as('bos'),
      sql<number>`max(h.polls)`.as('polls'), sql<number>`sum(h.c)`.as('c'), sql<number>`sum(h.cs)`.as('cs'),
    ]).execute();
    for (const r of rows) {
      out.set(num(r.load_balancer_id), {
        bytesIn: big(r.bi), bytesOut: big(r.bo), bytesInSsl: big(r.bis), bytesOutSsl: big(r.bos),
        numPolls: num(r.polls), averageConnections: Number(r.c), averageConnectionsSsl: Number(r.cs),
      });
    }
  }
  return out;
}

/**
 * The chain readings of a host's load balancers stamped from fromMs to toMs, each load balancer's
 * in time order: what placing a slice's out-of-order readings looks at, read once for the slice
 * (ingest/counterOrder.ts neighboursIn) instead of a few queries a reading.
 */
export async function recentChainReadings(db: Db, hostId: number, lbIds: number[], fromMs: number, toMs = Infinity): Promise<Map<number, ReadingRow[]>> {
  const out = new Map<number, ReadingRow[]>();
  for (const part of idBatches(db, lbIds)) {
    let q = db.selectFrom('usage_samples').selectAll().where('host_id', '=', hostId).where(idIn(db, 'load_balancer_id', part)).where('time_ms', '>=', fromMs);
    if (toMs !== Infinity) q = q.where('time_ms', '<=', toMs);
    const rows = await q.where(inChain).orderBy('load_balancer_id').orderBy('time_ms').execute();
    for (const r of rows) {
      const reading = toReading(r);
      const chain = out.get(reading.loadBalancerId);
      if (chain) chain.push(reading);
      else out.set(reading.loadBalancerId, [reading]);
    }
  }
  return out;
}

/** The readings of (host, load balancer) just before and just after t in the chain (late ones wait outside it). */
export async function chainNeighbours(db: Db, hostId: number, lbId: number, t: number): Promise<{ previous?: ReadingRow; next?: ReadingRow; same?: ReadingRow }> {
  const chain = db.selectFrom('usage_samples').selectAll().where('host_id', '=', hostId).where('load_balancer_id', '=', lbId).where(inChain);
  // The latest at or before t: a reading at t itself is the one sharing its instant.
  const atOrBefore = await chain.where('time_ms', '<=', t).orderBy('time_ms', 'desc').limit(1).executeTakeFirst();
  const next = await chain.where('time_ms', '>', t).orderBy('time_ms').limit(1).executeTakeFirst();
  const found = atOrBefore && toReading(atOrBefore);
  return { ...(found ? { [found.timeMs === t ? 'same' : 'previous']: found } : {}), ...(next ? { next: toReading(next) } : {}) };
}

/** The chain link a reading is for the one after it. */
export function linkOf(r: ReadingRow): ChainLink | undefined {
  if (!r.counters || r.pid === undefined || r.processStartMs === undefined) return undefined;
  return { ...r.counters, processKey: `${r.pid}@${r.processStartMs}`, timeMs: r.timeMs };
}

export interface ReadingKey {
  loadBalancerId: number;
  hostId: number;
  timeMs: number;
}

const at = (k: ReadingKey) => (eb: any) => eb.and([eb('load_balancer_id', '=', k.loadBalancerId), eb('host_id', '=', k.hostId), eb('time_ms', '=', k.timeMs)]);

/** A reading stamped anew (placed by its counters: ingest/counterOrder.ts); it keeps the stamp it was read at. */
export async function moveReading(db: Db, key: ReadingKey, timeMs: number): Promise<void> {
  const readMs = sql<number>`coalesce(read_ms, ${key.timeMs})`;
  await db.updateTable('usage_samples').set({ time_ms: timeMs, read_ms: sql`case when ${readMs} = ${timeMs} then null else ${readMs} end` }).where(at(key)).execute();
  await noteFactChanges(db, [{ fromHourMs: hourOfReading(Math.min(key.timeMs, timeMs)), loadBalancerId: key.loadBalancerId }]);
}

/** A reading's delta taken again (a reading inserted before it in time, or released into the chain). */
export async function setReadingDelta(db: Db, key: ReadingKey, d: ChainDelta, hold?: IngestHold): Promise<void> {
  await db.updateTable('usage_samples').set({
    bytes_in: d.bytesIn, bytes_out: d.bytesOut, bytes_in_ssl: d.bytesInSsl, bytes_out_ssl: d.bytesOutSsl, kind: KIND_CODE[d.kind],
    ...(hold ? { hold: HOLD_CODE[hold] } : {}),
  }).where(at(key)).execute();
  await noteFactChanges(db, [{ fromHourMs: hourOfReading(key.timeMs), loadBalancerId: key.loadBalancerId }]);
}

export async function getReading(db: Db, key: ReadingKey): Promise<ReadingRow | undefined> {
  const r = await db.selectFrom('usage_samples').selectAll().where(at(key)).executeTakeFirst();
  return r && toReading(r);
}

/** Records an operator's decision on a held reading. */
export async function setReadingOperator(db: Db, key: ReadingKey, decision: OperatorDecision): Promise<boolean> {
  const r = await db.updateTable('usage_samples').set({ operator: OPERATOR_CODE[decision] }).where(at(key)).executeTakeFirst();
  // Any hour of its load balancer: a reading released after a deletion bills in the last record.
  await noteFactChanges(db, [{ loadBalancerId: key.loadBalancerId }]);
  return Number(r.numUpdatedRows) > 0;
}

/** Readings and sample keys older than cutoffMs (the newest baselines live in counter_state). */
export async function purgeReadingsBefore(db: Db, cutoffMs: number): Promise<number> {
  const r = await db.deleteFrom('usage_samples').where('time_ms', '<', cutoffMs).executeTakeFirst();
  await db.deleteFrom('sample_keys').where('time_ms', '<', cutoffMs).execute();
  return Number(r.numDeletedRows);
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V) {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

export interface TakenBytes {
  accountId: number;
  /** Bytes of the deltas taken from the data plane (billed, or held for an operator). */
  taken: Transfers;
  /** Of those, the bytes still held or discarded (above the ceiling, after a deletion). */
  withheld: Transfers;
}

/**
 * Per load balancer, the bytes of the deltas taken in the hours [fromMs, toMs), each reading
 * counted in the hour whose records it bills: a reading of hour H is (H, H+1h]; readings from
 * before the creation hour go in the first record; bytes after a deletion that an operator
 * released go in the last record, which ends at the deletion (domain/reading.ts, rollup.ts).
 */
export async function takenBytesPerLoadBalancer(db: Db, fromMs: number, toMs: number): Promise<Map<number, TakenBytes>> {
  const hourOf = (t: any) => sql`((${t} - 1) - ((${t} - 1) % ${HOUR_MS}))`;
  const createdHour = sql`(l.created_ms - (l.created_ms % ${HOUR_MS}))`;
  const afterDelete = sql`(l.deleted_ms is not null and s.time_ms > l.deleted_ms)`;
  const released = sql`(s.operator = ${OPERATOR_CODE.RELEASED})`;
  const billedHour = sql`(case when ${afterDelete} and ${released} then ${hourOf(sql`l.deleted_ms`)}
    when s.time_ms <= ${createdHour} then ${createdHour} else ${hourOf(sql`s.time_ms`)} end)`;
  const withheld = sql`((s.hold = ${HOLD_CODE.CEILING} and not ${released}) or (${afterDelete} and not ${released}))`;
  const columns = ['bytes_in', 'bytes_out', 'bytes_in_ssl', 'bytes_out_ssl'] as const;
  const sums = columns.map((c, i) => sql`sum(s.${sql.ref(c)}) as ${sql.ref(`t${i}`)}, sum(case when ${withheld} then s.${sql.ref(c)} else 0 end) as ${sql.ref(`w${i}`)}`);
  const rows = await sql<any>`select s.account_id, s.load_balancer_id, ${sql.join(sums)}
    from usage_samples s join load_balancers l on l.id = s.load_balancer_id
    where (s.hold <> ${HOLD_CODE.LATE} or ${released}) and not (s.kind = ${KIND_CODE.FIRST} and s.time_ms < l.created_ms)
      and ${billedHour} >= ${fromMs} and ${billedHour} < ${toMs}
    group by s.account_id, s.load_balancer_id`.execute(db);
  const out = new Map<number, TakenBytes>();
  for (const r of rows.rows) {
    out.set(num(r.load_balancer_id), {
      accountId: num(r.account_id),
      taken: { bytesIn: big(r.t0), bytesOut: big(r.t1), bytesInSsl: big(r.t2), bytesOutSsl: big(r.t3) },
      withheld: { bytesIn: big(r.w0), bytesOut: big(r.w1), bytesInSsl: big(r.w2), bytesOutSsl: big(r.w3) },
    });
  }
  return out;
}

