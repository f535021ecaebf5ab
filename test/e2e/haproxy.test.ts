// Billing is money: known bytes pushed through two real HAProxy hosts must come out of the API
// exactly, per load balancer and split at every event, across HAProxy reloads, a restart of
// lbmeter, SSL switches, a suspension and a deletion. On both stores.
//
// Times: lbmeter's clock is set by the test (the hours are the test's), while the bytes are the
// real ones HAProxy counted. Each poll is stamped at the instant the story says.

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { engines } from '../helpers/engines.ts';
import { startApi, type TestApi } from '../helpers/api.ts';
import { cluster, events, ok, rollup, vip } from '../helpers/fleet.ts';
import { startByteServer, startHaproxy, transfer, type HaproxyHost } from '../helpers/haproxy.ts';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { BIN } from '../helpers/cli.ts';


const ACCOUNT = 406271;
const FRONTENDS = ['406271_33', '406271_33_S', '406271_34', '406271_34_S'];
const at = (hhmm: string) => Date.parse(`2026-11-20T${hhmm}:00Z`);

/** Bytes the story expects, per load balancer and record start. */
type Bytes = { in: number; out: number; inSsl: number; outSsl: number };
const zero = (): Bytes => ({ in: 0, out: 0, inSsl: 0, outSsl: 0 });

