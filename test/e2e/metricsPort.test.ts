// Every process observable (issue 21, finding 4): LBMETER_METRICS_PORT serves /metrics and /health
// on a process without the API (the documented poller and jobs instances opened no port at all),
// and with LBMETER_WORKERS=2 every scrape, whichever worker answers it, holds the requests of both
// workers and the primary's job series, with the store's gauges read once (never summed).

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import { engines } from '../helpers/engines.ts';
import { BIN } from '../helpers/cli.ts';
import { freePort } from '../helpers/haproxy.ts';

const [sqlite] = await engines();
const children: ChildProcess[] = [];
after(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await sqlite!.fixture.cleanup();
});

/** `lbmeter serve ARGS`, started once its output matches `ready`. */
async function serve(args: string[], env: NodeJS.ProcessEnv, ready: RegExp): Promise<{ child: ChildProcess; out: () => string }> {
  const child = spawn(process.execPath, [BIN, 'serve', ...args], { env: { ...process.env, LBMETER_LOG_LEVEL: 'warn', ...env } });
  children.push(child);
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve did not start: ${out}`)), 60_000);
    const check = () => { if (ready.test(out)) { clearTimeout(timer); resolve(); } };
    child.stdout!.on('data', check);
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`serve exited ${code}: ${out}`)); });
  });
  return { child, out: () => out };
}

async function stop(child: ChildProcess): Promise<number | null> {
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  child.kill('SIGTERM');
  return exited;
}

/** A GET on a new connection each time (so the cluster deals it to any worker). */
function get(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string; type?: string }> {
  return new Promise((resolve, reject) => {
    http.get(url, { agent: false, headers }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d)).on('end', () => resolve({ status: res.statusCode!, body, type: res.headers['content-type'] }));
    }).on('error', reject);
  });
}

const value = (text: string, series: string) => {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
};

test('serve --no-api with LBMETER_METRICS_PORT: /metrics with the jobs it runs, /health with its roles; nothing else on the port', async () => {
  const port = await freePort();
  const { child, out } = await serve(['--no-api', '--no-poller'], { LBMETER_DB: await sqlite!.fixture.create(), LBMETER_METRICS_PORT: String(port) }, /metrics: /);
  try {
    assert.match(out(), new RegExp(`^metrics: http://127\\.0\\.0\\.1:${port}/metrics   health: http://127\\.0\\.0\\.1:${port}/health$`, 'm'));
    let metrics = '';
    for (let i = 0; i < 50 && value(metrics, 'lbmeter_job_last_success_timestamp_seconds{name="rollup"}') === undefined; i++) {
      await new Promise((r) => setTimeout(r, 100));
      metrics = (await get(`http://127.0.0.1:${port}/metrics`)).body;
    }
    assert.ok(value(metrics, 'lbmeter_job_last_success_timestamp_seconds{name="rollup"}')! > Date.now() / 1000 - 120, 'the rollup this process ran at start');
    assert.equal(value(metrics, 'lbmeter_job_failures_total{name="rollup"}'), undefined, 'no failure counted');
    assert.match(metrics, /^# TYPE lbmeter_host_last_read_timestamp_seconds gauge$/m);
    assert.doesNotMatch(metrics, /lbmeter_export_backlog/, 'no export backlog without a billing sink');
    const health = await get(`http://127.0.0.1:${port}/health`);
    assert.equal(health.status, 200);
    assert.deepEqual(JSON.parse(health.body), { status: 'ok', engine: 'sqlite', roles: { api: false, poller: false, jobs: true } });
    const other = await get(`http://127.0.0.1:${port}/v1.0/1/loadbalancers/usage`);
    assert.equal(other.status, 404, 'the API is not on this port');
  } finally {
    assert.equal(await stop(child), 0);
  }
});

test('a port taken: serve stops at once, naming LBMETER_METRICS_PORT', async () => {
  const blocker = net.createServer();
  await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
  const port = (blocker.address() as net.AddressInfo).port;
  try {
    const child = spawn(process.execPath, [BIN, 'serve', '--no-api', '--no-poller', '--no-jobs'], { env: { ...process.env, LBMETER_DB: await sqlite!.fixture.create(), LBMETER_METRICS_PORT: String(port) } });
    children.push(child);
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    const code = await new Promise((resolve) => child.on('exit', resolve));
    assert.notEqual(code, 0);
    assert.match(err, new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port} \\(LBMETER_HOST, LBMETER_METRICS_PORT\\): the address is in use`));
  } finally {
    await new Promise((r) => blocker.close(r));
  }
});

test('LBMETER_WORKERS=2: every scrape holds both workers\' requests and the primary\'s jobs; store gauges once', async () => {
  const [apiPort, metricsPort] = [await freePort(), await freePort()];
  const token = 'metrics-port-test-token-0123456789abcdef';
  const { child } = await serve([], {
    LBMETER_DB: await sqlite!.fixture.create(), LBMETER_PORT: String(apiPort), LBMETER_METRICS_PORT: String(metricsPort),
    LBMETER_WORKERS: '2', LBMETER_BOOTSTRAP_TOKEN: token, LBMETER_DELTA_CEILING: '1000',
  }, /metrics: /);
  try {
    const api = `http://127.0.0.1:${apiPort}`;
    // A host's agent pushes two readings, the second above the ceiling: one held anomaly in the store.
    const send = async (method: string, path: string, body: unknown) => {
      const res = await fetch(`${api}${path}`, { method, headers: { 'x-auth-token': token, 'content-type': 'application/json' }, body: JSON.stringify(body) });
      assert.equal(res.status, 200, await res.text());
    };
    await send('PUT', '/management/clusters/1', { name: 'C1', dataCenter: 'ORD' });
    await send('PUT', '/management/hosts/1', { clusterId: 1, name: 'agent-1' });
    for (const [ago, bytesIn] of [[120_000, 10], [60_000, 5000]] as const) {
      await send('POST', '/management/usage/samples', {
        hostId: 1, time: new Date(Date.now() - ago).toISOString(), process: { pid: 7, startTime: '2026-01-01T00:00:00Z' },
        loadBalancers: [{ accountId: 9, loadBalancerId: 99, bytesIn, bytesOut: 0, bytesInSsl: 0, bytesOutSsl: 0, connections: 1, connectionsSsl: 0 }],
      });
    }

    for (let i = 0; i < 20; i++) assert.equal((await get(`${api}/health`)).status, 200);
    // Ten scrapes of the API (dealt to both workers) and two of the primary's port: each sees all 20.
    const scrapes = [];
    for (let i = 0; i < 10; i++) scrapes.push((await get(`${api}/metrics`)).body);
    for (let i = 0; i < 2; i++) scrapes.push((await get(`http://127.0.0.1:${metricsPort}/metrics`)).body);
    for (const text of scrapes) {
      assert.equal(value(text, 'lbmeter_http_requests_total{method="GET",route="/health",status="200"}'), 20, 'the requests of both workers');
      assert.ok(value(text, 'lbmeter_job_last_success_timestamp_seconds{name="rollup"}')! > 0, 'the primary\'s jobs');
      assert.equal(value(text, 'lbmeter_anomalies_held{kind="DELTA_ABOVE_CEILING"}'), 1, 'read from the store once, not once a process');
      assert.equal(text.match(/^# TYPE lbmeter_anomalies_held gauge$/gm)?.length, 1);
    }
    assert.equal(value(scrapes[0]!, 'lbmeter_samples_ingested_total{source="push"}'), 2, 'whichever worker took each push');
  } finally {
    assert.equal(await stop(child), 0);
  }
});
