// The poller against real sources: a socket host, an HTTP CSV host, a dead host and one that
// never answers, polled together. The dead and the silent are reported; the others are read.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { engines } from '../helpers/engines.ts';
import { startApi } from '../helpers/api.ts';
import { cluster, createLb, ok } from '../helpers/fleet.ts';
import { startByteServer, startHaproxy, transfer } from '../helpers/haproxy.ts';
import { pollHosts } from '../../src/ingest/poller.ts';
import { openStore } from '../../src/store/store.ts';
import { listAnomalies } from '../../src/store/anomalies.ts';
import { rollHour } from '../../src/usage/hourRollup.ts';
import { floorHour } from '../../src/domain/time.ts';

const [sqlite, postgres] = await engines();
const cleanups: (() => Promise<unknown>)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

test('a dead and a silent host are reported and never hold up the others', async () => {
  const backend = await startByteServer();
  cleanups.push(() => backend.close());
  const haproxy = await startHaproxy(['7_70', '7_70_S', 'stats_not_a_lb'], backend.port);
  cleanups.push(() => haproxy.stop());
  // A TCP server that accepts and never answers: the slow host.
  const held = new Set<net.Socket>();
  const silent = net.createServer((socket) => held.add(socket));
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  cleanups.push(() => new Promise((r) => {
    for (const socket of held) socket.destroy();
    silent.close(r);
  }));
  const api = await startApi(await sqlite.fixture.create(), { env: { LBMETER_POLL_TIMEOUT: '1' } });
  cleanups.push(() => api.close());
  cleanups.push(() => sqlite.fixture.cleanup());

  await cluster(api, 1);
  const put = (id: number, stats: object) => ok(api.send('PUT', `/management/hosts/${id}`, { clusterId: 1, name: `h${id}`, stats }));
  await put(1, { socket: haproxy.socket });
  await put(2, { url: haproxy.statsUrl });
  await put(3, { socket: '/nonexistent/haproxy.sock' });
  await put(4, { url: `http://127.0.0.1:${(silent.address() as net.AddressInfo).port}/stats;csv` });
  await createLb(api, { accountId: 7, id: 70, time: api.clock.now - 60_000 });

  await transfer(haproxy.ports.get('7_70')!, 100, 200);
  await transfer(haproxy.ports.get('7_70_S')!, 30, 40);
  await haproxy.settle();
  const started = Date.now();
  const r = await ok(api.send('POST', '/management/usage/poll', {}));
  assert.ok(Date.now() - started < 5000, 'the silent host is cut off by the timeout');
  const byId = new Map(r.hosts.map((h: any) => [h.hostId, h]));
  assert.deepEqual([1, 2].map((id) => [(byId.get(id) as any).ok, (byId.get(id) as any).loadBalancers]), [[true, 1], [true, 1]]);
  assert.equal((byId.get(3) as any).ok, false);
  assert.equal((byId.get(3) as any).error, 'stats socket: no such socket (ENOENT)');
  assert.ok(!JSON.stringify(r).includes('/nonexistent'), 'the answer names no local path');
  assert.equal((byId.get(4) as any).ok, false);
  assert.match((byId.get(4) as any).error, /no answer within 1000 ms/);

  // Host 1 (socket, exact start time) counts the first reading in full after the CREATE's zero
  // baseline; so does host 2 (HTTP): both read the same HAProxy, as two hosts would.
  const current = await ok(api.get('/v1.0/7/loadbalancers/70/usage/current'));
  const rec = current.loadBalancerUsageRecords.at(-1);
  assert.deepEqual([rec.incomingTransfer, rec.outgoingTransfer, rec.incomingTransferSsl, rec.outgoingTransferSsl], [200, 400, 60, 80]);
});

