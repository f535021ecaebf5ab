// Each usage record names the billing rule version that made it (domain/billingRules.ts). Expand
// only: a column with a default, so processes of the version before keep inserting records (they
// get 0, "made before versions were recorded", which is what they are).

import type { Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('usage_records').addColumn('rule_version', 'integer', (c) => c.notNull().defaultTo(0)).execute();
}
