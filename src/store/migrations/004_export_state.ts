// Export bookkeeping: a record that the sink has not accepted yet keeps its attempts, when to
// try again, the last error, and when it was given up on (the dead-letter list).

import type { Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.createTable('export_failures')
    .addColumn('record_id', 'bigint', (c) => c.primaryKey())
    .addColumn('attempts', 'integer', (c) => c.notNull())
    .addColumn('next_attempt_ms', 'bigint', (c) => c.notNull())
    .addColumn('last_error', 'text', (c) => c.notNull())
    .addColumn('dead_ms', 'bigint')
    .execute();
  // The exporter's scan: final records not exported yet, oldest first.
  await db.schema.createIndex('usage_records_unexported').on('usage_records').columns(['exported_ms', 'final', 'hour_ms', 'id']).execute();
}
