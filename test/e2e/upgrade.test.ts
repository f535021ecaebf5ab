// A rolling upgrade on PostgreSQL (issue 21, finding 3): lbmeter as of commit 8e186e3 (the last
// release before the migrations 013 and 014) polls a real HAProxy and serves the API, a process of
// this version starts beside it on the same store (runs the new migrations, then the jobs), the
// old one keeps ingesting and answering, then is stopped and this version takes over. Every byte
// HAProxy counted is billed once, every record id stays unique within its load balancer.
//
// The old version is this repository at that commit (git archive), run on today's node_modules.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { engines } from '../helpers/engines.ts';
import { BIN } from '../helpers/cli.ts';
import type { TestApi } from '../helpers/api.ts';
import { cluster, createLb, host, ok } from '../helpers/fleet.ts';
import { freePort, startByteServer, startHaproxy, transfer } from '../helpers/haproxy.ts';
import { openStore } from '../../src/store/store.ts';
import { rollHour } from '../../src/usage/hourRollup.ts';
import { floorHour, HOUR_MS } from '../../src/domain/time.ts';
import { knownMigrations } from '../../src/store/migrations/index.ts';

const OLD = '8e186e3';
const ROOT = new URL('../../', import.meta.url).pathname;
const postgres = (await engines()).find((e) => e.fixture.name === 'postgres')!;
const noHistory = (() => {
  try {
    execFileSync('git', ['-C', ROOT, 'cat-file', '-e', `${OLD}^{commit}`], { stdio: 'ignore' });
    return undefined;
  } catch {
    return `commit ${OLD} is not in this clone (a shallow clone?): git fetch --unshallow`;
  }
})();
if (noHistory) console.log(`# skipping the rolling upgrade: ${noHistory}`);

const dir = mkdtempSync(join(tmpdir(), 'lbmeter-upgrade-'));
const children: ChildProcess[] = [];
after(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
  await postgres.fixture.cleanup();
});

