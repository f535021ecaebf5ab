// Two lbmeter processes on one PostgreSQL poll and roll up the same fleet at once, while the
// operator's pre-reload hook and rollup command run beside them: every usage record exists
// once, every byte HAProxy counted is billed once, and nothing looks like a reset.
//
// Real time throughout: the fleet was created hours ago (closed hours to roll up), the traffic
// is now.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { engines } from '../helpers/engines.ts';
import { startApi, type TestApi } from '../helpers/api.ts';
import { cluster, createLb, events, ok } from '../helpers/fleet.ts';
import { startByteServer, startHaproxy, transfer, type HaproxyHost } from '../helpers/haproxy.ts';
import { livePollers } from '../../src/ingest/pollerShare.ts';
import { listAnomalies } from '../../src/store/anomalies.ts';
import { rollHour } from '../../src/usage/hourRollup.ts';
import { floorHour, HOUR_MS } from '../../src/domain/time.ts';
import { BIN } from '../helpers/cli.ts';

const ACCOUNT = 5150;
const LBS = [51, 52, 53, 54];
const FRONTENDS = LBS.flatMap((lb) => [`${ACCOUNT}_${lb}`, `${ACCOUNT}_${lb}_S`]);
const MIN = 60_000;

const postgres = (await engines()).find((e) => e.fixture.name === 'postgres')!;

