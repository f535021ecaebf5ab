// The scheduled jobs through the API: rollup catching up across midnight with the daily
// account snapshots, late events corrected while their hour is provisional and held once it is
// final.

import { PageCache } from '../../src/api/pageCache.ts';
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { forEachEngine } from '../helpers/suite.ts';
import { cluster, createLb, events, host, ok, rollup, sample } from '../helpers/fleet.ts';
import { accountUsageIn } from '../../src/store/accountUsage.ts';
import { purgeExpired } from '../../src/jobs/retention.ts';

const at = (t: string) => Date.parse(`2026-11-${t}:00Z`);

forEachEngine('rollup jobs', ({ api }) => {
  before(async () => {
    await cluster(api(), 1);
    await host(api(), 1, 1);
    await createLb(api(), { accountId: 8, id: 81, time: at('20T21:10') });
    await createLb(api(), { accountId: 9, id: 91, time: at('20T21:20') });
    api().clock.now = at('20T22:45');
    await sample(api(), 1, at('20T22:40'), [{ accountId: 8, loadBalancerId: 81, bytesIn: 400 }], { pid: 1, startTime: '2026-11-20T21:00:00Z' });
    api().clock.now = at('20T23:40');
    await events(api(), [{ type: 'DELETE_LOADBALANCER', time: at('20T23:30'), accountId: 9, loadBalancerId: 91 }]);
  });

  test('catch-up across midnight: every hour once, a daily snapshot for each account live at 00:00', async () => {
    api().clock.now = at('21T02:30');
    const r = await rollup(api());
    assert.deepEqual([r.hoursRolled, r.hoursFinalized], [5, 3], '21:00 to 01:00 rolled; up to 23:00 final (grace 2 h)');
    const body = await ok(api().get('/management/loadbalancers/usage?startTime=2026-11-20T21:00:00Z&endTime=2026-11-21T02:00:00Z'));
    const of = (lb: number) => body.loadBalancerUsageRecords.filter((x: any) => x.loadBalancerId === lb).map((x: any) => x.startTime);
    assert.deepEqual(of(81), ['2026-11-20T21:10:00Z', '2026-11-20T22:00:00Z', '2026-11-20T23:00:00Z', '2026-11-21T00:00:00Z', '2026-11-21T01:00:00Z']);
    assert.deepEqual(of(91), ['2026-11-20T21:20:00Z', '2026-11-20T22:00:00Z', '2026-11-20T23:00:00Z', '2026-11-20T23:30:00Z']);

    const daily = (await accountUsageIn(api().store.db, { startMs: at('21T00:00'), endMs: at('21T00:00') }));
    assert.deepEqual(daily.map((s) => [s.accountId, s.numLoadBalancers]), [[8, 1]], 'account 9 had nothing live at midnight');
    await rollup(api());
    assert.equal((await accountUsageIn(api().store.db, { startMs: at('21T00:00'), endMs: at('21T00:00') })).length, 1, 'taken once');
  });

  test('every usage answer says how far its records are final: X-Usage-Final-Until, JSON and XML, pages and streams', async () => {
    const window = 'startTime=2026-11-20T21:00:00Z&endTime=2026-11-21T02:00:00Z';
    for (const path of [
      `/management/loadbalancers/usage?${window}`, `/management/accounts/usage?${window}`, `/management/accounts/billing?${window}`,
      '/v1.0/8/loadbalancers/usage', `/v1.0/8/loadbalancers/81/usage?${window}`, '/v1.0/8/loadbalancers/81/usage/current',
    ]) {
      for (const accept of ['application/json', 'application/xml']) {
        const res = await api().get(path, { accept });
        assert.equal(res.status, 200, `${path} ${accept}`);
        assert.equal(res.headers.get('x-usage-final-until'), '2026-11-21T00:00:00Z', `${path} ${accept}: hours up to 23:00 are final (grace 2 h)`);
        await res.arrayBuffer();
      }
    }
  });

  test('a late event for a provisional hour re-rolls it; for a final hour it is held, and the hour stays as it was', async () => {
    const before = await ok(api().get('/management/loadbalancers/usage?startTime=2026-11-20T22:00:00Z&endTime=2026-11-20T23:00:00Z'));
    await events(api(), [
      { type: 'SSL_MIXED_ON', time: at('21T00:30'), accountId: 8, loadBalancerId: 81, loadBalancer: { sslMode: 'MIXED' } },
      { type: 'SSL_OFF', time: at('20T22:15'), accountId: 8, loadBalancerId: 81, loadBalancer: { sslMode: 'OFF' } },
    ]);
    await rollup(api());
    const night = await ok(api().get('/management/loadbalancers/usage?startTime=2026-11-21T00:00:00Z&endTime=2026-11-21T01:00:00Z'));
    assert.deepEqual(night.loadBalancerUsageRecords.map((x: any) => [x.startTime, x.sslMode, x.eventType]), [
      ['2026-11-21T00:00:00Z', 'OFF', undefined], ['2026-11-21T00:30:00Z', 'MIXED', 'SSL_MIXED_ON'],
    ]);
    assert.deepEqual(await ok(api().get('/management/loadbalancers/usage?startTime=2026-11-20T22:00:00Z&endTime=2026-11-20T23:00:00Z')), before);
    const anomalies = (await ok(api().get('/management/usage/anomalies'))).anomalies;
    assert.deepEqual(anomalies.map((a: any) => [a.kind, a.loadBalancerId]), [['LATE_EVENT', 81]]);
    assert.match(anomalies[0].detail, /SSL_OFF .* arrived after its hour was final/);
  });

  test('overlapping rollups in one process run one after another: all answer 200, the hours rolled once', async () => {
    api().clock.now = at('21T04:30');
    const answers = await Promise.all(Array.from({ length: 12 }, () => api().send('POST', '/management/usage/rollup', {})));
    assert.deepEqual(answers.map((r) => r.status), Array(12).fill(200), 'none refused by its own process\'s lease');
    const bodies = await Promise.all(answers.map((r) => r.json()));
    assert.equal(bodies.filter((b: any) => b.busy).length, 0);
    const records = await api().store.db.selectFrom('usage_records').select(['load_balancer_id', 'start_ms', 'closing']).execute();
    assert.equal(new Set(records.map((r) => `${r.load_balancer_id}/${r.start_ms}/${r.closing}`)).size, records.length);
  });
}, { nowMs: at('20T21:00') });

