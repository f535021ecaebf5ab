// The read targets, against lbmeter serving in a process of its own: a 1000-record page against
// the bare SQL of that page, the last page of the whole window reached by `next` against the
// first, JSON pages a second against bare node:http, XML against JSON, and the server's memory
// while it serves pages and ingests a poll of every load balancer at once.

import type { Store } from '../src/store/store.ts';
import { putHost } from '../src/store/inventory.ts';
import { fullWindow, type Sizes } from './fixtures.ts';
import { againstBaseline, download, get, post, startCeiling, startLbmeter, startStatsHost, throughput, type Latency } from './http.ts';
import { usageRecordPageQuery } from '../src/store/usageRecords.ts';
import { selectRows } from '../src/store/dialect/index.ts';

const PAGE = 1000;

export interface PageResults {
  /** The page made from the store against its query run bare; each pair of this result is the median run of three (http.ts againstBaseline). */
  page: Latency;
  bareSql: Latency;
  /**
   * The page's own bytes from bare node:http (no store, nothing written), against the same bare
   * SQL: what sending the page costs any server. The page takes at least its read and this.
   */
  bytesOverHttp: Latency;
  /** The store's own read of the page's rows (selectRows: COPY on PostgreSQL), p50: what the writing and sending add to. */
  storeReadMs: number;
  firstPageMs: number;
  lastPageMs: number;
  jsonPagesPerSecond: number;
  ceilingPagesPerSecond: number;
  xmlPageMs: number;
  jsonPageMs: number;
  peakRssMb: number;
}

/**
 * The page's query (its SQL, its 16 columns) straight through the driver, rows as arrays: the
 * baseline DESIGN.md names. The store itself reads a page on PostgreSQL through COPY (storeRead),
 * faster than this by the strings the driver makes a field.
 */
function bareSql(store: Store, startMs: number, endMs: number): () => Promise<unknown> {
  const { sql, parameters } = pageQuery(store, startMs, endMs).compile();
  if (store.connection.pool) return () => store.connection.pool!.query({ text: sql, values: parameters as unknown[], rowMode: 'array' });
  const statement = store.connection.sqlite!.prepare(sql).raw(true);
  return async () => statement.all(...(parameters as unknown[]));
}

function storeRead(store: Store, startMs: number, endMs: number): () => Promise<unknown> {
  const query = pageQuery(store, startMs, endMs);
  return () => selectRows(store.connection, query);
}

const pageQuery = (store: Store, startMs: number, endMs: number) => usageRecordPageQuery(store.db, { startMs, endMs, match: 'inside' }, 0, PAGE + 1);

export async function pageTargets(setup: { store: Store; location: string; token: string; adminToken: string }, sizes: Sizes, options: { samples: number; seconds: number }): Promise<PageResults> {
  const { store, location, token } = setup;
  const stats = await startStatsHost(sizes.loadBalancers);
  await putHost(store.db, { id: 1, clusterId: 1, name: 'bench-stats', stats: { url: stats.url } });
  // Pages are served on both cores (two API workers); memory is measured on one process that
  // both serves and ingests, the worst case.
  const env = { LBMETER_DB: location, LBMETER_POLL_TIMEOUT: '120', LBMETER_DELTA_CEILING: String(2n ** 62n) };
  const server = await startLbmeter({ ...env, LBMETER_WORKERS: '2' });
  let single: Awaited<ReturnType<typeof startLbmeter>> | undefined;
  let uncached: Awaited<ReturnType<typeof startLbmeter>> | undefined;
  let ceiling: Awaited<ReturnType<typeof startCeiling>> | undefined;
  try {
    const auth = { 'x-auth-token': token };
    const w = fullWindow(sizes);
    const path = (offset: number, suffix = '') => `/management/loadbalancers/usage${suffix}?startTime=${w.startTime}&endTime=${w.endTime}&limit=${PAGE}&offset=${offset}`;
    const page = (offset: number, suffix = '') => get(server.url + path(offset, suffix), auth);

    const first = await page(0);
    if (first.status !== 200) throw new Error(`page answered ${first.status}: ${first.body.slice(0, 300)}`);
    ceiling = await startCeiling(first.body);
    // Latencies of pages made from the store: a server with no page cache.
    uncached = await startLbmeter({ ...env, LBMETER_PAGE_CACHE_MB: '0' });
    const made = (offset: number, suffix = '') => get(uncached!.url + path(offset, suffix), auth);
    // Timed to its last byte, counted and not decoded: what the server takes, not this client.
    const received = async (url: string) => {
      const r = await download(url, auth);
      if (r.status !== 200) throw new Error(`page answered ${r.status}`);
    };
    const bare = bareSql(store, Date.parse(w.startTime), Date.parse(w.endTime));
    const firstPage = () => received(uncached!.url + path(0));
    const pageVsSql = await againstBaseline(options.samples, firstPage, bare);
    const read = await againstBaseline(options.samples, storeRead(store, Date.parse(w.startTime), Date.parse(w.endTime)), bare);
    const bytes = await againstBaseline(options.samples, () => received(ceiling!.url), bare);

    // The last page, reached by following the next link of the page before it.
    const lastOffset = Math.floor((sizes.records - 1) / PAGE) * PAGE;
    const before = JSON.parse((await made(lastOffset - PAGE)).body);
    const next = before.links.find((l: { link: { rel: string } }) => l.link.rel === 'next').link.href as string;
    const lastVsFirst = await againstBaseline(options.samples, () => received(uncached!.url + new URL(next).pathname + new URL(next).search), firstPage);
    const xmlVsJson = await againstBaseline(options.samples, () => received(uncached!.url + path(0, '.xml')), firstPage);

    // Pages of a closed window asked for again: answered from the page cache.
    const jsonPagesPerSecond = await throughput(options.seconds, 8, () => page(0));

    // Memory: pages served while the same process ingests a poll of every load balancer.
    single = await startLbmeter(env);
    const polling = post(`${single.url}/management/usage/poll`, {}, { 'x-auth-token': setup.adminToken });
    let polled: Awaited<typeof polling> | undefined;
    void polling.then((r) => (polled = r));
    while (!polled) await throughput(0.5, 4, () => get(single!.url + path(0), auth));
    if (polled.status !== 200 || !JSON.parse(polled.body).hosts[0].ok) throw new Error(`the poll failed: ${polled.body.slice(0, 300)}`);
    const peakRssMb = single.peakRssMb();

    const ceilingPagesPerSecond = await throughput(options.seconds, 8, () => get(ceiling!.url));
    return {
      page: pageVsSql.measured, bareSql: pageVsSql.baseline, bytesOverHttp: bytes.measured, storeReadMs: read.measured.p50, lastPageMs: lastVsFirst.measured.p50, firstPageMs: lastVsFirst.baseline.p50,
      xmlPageMs: xmlVsJson.measured.p50, jsonPageMs: xmlVsJson.baseline.p50, jsonPagesPerSecond, ceilingPagesPerSecond, peakRssMb,
    };
  } finally {
    await server.stop();
    await uncached?.stop();
    await single?.stop();
    await ceiling?.stop();
    await stats.close();
  }
}
