// The ingest and rollup targets on PostgreSQL: a poll cycle of N load balancers on two hosts
// (HAProxy CSV to stored deltas) against a raw COPY of the same rows, and the rollup of one
// hour of N load balancers polled 12 times; the compaction of a day of N load balancers' readings.

import { openStore, type Store } from '../src/store/store.ts';
import { readingsFromStatCsv } from '../src/ingest/frontendReadings.ts';
import { ingestSample } from '../src/ingest/samples.ts';
import { runRollup } from '../src/jobs/rollup.ts';
import { markHour } from '../src/store/hours.ts';
import { ensureDayPartitions, partitionName } from '../src/store/partitions.ts';
import { compactDay, daysToCompact } from '../src/store/compaction.ts';
import { accountOf, copyFleet, copyInto, ensurePgDatabase, HOUR, statCsv, T0 } from './fixtures.ts';
import { recordIdWrapYear } from '../src/domain/recordIds.ts';
import { median } from './http.ts';

const MINUTE = 60_000;

async function freshStore(name: string, loadBalancers: number): Promise<Store> {
  const store = await openStore(await ensurePgDatabase(name, true));
  await copyFleet(store.connection.pool!, loadBalancers);
  await store.db.insertInto('clusters').values({ id: 1, name: 'bench', data_center: 'BENCH' }).execute();
  for (const id of [1, 2]) await store.db.insertInto('hosts').values({ id, cluster_id: 1, name: `haproxy-${id}`, stats_socket: `/run/haproxy-${id}.sock`, stats_url: null, retired_ms: null }).execute();
  await store.connection.pool!.query('analyze');
  return store;
}

/** A host's stats for n load balancers at a round of polls: counters grow with the round. */
function hostStatCsv(n: number, host: number, round: number): string {
  return statCsv(n, (lb) => {
    const base = round * (1000 + lb + host);
    return [lb % 9, base * 3, base * 17, lb % 3, base, base * 5];
  });
}


/**
 * The median of three cycles of polls against the median of three COPYs of the same rows: one
 * of each moved by a quarter from run to run on this machine.
 */
export async function pollCycle(n: number): Promise<{ pollMs: number; copyMs: number; rows: number }> {
  const store = await freshStore('lbmeter_bench_poll', n);
  try {
    const rounds = 4;
    const csv = [1, 2].map((host) => Array.from({ length: rounds }, (_, r) => hostStatCsv(n, host, r + 1)));
    const cycle = (round: number, timeMs: number) => Promise.all([1, 2].map((host) => {
      const loadBalancers = readingsFromStatCsv(csv[host - 1]![round - 1]!);
      // The processes started before the load balancers were created: the first round is a baseline.
      return ingestSample(store, { hostId: host, timeMs, process: { pid: 100 + host, startMs: T0 - HOUR }, loadBalancers }, { deltaCeiling: 2n ** 40n, nowMs: timeMs });
    }));
    await cycle(1, T0 + 5 * MINUTE);
    const pollMs: number[] = [];
    for (let round = 2; round <= rounds; round++) {
      const started = performance.now();
      const results = await cycle(round, T0 + round * 5 * MINUTE);
      pollMs.push(performance.now() - started);
      if (results.some((r) => r.deltas !== n)) throw new Error('the poll did not store a delta for every load balancer');
    }

    // The baseline: the same delta rows, straight into a table like usage_samples by COPY.
    const pool = store.connection.pool!;
    // A plain table shaped like one day of usage_samples: its columns, defaults and indexes.
    await pool.query('create table bench_copy (like usage_samples including all)');
    const copyMs: number[] = [];
    for (let round = 2; round <= rounds; round++) {
      const t = T0 + round * 5 * MINUTE;
      const copyStarted = performance.now();
      // Every column a poll stores: the delta, the raw counters and process, the reset rule's kind.
      await copyInto(pool, 'bench_copy', ['load_balancer_id', 'account_id', 'host_id', 'time_ms', 'bytes_in', 'bytes_out', 'bytes_in_ssl', 'bytes_out_ssl', 'connections', 'connections_ssl',
        'pid', 'process_start_ms', 'counter_in', 'counter_out', 'counter_in_ssl', 'counter_out_ssl', 'kind', 'hold'], (function* () {
        for (const host of [1, 2]) for (let lb = 1; lb <= n; lb++) {
          yield `${lb}\t${accountOf(lb)}\t${host}\t${t}\t${3000 + lb}\t${17000 + lb}\t${1000 + lb}\t${5000 + lb}\t${lb % 9}\t${lb % 3}\t${100 + host}\t${T0 - HOUR}\t${30000 * round + lb}\t${170000 * round + lb}\t${10000 * round + lb}\t${50000 * round + lb}\t0\t0`;
        }
      })());
      copyMs.push(performance.now() - copyStarted);
    }
    return { pollMs: median(pollMs), copyMs: median(copyMs), rows: 2 * n };
  } finally {
    await store.close();
  }
}

