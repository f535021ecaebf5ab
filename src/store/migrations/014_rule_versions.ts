// Each usage record names the billing rule version that made it (domain/billingRules.ts), and
// the store names each lbmeter that migrated it (so an older one can say which newer one did).
// Expand only: a column with a default, so processes of the version before keep inserting
// records (they get 0, "made before versions were recorded", which is what they are), and a
// table of their own.

import type { Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('usage_records').addColumn('rule_version', 'integer', (c) => c.notNull().defaultTo(0)).execute();
  await db.schema.createTable('store_migrators')
    .addColumn('version', 'text', (c) => c.primaryKey())
    .addColumn('migrated_ms', 'bigint', (c) => c.notNull())
    .execute();
}
