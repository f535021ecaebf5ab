// Readings compacted once their hours have been final for a while (store/compaction.ts): a
// host's billed readings of an hour become one row (kind HOURLY) standing for `polls` readings,
// its connections their sums. compacted_days records which days are done, so each is compacted
// once, and what it saved.

import type { Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('usage_samples').addColumn('polls', 'integer', (c) => c.notNull().defaultTo(1)).execute();
  await db.schema.createTable('compacted_days')
    .addColumn('day_ms', 'bigint', (c) => c.primaryKey())
    .addColumn('compacted_ms', 'bigint', (c) => c.notNull())
    .addColumn('rows_before', 'bigint', (c) => c.notNull())
    .addColumn('rows_after', 'bigint', (c) => c.notNull())
    .execute();
}
