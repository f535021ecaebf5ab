// /metrics after real work: a poll of a real HAProxy and of a dead host, pushed samples, a held
// anomaly, a rollup, an export. Each series has the value the work should have given it.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { engines } from '../helpers/engines.ts';
import { startApi } from '../helpers/api.ts';
import { cluster, createLb, ok, rollup, sample } from '../helpers/fleet.ts';
import { startByteServer, startHaproxy, transfer } from '../helpers/haproxy.ts';
import http from 'node:http';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { exportBacklog } from '../../src/store/usageRecords.ts';
import { runExport } from '../../src/jobs/export.ts';
import { httpSink } from '../../src/export/httpSink.ts';

const [sqlite] = await engines();
const cleanups: (() => Promise<unknown>)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

/** The samples of a Prometheus text exposition, keyed by `name{labels}` as printed. */
async function scrape(url: string): Promise<Map<string, number>> {
  const res = await fetch(`${url}/metrics`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  const series = new Map<string, number>();
  for (const line of (await res.text()).split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const cut = line.lastIndexOf(' ');
    series.set(line.slice(0, cut), Number(line.slice(cut + 1)));
  }
  return series;
}

test('the series of requests, polls, samples, anomalies, rollup lag, export backlog and deliveries', async () => {
  const backend = await startByteServer();
  cleanups.push(() => backend.close());
  const haproxy = await startHaproxy(['3_30', '3_30_S', '3_31', '3_31_S'], backend.port);
  cleanups.push(() => haproxy.stop());
  const now = Date.parse('2026-11-20T12:00:30Z');
  // A sink configured (the export below runs by hand): the backlog series exist only with one.
  const api = await startApi(await sqlite.fixture.create(), { nowMs: now, env: { LBMETER_DELTA_CEILING: '1000000', LBMETER_EXPORT_URL: 'http://127.0.0.1:9/never-called' } });
  cleanups.push(() => api.close());
  cleanups.push(() => sqlite.fixture.cleanup());

  await cluster(api, 1);
  await ok(api.send('PUT', '/management/hosts/1', { clusterId: 1, name: 'h1', stats: { socket: haproxy.socket } }));
  await ok(api.send('PUT', '/management/hosts/2', { clusterId: 1, name: 'h2', stats: { socket: '/nonexistent/haproxy.sock' } }));
  await ok(api.send('PUT', '/management/hosts/3', { clusterId: 1, name: 'agent' }));
  for (const id of [30, 31]) await createLb(api, { accountId: 3, id, time: '2026-11-20T09:00:00Z' });
  await transfer(haproxy.ports.get('3_30')!, 100, 100);
  await haproxy.settle();

  const polled = await ok(api.send('POST', '/management/usage/poll', {}));
  assert.deepEqual(polled.hosts.map((h: any) => [h.hostId, h.ok]), [[1, true], [2, false]]);
  await sample(api, 3, '2026-11-20T12:00:00Z', [{ accountId: 3, loadBalancerId: 30, bytesIn: 5 }, { accountId: 3, loadBalancerId: 31, bytesIn: 2_000_000 }], { pid: 9, startTime: '2026-11-20T11:00:00Z' });
  assert.equal((await api.get('/no/such/route')).status, 404);

  const before = await scrape(api.url);
  assert.equal(before.get('lbmeter_host_polls_total{host="1",result="ok"}'), 1);
  assert.equal(before.get('lbmeter_host_polls_total{host="2",result="failed"}'), 1);
  assert.equal(before.get('lbmeter_host_poll_duration_seconds_count{host="1"}'), 1);
  assert.equal(before.get('lbmeter_samples_ingested_total{source="poll"}'), 2, 'two load balancers read from host 1');
  assert.equal(before.get('lbmeter_samples_ingested_total{source="push"}'), 2);
  assert.equal(before.get('lbmeter_anomalies_held{kind="DELTA_ABOVE_CEILING"}'), 1);
  assert.equal(before.get('lbmeter_rollup_lag_seconds'), 0, 'nothing rolled yet and nothing to compare with');
  // 100 bytes each way through HAProxy, 5 pushed for 30; 31's 2 MB is held above the ceiling.
  assert.equal(before.get('lbmeter_metered_bytes_total{direction="in"}'), 105);
  assert.equal(before.get('lbmeter_metered_bytes_total{direction="out"}'), 100);
  assert.equal(before.get('lbmeter_host_last_read_timestamp_seconds{host="1",source="poll"}'), now / 1000, 'read by the poll');
  assert.equal(before.get('lbmeter_host_last_read_timestamp_seconds{host="2",source="poll"}'), 0, 'never read: its socket does not exist');
  assert.equal(before.get('lbmeter_host_last_read_timestamp_seconds{host="3",source="push"}'), Date.parse('2026-11-20T12:00:00Z') / 1000, 'its agent pushed');
  assert.equal(before.get('lbmeter_export_backlog_age_seconds'), 0, 'nothing final yet');
  assert.equal(before.get('lbmeter_http_requests_total{method="POST",route="/management/usage/poll",status="200"}'), 1);
  assert.equal(before.get('lbmeter_http_requests_total{method="GET",route="unmatched",status="404"}'), 1);
  assert.equal(before.get('lbmeter_http_request_duration_seconds_count{method="POST",route="/management/usage/samples"}'), 1);

  // Rolled up to 09:00-11:00 only (the clock says 11:30), the lag is the hour 11:00 not rolled.
  api.clock.now = Date.parse('2026-11-20T11:30:00Z');
  await rollup(api);
  api.clock.now = Date.parse('2026-11-20T12:10:00Z');
  const lagging = await scrape(api.url);
  assert.equal(lagging.get('lbmeter_rollup_lag_seconds'), 3600);

  // Two hours later everything up to 11:00 is final and waits for export.
  api.clock.now = Date.parse('2026-11-20T14:10:00Z');
  await rollup(api);
  const rolled = await scrape(api.url);
  assert.equal(rolled.get('lbmeter_rollup_lag_seconds'), 0);
  const backlog = await exportBacklog(api.store.db);
  assert.ok(backlog >= 6, `final records of 30 and 31 for 09:00, 10:00, 11:00: ${backlog}`);
  assert.equal(rolled.get('lbmeter_export_backlog_records'), backlog);
  // The 09:00 records were due at 10:00 + LBMETER_GRACE (2 h): 12:00, so at 14:10 for 2 h 10 min.
  assert.equal(rolled.get('lbmeter_export_backlog_age_seconds'), 2 * 3600 + 600);

  // An export of that backlog to a receiver that takes everything.
  const receiver = http.createServer((req, res) => req.resume().on('end', () => res.writeHead(200).end()));
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  cleanups.push(() => new Promise((r) => receiver.close(r)));
  const sink = httpSink(`http://127.0.0.1:${(receiver.address() as AddressInfo).port}/`, { source: '/lbmeter/usage', timeoutMs: 2000 });
  await runExport(api.store, sink, { batchSize: 4, maxAttempts: 3, baseDelayMs: 1000, maxDelayMs: 60_000, metrics: api.api.metrics });
  const exported = await scrape(api.url);
  assert.equal(exported.get('lbmeter_export_records_total{result="delivered"}'), backlog);
  assert.equal(exported.get('lbmeter_export_backlog_records'), 0);
  assert.equal(exported.get('lbmeter_export_backlog_age_seconds'), 0);

  // The process's own series under the names stock Node.js dashboards and alerts query.
  for (const series of ['process_cpu_user_seconds_total', 'process_resident_memory_bytes', 'process_start_time_seconds', 'nodejs_heap_size_used_bytes', 'nodejs_eventloop_lag_seconds']) {
    assert.ok(exported.has(series), `${series} is exported`);
  }
  const text = await (await fetch(`${api.url}/metrics`)).text();
  for (const secret of Object.values(api.tokens)) assert.ok(!text.includes(secret), 'no token in the metrics');
  assertQueriedSeriesExported(text);
});

/**
 * Every metric the alert rules and the Grafana dashboard (deploy/) query is one lbmeter exports,
 * and every label they group or filter it by is on its samples (where the work above gave it some).
 */
function assertQueriedSeriesExported(exposition: string): void {
  const rules = readFileSync(new URL('../../deploy/prometheus/lbmeter-rules.yml', import.meta.url), 'utf8');
  const dashboard = JSON.parse(readFileSync(new URL('../../deploy/grafana/lbmeter-dashboard.json', import.meta.url), 'utf8'));
  const expressions: string[] = [
    ...[...rules.matchAll(/^\s*expr: (.+)$/gm)].map((m) => m[1]!),
    ...dashboard.panels.flatMap((p: { targets: { expr: string }[] }) => p.targets.map((t) => t.expr)),
  ];
  assert.ok(expressions.length >= 20, `${expressions.length} expressions`);
  const families = new Map<string, string>([...exposition.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => [m[1]!, m[2]!]));
  const samples = exposition.split('\n').filter((l) => l && !l.startsWith('#'));
  for (const expr of expressions) {
    const labels = new Set([...expr.matchAll(/by \(([^)]*)\)/g)].flatMap((m) => m[1]!.split(',').map((l) => l.trim()))
      .concat([...expr.matchAll(/[{,]\s*(\w+)\s*=~?"/g)].map((m) => m[1]!)));
    for (const label of ['le', 'job', 'instance']) labels.delete(label); // the histogram's, and Prometheus's own
    for (const [name] of expr.matchAll(/\b(?:lbmeter|process|nodejs)_[a-z0-9_]+/g)) {
      const family = families.has(name) ? name : name.replace(/_(bucket|count|sum)$/, '');
      assert.ok(families.has(family), `${name} (in ${expr}) is exported`);
      const own = samples.filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `));
      if (own.length === 0) continue;
      for (const label of labels) assert.ok(own.some((l) => l.includes(`${label}="`)), `${name} has the label ${label} (in ${expr})`);
    }
  }
}

test('LBMETER_METRICS=off removes /metrics', async () => {
  const api = await startApi(await sqlite.fixture.create(), { env: { LBMETER_METRICS: 'off' } });
  cleanups.push(() => api.close());
  assert.equal((await fetch(`${api.url}/metrics`)).status, 404);
});

test('without a billing sink there is no export backlog to watch (the alert fired forever)', async () => {
  const api = await startApi(await sqlite.fixture.create());
  cleanups.push(() => api.close());
  const series = await scrape(api.url);
  assert.ok(![...series.keys()].some((k) => k.startsWith('lbmeter_export_backlog')), 'no backlog series');
  assert.ok(series.has('lbmeter_export_dead_letters'));
});
