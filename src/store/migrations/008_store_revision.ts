// A store-wide revision, advanced by every change to what a closed window shows (an operator's
// correction, a retention purge): API processes key their caches of closed-window pages by it,
// reading it once a request, so several processes on one store never serve a page it outdated.

import type { Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.createTable('store_state')
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('value', 'bigint', (c) => c.notNull())
    .execute();
  await db.insertInto('store_state').values({ name: 'revision', value: 0 }).execute();
}