forEachEngine('usage summary', ({ api }) => {
  before(async () => {
    await cluster(api(), 1);
    await host(api(), 1, 1);
    await ok(api().send('PUT', '/management/hosts/2', { clusterId: 1, name: 'polled', stats: { socket: '/run/haproxy/admin.sock' } }));
    for (const [account, lb] of [[11, 110], [11, 111], [12, 120]]) await createLb(api(), { accountId: account!, id: lb!, time: at('20T08:00') });
    api().clock.now = at('20T10:30');
    await sample(api(), 1, at('20T10:10'), [
      { accountId: 11, loadBalancerId: 110, bytesIn: 100, bytesOut: 1000 },
      { accountId: 11, loadBalancerId: 111, bytesInSsl: 7, bytesOutSsl: 9 },
      { accountId: 12, loadBalancerId: 120, bytesIn: 5000, bytesOut: 5000 },
    ], { pid: 3, startTime: '2026-11-20T08:30:00Z' });
    api().clock.now = at('20T12:00');
    await rollup(api());
  });

  test('top accounts by all their bytes, hosts\' last readings and the pipeline\'s health', async () => {
    const s = await ok(api().get('/management/usage/summary?startTime=2026-11-20T00:00:00Z&endTime=2026-11-20T12:00:00Z', { token: api().tokens.billing }));
    assert.deepEqual(s.topAccounts, [
      { accountId: 12, loadBalancers: 1, incomingTransfer: 5000, outgoingTransfer: 5000, incomingTransferSsl: 0, outgoingTransferSsl: 0 },
      { accountId: 11, loadBalancers: 2, incomingTransfer: 100, outgoingTransfer: 1000, incomingTransferSsl: 7, outgoingTransferSsl: 9 },
    ]);
    assert.deepEqual(s.hosts, [
      { hostId: 1, name: 'lb-1', clusterId: 1, polled: false, lastReadingTime: '2026-11-20T10:10:00Z' },
      { hostId: 2, name: 'polled', clusterId: 1, polled: true },
    ]);
    assert.deepEqual([s.rollupLagSeconds, s.deadLetters, s.anomaliesHeld], [0, 0, 0]);
    assert.equal(s.exportBacklog, undefined, 'no billing sink: no backlog to show');
    // The fleet's bytes in the window, by hour and in all; the window ends where the open hour starts.
    assert.deepEqual(s.fleet, { incomingTransfer: 5100, outgoingTransfer: 6000, incomingTransferSsl: 7, outgoingTransferSsl: 9 });
    const summed = s.hours.reduce((t: any, h: any) => ({ in: t.in + h.incomingTransfer, out: t.out + h.outgoingTransfer }), { in: 0, out: 0 });
    assert.deepEqual(summed, { in: 5100, out: 6000 });
    assert.ok(s.hours.every((h: any) => /^2026-11-20T(0[89]|1[01]):00:00Z$/.test(h.startTime)), JSON.stringify(s.hours));
    assert.equal(s.openHour, undefined, 'the window ends before the open hour');
    // With the clock in the open hour and a reading in it, the open hour so far (provisional).
    api().clock.now = at('20T12:40');
    await sample(api(), 1, at('20T12:30'), [{ accountId: 12, loadBalancerId: 120, bytesIn: 5400, bytesOut: 5000 }], { pid: 3, startTime: '2026-11-20T08:30:00Z' });
    const open = await ok(api().get('/management/usage/summary', { token: api().tokens.billing }));
    assert.deepEqual(open.openHour, { startTime: '2026-11-20T12:00:00Z', provisional: true, incomingTransfer: 400, outgoingTransfer: 0, incomingTransferSsl: 0, outgoingTransferSsl: 0 });
    api().clock.now = at('20T12:00');
    assert.deepEqual((await ok(api().get('/management/usage/summary?startTime=2026-11-20T00:00:00Z&top=1'))).topAccounts.map((a: any) => a.accountId), [12]);
  });

  test('summary parameters: top from 1 to 100, times as everywhere', async () => {
    for (const [query, says] of [
      ['top=0', 'top: expected a whole number from 1 to 100'], ['top=101', 'top: expected a whole number from 1 to 100'], ['top=abc', 'top: expected'],
      ['top=%3Cx%3E', 'top: expected'], ['startTime=2026-02-30', 'startTime: '], ['startTime=2026-11-21&endTime=2026-11-20', 'must not be after endTime'],
    ]) {
      const res = await api().get(`/management/usage/summary?${query}`);
      const body = await res.json();
      assert.equal(res.status, 400, query);
      assert.ok(body.badRequest.message.includes(says!), `${query}: ${body.badRequest.message}`);
    }
  });
}, { nowMs: at('20T07:00') });

