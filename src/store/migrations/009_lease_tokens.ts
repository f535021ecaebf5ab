// A lease carries a token: the instant its holder took it, kept while that holder renews it and
// new whenever it changes hands. Work done under a lease is stored only if the lease still has
// the holder and token it was taken with, checked in the storing transaction (a fencing token):
// a process that lost its lease and took it again later cannot store what it read before.

import type { Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('leases').addColumn('token', 'bigint', (c) => c.notNull().defaultTo(0)).execute();
}
