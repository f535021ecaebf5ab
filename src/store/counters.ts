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
import { HostBaselines } from './hostBaselines.ts';

/** Records a sample key; false when it was stored before (the sample is a retry). */
export async function claimSampleKey(db: Db, hostId: number, processKey: string, timeMs: number): Promise<boolean> {
  const r = await db.insertInto('sample_keys').values({ host_id: hostId, process_key: processKey, time_ms: timeMs })
    .onConflict((oc) => oc.doNothing()).executeTakeFirst();
  return Number(r.numInsertedOrUpdatedRows ?? 0n) > 0;
}

/**
 * Each store's last known baselines of each host, with the version they were saved as: a poll
 * reads the version only, and the 5.6 MB row only when another process (or a rolled back
 * transaction of ours) wrote another version. A version is random, so it never names two
 * contents. The cached baselines are lent, not copied (a copy was 12 ms of a host's poll): taken
 * out of the cache by the transaction that reads them (it holds the host's counter lock, so it
 * is the only one), they come back only when it saves them, so what a transaction changes is
 * never seen by another unless saved, and a caller does not change them after saving.
 */
const known = perStore(() => new Map<number, { version: string; baselines: HostBaselines }>());

export async function hostBaselines(db: Db, hostId: number): Promise<HostBaselines> {
  const version = await db.selectFrom('host_baselines').select('version').where('host_id', '=', hostId).executeTakeFirst();
  if (!version) return new HostBaselines();
  const cached = known(db).get(hostId);
  known(db).delete(hostId);
  if (cached?.version === version.version) return cached.baselines;
  const row = await db.selectFrom('host_baselines').select(['version', 'process_keys', 'links']).where('host_id', '=', hostId).executeTakeFirstOrThrow();
  return HostBaselines.unpack(JSON.parse(row.process_keys), row.links);
}

export async function saveHostBaselines(db: Db, hostId: number, baselines: HostBaselines): Promise<void> {
  const { processKeys, links, newestMs } = baselines.pack();
  const values = { version: randomUUID(), process_keys: JSON.stringify(processKeys), links, newest_ms: newestMs };
  await db.insertInto('host_baselines').values({ host_id: hostId, ...values })
    .onConflict((oc) => oc.column('host_id').doUpdateSet(values)).execute();
  known(db).set(hostId, { version: values.version, baselines });
}

/** The time of the newest reading each host's chains hold (absent: never read). */
export async function newestReadingPerHost(db: Db): Promise<Map<number, number>> {
  const rows = await db.selectFrom('host_baselines').select(['host_id', 'newest_ms']).execute();
  return new Map(rows.map((r) => [num(r.host_id), num(r.newest_ms)]));
}
