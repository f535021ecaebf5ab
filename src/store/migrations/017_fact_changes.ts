// What changed among the rollup's facts since it last read them (store/factChanges.ts), so that
// a provisional hour is rolled again only where its facts changed; and the billing rule each hour
// was last rolled under. Expand only: processes of the version before neither note changes nor
// set the rule (a null rule rolls the hour whole again); a store from before starts with every
// hour to roll again.

import type { Kysely } from 'kysely';
import type { StoreDialect } from '../dialect/dialect.ts';

export async function up(db: Kysely<any>, dialect: StoreDialect): Promise<void> {
  const id = dialect.identityColumn();
  await db.schema.createTable('fact_changes')
    .addColumn('id', id.type, id.build)
    // The first hour the change can move (null: any), and whose facts changed (null: any load balancer's).
    .addColumn('from_hour_ms', 'bigint')
    .addColumn('load_balancer_id', 'bigint')
    .execute();
  await db.schema.alterTable('hours').addColumn('rule_version', 'integer').execute();
  await db.insertInto('fact_changes').values({ from_hour_ms: null, load_balancer_id: null }).execute();
}
