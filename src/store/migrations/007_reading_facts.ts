// Readings store facts, not decisions (SPEC 5, Order independence): each reading keeps its
// process, its raw counters, its delta by the reset rule and what that rule said (kind), what
// ingest held it for (hold: the ceiling, or an hour already final) and what an operator decided
// (operator: released or discarded). Whether it bills is decided at rollup.
//
// Events can be held (an event for a final hour waits for an operator). Records carry the stamp
// of the rollup that wrote them (a re-roll removes what it did not write again), a revision
// (an exported record corrected later is exported again), and a void mark (an exported record a
// correction removed stays, voided, so billing hears of it).
//
// Rows of the old form: a held sample had its bytes in its anomaly; they move back to the
// reading, which is now held by its `hold`. Their raw counters were never kept (null).

import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  for (const [column, type] of [
    ['pid', 'bigint'], ['process_start_ms', 'bigint'],
    ['counter_in', 'bigint'], ['counter_out', 'bigint'], ['counter_in_ssl', 'bigint'], ['counter_out_ssl', 'bigint'],
  ] as const) {
    await db.schema.alterTable('usage_samples').addColumn(column, type).execute();
  }
  for (const column of ['kind', 'hold', 'operator']) {
    await db.schema.alterTable('usage_samples').addColumn(column, 'integer', (c) => c.notNull().defaultTo(0)).execute();
  }
  // Held rows of the old form: bytes back from the anomaly, held by the anomaly's kind.
  await sql`update usage_samples set
      bytes_in = cast(a.bytes_in as bigint), bytes_out = cast(a.bytes_out as bigint),
      bytes_in_ssl = cast(a.bytes_in_ssl as bigint), bytes_out_ssl = cast(a.bytes_out_ssl as bigint),
      hold = case a.kind when 'DELTA_ABOVE_CEILING' then 1 when 'LATE_SAMPLE' then 2 else 0 end,
      operator = case a.status when 'DISCARDED' then 2 else 0 end
    from anomalies a
    where usage_samples.held = 1 and a.load_balancer_id = usage_samples.load_balancer_id and a.host_id = usage_samples.host_id
      and a.time_ms = usage_samples.time_ms and a.bytes_in is not null and length(a.bytes_in) <= 18
      and length(a.bytes_out) <= 18 and length(a.bytes_in_ssl) <= 18 and length(a.bytes_out_ssl) <= 18`.execute(db);
  await db.schema.alterTable('usage_samples').dropColumn('held').execute();

  await db.schema.alterTable('events').addColumn('held', 'integer', (c) => c.notNull().defaultTo(0)).execute();
  await db.schema.alterTable('anomalies').addColumn('event_id', 'text').execute();
  await db.schema.createIndex('anomalies_lb_time').on('anomalies').columns(['load_balancer_id', 'time_ms']).execute();

  await db.schema.alterTable('usage_records').addColumn('roll_stamp', 'bigint', (c) => c.notNull().defaultTo(0)).execute();
  await db.schema.alterTable('usage_records').addColumn('revision', 'integer', (c) => c.notNull().defaultTo(0)).execute();
  await db.schema.alterTable('usage_records').addColumn('voided', 'integer', (c) => c.notNull().defaultTo(0)).execute();
}
