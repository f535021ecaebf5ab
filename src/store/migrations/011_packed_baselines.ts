// A host's counter baselines become one packed row (store/counters.ts): counter_state's rows are
// packed host by host into host_baselines, then counter_state goes.

import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { StoreDialect } from '../dialect/index.ts';
import { HostBaselines } from '../hostBaselines.ts';

export async function up(db: Kysely<any>, dialect: StoreDialect): Promise<void> {
  await db.schema.createTable('host_baselines')
    .addColumn('host_id', 'bigint', (c) => c.primaryKey())
    .addColumn('version', 'text', (c) => c.notNull())
    .addColumn('newest_ms', 'bigint', (c) => c.notNull())
    .addColumn('process_keys', 'text', (c) => c.notNull())
    .addColumn('links', dialect.binaryColumnType(), (c) => c.notNull())
    .execute();
  const hosts = await db.selectFrom('counter_state').select('host_id').distinct().execute();
  for (const { host_id: hostId } of hosts) {
    const baselines = new HostBaselines();
    for (const r of await db.selectFrom('counter_state').selectAll().where('host_id', '=', hostId).orderBy('load_balancer_id').execute()) {
      baselines.set(Number(r.load_balancer_id), {
        processKey: r.process_key, timeMs: Number(r.time_ms),
        bytesIn: BigInt(r.bytes_in), bytesOut: BigInt(r.bytes_out), bytesInSsl: BigInt(r.bytes_in_ssl), bytesOutSsl: BigInt(r.bytes_out_ssl),
      });
    }
    const { processKeys, links, newestMs } = baselines.pack();
    await db.insertInto('host_baselines').values({ host_id: hostId, version: randomUUID(), newest_ms: newestMs, process_keys: JSON.stringify(processKeys), links }).execute();
  }
  await db.schema.dropTable('counter_state').execute();
}
