// Counter baselines: the newest reading of each (host, load balancer) chain, from which the next
// poll's delta is taken without reading the readings table; and sample idempotency keys.
//
// A host's baselines are one row, packed: a poll of a host reads and rewrites them whole, and a
// row a load balancer made that a select and an upsert of 100k rows a poll (1.4 s of a 2.7 s
// host, profiled), where one packed row of 5.6 MB moves in milliseconds. Writers of a host's
// baselines hold its counter lock (dialect/index.ts lockHostCounters) from read to write.

import { randomUUID } from 'node:crypto';
import type { Db } from './store.ts';
import { perStore } from './perStore.ts';
import { num } from './rows.ts';
import type { ChainLink } from '../domain/delta.ts';

/** Records a sample key; false when it was stored before (the sample is a retry). */
export async function claimSampleKey(db: Db, hostId: number, processKey: string, timeMs: number): Promise<boolean> {
  const r = await db.insertInto('sample_keys').values({ host_id: hostId, process_key: processKey, time_ms: timeMs })
    .onConflict((oc) => oc.doNothing()).executeTakeFirst();
  return Number(r.numInsertedOrUpdatedRows ?? 0n) > 0;
}

/** A host's baselines by load balancer id. */
export type HostBaselines = Map<number, ChainLink>;

/**
 * Each store's last known baselines of each host, with the version they were saved as: a poll
 * reads the version only, and the 5.6 MB row only when another process (or a rolled back
 * transaction of ours) wrote another version. A version is random, so it never names two
 * contents; callers get a copy, so what they change is not cached before it is saved.
 */
const known = perStore(() => new Map<number, { version: string; baselines: HostBaselines }>());

export async function hostBaselines(db: Db, hostId: number): Promise<HostBaselines> {
  const version = await db.selectFrom('host_baselines').select('version').where('host_id', '=', hostId).executeTakeFirst();
  if (!version) return new Map();
  const cached = known(db).get(hostId);
  if (cached?.version === version.version) return new Map(cached.baselines);
  const row = await db.selectFrom('host_baselines').select(['version', 'process_keys', 'links']).where('host_id', '=', hostId).executeTakeFirstOrThrow();
  const baselines = unpackBaselines(JSON.parse(row.process_keys), row.links);
  known(db).set(hostId, { version: row.version, baselines });
  return new Map(baselines);
}

export async function saveHostBaselines(db: Db, hostId: number, baselines: HostBaselines): Promise<void> {
  const { processKeys, links, newestMs } = packBaselines(baselines);
  const values = { version: randomUUID(), process_keys: JSON.stringify(processKeys), links, newest_ms: newestMs };
  await db.insertInto('host_baselines').values({ host_id: hostId, ...values })
    .onConflict((oc) => oc.column('host_id').doUpdateSet(values)).execute();
  known(db).set(hostId, { version: values.version, baselines: new Map(baselines) });
}

/** The time of the newest reading each host's chains hold (absent: never read). */
export async function newestReadingPerHost(db: Db): Promise<Map<number, number>> {
  const rows = await db.selectFrom('host_baselines').select(['host_id', 'newest_ms']).execute();
  return new Map(rows.map((r) => [num(r.host_id), num(r.newest_ms)]));
}

// One link: load balancer id and time (float64, exact integers below 2^53), the index of its
// process key, and the four raw counters (unsigned 64-bit).
const LINK_BYTES = 56;

export function packBaselines(baselines: HostBaselines): { processKeys: string[]; links: Buffer; newestMs: number } {
  const keyIndex = new Map<string, number>();
  const links = Buffer.alloc(baselines.size * LINK_BYTES);
  let offset = 0;
  let newestMs = 0;
  for (const [lbId, link] of baselines) {
    let key = keyIndex.get(link.processKey);
    if (key === undefined) keyIndex.set(link.processKey, (key = keyIndex.size));
    links.writeDoubleLE(lbId, offset);
    links.writeDoubleLE(link.timeMs, offset + 8);
    links.writeUInt32LE(key, offset + 16);
    links.writeBigUInt64LE(link.bytesIn, offset + 24);
    links.writeBigUInt64LE(link.bytesOut, offset + 32);
    links.writeBigUInt64LE(link.bytesInSsl, offset + 40);
    links.writeBigUInt64LE(link.bytesOutSsl, offset + 48);
    if (link.timeMs > newestMs) newestMs = link.timeMs;
    offset += LINK_BYTES;
  }
  return { processKeys: [...keyIndex.keys()], links, newestMs };
}

export function unpackBaselines(processKeys: string[], links: Uint8Array): HostBaselines {
  const buf = Buffer.from(links.buffer, links.byteOffset, links.byteLength);
  const out: HostBaselines = new Map();
  for (let offset = 0; offset + LINK_BYTES <= buf.length; offset += LINK_BYTES) {
    out.set(buf.readDoubleLE(offset), {
      processKey: processKeys[buf.readUInt32LE(offset + 16)]!, timeMs: buf.readDoubleLE(offset + 8),
      bytesIn: buf.readBigUInt64LE(offset + 24), bytesOut: buf.readBigUInt64LE(offset + 32),
      bytesInSsl: buf.readBigUInt64LE(offset + 40), bytesOutSsl: buf.readBigUInt64LE(offset + 48),
    });
  }
  return out;
}