for (const { fixture, skip } of await engines()) {
  describe(`HAProxy to usage records, exactly [${fixture.name}]`, { skip }, () => {
    let backend: Awaited<ReturnType<typeof startByteServer>>;
    const hosts: HaproxyHost[] = [];
    let location: string;
    let api: TestApi;
    const expected = new Map<string, Bytes>(); // `${lb}@${recordStart}`
    let openRecord = new Map<number, string>(); // lb -> start of the record being filled

    const send = async (host: number, lb: number, ssl: boolean, up: number, down: number) => {
      await transfer(hosts[host - 1].ports.get(`${ACCOUNT}_${lb}${ssl ? '_S' : ''}`)!, up, down);
      const key = `${lb}@${openRecord.get(lb)}`;
      const b = expected.get(key) ?? zero();
      if (ssl) {
        b.inSsl += up;
        b.outSsl += down;
      } else {
        b.in += up;
        b.out += down;
      }
      expected.set(key, b);
    };
    const poll = async (hhmm: string, hostIds?: number[]) => {
      for (const h of hosts) await h.settle();
      api.clock.now = at(hhmm);
      const r = await ok(api.send('POST', '/management/usage/poll', hostIds ? { hostIds } : {}));
      assert.ok(r.hosts.every((h: any) => h.ok), JSON.stringify(r.hosts));
      return r;
    };
    const event = async (type: string, lb: number, hhmm: string, loadBalancer?: Record<string, unknown>) => {
      api.clock.now = at(hhmm);
      await events(api, [{ type, time: at(hhmm), accountId: ACCOUNT, loadBalancerId: lb, ...(loadBalancer ? { loadBalancer } : {}) }]);
      openRecord.set(lb, `2026-11-20T${hhmm}:00Z`);
    };
    const newHour = (hhmm: string) => {
      for (const lb of openRecord.keys()) openRecord.set(lb, `2026-11-20T${hhmm}:00Z`);
    };

    before(async () => {
      backend = await startByteServer();
      hosts.push(await startHaproxy(FRONTENDS, backend.port), await startHaproxy(FRONTENDS, backend.port));
      location = await fixture.create();
      api = await startApi(location, { nowMs: at('10:00') });
      await cluster(api, 1, 'ORD-1', 'ORD');
      for (const [i, h] of hosts.entries()) await ok(api.send('PUT', `/management/hosts/${i + 1}`, { clusterId: 1, name: `haproxy-${i + 1}`, stats: { socket: h.socket } }));
    });

    after(async () => {
      await api?.close();
      for (const h of hosts) await h.stop();
      await backend?.close();
      await fixture.cleanup();
    });

    test('every byte HAProxy counted is billed once, in the record of its time', async () => {
      await poll('10:00'); // baselines of whatever the processes counted before
      for (const lb of [33, 34]) {
        await event('CREATE_LOADBALANCER', lb, '10:01', { name: `lb-${lb}`, protocol: 'HTTP', clusterId: 1, virtualIps: [vip(lb, `10.0.0.${lb}`)] });
      }
      await send(1, 33, false, 1000, 5000);
      await send(2, 33, false, 300, 700);
      await send(1, 34, true, 111, 222);
      await poll('10:05');
      await send(1, 33, false, 2000, 100);
      await poll('10:07'); // the provisioning side snapshots, then switches SSL on
      await event('SSL_ONLY_ON', 33, '10:07');
      await send(2, 33, true, 4000, 4000);
      await send(2, 34, false, 50, 60);
      await send(1, 34, true, 333, 444);
      // The pre-reload hook polls host 1 alone, then HAProxy reloads: its counters restart.
      const before = hosts[0].pid();
      await poll('10:20', [1]);
      await hosts[0].reload();
      assert.notEqual(hosts[0].pid(), before);
      await send(1, 33, true, 10, 20);
      await poll('10:25');

      // lbmeter is killed and started again on the same store.
      await api.close();
      api = await startApi(location, { nowMs: at('10:26') });
      await send(1, 34, false, 7, 8);
      await poll('10:30');
      await poll('10:40');
      await event('SUSPEND_LOADBALANCER', 34, '10:40');
      newHour('11:00');
      await poll('11:05');
      // Unsuspending re-creates the frontend on every host: snapshot, reload, then the event.
      await poll('11:10');
      for (const h of hosts) await h.reload();
      await event('UNSUSPEND_LOADBALANCER', 34, '11:10');
      await send(2, 34, false, 1234, 4321);
      await send(1, 33, true, 5, 5);
      await poll('11:15');
      await send(1, 34, false, 9, 9);
      await poll('11:20');
      await event('DELETE_LOADBALANCER', 34, '11:20');
      await send(1, 33, false, 64, 4096);
      await poll('11:55');

      api.clock.now = at('14:30');
      const rolled = await rollup(api);
      assert.ok(rolled.hoursFinalized >= 2);

      const body = await ok(api.get('/management/loadbalancers/usage?startTime=2026-11-20&endTime=2026-11-21&limit=1000'));
      const records = body.loadBalancerUsageRecords as any[];
      const got = new Map<string, Bytes>();
      for (const r of records) got.set(`${r.loadBalancerId}@${r.startTime}`, { in: r.incomingTransfer, out: r.outgoingTransfer, inSsl: r.incomingTransferSsl, outSsl: r.outgoingTransferSsl });
      for (const [key, bytes] of expected) assert.deepEqual(got.get(key), bytes, `record ${key}`);
      for (const [key, bytes] of got) if (!expected.has(key)) assert.deepEqual(bytes, zero(), `record ${key} should carry no bytes`);

      // The split at each event, and the totals per load balancer.
      assert.deepEqual(records.filter((r) => r.loadBalancerId === 33).map((r) => [r.startTime, r.eventType ?? '-', r.sslMode]), [
        ['2026-11-20T10:01:00Z', 'CREATE_LOADBALANCER', 'OFF'], ['2026-11-20T10:07:00Z', 'SSL_ONLY_ON', 'ON'], ['2026-11-20T11:00:00Z', '-', 'ON'],
        ['2026-11-20T12:00:00Z', '-', 'ON'], ['2026-11-20T13:00:00Z', '-', 'ON'],
      ]);
      assert.deepEqual(records.filter((r) => r.loadBalancerId === 34).map((r) => [r.startTime, r.eventType ?? '-', r.numVips]), [
        ['2026-11-20T10:01:00Z', 'CREATE_LOADBALANCER', 1], ['2026-11-20T10:40:00Z', 'SUSPEND_LOADBALANCER', 1],
        ['2026-11-20T11:00:00Z', 'SUSPENDED_LOADBALANCER', 1], ['2026-11-20T11:10:00Z', 'UNSUSPEND_LOADBALANCER', 1], ['2026-11-20T11:20:00Z', 'DELETE_LOADBALANCER', 0],
      ]);
      const total = (lb: number) => records.filter((r) => r.loadBalancerId === lb).reduce((t, r) => t + r.incomingTransfer + r.outgoingTransfer + r.incomingTransferSsl + r.outgoingTransferSsl, 0);
      assert.equal(total(33), 1000 + 5000 + 300 + 700 + 2000 + 100 + 4000 + 4000 + 10 + 20 + 5 + 5 + 64 + 4096);
      assert.equal(total(34), 111 + 222 + 50 + 60 + 333 + 444 + 7 + 8 + 1234 + 4321 + 9 + 9);
      const anomalies = await ok(api.get('/management/usage/anomalies'));
      assert.deepEqual(anomalies.anomalies, [], 'nothing held');

      // The operator's audit: each record's readings, host by host, bill exactly its bytes; the
      // day reconciles (records + held = the deltas taken).
      const lbmeter = (args: string[]) => promisify(execFile)(process.execPath, [BIN, ...args], { env: { ...process.env, LBMETER_DB: location } });
      const withBytes = records.filter((r) => r.incomingTransfer + r.outgoingTransfer + r.incomingTransferSsl + r.outgoingTransferSsl > 0);
      const audit = await lbmeter(['audit', 'record', ...withBytes.map((r) => `${r.loadBalancerId}/${r.id}`), '--format', 'json']);
      const audits = audit.stdout.trim().split('\n').map((line) => JSON.parse(line));
      assert.deepEqual(audits.map((a) => a.recordId), withBytes.map((r) => r.id));
      for (const [i, a] of audits.entries()) {
        const r = withBytes[i];
        const sum = (key: string) => a.readings.reduce((t: number, x: any) => t + x.billed[key], 0);
        assert.deepEqual([sum('incomingTransfer'), sum('outgoingTransfer'), sum('incomingTransferSsl'), sum('outgoingTransferSsl')],
          [r.incomingTransfer, r.outgoingTransfer, r.incomingTransferSsl, r.outgoingTransferSsl], `record ${r.id} (${r.loadBalancerId}@${r.startTime})`);
        assert.equal(a.matches, true);
        assert.ok(a.readings.every((x: any) => x.counters && x.pid > 0 && ['NORMAL', 'RESET', 'FIRST_IN_FULL', 'BASELINE'].includes(x.decision)), JSON.stringify(a.readings));
      }
      assert.ok(audits.some((a) => a.readings.some((x: any) => x.decision === 'RESET')), 'the reloads show as resets');
      assert.ok(audits[0].readings.some((x: any) => x.time === '2026-11-20T10:00:00Z' && x.decision === 'BASELINE'), 'the poll before the CREATE only set baselines');
      const reconciled = await lbmeter(['audit', 'reconcile', '--from', '2026-11-20', '--to', '2026-11-21']);
      assert.match(reconciled.stdout, /^balanced: every byte taken is in a record, held or discarded$/m);

      // The day's readings compacted into hourly rows (once its hours are final; no window kept
      // here): the same records audit to the same bytes, from hourly rows, and the day reconciles.
      api.clock.now = at('14:30') + 15 * 3_600_000;
      await rollup(api);
      const compacted = await promisify(execFile)(process.execPath, [BIN, 'compact'], { env: { ...process.env, LBMETER_DB: location, LBMETER_READINGS_DAYS: '0' } });
      assert.match(compacted.stdout, /^2026-11-20\t\d+ readings\t-> \d+ rows$/m);
      const again = (await lbmeter(['audit', 'record', ...withBytes.map((r) => `${r.loadBalancerId}/${r.id}`), '--format', 'json'])).stdout.trim().split('\n').map((line) => JSON.parse(line));
      for (const [i, a] of again.entries()) {
        assert.deepEqual([a.billed, a.matches], [audits[i].billed, true], `record ${withBytes[i].id} after compaction`);
      }
      const hourly = again.flatMap((a) => a.readings).filter((x: any) => x.decision === 'HOURLY');
      assert.ok(hourly.length > 0 && hourly.every((x: any) => x.polls >= 1), 'quiet hours read as hourly rows');
      assert.ok(again.flatMap((a) => a.readings).some((x: any) => x.decision === 'BASELINE'), 'the baseline stays a raw reading');
      assert.ok(hourly.length + again.flatMap((a) => a.readings).filter((x: any) => x.decision !== 'HOURLY').length < audits.flatMap((a) => a.readings).length);
      assert.match((await lbmeter(['audit', 'reconcile', '--from', '2026-11-20', '--to', '2026-11-21'])).stdout, /^balanced/m);
    });
  });
}
