// HAProxy's `clear counters all` between two polls 10 s apart (LBMETER_POLL_INTERVAL under the
// 15 s in which counters order a process's readings): the same process, its counters from zero.
// Every byte sent through the real HAProxy before and after the clear must be billed once; the
// first reading after the clear is a reset, none is held, the day reconciles, and the clear is in
// lbmeter_counter_clears_total (the LbmeterCountersCleared alert). On both stores.

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { engines } from '../helpers/engines.ts';
import { startApi, type TestApi } from '../helpers/api.ts';
import { cluster, events, ok, rollup, vip } from '../helpers/fleet.ts';
import { startByteServer, startHaproxy, transfer, type HaproxyHost } from '../helpers/haproxy.ts';

const ACCOUNT = 406271;
const LB = 33;
const at = (hhmmss: string) => Date.parse(`2026-11-20T${hhmmss}Z`);

for (const { fixture, skip } of await engines()) {
  describe(`a clear of HAProxy's counters between polls 10 s apart [${fixture.name}]`, { skip }, () => {
    let backend: Awaited<ReturnType<typeof startByteServer>>;
    let haproxy: HaproxyHost;
    let api: TestApi;

    before(async () => {
      backend = await startByteServer();
      haproxy = await startHaproxy([`${ACCOUNT}_${LB}`, `${ACCOUNT}_${LB}_S`], backend.port);
      api = await startApi(await fixture.create(), { nowMs: at('10:00:00') });
      await cluster(api, 1, 'ORD-1', 'ORD');
      await ok(api.send('PUT', '/management/hosts/1', { clusterId: 1, name: 'haproxy-1', stats: { socket: haproxy.socket } }));
    });

    after(async () => {
      await api?.close();
      await haproxy?.stop();
      await backend?.close();
      await fixture.cleanup();
    });

    test('every byte sent before and after the clear is billed once', async () => {
      let sent = 0;
      const send = async (up: number, down: number) => {
        await transfer(haproxy.ports.get(`${ACCOUNT}_${LB}`)!, up, down);
        sent += up + down;
      };
      const poll = async (hhmmss: string) => {
        await haproxy.settle();
        api.clock.now = at(hhmmss);
        const r = await ok(api.send('POST', '/management/usage/poll', {}));
        assert.ok(r.hosts.every((h: any) => h.ok), JSON.stringify(r.hosts));
      };
      await poll('10:00:00'); // the baseline of whatever the process counted before
      api.clock.now = at('10:01:00');
      await events(api, [{ type: 'CREATE_LOADBALANCER', time: at('10:01:00'), accountId: ACCOUNT, loadBalancerId: LB, loadBalancer: { name: 'lb-33', protocol: 'HTTP', clusterId: 1, virtualIps: [vip(LB, '10.0.0.33')] } }]);
      await send(40_000, 60_000);
      await poll('10:05:00');
      await send(3000, 7000);
      await poll('10:05:10');
      // Cleared right after a poll: no byte is counted between that poll and the clear.
      const pid = haproxy.pid();
      await haproxy.clearCounters();
      const cleared = (await haproxy.counters()).get(`${ACCOUNT}_${LB}`)!;
      assert.equal(cleared.bytesIn + cleared.bytesOut, 0n, 'HAProxy counts from zero');
      await send(100, 900);
      await poll('10:05:20');
      await send(200, 300);
      await poll('10:05:30');
      await send(50, 50);
      await poll('10:05:40');
      await send(5, 5);
      await poll('10:07:00');
      assert.equal(haproxy.pid(), pid, 'the same process all along');

      api.clock.now = at('13:30:00');
      await rollup(api);
      const body = await ok(api.get('/management/loadbalancers/usage?startTime=2026-11-20&endTime=2026-11-21&limit=1000'));
      const records = (body.loadBalancerUsageRecords as any[]).filter((r) => r.loadBalancerId === LB);
      const billed = records.reduce((t, r) => t + r.incomingTransfer + r.outgoingTransfer + r.incomingTransferSsl + r.outgoingTransferSsl, 0);
      assert.equal(billed, sent, `billed ${billed} of ${sent} sent (it billed the counters before the clear again)`);
      assert.deepEqual(records.map((r) => [r.startTime, r.incomingTransfer, r.outgoingTransfer]), [
        ['2026-11-20T10:01:00Z', 43_355, 68_255], ['2026-11-20T11:00:00Z', 0, 0], ['2026-11-20T12:00:00Z', 0, 0],
      ]);
      assert.deepEqual((await ok(api.get('/management/usage/anomalies'))).anomalies, [], 'nothing held');
      // Operators learn of the clear: what HAProxy counted between the read before and it is lost.
      const metrics = await (await fetch(`${api.url}/metrics`)).text();
      assert.match(metrics, /^lbmeter_counter_clears_total\{host="1"\} 1$/m, 'one reading counted from zero after a clear');
      const reconciled = await ok(api.get('/management/usage/reconciliation?startTime=2026-11-20T10:00:00Z&endTime=2026-11-20T11:00:00Z'));
      assert.deepEqual([reconciled.balanced, reconciled.taken.incomingTransfer + reconciled.taken.outgoingTransfer], [true, sent], 'the deltas taken are the bytes sent, all in records');
    });
  });
}
