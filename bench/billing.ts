// The billing day (SPEC 3.4) of a whole fleet, streamed by lbmeter in JSON and XML, against a
// COPY of the same query's rows to standard output through the driver (the fastest the store can
// hand them over); lbmeter's memory while it streams; and the growth from a quarter of the fleet
// to all of it. Also a tenant's /usage/current against /usage of the same load balancer.

import copyStreams from 'pg-copy-streams';
import type { Store } from '../src/store/store.ts';
import { namedRecordsQuery } from '../src/store/usageRecords.ts';
import { accountOf, HOUR, T0 } from './fixtures.ts';
import { againstBaseline, download, get, median, startLbmeter } from './http.ts';

export interface BillingDayResult {
  loadBalancers: number;
  records: number;
  jsonMs: number;
  xmlMs: number;
  copyMs: number;
  jsonBytes: number;
  peakRssMb: number;
}

const DAY = { startMs: T0, endMs: T0 + 24 * HOUR };
const query = `startTime=${new Date(DAY.startMs).toISOString()}&endTime=${new Date(DAY.endMs).toISOString()}`;

/** The report's own query with its parameters written in (they are numbers), for COPY. */
function copySql(store: Store): string {
  const compiled = namedRecordsQuery(store.db, { ...DAY, match: 'inside' }).compile();
  return compiled.sql.replace(/\$(\d+)/g, (_m, i) => String(compiled.parameters[Number(i) - 1]));
}

async function copyToStdout(store: Store): Promise<{ ms: number; rows: number }> {
  const client = await store.connection.pool!.connect();
  try {
    const started = performance.now();
    const stream = client.query(copyStreams.to(`copy (${copySql(store)}) to stdout`));
    let rows = 0;
    for await (const chunk of stream as AsyncIterable<Buffer>) for (const byte of chunk) if (byte === 10) rows++;
    return { ms: performance.now() - started, rows };
  } finally {
    client.release();
  }
}

/**
 * Each side three times, in turn (COPY, JSON, XML, COPY, ...), and the median of each: on a fast
 * machine a side takes under 10 s, where one noisy run could flip the ratio.
 */
export async function billingDay(setup: { store: Store; location: string; token: string }, loadBalancers: number): Promise<BillingDayResult> {
  const server = await startLbmeter({ LBMETER_DB: setup.location });
  try {
    const auth = { 'x-auth-token': setup.token };
    const timed = async (suffix: string) => {
      const started = performance.now();
      const r = await download(`${server.url}/management/accounts/billing${suffix}?${query}`, auth);
      if (r.status !== 200 || !/\]\}$|<\/accountBillings>$/.test(r.tail)) throw new Error(`billing day answered ${r.status}, ending ${r.tail}`);
      return { ms: performance.now() - started, bytes: r.bytes };
    };
    const { bytes: jsonBytes } = await timed(''); // warm
    const runs = { copy: [] as number[], json: [] as number[], xml: [] as number[] };
    let records = 0;
    for (let i = 0; i < 3; i++) {
      const copy = await copyToStdout(setup.store);
      records = copy.rows;
      runs.copy.push(copy.ms);
      runs.json.push((await timed('')).ms);
      runs.xml.push((await timed('.xml')).ms);
    }
    return { loadBalancers, records, jsonMs: median(runs.json), xmlMs: median(runs.xml), copyMs: median(runs.copy), jsonBytes, peakRssMb: server.peakRssMb() };
  } finally {
    await server.stop();
  }
}

/** p50 of a tenant's /usage/current against /usage over the same 24 hours, one load balancer (median run of three). */
export async function currentUsage(setup: { location: string; token: string }, lb: number, samples: number): Promise<{ currentMs: number; usageMs: number }> {
  const server = await startLbmeter({ LBMETER_DB: setup.location });
  try {
    const auth = { 'x-auth-token': setup.token };
    const base = `${server.url}/v1.0/${accountOf(lb)}/loadbalancers/${lb}`;
    const check = async (url: string) => {
      const r = await get(url, auth);
      if (r.status !== 200) throw new Error(`${url} answered ${r.status}: ${r.body.slice(0, 200)}`);
    };
    const day = () => `startTime=${new Date(Date.now() - 24 * HOUR).toISOString()}`;
    const r = await againstBaseline(samples, () => check(`${base}/usage/current`), () => check(`${base}/usage?${day()}`));
    return { currentMs: r.measured.p50, usageMs: r.baseline.p50 };
  } finally {
    await server.stop();
  }
}
