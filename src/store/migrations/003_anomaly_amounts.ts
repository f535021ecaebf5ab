// A held delta keeps its amounts in columns (not only in the detail text) so an operator can
// release it into billing exactly; decimal text, because a held delta may exceed 2^63.

import type { Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  for (const column of ['bytes_in', 'bytes_out', 'bytes_in_ssl', 'bytes_out_ssl']) {
    await db.schema.alterTable('anomalies').addColumn(column, 'text').execute();
  }
  await db.schema.alterTable('anomalies').addColumn('resolved_ms', 'bigint').execute();
}
