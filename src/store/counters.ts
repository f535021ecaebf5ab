// Counter baselines per (host, load balancer), sample idempotency keys and stored deltas.

import type { Db } from './store.ts';
import { bulkInsert, idBatches, idIn, type BulkColumn } from './dialect.ts';
import { ensureDayPartitions } from './partitions.ts';
import { big, num } from './rows.ts';
import type { CounterBaseline } from '../domain/delta.ts';
import type { Transfers } from '../domain/types.ts';
import type { SampleTotals, UsageSample } from '../domain/rollup.ts';

/** Records a sample key; false when it was stored before (the sample is a retry). */
export async function claimSampleKey(db: Db, hostId: number, processKey: string, timeMs: number): Promise<boolean> {
  const r = await db.insertInto('sample_keys').values({ host_id: hostId, process_key: processKey, time_ms: timeMs })
    .onConflict((oc) => oc.doNothing()).executeTakeFirst();
  return Number(r.numInsertedOrUpdatedRows ?? 0n) > 0;
}

export async function baselinesOf(db: Db, hostId: number, lbIds: number[]): Promise<Map<number, CounterBaseline>> {
  const out = new Map<number, CounterBaseline>();
  for (const part of idBatches(db, lbIds)) {
    const rows = await db.selectFrom('counter_state').selectAll().where('host_id', '=', hostId).where(idIn(db, 'load_balancer_id', part)).execute();
    for (const r of rows) {
      out.set(num(r.load_balancer_id), {
        processKey: r.process_key, timeMs: num(r.time_ms),
        bytesIn: big(r.bytes_in), bytesOut: big(r.bytes_out), bytesInSsl: big(r.bytes_in_ssl), bytesOutSsl: big(r.bytes_out_ssl),
      });
    }
  }
  return out;
}

type HostBaseline = [loadBalancerId: number, baseline: CounterBaseline];
const BASELINE_COLUMNS: BulkColumn<HostBaseline>[] = [
  { name: 'load_balancer_id', pgType: 'bigint', value: ([lbId]) => lbId }, { name: 'process_key', pgType: 'text', value: ([, b]) => b.processKey },
  { name: 'time_ms', pgType: 'bigint', value: ([, b]) => b.timeMs },
  // Text: an unsigned 64-bit counter does not fit a bigint.
  { name: 'bytes_in', pgType: 'text', value: ([, b]) => String(b.bytesIn) }, { name: 'bytes_out', pgType: 'text', value: ([, b]) => String(b.bytesOut) },
  { name: 'bytes_in_ssl', pgType: 'text', value: ([, b]) => String(b.bytesInSsl) }, { name: 'bytes_out_ssl', pgType: 'text', value: ([, b]) => String(b.bytesOutSsl) },
];

export async function saveBaselines(db: Db, hostId: number, baselines: Map<number, CounterBaseline>): Promise<void> {
  await bulkInsert(db, 'counter_state', [{ name: 'host_id', pgType: 'bigint', value: () => hostId }, ...BASELINE_COLUMNS], [...baselines], `on conflict (host_id, load_balancer_id) do update set
    process_key = excluded.process_key, time_ms = excluded.time_ms, bytes_in = excluded.bytes_in, bytes_out = excluded.bytes_out,
    bytes_in_ssl = excluded.bytes_in_ssl, bytes_out_ssl = excluded.bytes_out_ssl`);
}

export interface StoredDelta extends UsageSample {
  loadBalancerId: number;
  accountId: number;
  hostId: number;
  held: boolean;
}

const DELTA_COLUMNS: BulkColumn<StoredDelta>[] = [
  { name: 'load_balancer_id', pgType: 'bigint', value: (d) => d.loadBalancerId }, { name: 'account_id', pgType: 'bigint', value: (d) => d.accountId },
  { name: 'host_id', pgType: 'bigint', value: (d) => d.hostId }, { name: 'time_ms', pgType: 'bigint', value: (d) => d.timeMs },
  { name: 'bytes_in', pgType: 'bigint', value: (d) => d.bytesIn }, { name: 'bytes_out', pgType: 'bigint', value: (d) => d.bytesOut },
  { name: 'bytes_in_ssl', pgType: 'bigint', value: (d) => d.bytesInSsl }, { name: 'bytes_out_ssl', pgType: 'bigint', value: (d) => d.bytesOutSsl },
  { name: 'connections', pgType: 'bigint', value: (d) => d.connections }, { name: 'connections_ssl', pgType: 'bigint', value: (d) => d.connectionsSsl },
  { name: 'held', pgType: 'integer', value: (d) => (d.held ? 1 : 0) },
];

export async function insertDeltas(db: Db, deltas: StoredDelta[]): Promise<void> {
  if (deltas.length === 0) return;
  let first = deltas[0]!.timeMs;
  let last = first;
  for (const d of deltas) {
    if (d.timeMs < first) first = d.timeMs;
    if (d.timeMs > last) last = d.timeMs;
  }
  await ensureDayPartitions(db, 'usage_samples', first, last);
  await bulkInsert(db, 'usage_samples', DELTA_COLUMNS, deltas);
}

