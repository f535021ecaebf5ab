// Data held for an operator instead of being billed silently (SPEC 5), and what the operator
// decided about it.

import { sql } from 'kysely';
import type { Db } from './store.ts';
import { big, num, optNum } from './rows.ts';
import { bulkInsert, idBatches, idIn, type BulkColumn } from './dialect/index.ts';
import type { Transfers } from '../domain/types.ts';

export type AnomalyKind = 'DELTA_ABOVE_CEILING' | 'LATE_SAMPLE' | 'LATE_EVENT' | 'SAMPLE_AFTER_DELETE' | 'STALE_SAMPLE' | 'UNKNOWN_LOAD_BALANCER' | 'RECORD_OVERFLOW';

/**
 * Kinds the rollup decides from the facts of an hour, replaced each time the hour is rolled:
 * readings after a deletion, traffic of a frontend no CREATE names yet (its bytes bill once one
 * comes), a load balancer whose record would pass 2^63 - 1 bytes (held; the rest of the fleet
 * rolls up).
 */
export type RollupHoldKind = 'SAMPLE_AFTER_DELETE' | 'UNKNOWN_LOAD_BALANCER' | 'RECORD_OVERFLOW';
export type AnomalyStatus = 'HELD' | 'RELEASED' | 'DISCARDED';

export interface Anomaly {
  id: number;
  kind: AnomalyKind;
  timeMs: number;
  loadBalancerId?: number;
  hostId?: number;
  detail: string;
  status: AnomalyStatus;
  createdMs: number;
  /** The delta held back from billing, when the anomaly holds one. */
  held?: Transfers;
  /** The held event, for a LATE_EVENT. */
  eventId?: string;
  resolvedMs?: number;
}

export type NewAnomaly = Omit<Anomaly, 'id' | 'status' | 'createdMs' | 'resolvedMs'>;

const amount = (key: keyof Transfers) => (a: NewAnomaly) => (a.held ? String(a.held[key]) : null);
const ANOMALY_COLUMNS: BulkColumn<NewAnomaly>[] = [
  { name: 'kind', pgType: 'text', value: (a) => a.kind }, { name: 'time_ms', pgType: 'bigint', value: (a) => a.timeMs },
  { name: 'load_balancer_id', pgType: 'bigint', value: (a) => a.loadBalancerId ?? null }, { name: 'host_id', pgType: 'bigint', value: (a) => a.hostId ?? null },
  { name: 'detail', pgType: 'text', value: (a) => a.detail }, { name: 'status', pgType: 'text', value: () => 'HELD' },
  { name: 'bytes_in', pgType: 'text', value: amount('bytesIn') }, { name: 'bytes_out', pgType: 'text', value: amount('bytesOut') },
  { name: 'bytes_in_ssl', pgType: 'text', value: amount('bytesInSsl') }, { name: 'bytes_out_ssl', pgType: 'text', value: amount('bytesOutSsl') },
  { name: 'event_id', pgType: 'text', value: (a) => a.eventId ?? null },
];

/** Many at once (a whole host's readings can be held, say after its clock went back): in bulk. */
export async function holdAnomalies(db: Db, items: NewAnomaly[], nowMs = Date.now()): Promise<void> {
  await bulkInsert(db, 'anomalies', [...ANOMALY_COLUMNS, { name: 'created_ms', pgType: 'bigint', value: () => nowMs }], items);
}

export const ANOMALY_KINDS: readonly AnomalyKind[] = ['DELTA_ABOVE_CEILING', 'LATE_SAMPLE', 'LATE_EVENT', 'SAMPLE_AFTER_DELETE', 'STALE_SAMPLE', 'UNKNOWN_LOAD_BALANCER', 'RECORD_OVERFLOW'];

/** Bytes that bill nothing until an operator or a late CREATE decides: the held amounts of these kinds. */
export const UNBILLED_KINDS = ['UNKNOWN_LOAD_BALANCER', 'SAMPLE_AFTER_DELETE'] as const;

