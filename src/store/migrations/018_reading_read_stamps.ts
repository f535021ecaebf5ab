// Each reading keeps the stamp it was read at when its counters placed it elsewhere (ingest/
// counterOrder.ts): a placement made before a clear of the counters was known is taken back to
// it once a reading from before the clear arrives. Expand only: a nullable column (null: the
// reading is at the stamp it was read at, or was placed by a version that did not keep it).

import type { Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('usage_samples').addColumn('read_ms', 'bigint').execute();
}
