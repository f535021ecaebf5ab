// The data the benchmarks run on, built fast (COPY on PostgreSQL, one prepared statement in one
// transaction on SQLite) and kept between runs: a store is rebuilt only when its size changed.

import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { mkdirSync } from 'node:fs';
import pg from 'pg';
import copyStreams from 'pg-copy-streams';
import { openStore, type Store } from '../src/store/store.ts';
import { createToken } from '../src/store/tokens.ts';
import { ensureDayPartitions } from '../src/store/partitions.ts';

export const PG_ADMIN = process.env.LBMETER_TEST_POSTGRES ?? 'postgres://postgres@127.0.0.1:5432/test';
export const HOUR = 3_600_000;
/** Usage history starts here; the bench's "now" is long after, so every hour is final. */
export const T0 = Date.parse('2026-01-01T00:00:00Z');

export interface Sizes {
  loadBalancers: number;
  /** Usage records, spread over load balancers and consecutive hours. */
  records: number;
}

export function pgUrl(database: string): string {
  const url = new URL(PG_ADMIN);
  url.pathname = `/${database}`;
  return url.toString();
}

export async function ensurePgDatabase(name: string, fresh = false): Promise<string> {
  const admin = new pg.Client({ connectionString: PG_ADMIN });
  await admin.connect();
  try {
    if (fresh) await admin.query(`drop database if exists ${name} with (force)`);
    const exists = await admin.query('select 1 from pg_database where datname = $1', [name]);
    if (exists.rowCount === 0) await admin.query(`create database ${name}`);
  } finally {
    await admin.end();
  }
  return pgUrl(name);
}

export async function dropPgDatabase(name: string): Promise<void> {
  const admin = new pg.Client({ connectionString: PG_ADMIN });
  await admin.connect();
  try {
    await admin.query(`drop database if exists ${name} with (force)`);
  } finally {
    await admin.end();
  }
}

/** Rows as tab-separated lines into a table, through COPY. */
export async function copyInto(pool: pg.Pool, table: string, columns: string[], lines: Iterable<string>): Promise<void> {
  const client = await pool.connect();
  try {
    const source = Readable.from((function* () {
      let batch: string[] = [];
      for (const line of lines) {
        batch.push(line);
        if (batch.length === 5000) {
          yield batch.join('\n') + '\n';
          batch = [];
        }
      }
      if (batch.length) yield batch.join('\n') + '\n';
    })());
    await pipeline(source, client.query(copyStreams.from(`copy ${table} (${columns.join(', ')}) from stdin`)));
  } finally {
    client.release();
  }
}

/** The account of a load balancer: 20 load balancers an account. */
export const accountOf = (lb: number) => 100_000 + Math.floor((lb - 1) / 20);

/**
 * What HAProxy's `show stat` (or `;csv`) prints for load balancers 1..n, a plain and an SSL
 * frontend each: `counters(lb)` gives [sessions, bin, bout] of the plain one, then of the SSL one.
 */
export function statCsv(n: number, counters: (lb: number) => [number, number, number, number, number, number]): string {
  const lines = ['# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,'];
  for (let lb = 1; lb <= n; lb++) {
    const [scur, bin, bout, scurSsl, binSsl, boutSsl] = counters(lb);
    lines.push(`${accountOf(lb)}_${lb},FRONTEND,,,${scur},0,0,0,${bin},${bout},`, `${accountOf(lb)}_${lb}_S,FRONTEND,,,${scurSsl},0,0,0,${binSsl},${boutSsl},`);
  }
  return lines.join('\n') + '\n';
}

export function* lbRows(n: number) {
  for (let lb = 1; lb <= n; lb++) yield [lb, accountOf(lb), `bench-${lb}`, 'HTTP', 1, 'ACTIVE', 'OFF', T0, T0];
}

/** n load balancers created at T0 in cluster 1: their state and their CREATE events. */
export async function copyFleet(pool: pg.Pool, n: number): Promise<void> {
  await copyInto(pool, 'load_balancers', LB_COLUMNS, (function* () { for (const r of lbRows(n)) yield tsv(r); })());
  await copyInto(pool, 'events', ['id', 'type', 'time_ms', 'account_id', 'load_balancer_id', 'body', 'received_ms'], (function* () {
    for (let lb = 1; lb <= n; lb++) {
      const body = JSON.stringify({ name: `bench-${lb}`, protocol: 'HTTP', clusterId: 1, status: 'ACTIVE', sslMode: 'OFF', virtualIps: [{ id: lb, address: `10.${lb >> 16}.${(lb >> 8) & 255}.${lb & 255}`, ipVersion: 'IPV4', type: 'PUBLIC' }] });
      yield tsv([`create-${lb}`, 'CREATE_LOADBALANCER', T0, accountOf(lb), lb, body.replace(/\\/g, '\\\\'), T0]);
    }
  })());
}

/**
 * Final records of consecutive hours from `fromMs`, every load balancer each hour; those of the
 * hours before `exportedBeforeMs` marked exported.
 */
