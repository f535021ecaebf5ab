// The billing export against a real HTTP receiver on loopback that fails, times out (after
// storing), answers 409 for what it has, refuses a batch for good, and recovers: in the end
// every closed record is delivered exactly once by id, and nothing is purged before delivery.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { engines } from '../helpers/engines.ts';
import { startApi } from '../helpers/api.ts';
import { cluster, createLb, events, host, rollup, sample } from '../helpers/fleet.ts';
import { runExport, type ExportOptions } from '../../src/jobs/export.ts';
import { httpSink } from '../../src/export/httpSink.ts';
import { usageEventId, BATCH_CONTENT_TYPE } from '../../src/export/cloudEvents.ts';
import { listDeadLetters, replayDeadLetters } from '../../src/store/exports.ts';
import { purgeExpired } from '../../src/jobs/retention.ts';
import { Metrics } from '../../src/metrics.ts';
import { openStore } from '../../src/store/store.ts';
import { newRollStamp, replaceHourRecords } from '../../src/store/usageRecords.ts';
import { takeLease } from '../../src/store/leases.ts';

type Mode = 'fail' | 'slow' | 'refuse' | 'normal';

/** A CloudEvents receiver that keeps each id once; `modes` says how to treat the next requests. */
async function startReceiver() {
  const stored = new Map<string, string>(); // id -> the event's JSON text
  const received: string[][] = [];
  const modes: Mode[] = [];
  const pending = new Set<http.ServerResponse>();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString();
      assert.equal(req.headers['content-type'], BATCH_CONTENT_TYPE);
      const ids = (JSON.parse(body) as { id: string }[]).map((e) => e.id);
      received.push(ids);
      const mode = modes.shift() ?? 'normal';
      if (mode === 'fail') return res.writeHead(503).end();
      if (mode === 'refuse') return res.writeHead(400).end('bad batch');
      const fresh = ids.filter((id) => !stored.has(id));
      // Each event's text, cut from the raw body so big integers stay exact.
      for (const [i, text] of body.slice(1, -1).split(/(?<=\}\}),(?=\{"specversion")/).entries()) if (!stored.has(ids[i]!)) stored.set(ids[i]!, text);
      if (mode === 'slow') {
        pending.add(res);
        setTimeout(() => { pending.delete(res); res.writeHead(200).end(); }, 1500).unref();
        return;
      }
      res.writeHead(fresh.length === 0 ? 409 : 200).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/usage`,
    stored, received, modes,
    close: () => new Promise<void>((r) => {
      for (const res of pending) res.destroy();
      server.closeAllConnections();
      server.close(() => r());
    }),
  };
}

const [sqlite, postgres] = await engines();
const cleanups: (() => Promise<unknown>)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

test('a usage record\'s event id is its identity: the same on any machine, in any zone', () => {
  const record = { accountId: 406271, loadBalancerId: 33, startMs: Date.parse('2026-11-20T10:00:00Z'), closing: false };
  // Python's uuid.uuid5(UUID('6c626d65-7465-5275-9361-67652d726563'), '406271/33/2026-11-20T10:00:00.000Z/record') agrees.
  assert.equal(usageEventId(record), 'e3037661-a53f-5578-bd2b-6051d044dcd1');
  assert.notEqual(usageEventId({ ...record, closing: true }), usageEventId(record));
  assert.match(usageEventId(record), /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
});

for (const { fixture, skip } of [sqlite!, postgres!]) {
  test(`export: failures, a timeout, 409, a refused batch, recovery; each record once [${fixture.name}]`, { skip }, async () => {
    const receiver = await startReceiver();
    cleanups.push(() => receiver.close());
    const api = await startApi(await fixture.create(), { nowMs: Date.parse('2026-11-20T08:00:00Z'), env: { LBMETER_DELTA_CEILING: '9223372036854775807' } });
    cleanups.push(() => fixture.cleanup());
    cleanups.push(() => api.close());

    // Three load balancers over five hours, one deleted, one with counters beyond 2^53.
    await cluster(api, 1);
    await host(api, 1, 1);
    for (const id of [61, 62, 63]) await createLb(api, { accountId: 6, id, time: '2026-11-20T08:10:00Z' });
    api.clock.now = Date.parse('2026-11-20T10:30:00Z');
    await sample(api, 1, '2026-11-20T10:20:00Z', [{ accountId: 6, loadBalancerId: 61, bytesIn: '9007199254740993', bytesOut: 7 }], { pid: 5, startTime: '2026-11-20T08:30:00Z' });
    await events(api, [{ type: 'DELETE_LOADBALANCER', time: '2026-11-20T10:25:00Z', accountId: 6, loadBalancerId: 63 }]);
    api.clock.now = Date.parse('2026-11-20T15:00:00Z');
    await rollup(api);
    const finals = await api.store.db.selectFrom('usage_records').selectAll().where('final', '=', 1).execute();
    assert.equal(finals.length, 2 * 5 + 4, 'final up to 12:00: five hours of 61 and 62; 63 ends at 10:25 with its closing record');
    const expectedIds = new Set(finals.map((r) => usageEventId({ accountId: Number(r.account_id), loadBalancerId: Number(r.load_balancer_id), startMs: Number(r.start_ms), closing: Number(r.closing) === 1 })));

    let clock = Date.parse('2026-11-20T15:00:00Z');
    const metrics = new Metrics(api.store);
    const options: ExportOptions = { batchSize: 4, maxAttempts: 3, baseDelayMs: 60_000, maxDelayMs: 3_600_000, nowMs: () => clock, metrics };
    const sink = httpSink(receiver.url, { source: '/lbmeter/usage', timeoutMs: 300 });
    const exported = async () => Number((await api.store.db.selectFrom('usage_records').select((eb) => eb.fn.countAll().as('n')).where('exported_ms', 'is not', null).executeTakeFirstOrThrow()).n);

    // 1. The receiver is down: nothing is marked, and nothing is purged while unexported.
    receiver.modes.push('fail');
    let r = await runExport(api.store, sink, options);
    assert.deepEqual([r.delivered, r.failed, r.deadLettered], [0, 4, 0]);
    assert.match(r.stoppedBy!, /answered 503/);
    assert.equal((await purgeExpired(api.store, clock + 365 * 86_400_000)).records, 0, 'retention waits for delivery');

    // 2. The next batch is refused for good: dead letters at once. The first waits its backoff.
    receiver.modes.push('refuse');
    r = await runExport(api.store, sink, options);
    assert.deepEqual([r.failed, r.deadLettered], [4, 4]);
    const dead = await listDeadLetters(api.store.db);
    assert.deepEqual([dead.length, dead[0]!.lastError, dead[0]!.attempts], [4, 'answered 400', 1]);

    // 3. The receiver works again: the last two batches go through; the others are not due.
    r = await runExport(api.store, sink, options);
    assert.deepEqual([r.delivered, r.failed], [6, 0]);
    assert.deepEqual(receiver.received.map((ids) => ids.length), [4, 4, 4, 2]);

    // 4. A minute on, the first batch again: the receiver stores it but answers too late.
    clock += 60_000;
    receiver.modes.push('slow');
    r = await runExport(api.store, sink, options);
    assert.match(r.stoppedBy!, /no answer within 300 ms/);
    assert.equal(await exported(), 6);

    // 5. Two minutes on (the backoff doubled) it is sent again: 409, it has them: delivered.
    clock += 120_000;
    r = await runExport(api.store, sink, options);
    assert.deepEqual([r.duplicates, r.delivered], [4, 0]);

    // 6. Dead letters wait for an operator; replayed, they go through.
    assert.equal((await runExport(api.store, sink, options)).delivered, 0);
    assert.equal(await replayDeadLetters(api.store.db), 4);
    r = await runExport(api.store, sink, options);
    assert.equal(r.delivered, 4);

    // Every closed record delivered, once by id, marked exported; now retention may take them.
    assert.deepEqual(new Set(receiver.stored.keys()), expectedIds);
    assert.equal(await exported(), finals.length);
    assert.equal((await runExport(api.store, sink, options)).delivered, 0);
    const big = [...receiver.stored.values()].find((e) => e.includes('"loadBalancerId":61') && e.includes('"startTime":"2026-11-20T10:00:00Z"'))!;
    assert.match(big, /"incomingTransfer":9007199254740993,"outgoingTransfer":7,/, 'exact beyond 2^53');
    assert.match(big, /"source":"\/lbmeter\/usage","type":"com\.lbmeter\.usage\.hourly\.v1","subject":"accounts\/6\/loadbalancers\/61","time":"2026-11-20T11:00:00Z"/);

    const scraped = await metrics.registry.getSingleMetricAsString('lbmeter_export_records_total');
    assert.match(scraped, /lbmeter_export_records_total\{result="delivered"\} 10\b/);
    assert.match(scraped, /lbmeter_export_records_total\{result="duplicate"\} 4\b/);
    assert.match(scraped, /lbmeter_export_records_total\{result="failed"\} 12\b/);
    assert.equal((await purgeExpired(api.store, clock + 365 * 86_400_000)).records, finals.length);
  });

  test(`export: a run whose lease another process took stops after the batch in flight [${fixture.name}]`, { skip }, async () => {
    const location = await fixture.create();
    cleanups.push(() => fixture.cleanup());
    const store = await openStore(location);
    cleanups.push(() => store.close());
    const hour = Date.parse('2026-11-20T08:00:00Z');
    await replaceHourRecords(store.db, hour, Array.from({ length: 12 }, (_, i) => ({
      accountId: 9, loadBalancerId: 90 + i, hourMs: hour, startMs: hour, endMs: hour + 3_600_000, closing: false, bytesIn: 10n, bytesOut: 20n,
      bytesInSsl: 0n, bytesOutSsl: 0n, averageNumConnections: 0, averageNumConnectionsSsl: 0, numVips: 1, numPolls: 12, vipType: 'PUBLIC' as const, sslMode: 'OFF' as const,
    })), { final: true, stamp: newRollStamp() });
    // The receiver is slow enough that the export's lease lapses during the first batch, and
    // another process (its own store connection) takes it meanwhile.
    const other = await openStore(location, { migrate: false });
    cleanups.push(() => other.close());
    const received: number[] = [];
    const server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', async () => {
        received.push(JSON.parse(body).length);
        if (received.length === 1) {
          await other.db.updateTable('leases').set({ expires_ms: 0 }).where('name', '=', 'export').execute();
          assert.notEqual(await takeLease(other.db, 'export', 'another-process', 60_000), undefined);
        }
        res.writeHead(202).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
    const sink = httpSink(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`, { source: '/lbmeter/usage', timeoutMs: 5_000 });
    const r = await runExport(store, sink, { batchSize: 4, maxAttempts: 3, baseDelayMs: 60_000, maxDelayMs: 3_600_000, nowMs: () => hour + 5 * 3_600_000 });
    // The batch it had sent is delivered and marked; the rest is left to the lease's new holder.
    assert.deepEqual(received, [4]);
    assert.equal(r.delivered, 4);
    assert.match(r.stoppedBy ?? '', /lease export expired and was taken by another process/);
    const marked = await store.db.selectFrom('usage_records').select('id').where('exported_ms', 'is not', null).execute();
    assert.equal(marked.length, 4);
    const lease = await store.db.selectFrom('leases').select('holder').where('name', '=', 'export').executeTakeFirstOrThrow();
    assert.equal(lease.holder, 'another-process', 'the new holder keeps its lease');
  });
}