forEachEngine('ETags and the page cache for closed hours', ({ api, engine }) => {
  before(async () => {
    await cluster(api(), 1);
    await host(api(), 1, 1);
    await createLb(api(), { accountId: 13, id: 130, time: at('20T08:00') });
    api().clock.now = at('20T10:00');
    // A delta above the ceiling (1 TiB) at 09:40 is held for an operator.
    await sample(api(), 1, at('20T09:10'), [{ accountId: 13, loadBalancerId: 130, bytesIn: 100 }], { pid: 1, startTime: '2026-11-20T07:00:00Z' });
    await sample(api(), 1, at('20T09:40'), [{ accountId: 13, loadBalancerId: 130, bytesIn: String(100n + 2n ** 41n) }], { pid: 1, startTime: '2026-11-20T07:00:00Z' });
    api().clock.now = at('20T14:30');
    await rollup(api()); // final up to 11:00 (grace 2 h), provisional 12:00 and 13:00
  });

  test('a window of final hours gets a strong ETag and is served from the cache; a correction changes both', async () => {
    const path = '/management/loadbalancers/usage?startTime=2026-11-20T08:00:00Z&endTime=2026-11-20T11:00:00Z';
    const first = await api().get(path);
    const etag = first.headers.get('etag')!;
    assert.match(etag, /^"[A-Za-z0-9_-]{43}"$/, 'strong: no W/ prefix');
    const body = await first.json();
    assert.deepEqual(body.loadBalancerUsageRecords.map((r: any) => r.incomingTransfer), [0, 100, 0]);
    const again = await api().get(path, { headers: { 'if-none-match': etag } });
    assert.deepEqual([again.status, await again.text()], [304, '']);
    // The ETag names what the page is made from: a process that has not the page cached (another
    // API worker, or this one after the page aged out) answers 304 too, without making it.
    const cache = api().api.pageCache;
    api().api.pageCache = new PageCache(0);
    assert.equal((await api().get(path, { headers: { 'if-none-match': etag } })).status, 304);
    assert.equal((await api().get(path)).headers.get('etag'), etag, 'made again: the same ETag');
    api().api.pageCache = cache;
    const xml = await api().get(path, { accept: 'application/xml' });
    assert.notEqual(xml.headers.get('etag'), etag, 'each format has its own');
    assert.equal((await api().get(path, { accept: 'application/xml', headers: { 'if-none-match': xml.headers.get('etag')! } })).status, 304);

    // Served from the cache: the same bytes and ETag, even with the record changed behind
    // lbmeter's back (only lbmeter's own corrections and purges change closed hours).
    await api().store.db.updateTable('usage_records').set({ bytes_out: 7 }).where('load_balancer_id', '=', 130).where('start_ms', '=', at('20T10:00')).execute();
    const cached = await api().get(path);
    assert.deepEqual([cached.headers.get('etag'), await cached.json()], [etag, body]);
    await api().store.db.updateTable('usage_records').set({ bytes_out: 0 }).where('load_balancer_id', '=', 130).where('start_ms', '=', at('20T10:00')).execute();

    // An operator's correction advances the store's revision: never the outdated page again.
    const [held] = (await ok(api().get('/management/usage/anomalies'))).anomalies;
    await ok(api().send('POST', `/management/usage/anomalies/${held.id}/release`, {}));
    const corrected = await api().get(path, { headers: { 'if-none-match': etag } });
    assert.equal(corrected.status, 200);
    assert.notEqual(corrected.headers.get('etag'), etag);
    assert.deepEqual((await corrected.json()).loadBalancerUsageRecords.map((r: any) => r.incomingTransfer), [0, 100 + 2 ** 41, 0]);
  });

  // PostgreSQL's own: only there are the revision and the page read on two connections at once.
  if (engine === 'postgres') {
    test('a page read beside the revision is kept only when the revision is the one seen before: a correction committed between the two reads is not sent under its new ETag', async () => {
      const path = '/management/loadbalancers/usage?startTime=2026-11-20T08:00:00Z&endTime=2026-11-20T10:00:00Z';
      const bytes = async (res: Response) => (await res.json()).loadBalancerUsageRecords.map((r: any) => r.incomingTransfer);
      const cache = api().api.pageCache;
      api().api.pageCache = new PageCache(0); // every page made: read beside the revision
      const pool = api().store.connection.pool!;
      const locker = await pool.connect();
      try {
        const before = await api().get(path);
        const seenBytes = await bytes(before);
        // The revision's read waits on the lock (its snapshot is taken once it has the table);
        // the page's read goes on at once and sees the records as they were.
        await locker.query('begin');
        await locker.query('lock table store_state in access exclusive mode');
        const pending = api().get(path);
        const waiting = async () => Number((await pool.query(`select count(*) as n from pg_locks l join pg_class c on c.oid = l.relation where c.relname = 'store_state' and not l.granted`)).rows[0].n);
        // Bounded: a request that never reads the revision fails here instead of hanging the suite.
        const until = async (done: () => Promise<boolean>, what: string) => {
          for (const giveUp = Date.now() + 10_000; !(await done());) {
            assert.ok(Date.now() < giveUp, `${what} within 10 s`);
            await new Promise((r) => setTimeout(r, 5));
          }
        };
        await until(async () => (await waiting()) > 0, "the revision's read waiting on the lock");
        const pageRead = async () => Number((await pool.query(`select count(*) as n from pg_stat_activity where state = 'active' and query like '%usage_records%' and pid <> pg_backend_pid()`)).rows[0].n);
        await until(async () => (await pageRead()) === 0, "the page's read done");
        await new Promise((r) => setTimeout(r, 100));
        await locker.query(`update usage_records set bytes_in = bytes_in + 5 where load_balancer_id = 130 and start_ms = ${at('20T09:00')}`);
        await locker.query(`update store_state set value = value + 1 where name = 'revision'`);
        await locker.query('commit');
        const after = await pending;
        assert.notEqual(after.headers.get('etag'), before.headers.get('etag'), 'the new revision');
        const expected = [...seenBytes];
        expected[1] += 5;
        assert.deepEqual(await bytes(after), expected, 'the records under the new ETag are the corrected ones');
      } finally {
        await locker.query('rollback').catch(() => undefined);
        locker.release();
        await pool.query(`update usage_records set bytes_in = bytes_in - 5 where load_balancer_id = 130 and start_ms = ${at('20T09:00')}`);
        api().api.pageCache = cache;
      }
    });
  }

  test('a purge advances the revision: pages of purged hours are made again', async () => {
    const path = '/v1.0/13/loadbalancers/130/usage?startTime=2026-11-20T08:00:00Z&endTime=2026-11-20T10:59:59Z';
    assert.equal((await ok(api().get(path))).loadBalancerUsageRecords.length, 3);
    await api().store.db.updateTable('usage_records').set({ exported_ms: at('20T14:00') }).where('start_ms', '<', at('20T09:00')).execute();
    const purged = await purgeExpired(api().store, at('20T09:00') + 1); // records that ended before it
    assert.equal(purged.records, 1);
    assert.deepEqual((await ok(api().get(path))).loadBalancerUsageRecords.map((r: any) => r.startTime), ['2026-11-20T09:00:00Z', '2026-11-20T10:00:00Z']);
  });

  test('a window reaching a provisional hour has no ETag and is not cached', async () => {
    for (const path of ['/management/loadbalancers/usage?startTime=2026-11-20T08:00:00Z&endTime=2026-11-20T12:30:00Z', '/v1.0/13/loadbalancers/130/usage']) {
      const res = await api().get(path);
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('etag'), null, path);
    }
    assert.ok((await api().get('/v1.0/13/loadbalancers/130/usage?startTime=2026-11-20T08:00:00Z&endTime=2026-11-20T10:59:59Z')).headers.get('etag'));
  });
}, { nowMs: at('20T07:00') });