test('two pollers reading one host at once: one reads it, and no byte counts twice', { skip: postgres.skip }, async () => {
  const backend = await startByteServer();
  cleanups.push(() => backend.close());
  const haproxy = await startHaproxy(['8_80', '8_80_S'], backend.port);
  cleanups.push(() => haproxy.stop());
  const location = await postgres.fixture.create();
  cleanups.push(() => postgres.fixture.cleanup());
  const api = await startApi(location);
  cleanups.push(() => api.close());
  const other = await openStore(location);
  cleanups.push(() => other.close());
  await cluster(api, 1);
  await ok(api.send('PUT', '/management/hosts/1', { clusterId: 1, name: 'h1', stats: { socket: haproxy.socket } }));
  const created = Date.now() - 60_000;
  await createLb(api, { accountId: 8, id: 80, time: created });

  let sent = 0;
  let busy = 0;
  const options = { timeoutMs: 5000, deltaCeiling: 2n ** 40n };
  for (let round = 0; round < 10; round++) {
    await transfer(haproxy.ports.get('8_80')!, 100 + round, 300);
    sent += 100 + round;
    await haproxy.settle();
    const cycle = Date.now();
    const reports = await Promise.all([
      pollHosts(api.store, { ...options, holder: 'poller-a', nowMs: cycle }),
      pollHosts(other, { ...options, holder: 'poller-b', nowMs: cycle + 1 }),
    ]);
    const [a, b] = reports.map((r) => r[0]!);
    assert.ok(a.ok && b.ok, JSON.stringify(reports));
    if (a.busy || b.busy) busy++;
  }
  assert.ok(busy > 0, 'the host lease turned a second reader away');
  const { drafts } = await rollHour(api.store.db, floorHour(created), Date.now() + 1);
  const later = floorHour(created) === floorHour(Date.now()) ? [] : (await rollHour(api.store.db, floorHour(Date.now()), Date.now() + 1)).drafts;
  assert.equal([...drafts, ...later].reduce((sum, d) => sum + Number(d.bytesIn), 0), sent);
  assert.deepEqual(await listAnomalies(api.store.db), []);
});

test('a stats page behind stats auth is polled with credentials from the URL or from fields, which are never answered', async () => {
  const backend = await startByteServer();
  cleanups.push(() => backend.close());
  const haproxy = await startHaproxy(['9_90', '9_90_S'], backend.port, { statsAuth: 'ops:s3cr3t@x' });
  cleanups.push(() => haproxy.stop());
  const api = await startApi(await sqlite.fixture.create(), { env: { LBMETER_POLL_TIMEOUT: '5' } });
  cleanups.push(() => api.close());
  cleanups.push(() => sqlite.fixture.cleanup());
  await cluster(api, 1);
  await createLb(api, { accountId: 9, id: 90, time: api.clock.now - 60_000 });
  const page = new URL(haproxy.statsUrl);
  const put = (id: number, stats: object) => api.send('PUT', `/management/hosts/${id}`, { clusterId: 1, name: `h${id}`, stats });
  const poll = async (id: number) => (await ok(api.send('POST', '/management/usage/poll', { hostIds: [id] }))).hosts[0];
  const secretFree = (text: string) => assert.ok(!text.includes('s3cr3t'), `no password in ${text.slice(0, 300)}`);

  await ok(put(1, { url: haproxy.statsUrl }));
  const refused = await poll(1);
  assert.deepEqual([refused.ok, refused.error], [false, `${haproxy.statsUrl} answered 401: the page asks for credentials (give stats.username and stats.password)`]);

  const inUrl = `http://ops:${encodeURIComponent('s3cr3t@x')}@${page.host}/stats`;
  const stored = await ok(put(1, { url: inUrl }));
  assert.deepEqual(stored.stats, { url: haproxy.statsUrl, username: 'ops' });
  assert.deepEqual((await ok(api.get('/management/hosts/1'))).stats, { url: haproxy.statsUrl, username: 'ops' });
  secretFree(await (await api.get('/management/hosts')).text());
  await transfer(haproxy.ports.get('9_90')!, 100, 200);
  await haproxy.settle();
  const read = await poll(1);
  assert.deepEqual([read.ok, read.loadBalancers], [true, 1], JSON.stringify(read));

  secretFree(await (await put(2, { url: haproxy.statsUrl, username: 'ops', password: 's3cr3t@x' })).text());
  assert.deepEqual([(await poll(2)).ok, (await poll(2)).loadBalancers], [true, 1]);

  await ok(put(3, { url: haproxy.statsUrl, username: 'ops', password: 's3cr3t-wrong' }));
  const wrong = await poll(3);
  assert.deepEqual([wrong.ok, wrong.error], [false, `${haproxy.statsUrl} answered 401: the credentials were refused`]);
  secretFree(JSON.stringify(wrong));

  const both = await put(4, { url: inUrl, username: 'ops', password: 'x' });
  assert.equal(both.status, 400);
  assert.match(JSON.stringify(await both.json()), /in the url or in username and password, not both/);
  const socketAndUrl = await put(4, { socket: '/run/haproxy.sock', url: haproxy.statsUrl });
  assert.equal(socketAndUrl.status, 400);
  const badUrl = await put(4, { url: 'ftp://ops:s3cr3t@host/stats' });
  assert.equal(badUrl.status, 400);
  secretFree(await badUrl.text());
});
