// Reads at the limit: lbmeter deployed on one machine as docs/operations.md lays it out (an API
// unit with two workers, a poller, a jobs unit; PostgreSQL beside them), polling two hosts of the
// whole fleet every 10 s, rolling up and exporting to a local receiver, while 50 clients read for
// a minute: tenants their usage and their hour in progress, billing staff 1000-record management
// pages by following `next`. Each client asks on a schedule (open loop: a request every
// CLIENT_PERIOD_MS, its latency counted from when it was due, so a slow answer cannot hide the
// ones queued behind it). What each client waited, what the poll cycle took beside them against
// what it took before they came, and every process's peak memory.

import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { openStore } from '../src/store/store.ts';
import { putHost } from '../src/store/inventory.ts';
import { createToken } from '../src/store/tokens.ts';
import { ensureDayPartitions } from '../src/store/partitions.ts';
import { accountOf, copyFleet, copyInto, ensurePgDatabase, HOUR, RECORD_COLUMNS, recordRows, tsv } from './fixtures.ts';
import { get, latencyOf, peakRssMbOf, startStatsHostProcess, startUnit, type Latency } from './http.ts';

export interface LoadOptions {
  loadBalancers: number;
  clients: number;
  seconds: number;
  pollIntervalS: number;
  /** Between turns of the rollup and the export (LBMETER_JOB_INTERVAL). */
  jobIntervalS: number;
}

/** Each client asks twice a second: 50 clients are 100 reads a second. */
export const CLIENT_PERIOD_MS = 500;
/** The same clients first read this long with nothing else running: the latencies' baseline. */
const QUIET_SECONDS = 10;
const WARM_UP_SECONDS = 5;

export interface LoadResults {
  /** Each endpoint's latencies beside the poller and the jobs, and on the quiet machine before they started. */
  endpoints: { name: string; latency: Latency; quiet: Latency; count: number; errors: number }[];
  idlePollMs: number;
  loadedPollMs: { mean: number; max: number; cycles: number };
  pollOverruns: number;
  exported: number;
  rssMb: { role: string; mb: number }[];
}