export interface AnomalyFilter {
  status?: AnomalyStatus;
  kind?: AnomalyKind;
  /** Anomalies of data timed in [fromMs, toMs). */
  fromMs?: number;
  toMs?: number;
  /** At most this many, the oldest first. */
  limit?: number;
}

/** Anomalies in id order (the order they were held in). */
export async function listAnomalies(db: Db, filter: AnomalyFilter | AnomalyStatus = {}): Promise<Anomaly[]> {
  const { status, kind, fromMs, toMs, limit } = typeof filter === 'string' ? { status: filter } as AnomalyFilter : filter;
  let q = db.selectFrom('anomalies').selectAll().orderBy('id');
  if (status) q = q.where('status', '=', status);
  if (kind) q = q.where('kind', '=', kind);
  if (fromMs !== undefined) q = q.where('time_ms', '>=', fromMs);
  if (toMs !== undefined) q = q.where('time_ms', '<', toMs);
  if (limit !== undefined) q = q.limit(limit);
  return (await q.execute()).map(toAnomaly);
}

export async function countAnomalies(db: Db, status: AnomalyStatus): Promise<Map<AnomalyKind, number>> {
  const rows = await db.selectFrom('anomalies').select((eb) => ['kind', eb.fn.countAll<number>().as('n')]).where('status', '=', status).groupBy('kind').execute();
  return new Map(rows.map((r) => [r.kind as AnomalyKind, num(r.n)]));
}

/** When the oldest anomaly still waiting for an operator happened (retention keeps what it needs). */
export async function oldestHeldAnomalyTime(db: Db): Promise<number | undefined> {
  const r = await db.selectFrom('anomalies').select((eb) => eb.fn.min('time_ms').as('t')).where('status', '=', 'HELD').executeTakeFirst();
  return r?.t === null || r?.t === undefined ? undefined : num(r.t as number);
}

export async function getAnomaly(db: Db, id: number): Promise<Anomaly | undefined> {
  const r = await db.selectFrom('anomalies').selectAll().where('id', '=', id).executeTakeFirst();
  return r && toAnomaly(r);
}

/** Closes a held anomaly; false when it was no longer held (someone decided first). */
export async function resolveAnomaly(db: Db, id: number, status: Exclude<AnomalyStatus, 'HELD'>, nowMs = Date.now()): Promise<boolean> {
  const r = await db.updateTable('anomalies').set({ status, resolved_ms: nowMs }).where('id', '=', id).where('status', '=', 'HELD').executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}

function toAnomaly(r: any): Anomaly {
  const a: Anomaly = {
    id: num(r.id), kind: r.kind, timeMs: num(r.time_ms), loadBalancerId: optNum(r.load_balancer_id),
    hostId: optNum(r.host_id), detail: r.detail, status: r.status, createdMs: num(r.created_ms),
  };
  if (r.bytes_in !== null) a.held = { bytesIn: big(r.bytes_in), bytesOut: big(r.bytes_out), bytesInSsl: big(r.bytes_in_ssl), bytesOutSsl: big(r.bytes_out_ssl) };
  if (r.event_id !== null && r.event_id !== undefined) a.eventId = r.event_id;
  const resolved = optNum(r.resolved_ms);
  if (resolved !== undefined) a.resolvedMs = resolved;
  return a;
}

/**
 * The rollup's holds of readings after a deletion with time in (fromMs, toMs] (of these load
 * balancers, or all), made to match those it found now: a re-roll decides again from everything
 * known. A hold found again keeps its id (an operator may be looking at it); what an operator
 * already decided stays as decided.
 */
/**
 * The undecided holds of one kind the rollup made for a span (times in (afterMs, upToMs]), of these
 * load balancers or all, replaced by this roll's: one the roll makes again (same place, same
 * bytes) stays as it is; one it no longer makes goes (a late CREATE billed the traffic, say).
 */