/** Deltas (held ones carry no bytes, only their poll) of the load balancers with time in (fromMs, toMs]; fromMs undefined: no lower bound. */
export async function deltasOf(db: Db, lbIds: number[], fromMs: number | undefined, toMs: number): Promise<Map<number, UsageSample[]>> {
  const out = new Map<number, UsageSample[]>();
  for (const part of idBatches(db, lbIds)) {
    let q = db.selectFrom('usage_samples').selectAll().where(idIn(db, 'load_balancer_id', part)).where('time_ms', '<=', toMs);
    if (fromMs !== undefined) q = q.where('time_ms', '>', fromMs);
    for (const r of await q.orderBy('time_ms').execute()) {
      const lb = num(r.load_balancer_id);
      const list = out.get(lb) ?? [];
      list.push({
        timeMs: num(r.time_ms), bytesIn: big(r.bytes_in), bytesOut: big(r.bytes_out), bytesInSsl: big(r.bytes_in_ssl),
        bytesOutSsl: big(r.bytes_out_ssl), connections: num(r.connections), connectionsSsl: num(r.connections_ssl),
      });
      out.set(lb, list);
    }
  }
  return out;
}

/**
 * Per load balancer, the totals of its deltas with time in (fromMs, toMs]: one grouped query,
 * so the rollup of a fleet's quiet hours moves one row a load balancer, not one a poll.
 * `lbIds` undefined: every load balancer with deltas then.
 */
export async function deltaTotalsOf(db: Db, lbIds: number[] | undefined, fromMs: number, toMs: number): Promise<Map<number, SampleTotals>> {
  const out = new Map<number, SampleTotals>();
  for (const part of lbIds ? idBatches(db, lbIds) : [undefined]) {
    let q = db.selectFrom('usage_samples').where('time_ms', '>', fromMs).where('time_ms', '<=', toMs);
    if (part) q = q.where(idIn(db, 'load_balancer_id', part));
    // account_id is the load balancer's own: grouping by it too changes nothing here, and lets
    // each shard of a Citus cluster distributed by account compute its groups alone.
    const rows = await q.groupBy(['account_id', 'load_balancer_id']).select((eb) => [
      'load_balancer_id',
      eb.fn.sum<string | bigint>('bytes_in').as('bytes_in'), eb.fn.sum<string | bigint>('bytes_out').as('bytes_out'),
      eb.fn.sum<string | bigint>('bytes_in_ssl').as('bytes_in_ssl'), eb.fn.sum<string | bigint>('bytes_out_ssl').as('bytes_out_ssl'),
      eb.fn.sum<string | bigint>('connections').as('connections'), eb.fn.sum<string | bigint>('connections_ssl').as('connections_ssl'),
      eb.fn.count<number | bigint>('time_ms').distinct().as('polls'),
    ]).execute();
    for (const r of rows) {
      out.set(num(r.load_balancer_id), {
        bytesIn: big(r.bytes_in), bytesOut: big(r.bytes_out), bytesInSsl: big(r.bytes_in_ssl), bytesOutSsl: big(r.bytes_out_ssl),
        connections: num(r.connections), connectionsSsl: num(r.connections_ssl), polls: num(r.polls),
      });
    }
  }
  return out;
}

/** Bills a held delta: its stored sample gets the bytes. False when no held sample is there. */
export async function billHeldSample(db: Db, at: { loadBalancerId: number; hostId: number; timeMs: number }, bytes: Transfers): Promise<boolean> {
  const r = await db.updateTable('usage_samples')
    .set({ bytes_in: bytes.bytesIn, bytes_out: bytes.bytesOut, bytes_in_ssl: bytes.bytesInSsl, bytes_out_ssl: bytes.bytesOutSsl, held: 0 })
    .where('load_balancer_id', '=', at.loadBalancerId).where('host_id', '=', at.hostId).where('time_ms', '=', at.timeMs).where('held', '=', 1)
    .executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}

/** Deltas and sample keys older than cutoffMs (the newest baselines live in counter_state). */
export async function purgeSamplesBefore(db: Db, cutoffMs: number): Promise<number> {
  const r = await db.deleteFrom('usage_samples').where('time_ms', '<', cutoffMs).executeTakeFirst();
  await db.deleteFrom('sample_keys').where('time_ms', '<', cutoffMs).execute();
  return Number(r.numDeletedRows);
}

/** CREATE and UNSUSPEND: counting starts from zero on every host, unless a newer reading exists. */
export async function setZeroBaselines(db: Db, hostIds: number[], lbId: number, timeMs: number): Promise<void> {
  if (hostIds.length === 0) return;
  const existing = await db.selectFrom('counter_state').select(['host_id', 'time_ms']).where('load_balancer_id', '=', lbId).where('host_id', 'in', hostIds).execute();
  const newer = new Set(existing.filter((r) => num(r.time_ms) > timeMs).map((r) => num(r.host_id)));
  for (const hostId of hostIds) {
    if (newer.has(hostId)) continue;
    await saveBaselines(db, hostId, new Map([[lbId, { processKey: '*', timeMs, bytesIn: 0n, bytesOut: 0n, bytesInSsl: 0n, bytesOutSsl: 0n }]]));
  }
}
