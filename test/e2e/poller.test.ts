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
  assert.match((byId.get(3) as any).error, /ENOENT/);
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
