// Counter baselines per (host, load balancer): the newest reading in each chain, from which the
// next poll's delta is taken without reading the readings table; and sample idempotency keys.

import type { Db } from './store.ts';
import { bulkInsert, idBatches, idIn, type BulkColumn } from './dialect.ts';
import { num } from './rows.ts';
import type { ChainLink } from '../domain/delta.ts';

/** Records a sample key; false when it was stored before (the sample is a retry). */
export async function claimSampleKey(db: Db, hostId: number, processKey: string, timeMs: number): Promise<boolean> {
  const r = await db.insertInto('sample_keys').values({ host_id: hostId, process_key: processKey, time_ms: timeMs })
    .onConflict((oc) => oc.doNothing()).executeTakeFirst();
  return Number(r.numInsertedOrUpdatedRows ?? 0n) > 0;
}

export async function baselinesOf(db: Db, hostId: number, lbIds: number[]): Promise<Map<number, ChainLink>> {
  const out = new Map<number, ChainLink>();
  for (const part of idBatches(db, lbIds)) {
    const rows = await db.selectFrom('counter_state').selectAll().where('host_id', '=', hostId).where(idIn(db, 'load_balancer_id', part)).execute();
    for (const r of rows) {
      out.set(num(r.load_balancer_id), {
        processKey: r.process_key, timeMs: num(r.time_ms),
        bytesIn: BigInt(r.bytes_in), bytesOut: BigInt(r.bytes_out), bytesInSsl: BigInt(r.bytes_in_ssl), bytesOutSsl: BigInt(r.bytes_out_ssl),
      });
    }
  }
  return out;
}

type HostBaseline = [loadBalancerId: number, baseline: ChainLink];
const BASELINE_COLUMNS: BulkColumn<HostBaseline>[] = [
  { name: 'load_balancer_id', pgType: 'bigint', value: ([lbId]) => lbId }, { name: 'process_key', pgType: 'text', value: ([, b]) => b.processKey },
  { name: 'time_ms', pgType: 'bigint', value: ([, b]) => b.timeMs },
  // Text: an unsigned 64-bit counter does not fit a bigint.
  { name: 'bytes_in', pgType: 'text', value: ([, b]) => String(b.bytesIn) }, { name: 'bytes_out', pgType: 'text', value: ([, b]) => String(b.bytesOut) },
  { name: 'bytes_in_ssl', pgType: 'text', value: ([, b]) => String(b.bytesInSsl) }, { name: 'bytes_out_ssl', pgType: 'text', value: ([, b]) => String(b.bytesOutSsl) },
];

export async function saveBaselines(db: Db, hostId: number, baselines: Map<number, ChainLink>): Promise<void> {
  await bulkInsert(db, 'counter_state', [{ name: 'host_id', pgType: 'bigint', value: () => hostId }, ...BASELINE_COLUMNS], [...baselines], `on conflict (host_id, load_balancer_id) do update set
    process_key = excluded.process_key, time_ms = excluded.time_ms, bytes_in = excluded.bytes_in, bytes_out = excluded.bytes_out,
    bytes_in_ssl = excluded.bytes_in_ssl, bytes_out_ssl = excluded.bytes_out_ssl`);
}