/**
 * The rollup of one hour of N load balancers in this process, and the most heap it used above
 * what the process held before it (sampled every 10 ms): flat in N once the fleet rolls in slices.
 */
export async function rollupOfAnHour(n: number, polls = 12): Promise<{ rollupMs: number; records: number; heapMb: number }> {
  const store = await freshStore('lbmeter_bench_rollup', n);
  try {
    // One o'clock on the second day: no midnight inside, so only the hour is rolled.
    const hour = T0 + 25 * HOUR;
    await markHour(store.db, hour - HOUR, true);
    await ensureDayPartitions(store.db, 'usage_samples', hour, hour + HOUR);
    await copyInto(store.connection.pool!, 'usage_samples', ['load_balancer_id', 'account_id', 'host_id', 'time_ms', 'bytes_in', 'bytes_out', 'bytes_in_ssl', 'bytes_out_ssl', 'connections', 'connections_ssl'], (function* () {
      for (let p = 1; p <= polls; p++) for (let lb = 1; lb <= n; lb++) yield `${lb}\t${accountOf(lb)}\t1\t${hour + p * 5 * MINUTE}\t${lb + p}\t${7 * lb + p}\t${p}\t${2 * p}\t${lb % 9}\t${p % 3}`;
    })());
    await store.connection.pool!.query('analyze');
    const heapBefore = process.memoryUsage().heapUsed;
    let heapPeak = heapBefore;
    const sampler = setInterval(() => (heapPeak = Math.max(heapPeak, process.memoryUsage().heapUsed)), 10);
    const started = performance.now();
    const r = await runRollup(store, { nowMs: hour + HOUR + 1, graceMs: 0 }).finally(() => clearInterval(sampler));
    const rollupMs = performance.now() - started;
    if (r.hoursRolled !== 1 || r.records !== n) throw new Error(`expected one hour of ${n} records, rolled ${r.hoursRolled} hours and ${r.records} records`);
    return { rollupMs, records: r.records, heapMb: (heapPeak - heapBefore) / 2 ** 20 };
  } finally {
    await store.close();
  }
}

export interface CompactionResult {
  compactMs: number;
  rowsBefore: number;
  rowsAfter: number;
  bytesBefore: number;
  bytesAfter: number;
}

/**
 * Compaction of a day of readings (store/compaction.ts): N load balancers read by two hosts every
 * 5 minutes (576 rows a load balancer), its hours final; `hours` < 24 fills only the day's first
 * hours (a 1M-LB day is 122 GB raw: more than some machines' disks). Rows and bytes on disk
 * (pg_total_relation_size of the day's partition, indexes included) before and after.
 */