export function* recordRows(sizes: Sizes, fromMs = T0, exportedBeforeMs = -Infinity) {
  const hours = Math.ceil(sizes.records / sizes.loadBalancers);
  let made = 0;
  for (let h = 0; h < hours && made < sizes.records; h++) {
    const start = fromMs + h * HOUR;
    const exported = start < exportedBeforeMs ? start + 3 * HOUR : null;
    for (let lb = 1; lb <= sizes.loadBalancers && made < sizes.records; lb++, made++) {
      yield [made + 1, accountOf(lb), lb, start, start, start + HOUR, 0, 1000 + lb, 5000 + h, lb % 7, h % 5, 3.25, 0.5, 1, 12, 'PUBLIC', 'OFF', null, 1, exported];
    }
  }
}

export const LB_COLUMNS = ['id', 'account_id', 'name', 'protocol', 'cluster_id', 'status', 'ssl_mode', 'created_ms', 'updated_ms'];
export const RECORD_COLUMNS = ['id', 'account_id', 'load_balancer_id', 'hour_ms', 'start_ms', 'end_ms', 'closing', 'bytes_in', 'bytes_out', 'bytes_in_ssl', 'bytes_out_ssl',
  'avg_connections', 'avg_connections_ssl', 'num_vips', 'num_polls', 'vip_type', 'ssl_mode', 'event_type', 'final', 'exported_ms'];

export const tsv = (row: unknown[]) => row.map((v) => (v === null ? '\\N' : String(v))).join('\t');

/** The fleet and its usage history, on an engine; reused when it already has these sizes. */
export async function usageStore(engine: 'postgres' | 'sqlite', sizes: Sizes, log: (s: string) => void): Promise<{ store: Store; location: string; token: string; adminToken: string }> {
  const tag = `${sizes.loadBalancers}_${sizes.records}`;
  const location = engine === 'postgres' ? await ensurePgDatabase(`lbmeter_bench_${tag}`) : (mkdirSync('bench/.data', { recursive: true }), `bench/.data/usage-${tag}.db`);
  const store = await openStore(location);
  const meta = await store.db.selectFrom('clusters').select('name').where('id', '=', 1).executeTakeFirst();
  if (meta?.name !== `bench ${tag}`) {
    const started = performance.now();
    log(`building ${engine} usage store: ${sizes.loadBalancers} load balancers, ${sizes.records} records`);
    for (const t of ['usage_records', 'load_balancers', 'clusters', 'tokens'] as const) await store.db.deleteFrom(t).execute();
    if (engine === 'postgres') {
      const pool = store.connection.pool!;
      await copyInto(pool, 'load_balancers', LB_COLUMNS, [...lbRows(sizes.loadBalancers)].map(tsv));
      await ensureDayPartitions(store.db, 'usage_records', T0, T0 + Math.ceil(sizes.records / sizes.loadBalancers) * HOUR);
      await copyInto(pool, 'usage_records', RECORD_COLUMNS, (function* () { for (const r of recordRows(sizes)) yield tsv(r); })());
      await pool.query(`select setval(pg_get_serial_sequence('usage_records', 'id'), ${sizes.records + 1}, false)`);
      await pool.query('analyze');
    } else {
      const db = store.connection.sqlite!;
      const insert = (table: string, columns: string[]) => db.prepare(`insert into ${table} (${columns.join(', ')}) values (${columns.map(() => '?').join(', ')})`);
      db.transaction(() => {
        const lbs = insert('load_balancers', LB_COLUMNS);
        for (const r of lbRows(sizes.loadBalancers)) lbs.run(r);
        const recs = insert('usage_records', RECORD_COLUMNS);
        for (const r of recordRows(sizes)) recs.run(r);
      })();
      db.exec('analyze');
    }
    await store.db.insertInto('clusters').values({ id: 1, name: `bench ${tag}`, data_center: 'BENCH' }).execute();
    log(`  built in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  }
  // Rolled up as a running lbmeter would have it: the history's hours final, and the rollup
  // caught up to the hour before this one (so `current` has only the hour in progress to make).
  const lastHour = Math.floor(Date.now() / HOUR) * HOUR - HOUR;
  const hours = [...Array(Math.ceil(sizes.records / sizes.loadBalancers)).keys()].map((h) => T0 + h * HOUR);
  for (let h = lastHour - 25 * HOUR; h <= lastHour; h += HOUR) hours.push(h);
  await store.db.insertInto('hours').values(hours.map((h) => ({ hour_ms: h, final: 1, rolled_ms: h + HOUR }))).onConflict((oc) => oc.doNothing()).execute();
  await store.db.deleteFrom('tokens').execute();
  const reader = await createToken(store.db, { roles: ['billing'] });
  const admin = await createToken(store.db, { roles: ['service-admin'] });
  return { store, location, token: reader.value, adminToken: admin.value };
}

/** The window that holds every record of the history. */
export function fullWindow(sizes: Sizes): { startTime: string; endTime: string } {
  const hours = Math.ceil(sizes.records / sizes.loadBalancers);
  return { startTime: new Date(T0).toISOString(), endTime: new Date(T0 + hours * HOUR).toISOString() };
}
