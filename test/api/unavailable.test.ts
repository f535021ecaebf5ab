// 503 serviceUnavailable when the store cannot be reached: PostgreSQL behind a loopback TCP
// relay that the test cuts, and SQLite closed under the API.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { engines, POSTGRES_ADMIN_URL } from '../helpers/engines.ts';
import { startApi } from '../helpers/api.ts';

const [sqlite, postgres] = await engines();

function relay(target: { host: string; port: number }) {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(target);
    sockets.add(client).add(upstream);
    client.pipe(upstream).pipe(client);
    const drop = () => { client.destroy(); upstream.destroy(); };
    client.on('error', drop); upstream.on('error', drop); client.on('close', drop); upstream.on('close', drop);
  });
  return {
    listen: () => new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port))),
    cut: () => new Promise<void>((resolve) => { for (const s of sockets) s.destroy(); server.close(() => resolve()); }),
  };
}

test('PostgreSQL unreachable: 503 with Retry-After on every endpoint and on /health', { skip: postgres.skip }, async () => {
  const location = new URL(await postgres.fixture.create());
  const admin = new URL(POSTGRES_ADMIN_URL);
  const r = relay({ host: admin.hostname, port: Number(admin.port || 5432) });
  location.port = String(await r.listen());
  location.hostname = '127.0.0.1';
  const api = await startApi(location.toString());
  try {
    assert.equal((await api.get('/management/clusters')).status, 200);
    await r.cut();
    for (const [path, accept] of [['/management/clusters', 'application/json'], ['/management/accounts/usage?startTime=2026-01-01&endTime=2026-01-02', 'application/xml'], ['/health', 'application/json']]) {
      const res = await api.get(path, { accept });
      const text = await res.text();
      assert.equal(res.status, 503, `${path}: ${text}`);
      assert.ok(Number(res.headers.get('retry-after')) > 0);
      assert.match(text, /serviceUnavailable/);
      assert.doesNotMatch(text, /ECONNREFUSED|127\.0\.0\.1|\bat \w+ \(/);
    }
  } finally {
    await api.close().catch(() => {});
    await postgres.fixture.cleanup();
  }
});

test('SQLite closed under the API: 503, never 500', async () => {
  const api = await startApi(await sqlite.fixture.create());
  try {
    api.store.connection.sqlite!.close();
    const res = await api.get('/management/clusters');
    assert.equal(res.status, 503, await res.text());
    assert.equal((await fetch(`${api.url}/health`)).status, 503);
  } finally {
    await api.app.close();
    await sqlite.fixture.cleanup();
  }
});
