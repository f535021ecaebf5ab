// The store names each lbmeter (version and commit) that applied migrations to it, so an older
// lbmeter that finds migrations it does not know can say which lbmeter ran them. Expand only.
// (If not exists: a development build carried this table in 014 for a day.)

import type { Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.createTable('store_migrators').ifNotExists()
    .addColumn('version', 'text', (c) => c.primaryKey())
    .addColumn('migrated_ms', 'bigint', (c) => c.notNull())
    .execute();
}
