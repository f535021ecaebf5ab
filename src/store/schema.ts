// Table types for Kysely. Integers come back as number, bigint or string depending on the engine
// and the column width (SQLite returns every integer as bigint here, pg returns int8 as bigint),
// so readers convert with the helpers in rows.ts.

import type { ColumnType, Generated } from 'kysely';

type Int = ColumnType<number | bigint | string, number | bigint, number | bigint>;
/** An integer with a default: optional on insert. */
type DefaultedInt = ColumnType<number | bigint | string, number | bigint | undefined, number | bigint>;
type NullableInt = ColumnType<number | bigint | string | null, number | bigint | null | undefined, number | bigint | null>;

export interface Database {
  clusters: { id: Int; name: string; data_center: string };
  hosts: { id: Int; cluster_id: Int; name: string; stats_socket: string | null; stats_url: string | null; retired_ms: NullableInt };
  load_balancers: {
    id: Int; account_id: Int; name: string; protocol: string; cluster_id: Int; status: string; ssl_mode: string;
    created_ms: Int; updated_ms: Int; deleted_ms: NullableInt;
  };
  virtual_ips: { load_balancer_id: Int; id: Int; address: string; ip_version: string; type: string };
  events: {
    id: string; type: string; time_ms: Int; account_id: Int; load_balancer_id: Int; body: string; received_ms: Int; held: DefaultedInt;
  };
  /** A host's counter baselines, packed (store/counters.ts). */
  host_baselines: { host_id: Int; version: string; newest_ms: Int; process_keys: string; links: Uint8Array };
  sample_keys: { host_id: Int; process_key: string; time_ms: Int };
  usage_samples: {
    id: Generated<number | bigint | string>; load_balancer_id: Int; account_id: Int; host_id: Int; time_ms: Int;
    bytes_in: Int; bytes_out: Int; bytes_in_ssl: Int; bytes_out_ssl: Int; connections: Int; connections_ssl: Int;
    pid: NullableInt; process_start_ms: NullableInt;
    /** Raw counters as two's-complement int64 (unsigned 64-bit in HAProxy); null on rows of the first form. */
    counter_in: NullableInt; counter_out: NullableInt; counter_in_ssl: NullableInt; counter_out_ssl: NullableInt;
    kind: DefaultedInt; hold: DefaultedInt; operator: DefaultedInt;
    /** Readings the row stands for: 1, or an hourly row's count (its connections are their sums). */
    polls: DefaultedInt;
    /** The stamp it was read at, where its counters placed it elsewhere (ingest/counterOrder.ts); null: at it. */
    read_ms: NullableInt;
  };
  compacted_days: { day_ms: Int; compacted_ms: Int; rows_before: Int; rows_after: Int };
  usage_records: {
    /** Unique within its load balancer (domain/recordIds.ts). */
    id: Int; account_id: Int; load_balancer_id: Int; hour_ms: Int; start_ms: Int; end_ms: Int; closing: Int;
    bytes_in: Int; bytes_out: Int; bytes_in_ssl: Int; bytes_out_ssl: Int;
    avg_connections: number; avg_connections_ssl: number; num_vips: Int; num_polls: Int;
    vip_type: string; ssl_mode: string; event_type: string | null;
    /** The billing rule that made it (domain/billingRules.ts); 0: before versions were recorded. */
    rule_version: Int; final: Int; exported_ms: NullableInt;
    roll_stamp: DefaultedInt; revision: DefaultedInt; voided: DefaultedInt;
    /** This revision was handed to the billing sink at least once (SPEC 5, Corrections under at-least-once delivery). */
    offered: DefaultedInt;
  };
  account_usage: {
    id: Generated<number | bigint | string>; account_id: Int; time_ms: Int; source: string;
    num_load_balancers: Int; num_public_vips: Int; num_servicenet_vips: Int;
  };
  /** `rule_version`: the billing rule the hour was last rolled under (017; null before, or by an older lbmeter). */
  hours: { hour_ms: Int; final: Int; rolled_ms: Int; rule_version: NullableInt };
  /** A change among the rollup's facts not yet rolled (017, store/factChanges.ts). */
  fact_changes: { id: Generated<number | bigint | string>; from_hour_ms: NullableInt; load_balancer_id: NullableInt };
  store_state: { name: string; value: Int };
  /** The figures of each revision of a record as offered to billing (additive export formats, 015). */
  export_revisions: {
    load_balancer_id: Int; start_ms: Int; closing: Int; revision: Int; end_ms: Int;
    bytes_in: Int; bytes_out: Int; bytes_in_ssl: Int; bytes_out_ssl: Int; vip_type: string; ssl_mode: string; voided: Int;
  };
  /** Each lbmeter (version and commit) that applied migrations to the store, and when (016). */
  store_migrators: { version: string; migrated_ms: Int };
  leases: { name: string; holder: string; expires_ms: Int; token: DefaultedInt };
  export_failures: { load_balancer_id: Int; record_id: Int; attempts: Int; next_attempt_ms: Int; last_error: string; dead_ms: NullableInt };
  anomalies: {
    id: Generated<number | bigint | string>; kind: string; time_ms: Int; load_balancer_id: NullableInt; host_id: NullableInt;
    detail: string; status: string; created_ms: Int;
    bytes_in: string | null; bytes_out: string | null; bytes_in_ssl: string | null; bytes_out_ssl: string | null; resolved_ms: NullableInt;
    event_id: string | null;
  };
  tokens: {
    id: Generated<number | bigint | string>; token_hash: string; roles: string; account_id: NullableInt; label: string;
    created_ms: Int; expires_ms: NullableInt; revoked_ms: NullableInt;
  };
}