/** A `serve` of the given bin, started once it prints `ready`; its output kept for the checks. */
async function serve(bin: string, args: string[], env: NodeJS.ProcessEnv, ready: RegExp) {
  const child = spawn(process.execPath, [bin, 'serve', ...args], { env: { ...process.env, ...env } });
  children.push(child);
  const output = { text: '' };
  child.stdout!.on('data', (d) => (output.text += d));
  child.stderr!.on('data', (d) => (output.text += d));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve did not start: ${output.text}`)), 90_000);
    child.stdout!.on('data', () => { if (ready.test(output.text)) { clearTimeout(timer); resolve(); } });
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`serve exited ${code}: ${output.text}`)); });
  });
  const stop = async () => {
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    return exited;
  };
  return { child, output, stop };
}

/** The fleet helpers against a running process's API. */
function remote(url: string, token: string): TestApi {
  return {
    url,
    get: (path: string) => fetch(url + path, { headers: { 'x-auth-token': token } }),
    send: (method: string, path: string, body: unknown) => fetch(url + path, { method, headers: { 'x-auth-token': token, 'content-type': 'application/json' }, body: JSON.stringify(body) }),
  } as unknown as TestApi;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test(`a rolling upgrade from ${OLD}: the old process keeps polling and serving beside this one, no byte lost or twice, ids unique`, { skip: postgres.skip ?? noHistory, timeout: 240_000 }, async () => {
  const old = join(dir, 'old');
  mkdirSync(old);
  execFileSync('sh', ['-c', `git -C '${ROOT}' archive ${OLD} | tar -x -C '${old}'`]);
  symlinkSync(join(ROOT, 'node_modules'), join(old, 'node_modules'));

  const backend = await startByteServer();
  const haproxy = await startHaproxy(['5_51', '5_51_S'], backend.port);
  try {
    const location = await postgres.fixture.create();
    const token = 'upgrade-test-token-0123456789abcdefghij';
    const common = { LBMETER_DB: location, LBMETER_BOOTSTRAP_TOKEN: token, LBMETER_POLL_INTERVAL: '1', LBMETER_GRACE: '0', LBMETER_LOG_LEVEL: 'warn', LBMETER_RATE_LIMIT: '0' };

    // The old version: API and poller (as lbmeter@api and lbmeter@poller of its day).
    const oldPort = await freePort();
    const before = await serve(join(old, 'bin', 'lbmeter.js'), ['--no-jobs'], { ...common, LBMETER_PORT: String(oldPort) }, /dashboard:/);
    const api = remote(`http://127.0.0.1:${oldPort}`, token);
    await cluster(api, 1);
    await host(api, 1, 1, { socket: haproxy.socket });
    const created = Date.now() - 2 * HOUR_MS;
    await createLb(api, { accountId: 5, id: 51, time: created });
    let sent = 0;
    const traffic = async (bytes: number) => {
      await transfer(haproxy.ports.get('5_51')!, bytes, 64);
      sent += bytes;
      await haproxy.settle();
      await sleep(2_500); // a poll (every second) reads it
    };
    await traffic(1000);

    // This version starts beside it: the new migrations, then the jobs (lbmeter@jobs upgraded first).
    const metricsPort = await freePort();
    const jobs = await serve(BIN, ['--no-api', '--no-poller'], { ...common, LBMETER_METRICS_PORT: String(metricsPort) }, /metrics: /);
    const store = await openStore(location, { migrate: false });
    try {
      const applied = (await store.db.selectFrom('kysely_migration' as any).select('name' as any).orderBy('name' as any).execute()).map((r: any) => r.name);
      assert.deepEqual(applied, knownMigrations(), 'the new process migrated the store the old one runs on');

      // The old process, on the migrated store: it polls, takes pushes and answers.
      await traffic(2000);
      await traffic(3000);
      // An agent's push (host 2 reads nothing of 51 yet: zero counters).
      await host(api, 2, 1);
      await ok(api.send('POST', '/management/usage/samples', {
        hostId: 2, time: new Date(Date.now() - 30_000).toISOString(), process: { pid: 99, startTime: new Date(Date.now() - 60_000).toISOString() },
        loadBalancers: [{ accountId: 5, loadBalancerId: 51, bytesIn: 0, bytesOut: 0, bytesInSsl: 0, bytesOutSsl: 0, connections: 0, connectionsSsl: 0 }],
      }));
      // Its rollup route answers (the new jobs process has rolled every ended hour already).
      await ok(api.send('POST', '/management/usage/rollup', {}));
      const current = await api.get('/v1.0/5/loadbalancers/51/usage/current');
      assert.equal(current.status, 200, await current.text());
      assert.equal((await api.get('/v1.0/5/loadbalancers/usage')).status, 200);
      assert.equal((await api.get('/health')).status, 200);
      assert.doesNotMatch(before.output.text, /does not exist|"level":50|error/i, `the old process logged no error: ${before.output.text.slice(0, 2000)}`);
      assert.equal(await before.stop(), 0, 'the old process drains and stops');

      // This version takes over polling and the API.
      const newPort = await freePort();
      const after = await serve(BIN, ['--no-jobs'], { ...common, LBMETER_PORT: String(newPort) }, /dashboard:/);
      await traffic(4000);
      assert.equal(await after.stop(), 0);
      assert.equal(await jobs.stop(), 0);
      assert.doesNotMatch(jobs.output.text + after.output.text, /"level":50/, 'no error logged by this version');

      // Every byte HAProxy counted, billed once, across both versions' readings.
      let billed = 0;
      for (let h = floorHour(created); h <= floorHour(Date.now()); h += HOUR_MS) {
        for (const d of (await rollHour(store.db, h, h + HOUR_MS, { loadBalancerIds: [51] })).drafts) billed += Number(d.bytesIn);
      }
      assert.equal(billed, sent);
      const duplicates = await store.db.selectFrom('usage_records').select(['load_balancer_id', 'id']).groupBy(['load_balancer_id', 'id'])
        .having((eb) => eb.fn.countAll(), '>', 1).execute();
      assert.deepEqual(duplicates, [], 'record ids unique within their load balancer');
      const anomalies = await store.db.selectFrom('anomalies').select(['kind', 'detail']).execute();
      assert.deepEqual(anomalies, [], 'nothing held: no reading of either version looked like a reset');
    } finally {
      await store.close();
    }
  } finally {
    await haproxy.stop();
    await backend.close();
  }
});