export async function replaceRollupHolds(db: Db, kind: RollupHoldKind, afterMs: number, upToMs: number, holds: NewAnomaly[], lbIds?: number[], nowMs = Date.now()): Promise<void> {
  const inSpan = (q: any) => q.where('kind', '=', kind).where('time_ms', '>', afterMs).where('time_ms', '<=', upToMs);
  const key = (a: { loadBalancerId?: number; hostId?: number; timeMs: number }) => `${a.loadBalancerId}/${a.hostId}/${a.timeMs}`;
  const wanted = new Map(holds.map((h) => [key(h), h]));
  const stale: number[] = [];
  for (const part of lbIds ? idBatches(db, lbIds) : [undefined]) {
    let q = inSpan(db.selectFrom('anomalies').selectAll());
    if (part) q = q.where(idIn(db, 'load_balancer_id', part));
    for (const row of await q.execute()) {
      const found = toAnomaly(row);
      // Decided already: an operator's decision stands; the roll does not hold it again.
      if (found.status !== 'HELD') {
        wanted.delete(key(found));
        continue;
      }
      const hold = wanted.get(key(found));
      const same = hold && hold.detail === found.detail && (['bytesIn', 'bytesOut', 'bytesInSsl', 'bytesOutSsl'] as const).every((k) => hold.held?.[k] === found.held?.[k]);
      if (same) wanted.delete(key(found));
      else stale.push(found.id);
    }
  }
  for (const part of idBatches(db, stale)) await db.deleteFrom('anomalies').where(idIn(db, 'id', part)).execute();
  await holdAnomalies(db, [...wanted.values()], nowMs);
}

/** Undecided bytes that bill nothing, by kind (lbmeter_unbilled_bytes_total): a gauge, so a double is exact enough. */
export async function unbilledBytes(db: Db): Promise<Map<string, number>> {
  const bytes = sql<number>`sum(coalesce(cast(bytes_in as double precision), 0) + coalesce(cast(bytes_out as double precision), 0)
    + coalesce(cast(bytes_in_ssl as double precision), 0) + coalesce(cast(bytes_out_ssl as double precision), 0))`;
  const rows = await db.selectFrom('anomalies').select(['kind', bytes.as('bytes')])
    .where('status', '=', 'HELD').where('kind', 'in', [...UNBILLED_KINDS]).groupBy('kind').execute();
  const out = new Map<string, number>(UNBILLED_KINDS.map((k) => [k, 0]));
  for (const r of rows) out.set(r.kind, Number(r.bytes ?? 0));
  return out;
}

/** Anomalies of one load balancer with time in [fromMs, toMs], any status (the audit's view). */
export async function anomaliesOf(db: Db, lbId: number, fromMs: number, toMs: number): Promise<Anomaly[]> {
  const rows = await db.selectFrom('anomalies').selectAll().where('load_balancer_id', '=', lbId)
    .where('time_ms', '>=', fromMs).where('time_ms', '<=', toMs).orderBy('time_ms').orderBy('id').execute();
  return rows.map(toAnomaly);
}

/** The undecided ceiling hold of a reading that moved (placed by its counters), moved with it. */
export async function moveCeilingHold(db: Db, from: { loadBalancerId: number; hostId: number; timeMs: number }, toMs: number): Promise<void> {
  await db.updateTable('anomalies').set({ time_ms: toMs }).where('kind', '=', 'DELTA_ABOVE_CEILING').where('status', '=', 'HELD')
    .where('load_balancer_id', '=', from.loadBalancerId).where('host_id', '=', from.hostId).where('time_ms', '=', from.timeMs).execute();
}

/** The undecided ceiling hold of one reading, replaced (its delta was taken again). */
export async function replaceCeilingHold(db: Db, at: { loadBalancerId: number; hostId: number; timeMs: number }, hold: NewAnomaly | undefined, nowMs = Date.now()): Promise<void> {
  await db.deleteFrom('anomalies').where('kind', '=', 'DELTA_ABOVE_CEILING').where('status', '=', 'HELD')
    .where('load_balancer_id', '=', at.loadBalancerId).where('host_id', '=', at.hostId).where('time_ms', '=', at.timeMs).execute();
  if (hold) await holdAnomalies(db, [hold], nowMs);
}
