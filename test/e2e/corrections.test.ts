// Corrections under at-least-once delivery (SPEC 5): a record counts as seen by billing from the
// first attempt to send it, acknowledged or not. A sink that stores a batch and then times out, a
// crash between the send and the mark, a correction while a batch is in flight: each correction
// reaches billing as a new revision, and billing ends with the corrected figures, each revision
// once. The receiver is what a CloudEvents consumer written for lbmeter does: drop an id it has,
// keep the highest revision of each record.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { engines } from '../helpers/engines.ts';
import { startApi, type TestApi } from '../helpers/api.ts';
import { cluster, createLb, host, ok, rollup, sample } from '../helpers/fleet.ts';
import { runExport, type ExportOptions } from '../../src/jobs/export.ts';
import { httpSink } from '../../src/export/httpSink.ts';
import { offerForExport, recordsDueForExport } from '../../src/store/exports.ts';

/** Stores every event id once; `hold` keeps the answer back past the sink's timeout (stored all the same). */
async function startReceiver() {
  const ids = new Map<string, number>(); // event id -> times received
  const latest = new Map<string, { revision: number; bytesIn: number; voided: boolean }>();
  const revisions = new Map<string, number[]>(); // record -> revisions received, in order
  let hold: Promise<void> | undefined;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', async () => {
      const events = JSON.parse(Buffer.concat(chunks).toString()) as { id: string; data: any }[];
      let fresh = 0;
      for (const e of events) {
        ids.set(e.id, (ids.get(e.id) ?? 0) + 1);
        if (ids.get(e.id) !== 1) continue;
        fresh++;
        const key = `${e.data.loadBalancerId}/${e.data.startTime}/${e.data.closing}`;
        revisions.set(key, [...(revisions.get(key) ?? []), e.data.revision]);
        if ((latest.get(key)?.revision ?? -1) < e.data.revision) latest.set(key, { revision: e.data.revision, bytesIn: e.data.incomingTransfer, voided: !!e.data.voided });
      }
      if (hold) await hold;
      if (!res.destroyed) res.writeHead(fresh ? 200 : 409).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/usage`, ids, latest, revisions,
    holdAnswers(until: Promise<void> | undefined) { hold = until; },
    close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}

const cleanups: (() => Promise<unknown>)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

const T = (s: string) => Date.parse(`2026-11-20T${s}:00Z`);
/** Each story in an hour of its own: once final, an hour takes no new reading unheld. */
const HOURS: Record<number, number> = { 41: 2, 42: 7, 43: 12 };

/** A load balancer with 600 bytes in the hour `hour` (made final), and a reading of 5 000 000 more for that hour held as late. */
async function finalHourWithLateReading(api: TestApi, lbId: number, hour: number): Promise<number> {
  const at = (minutes: number) => T('00:00') + hour * 3_600_000 + minutes * 60_000;
  const proc = { pid: lbId, startTime: new Date(at(-30)).toISOString() };
  await createLb(api, { accountId: 7, id: lbId, time: at(-60) });
  api.clock.now = at(20);
  await sample(api, 1, at(10), [{ accountId: 7, loadBalancerId: lbId, bytesIn: 600 }], proc);
  api.clock.now = at(210);
  await rollup(api);
  await sample(api, 1, at(50), [{ accountId: 7, loadBalancerId: lbId, bytesIn: 5_000_600 }], proc);
  const held = (await ok(api.get('/management/usage/anomalies?kind=LATE_SAMPLE'))).anomalies.filter((a: any) => a.loadBalancerId === lbId);
  assert.equal(held.length, 1);
  return held[0].id;
}

const release = (api: TestApi, anomalyId: number) => ok(api.send('POST', `/management/usage/anomalies/${anomalyId}/release`, {}));

for (const { fixture, skip } of await engines()) {
  test(`corrections of records billing may have: each a new revision, billing ends with the corrected figures [${fixture.name}]`, { skip }, async () => {
    const receiver = await startReceiver();
    cleanups.push(() => receiver.close());
    const api = await startApi(await fixture.create(), { nowMs: T('00:00') });
    cleanups.push(() => fixture.cleanup());
    cleanups.push(() => api.close());
    await cluster(api, 1);
    await host(api, 1, 1);
    const clock = () => api.clock.now;
    const options: ExportOptions = { batchSize: 100, maxAttempts: 5, baseDelayMs: 1, maxDelayMs: 1, nowMs: clock };
    const sink = httpSink(receiver.url, { source: '/lbmeter/usage', timeoutMs: 300 });
    const hourOf = (lbId: number) => receiver.latest.get(`${lbId}/2026-11-20T${String(HOURS[lbId]).padStart(2, '0')}:00:00Z/false`);

    // 1. The sink stores the batch, then answers too late: not marked exported, but offered.
    const storedThenTimeout = await finalHourWithLateReading(api, 41, HOURS[41]!);
    let answer!: () => void;
    receiver.holdAnswers(new Promise((r) => (answer = r)));
    let r = await runExport(api.store, sink, options);
    assert.match(r.stoppedBy!, /no answer within 300 ms/);
    answer();
    receiver.holdAnswers(undefined);
    assert.equal(hourOf(41)?.bytesIn, 600, 'billing has the first figures');
    assert.equal((await release(api, storedThenTimeout)).revisedRecords, 1);
    api.clock.now += 60_000;
    r = await runExport(api.store, sink, options);
    assert.equal(r.stoppedBy, undefined);
    assert.deepEqual(hourOf(41), { revision: 1, bytesIn: 5_000_600, voided: false }, 'the correction reached billing as revision 1');

    // 2. A crash between the send and the mark: the send happened, nothing was marked.
    const crashed = await finalHourWithLateReading(api, 42, HOURS[42]!);
    const offered = await offerForExport(api.store.db, await recordsDueForExport(api.store.db, clock(), 100));
    await sink.deliver(offered); // ... and the process dies before markExported
    assert.equal(hourOf(42)?.bytesIn, 600);
    await release(api, crashed);
    await runExport(api.store, sink, options);
    assert.deepEqual(hourOf(42), { revision: 1, bytesIn: 5_000_600, voided: false });

    // 3. A release while a batch is in flight: the answer comes after the correction.
    const inFlight = await finalHourWithLateReading(api, 43, HOURS[43]!);
    let answered!: () => void;
    let arrived!: () => void;
    const batchArrived = new Promise<void>((r) => (arrived = r));
    receiver.holdAnswers(new Promise((r) => { answered = r; arrived(); }));
    const slowSink = httpSink(receiver.url, { source: '/lbmeter/usage', timeoutMs: 10_000 });
    const exporting = runExport(api.store, slowSink, options);
    await batchArrived;
    await new Promise((r) => setTimeout(r, 100)); // the batch is at the receiver
    await release(api, inFlight);
    answered();
    await exporting;
    receiver.holdAnswers(undefined);
    await runExport(api.store, sink, options);
    assert.deepEqual(receiver.revisions.get('43/2026-11-20T12:00:00Z/false'), [0, 1], 'the batch in flight carried revision 0; its answer marked nothing newer');
    assert.deepEqual(hourOf(43), { revision: 1, bytesIn: 5_000_600, voided: false });

    // Billing has exactly the store's figures, every revision once; nothing waits.
    for (const lbId of [41, 42, 43]) {
      const stored = await api.store.db.selectFrom('usage_records').selectAll().where('load_balancer_id', '=', lbId).where('start_ms', '=', T('00:00') + HOURS[lbId]! * 3_600_000).executeTakeFirstOrThrow();
      assert.deepEqual([Number(stored.bytes_in), Number(stored.revision), stored.exported_ms !== null], [5_000_600, 1, true]);
    }
    assert.ok([...receiver.ids.values()].filter((n) => n > 1).length >= 1, 'the timed-out batch was sent again (a duplicate the receiver dropped)');
    assert.equal((await runExport(api.store, sink, options)).delivered, 0);
  });
}