/** The fleet with a day of final records before the hour in progress and the one before it, the last hour's waiting for export. */
async function loadStore(n: number, log: (s: string) => void) {
  const started = performance.now();
  const location = await ensurePgDatabase(`lbmeter_bench_load_${n}`, true);
  const store = await openStore(location);
  try {
    const hourNow = Math.floor(Date.now() / HOUR) * HOUR;
    const from = hourNow - 26 * HOUR;
    const pool = store.connection.pool!;
    await copyFleet(pool, n);
    await ensureDayPartitions(store.db, 'usage_records', from, hourNow + 2 * HOUR);
    await copyInto(pool, 'usage_records', RECORD_COLUMNS, (function* () {
      for (const r of recordRows({ loadBalancers: n, records: n * 24 }, from, hourNow - 3 * HOUR)) yield tsv(r);
    })());
    await pool.query(`select setval(pg_get_serial_sequence('usage_records', 'id'), ${n * 24 + 1}, false)`);
    await pool.query('analyze');
    const hours = Array.from({ length: 24 }, (_, h) => ({ hour_ms: from + h * HOUR, final: 1, rolled_ms: from + (h + 1) * HOUR }));
    await store.db.insertInto('hours').values(hours).execute();
    await store.db.insertInto('clusters').values({ id: 1, name: 'bench load', data_center: 'BENCH' }).execute();
    const token = (await createToken(store.db, { roles: ['billing'] })).value;
    log(`  built in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    return { store, location, token, window: { startMs: from, endMs: hourNow - 2 * HOUR } };
  } catch (err) {
    await store.close();
    throw err;
  }
}

/** A billing receiver on loopback: takes every batch, counts the records. */
async function startReceiver(): Promise<{ url: string; records(): number; close(): Promise<void> }> {
  let records = 0;
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      records += (body.match(/"recordId"/g) ?? []).length;
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/usage`, records: () => records, close: () => new Promise((r) => server.close(() => r())) };
}

/** The poll job's completed cycles and their total time, and its skipped turns, from /metrics. */
async function pollJob(metricsUrl: string): Promise<{ count: number; seconds: number; overruns: number }> {
  const text = (await get(`${metricsUrl}/metrics`)).body;
  const value = (name: string) => Number(new RegExp(`^${name}\\{[^}]*name="poll"[^}]*\\} (\\S+)$`, 'm').exec(text)?.[1] ?? 0);
  return { count: value('lbmeter_job_duration_seconds_count'), seconds: value('lbmeter_job_duration_seconds_sum'), overruns: value('lbmeter_job_overruns_total') };
}

/** Every poll cycle completed while `until` has not resolved, each as its own duration (scraped each second). */
async function watchPolls(metricsUrl: string, until: Promise<unknown>): Promise<{ cycles: number[]; overruns: number }> {
  let done = false;
  void until.then(() => (done = true));
  const first = await pollJob(metricsUrl);
  let last = first;
  const cycles: number[] = [];
  while (!done) {
    await new Promise((r) => setTimeout(r, 1000));
    const now = await pollJob(metricsUrl);
    if (now.count > last.count) cycles.push(((now.seconds - last.seconds) / (now.count - last.count)) * 1000);
    last = now;
  }
  return { cycles, overruns: last.overruns - first.overruns };
}

async function waitForPolls(metricsUrl: string, count: number, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while ((await pollJob(metricsUrl)).count < count) {
    if (Date.now() > until) throw new Error(`fewer than ${count} poll cycles in ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

const KINDS = ['tenant /usage', 'tenant /usage/current', 'management page, 1000 records'] as const;
type Kind = (typeof KINDS)[number];
type Reads = Map<Kind, { times: number[]; errors: number }>;

/**
 * `clients` callers for `seconds`, each asking every CLIENT_PERIOD_MS: one in five pages the
 * management window by following `next`, the others are tenants of random load balancers.
 */
async function read(apiUrl: string, token: string, n: number, window: { startMs: number; endMs: number }, clients: number, seconds: number): Promise<Reads> {
  const reads: Reads = new Map(KINDS.map((k) => [k, { times: [], errors: 0 }]));
  const auth = { 'x-auth-token': token };
  const startAt = performance.now();
  const stopAt = startAt + seconds * 1000;
  const first = `/management/loadbalancers/usage?startTime=${new Date(window.startMs).toISOString()}&endTime=${new Date(window.endMs).toISOString()}&limit=1000`;
  const client = async (i: number) => {
    const kind = i % 5 === 0 ? KINDS[2] : i % 2 === 0 ? KINDS[0] : KINDS[1];
    const mine = reads.get(kind)!;
    let next = first;
    // Clients start spread over one period, as independent callers would.
    for (let due = startAt + (i * CLIENT_PERIOD_MS) / clients; due < stopAt; due += CLIENT_PERIOD_MS) {
      if (performance.now() < due) await new Promise((r) => setTimeout(r, due - performance.now()));
      const lb = 1 + Math.floor(Math.random() * n);
      const path = kind === KINDS[2] ? next : `/v1.0/${accountOf(lb)}/loadbalancers/${lb}/usage${kind === KINDS[1] ? '/current' : ''}`;
      const r = await get(apiUrl + path, auth);
      mine.times.push(performance.now() - due);
      if (r.status !== 200) {
        mine.errors++;
        continue;
      }
      if (kind === KINDS[2]) {
        const link = (JSON.parse(r.body).links as { link: { rel: string; href: string } }[]).find((l) => l.link.rel === 'next');
        next = link ? new URL(link.link.href).pathname + new URL(link.link.href).search : first;
      }
    }
  };
  await Promise.all(Array.from({ length: clients }, (_, i) => client(i)));
  return reads;
}

/** The batch units as deploy/systemd/lbmeter@{poller,jobs}.service.d/priority.conf starts them. */
const BATCH_NICE = ['nice', '-n', '10'];

export async function readsUnderLoad(options: LoadOptions, log: (s: string) => void): Promise<LoadResults> {
  const n = options.loadBalancers;
  log(`building the load store: ${n} load balancers, ${n * 24} records`);
  const { store, location, token, window } = await loadStore(n, log);
  const hosts = [await startStatsHostProcess(n), await startStatsHostProcess(n)];
  const receiver = await startReceiver();
  const units: Awaited<ReturnType<typeof startUnit>>[] = [];
  try {
    for (const [i, host] of hosts.entries()) await putHost(store.db, { id: i + 1, clusterId: 1, name: `bench-host-${i + 1}`, stats: { url: host.url } });
    const env = { LBMETER_DB: location, LBMETER_DELTA_CEILING: String(2n ** 62n) };
    const api = await startUnit(['--no-poller', '--no-jobs'], { ...env, LBMETER_WORKERS: '2' });
    units.push(api);
    log(`${options.clients} clients, a read each ${CLIENT_PERIOD_MS} ms: ${QUIET_SECONDS} s on a quiet machine, then ${options.seconds} s beside the poller and the jobs`);
    await read(api.url, token, n, window, options.clients, WARM_UP_SECONDS); // a new process's first requests compile its code
    const quiet = await read(api.url, token, n, window, options.clients, QUIET_SECONDS);

    const poller = await startUnit(['--no-api', '--no-jobs'], { ...env, LBMETER_POLL_INTERVAL: String(options.pollIntervalS), LBMETER_POLL_TIMEOUT: '60' }, BATCH_NICE);
    units.push(poller);
    units.push(await startUnit(['--no-api', '--no-poller'], { ...env, LBMETER_JOB_INTERVAL: String(options.jobIntervalS), LBMETER_EXPORT_URL: receiver.url, LBMETER_EXPORT_BACKOFF: '1' }, BATCH_NICE));
    // The poll alone: the cycles after the first (which makes every counter's baseline).
    await waitForPolls(poller.metricsUrl, 1, 120_000);
    const idle = await watchPolls(poller.metricsUrl, waitForPolls(poller.metricsUrl, 3, 120_000));

    const reading = read(api.url, token, n, window, options.clients, options.seconds);
    const loaded = await watchPolls(poller.metricsUrl, reading);
    const reads = await reading;

    const roles = [['API primary', 'API worker', 'API worker'], ['poller'], ['jobs']];
    const rssMb = units.flatMap((unit, u) => unit.processes().map((pid, i) => ({ role: roles[u]![i] ?? 'process', mb: peakRssMbOf(pid) })));
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
    return {
      endpoints: KINDS.map((name) => {
        const { times, errors } = reads.get(name)!;
        return { name, latency: latencyOf(times), quiet: latencyOf(quiet.get(name)!.times), count: times.length, errors: errors + quiet.get(name)!.errors };
      }),
      idlePollMs: mean(idle.cycles),
      loadedPollMs: { mean: mean(loaded.cycles), max: Math.max(0, ...loaded.cycles), cycles: loaded.cycles.length },
      pollOverruns: loaded.overruns,
      exported: receiver.records(),
      rssMb,
    };
  } finally {
    for (const unit of units) await unit.stop();
    await receiver.close();
    for (const h of hosts) await h.close();
    await store.close();
  }
}