export async function compactionOfADay(n: number, hours = 24): Promise<CompactionResult> {
  const store = await freshStore('lbmeter_bench_compaction', n);
  try {
    const day = T0 + 24 * HOUR;
    await ensureDayPartitions(store.db, 'usage_samples', day, day);
    const pool = store.connection.pool!;
    // Generated by the server: 57.6M rows at full size would take minutes to send.
    await pool.query(`insert into usage_samples (load_balancer_id, account_id, host_id, time_ms, bytes_in, bytes_out, bytes_in_ssl, bytes_out_ssl,
        connections, connections_ssl, pid, process_start_ms, counter_in, counter_out, counter_in_ssl, counter_out_ssl, kind, hold)
      select lb, 100000 + (lb - 1) / 20, h, ${day} + p * ${5 * MINUTE}, 1000 + lb % 97, 5000 + lb % 89, p % 7, p % 5, lb % 9, p % 3,
        100 + h, ${T0 - HOUR}, p * 1000, p * 5000, p * 7, p * 5, 0, 0
      from generate_series(1, $1::int) lb, generate_series(1, 2) h, generate_series(0, $2::int - 1) p`, [n, hours * 12]);
    for (let hour = day - HOUR; hour < day + 24 * HOUR; hour += HOUR) await markHour(store.db, hour, true);
    await pool.query('analyze usage_samples');
    const part = partitionName('usage_samples', day);
    const size = async () => Number((await pool.query(`select pg_total_relation_size('${part}') as b`)).rows[0].b);
    const bytesBefore = await size();
    const days = await daysToCompact(store.db, 0);
    if (days.length !== 1 || days[0] !== day) throw new Error(`expected the one day to compact, got ${days}`);
    const started = performance.now();
    const done = (await compactDay(store.db, day))!;
    const compactMs = performance.now() - started;
    if (done.rowsAfter !== n * 2 * (hours + 1)) throw new Error(`expected ${n * 2 * (hours + 1)} hourly rows (${hours} hours and the midnight reading's), got ${done.rowsAfter}`);
    return { compactMs, rowsBefore: done.rowsBefore, rowsAfter: done.rowsAfter, bytesBefore, bytesAfter: await size() };
  } finally {
    await store.close();
  }
}

export interface RecordIdsResult {
  records: number;
  /** Sequence values drawn and ids handed out, over the day's rolls. */
  idsConsumed: number;
  rolls: number;
  wrapYear: number;
}

/**
 * A day of rollups as serve runs them (every hour, re-rolling the hours still provisional, grace
 * 2 h) for N load balancers read every 5 minutes: record ids handed out against the records made
 * (domain/recordIds.ts: an id a record, never one an update). An id is handed out where a record's
 * id first appears: counted as the distinct (load balancer, id) pairs the rolls ever wrote, plus
 * whatever the table's sequence was asked for (nothing, since ids are derived).
 */
export async function recordIdsOverADay(n: number): Promise<RecordIdsResult> {
  const store = await freshStore('lbmeter_bench_ids', n);
  try {
    const pool = store.connection.pool!;
    const day = T0 + 24 * HOUR;
    await markHour(store.db, day - HOUR, true);
    await ensureDayPartitions(store.db, 'usage_samples', day, day + 24 * HOUR);
    await pool.query(`insert into usage_samples (load_balancer_id, account_id, host_id, time_ms, bytes_in, bytes_out, bytes_in_ssl, bytes_out_ssl, connections, connections_ssl)
      select lb, 100000 + (lb - 1) / 20, 1, ${day} + p * ${5 * MINUTE}, 1000 + lb % 97, 5000 + lb % 89, p % 7, p % 5, lb % 9, p % 3
      from generate_series(1, $1::int) lb, generate_series(1, 288) p`, [n]);
    await pool.query('analyze');
    const sequence = async () => Number((await pool.query(`select coalesce(last_value, 0) as v from ${(await pool.query(`select pg_get_serial_sequence('usage_records', 'id') as s`)).rows[0].s}`)).rows[0].v);
    const sequenceBefore = await sequence();
    // Ids ever written, per hour: a roll writes each hour's records again with the ids they have.
    const written = new Map<number, Set<string>>();
    let rolls = 0;
    for (let now = day + HOUR + 60_000; now <= day + 26 * HOUR; now += HOUR) {
      await runRollup(store, { nowMs: now, graceMs: 2 * HOUR });
      rolls++;
      const hours = await pool.query(`select hour_ms::text as h, load_balancer_id::text || '/' || id::text as k from usage_records where hour_ms >= $1`, [now - 4 * HOUR]);
      for (const r of hours.rows) {
        const h = Number(r.h);
        (written.get(h) ?? written.set(h, new Set()).get(h)!).add(r.k);
      }
    }
    const records = Number((await pool.query('select count(*) as n from usage_records where hour_ms >= $1 and hour_ms < $2', [day, day + 24 * HOUR])).rows[0].n);
    let handedOut = 0;
    for (const [h, ids] of written) if (h >= day && h < day + 24 * HOUR) handedOut += ids.size;
    const base = Number((await pool.query(`select value from store_state where name = 'record_id_base'`)).rows[0].value);
    return { records, idsConsumed: handedOut + (await sequence()) - sequenceBefore, rolls, wrapYear: recordIdWrapYear(base) };
  } finally {
    await store.close();
  }
}
