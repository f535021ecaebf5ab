// The first schema: inventory, lifecycle events, counters and deltas, usage records, account
// snapshots, hours, anomalies and tokens.

import type { Kysely } from 'kysely';
import type { StoreDialect } from '../dialect/index.ts';

export async function up(db: Kysely<any>, dialect: StoreDialect): Promise<void> {
  const id = dialect.identityColumn();
  const big = 'bigint';

  await db.schema.createTable('clusters')
    .addColumn('id', big, (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('data_center', 'text', (c) => c.notNull())
    .execute();

  await db.schema.createTable('hosts')
    .addColumn('id', big, (c) => c.primaryKey())
    .addColumn('cluster_id', big, (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('stats_socket', 'text')
    .addColumn('stats_url', 'text')
    .addColumn('retired_ms', big)
    .execute();

  await db.schema.createTable('load_balancers')
    .addColumn('id', big, (c) => c.primaryKey())
    .addColumn('account_id', big, (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('protocol', 'text', (c) => c.notNull())
    .addColumn('cluster_id', big, (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('ssl_mode', 'text', (c) => c.notNull())
    .addColumn('created_ms', big, (c) => c.notNull())
    .addColumn('updated_ms', big, (c) => c.notNull())
    .addColumn('deleted_ms', big)
    .execute();
  await db.schema.createIndex('load_balancers_account').on('load_balancers').columns(['account_id', 'id']).execute();
  await db.schema.createIndex('load_balancers_cluster').on('load_balancers').columns(['cluster_id', 'account_id']).execute();

  await db.schema.createTable('virtual_ips')
    .addColumn('load_balancer_id', big, (c) => c.notNull())
    .addColumn('id', big, (c) => c.notNull())
    .addColumn('address', 'text', (c) => c.notNull())
    .addColumn('ip_version', 'text', (c) => c.notNull())
    .addColumn('type', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('virtual_ips_pk', ['load_balancer_id', 'id'])
    .execute();

  await db.schema.createTable('events')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('time_ms', big, (c) => c.notNull())
    .addColumn('account_id', big, (c) => c.notNull())
    .addColumn('load_balancer_id', big, (c) => c.notNull())
    .addColumn('body', 'text', (c) => c.notNull())
    .addColumn('received_ms', big, (c) => c.notNull())
    .execute();
  await db.schema.createIndex('events_lb').on('events').columns(['load_balancer_id', 'time_ms']).execute();
  await db.schema.createIndex('events_account').on('events').columns(['account_id', 'time_ms']).execute();

  await db.schema.createTable('counter_state')
    .addColumn('host_id', big, (c) => c.notNull())
    .addColumn('load_balancer_id', big, (c) => c.notNull())
    .addColumn('process_key', 'text', (c) => c.notNull())
    .addColumn('time_ms', big, (c) => c.notNull())
    // Raw HAProxy counters are unsigned 64-bit, beyond SQL bigint: kept as decimal text.
    .addColumn('bytes_in', 'text', (c) => c.notNull())
    .addColumn('bytes_out', 'text', (c) => c.notNull())
    .addColumn('bytes_in_ssl', 'text', (c) => c.notNull())
    .addColumn('bytes_out_ssl', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('counter_state_pk', ['host_id', 'load_balancer_id'])
    .execute();

  await db.schema.createTable('sample_keys')
    .addColumn('host_id', big, (c) => c.notNull())
    .addColumn('process_key', 'text', (c) => c.notNull())
    .addColumn('time_ms', big, (c) => c.notNull())
    .addPrimaryKeyConstraint('sample_keys_pk', ['host_id', 'process_key', 'time_ms'])
    .execute();

  await db.schema.createTable('usage_samples')
    .addColumn('id', id.type, id.build)
    .addColumn('load_balancer_id', big, (c) => c.notNull())
    .addColumn('account_id', big, (c) => c.notNull())
    .addColumn('host_id', big, (c) => c.notNull())
    .addColumn('time_ms', big, (c) => c.notNull())
    .addColumn('bytes_in', big, (c) => c.notNull())
    .addColumn('bytes_out', big, (c) => c.notNull())
    .addColumn('bytes_in_ssl', big, (c) => c.notNull())
    .addColumn('bytes_out_ssl', big, (c) => c.notNull())
    .addColumn('connections', big, (c) => c.notNull())
    .addColumn('connections_ssl', big, (c) => c.notNull())
    .addColumn('held', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
  await db.schema.createIndex('usage_samples_lb_time').on('usage_samples').columns(['load_balancer_id', 'time_ms']).execute();
  await db.schema.createIndex('usage_samples_time').on('usage_samples').columns(['time_ms']).execute();

  await db.schema.createTable('usage_records')
    .addColumn('id', id.type, id.build)
    .addColumn('account_id', big, (c) => c.notNull())
    .addColumn('load_balancer_id', big, (c) => c.notNull())
    .addColumn('hour_ms', big, (c) => c.notNull())
    .addColumn('start_ms', big, (c) => c.notNull())
    .addColumn('end_ms', big, (c) => c.notNull())
    .addColumn('closing', 'integer', (c) => c.notNull())
    .addColumn('bytes_in', big, (c) => c.notNull())
    .addColumn('bytes_out', big, (c) => c.notNull())
    .addColumn('bytes_in_ssl', big, (c) => c.notNull())
    .addColumn('bytes_out_ssl', big, (c) => c.notNull())
    .addColumn('avg_connections', 'double precision', (c) => c.notNull())
    .addColumn('avg_connections_ssl', 'double precision', (c) => c.notNull())
    .addColumn('num_vips', 'integer', (c) => c.notNull())
    .addColumn('num_polls', 'integer', (c) => c.notNull())
    .addColumn('vip_type', 'text', (c) => c.notNull())
    .addColumn('ssl_mode', 'text', (c) => c.notNull())
    .addColumn('event_type', 'text')
    .addColumn('final', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('exported_ms', big)
    .addUniqueConstraint('usage_records_key', ['load_balancer_id', 'start_ms', 'closing'])
    .execute();
  await db.schema.createIndex('usage_records_account_lb').on('usage_records').columns(['account_id', 'load_balancer_id', 'start_ms', 'id']).execute();
  await db.schema.createIndex('usage_records_start').on('usage_records').columns(['start_ms']).execute();
  await db.schema.createIndex('usage_records_hour').on('usage_records').columns(['hour_ms']).execute();

  await db.schema.createTable('account_usage')
    .addColumn('id', id.type, id.build)
    .addColumn('account_id', big, (c) => c.notNull())
    .addColumn('time_ms', big, (c) => c.notNull())
    .addColumn('source', 'text', (c) => c.notNull())
    .addColumn('num_load_balancers', 'integer', (c) => c.notNull())
    .addColumn('num_public_vips', 'integer', (c) => c.notNull())
    .addColumn('num_servicenet_vips', 'integer', (c) => c.notNull())
    .addUniqueConstraint('account_usage_key', ['account_id', 'time_ms', 'source'])
    .execute();
  await db.schema.createIndex('account_usage_time').on('account_usage').columns(['time_ms']).execute();

  await db.schema.createTable('hours')
    .addColumn('hour_ms', big, (c) => c.primaryKey())
    .addColumn('final', 'integer', (c) => c.notNull())
    .addColumn('rolled_ms', big, (c) => c.notNull())
    .execute();

  await db.schema.createTable('anomalies')
    .addColumn('id', id.type, id.build)
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('time_ms', big, (c) => c.notNull())
    .addColumn('load_balancer_id', big)
    .addColumn('host_id', big)
    .addColumn('detail', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('created_ms', big, (c) => c.notNull())
    .execute();

  await db.schema.createTable('tokens')
    .addColumn('id', id.type, id.build)
    .addColumn('token_hash', 'text', (c) => c.notNull().unique())
    .addColumn('roles', 'text', (c) => c.notNull())
    .addColumn('account_id', big)
    .addColumn('label', 'text', (c) => c.notNull())
    .addColumn('created_ms', big, (c) => c.notNull())
    .addColumn('expires_ms', big)
    .addColumn('revoked_ms', big)
    .execute();
}