describe('two lbmeter processes on one PostgreSQL', { skip: postgres.skip }, () => {
  let backend: Awaited<ReturnType<typeof startByteServer>>;
  const hosts: HaproxyHost[] = [];
  const servers: ChildProcess[] = [];
  let location: string;
  let api: TestApi;
  let env: NodeJS.ProcessEnv;

  const lbmeter = (args: string[]) => promisify(execFile)(process.execPath, [BIN, ...args], { env });

  before(async () => {
    backend = await startByteServer();
    hosts.push(await startHaproxy(FRONTENDS, backend.port), await startHaproxy(FRONTENDS, backend.port));
    location = await postgres.fixture.create();
    api = await startApi(location);
    Object.defineProperty(api.clock, 'now', { get: () => Date.now() });
    env = { ...process.env, LBMETER_DB: location, LBMETER_POLL_INTERVAL: '1', LBMETER_GRACE: '0', LBMETER_LOG_LEVEL: 'warn' };
  });

  after(async () => {
    for (const s of servers) if (s.exitCode === null) s.kill('SIGKILL');
    await api?.close();
    for (const h of hosts) await h.stop();
    await backend?.close();
    await postgres.fixture.cleanup();
  });

  test('every record once and every byte once', async () => {
    const created = floorHour(Date.now()) - 3 * HOUR_MS + 10 * MIN;
    await cluster(api, 1);
    for (const [i, h] of hosts.entries()) await ok(api.send('PUT', `/management/hosts/${i + 1}`, { clusterId: 1, name: `haproxy-${i + 1}`, stats: { socket: h.socket } }));
    for (const lb of LBS) await createLb(api, { accountId: ACCOUNT, id: lb, time: created });
    await events(api, [
      { type: 'SSL_MIXED_ON', time: created + 30 * MIN, accountId: ACCOUNT, loadBalancerId: 54, loadBalancer: { sslMode: 'MIXED' } },
      { type: 'DELETE_LOADBALANCER', time: created + 2 * HOUR_MS, accountId: ACCOUNT, loadBalancerId: 53 },
    ]);

    // Two pollers with their jobs, on their own.
    for (let i = 0; i < 2; i++) {
      const child = spawn(process.execPath, [BIN, 'serve', '--no-api'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
      child.stderr!.on('data', (d) => process.stderr.write(`[lbmeter ${i}] ${d}`));
      servers.push(child);
    }
    for (let i = 0; (await livePollers(api.store.db)).length < 2; i++) {
      assert.ok(i < 300, 'both pollers joined');
      await new Promise((r) => setTimeout(r, 100));
    }

    // Traffic to the live load balancers through both hosts, while the hook and rollup run too.
    const sent = new Map<number, { in: number; out: number; inSsl: number; outSsl: number }>();
    const operator: Promise<unknown>[] = [];
    for (let i = 0; i < 24; i++) {
      const lb = [51, 52, 54][i % 3]!;
      const ssl = i % 4 === 1;
      const [up, down] = [1000 + 37 * i, 5000 + 101 * i];
      await transfer(hosts[i % 2]!.ports.get(`${ACCOUNT}_${lb}${ssl ? '_S' : ''}`)!, up, down);
      const b = sent.get(lb) ?? { in: 0, out: 0, inSsl: 0, outSsl: 0 };
      if (ssl) [b.inSsl, b.outSsl] = [b.inSsl + up, b.outSsl + down];
      else [b.in, b.out] = [b.in + up, b.out + down];
      sent.set(lb, b);
      if (i % 8 === 3) operator.push(lbmeter(['poll', '--pre-reload', String((i % 2) + 1)]), lbmeter(['rollup']));
      await new Promise((r) => setTimeout(r, 120));
    }
    await Promise.all(operator);
    for (const h of hosts) await h.settle();

    for (const s of servers) {
      const exited = new Promise((resolve) => s.once('exit', resolve));
      s.kill('SIGTERM');
      assert.equal(await exited, 0, 'a clean stop');
    }
    assert.deepEqual(await livePollers(api.store.db), [], 'stopped pollers leave');
    await lbmeter(['poll', '--once']);
    await lbmeter(['rollup']);

    // Every closed record once: exactly the starts the story makes, for each load balancer.
    const now = Date.now();
    const hourStarts = (from: number, to: number) => Array.from({ length: Math.max(0, (to - from) / HOUR_MS) }, (_, k) => from + k * HOUR_MS);
    const rows = await api.store.db.selectFrom('usage_records').select(['load_balancer_id', 'start_ms', 'closing']).orderBy('start_ms').execute();
    const startsOf = (lb: number) => rows.filter((r) => Number(r.load_balancer_id) === lb).map((r) => `${Number(r.start_ms) - created}${Number(r.closing) ? ' closing' : ''}`);
    const open = (extra: number[]) => [created, ...extra, ...hourStarts(floorHour(created) + HOUR_MS, floorHour(now))].sort((a, b) => a - b).map((t) => String(t - created));
    assert.deepEqual(startsOf(51), open([]));
    assert.deepEqual(startsOf(52), open([]));
    assert.deepEqual(startsOf(54), open([created + 30 * MIN]));
    const deleted = created + 2 * HOUR_MS;
    assert.deepEqual(startsOf(53), [...hourStarts(floorHour(created) + HOUR_MS, floorHour(deleted) + HOUR_MS), created].sort((a, b) => a - b).map((t) => String(t - created)).concat(`${deleted - created} closing`));

    // Every byte once: closed records plus the hour in progress.
    const provisional = (await rollHour(api.store.db, floorHour(now), now)).drafts;
    for (const lb of [51, 52, 53, 54]) {
      const totals = { in: 0, out: 0, inSsl: 0, outSsl: 0 };
      const closed = await api.store.db.selectFrom('usage_records').selectAll().where('load_balancer_id', '=', lb).execute();
      for (const r of [...closed.map((c) => ({ bytesIn: c.bytes_in, bytesOut: c.bytes_out, bytesInSsl: c.bytes_in_ssl, bytesOutSsl: c.bytes_out_ssl })), ...provisional.filter((d) => d.loadBalancerId === lb)]) {
        totals.in += Number(r.bytesIn);
        totals.out += Number(r.bytesOut);
        totals.inSsl += Number(r.bytesInSsl);
        totals.outSsl += Number(r.bytesOutSsl);
      }
      assert.deepEqual(totals, sent.get(lb) ?? { in: 0, out: 0, inSsl: 0, outSsl: 0 }, `load balancer ${lb}`);
    }
    assert.deepEqual(await listAnomalies(api.store.db), [], 'no stale reading, no false reset');
  });
});
