// Record ids named within their load balancer (domain/recordIds.ts), and a record's first send
// remembered (SPEC 5, Corrections under at-least-once delivery).
//
// - `id` is no longer drawn from a sequence by every upsert: the rollup derives it from the
//   record's hour and slot. Ids already served stay as they are; `record_id_base` (the largest of
//   them) keeps the derived ones above them. SQLite's id was the table's integer primary key (001),
//   one id in the whole table: the table is rebuilt with a plain id column, PostgreSQL's (005) is
//   one already (its identity default stays for a process of the previous version still running).
// - Anomalies found by kind and time: each roll of an hour replaces the holds it makes (readings
//   after a deletion, unknown load balancers, overflows) for the whole fleet.
// - `offered`: this revision was handed to the billing sink at least once, acknowledged or not.
//   A record already exported was offered.
// - Export failures are kept per (load balancer, record id).

import { sql, type Kysely } from 'kysely';
import type { StoreDialect } from '../dialect/index.ts';

const RECORD_COLUMNS = `id, account_id, load_balancer_id, hour_ms, start_ms, end_ms, closing, bytes_in, bytes_out, bytes_in_ssl, bytes_out_ssl,
  avg_connections, avg_connections_ssl, num_vips, num_polls, vip_type, ssl_mode, event_type, final, exported_ms, roll_stamp, revision, voided`;

export async function up(db: Kysely<any>, dialect: StoreDialect): Promise<void> {
  await sql`insert into store_state (name, value) select 'record_id_base', coalesce(max(id), 0) from usage_records`.execute(db);
  if (dialect.engine === 'sqlite') {
    await sql.raw(`create table usage_records_new ("id" integer not null, "account_id" bigint not null, "load_balancer_id" bigint not null,
      "hour_ms" bigint not null, "start_ms" bigint not null, "end_ms" bigint not null, "closing" integer not null, "bytes_in" bigint not null,
      "bytes_out" bigint not null, "bytes_in_ssl" bigint not null, "bytes_out_ssl" bigint not null, "avg_connections" double precision not null,
      "avg_connections_ssl" double precision not null, "num_vips" integer not null, "num_polls" integer not null, "vip_type" text not null,
      "ssl_mode" text not null, "event_type" text, "final" integer default 0 not null, "exported_ms" bigint, "roll_stamp" bigint default 0 not null,
      "revision" integer default 0 not null, "voided" integer default 0 not null, "offered" integer default 0 not null,
      constraint "usage_records_key" unique ("load_balancer_id", "start_ms", "closing"))`).execute(db);
    await sql.raw(`insert into usage_records_new (${RECORD_COLUMNS}, offered)
      select ${RECORD_COLUMNS}, case when exported_ms is null then 0 else 1 end from usage_records`).execute(db);
    await sql.raw('drop table usage_records').execute(db);
    await sql.raw('alter table usage_records_new rename to usage_records').execute(db);
    for (const statement of [
      'create index usage_records_account_lb on usage_records (account_id, load_balancer_id, start_ms, id)',
      'create index usage_records_start on usage_records (start_ms)',
      'create index usage_records_hour on usage_records (hour_ms)',
      'create index usage_records_unexported on usage_records (exported_ms, final, hour_ms, id)',
    ]) await sql.raw(statement).execute(db);

    await sql.raw(`create table export_failures_new (load_balancer_id bigint not null, record_id bigint not null, attempts integer not null,
      next_attempt_ms bigint not null, last_error text not null, dead_ms bigint, primary key (load_balancer_id, record_id))`).execute(db);
    await sql.raw(`insert into export_failures_new select r.load_balancer_id, f.record_id, f.attempts, f.next_attempt_ms, f.last_error, f.dead_ms
      from export_failures f join usage_records r on r.id = f.record_id`).execute(db);
    await sql.raw('drop table export_failures').execute(db);
    await sql.raw('alter table export_failures_new rename to export_failures').execute(db);
  } else {
    await db.schema.alterTable('usage_records').addColumn('offered', 'integer', (c) => c.notNull().defaultTo(0)).execute();
    await sql`update usage_records set offered = 1 where exported_ms is not null`.execute(db);
    await db.schema.alterTable('export_failures').addColumn('load_balancer_id', 'bigint').execute();
    await sql`update export_failures f set load_balancer_id = r.load_balancer_id from usage_records r where r.id = f.record_id`.execute(db);
    await sql`delete from export_failures where load_balancer_id is null`.execute(db);
    await sql`alter table export_failures alter column load_balancer_id set not null`.execute(db);
    await sql`alter table export_failures drop constraint export_failures_pkey, add primary key (load_balancer_id, record_id)`.execute(db);
  }
  await db.schema.createIndex('usage_records_lb_id').on('usage_records').columns(['load_balancer_id', 'id']).execute();
  await db.schema.createIndex('anomalies_kind_time').on('anomalies').columns(['kind', 'status', 'time_ms']).execute();
}
