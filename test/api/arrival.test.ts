// Each way issue 11 found the records depending on arrival order, through the real API on both
// stores: readings before their CREATE, a DELETE after the hour's records were made, a late
// UNSUSPEND, a late CREATE before a midnight, agents pushing a second apart, an event for a final
// hour (held, then released as a revision of an exported record, or discarded), a retried batch
// racing itself; and the audit of what made a record.

import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { forEachEngine } from '../helpers/suite.ts';
import { cluster, createLb, events, host, ok, rollup, sample } from '../helpers/fleet.ts';
import { parseXml } from '../helpers/xml.ts';
import { accountUsageIn } from '../../src/store/accountUsage.ts';
import { recordsDueForExport } from '../../src/store/exports.ts';
import { usageEventId } from '../../src/export/cloudEvents.ts';

const at = (t: string) => Date.parse(`2026-11-${t}:00Z`);
const PROC = { pid: 7, startTime: '2026-11-20T06:00:00Z' };
const usage = (api: any, lb: number, from: string, to: string) => ok(api.get(`/management/loadbalancers/usage?startTime=2026-11-${from}:00Z&endTime=2026-11-${to}:00Z`))
  .then((b: any) => b.loadBalancerUsageRecords.filter((r: any) => r.loadBalancerId === lb));
const bytesIn = (records: any[]) => records.reduce((s, r) => s + r.incomingTransfer, 0);

forEachEngine('arrival order through the API', ({ api }) => {
  before(async () => {
    await cluster(api(), 1);
    await host(api(), 1, 1);
    await host(api(), 2, 1);
  });

  test('readings pushed before their CREATE bill as if it had come first (1500 bytes, not 500)', async () => {
    api().clock.now = at('20T10:30');
    await createLb(api(), { accountId: 1, id: 11, time: at('20T10:00') });
    for (const lb of [11, 12]) {
      await sample(api(), 1, at('20T10:05') + lb, [{ accountId: 1, loadBalancerId: lb, bytesIn: 1000 }], PROC);
      await sample(api(), 1, at('20T10:10') + lb, [{ accountId: 1, loadBalancerId: lb, bytesIn: 1500 }], PROC);
    }
    await createLb(api(), { accountId: 1, id: 12, time: at('20T10:00') });
    api().clock.now = at('20T11:30');
    await rollup(api());
    for (const lb of [11, 12]) assert.equal(bytesIn(await usage(api(), lb, '20T10:00', '20T11:00')), 1500, `load balancer ${lb}`);
    assert.deepEqual((await ok(api().get('/management/usage/anomalies'))).anomalies, []);
  });

  test('a late DELETE takes away the records after it and the next daily snapshot; readings after it are held', async () => {
    api().clock.now = at('21T00:20');
    await createLb(api(), { accountId: 3, id: 31, time: at('20T22:00') });
    await createLb(api(), { accountId: 4, id: 41, time: at('20T22:00') }); // keeps the day's snapshots going
    await sample(api(), 1, at('20T23:40'), [{ accountId: 3, loadBalancerId: 31, bytesIn: 700 }], PROC);
    await sample(api(), 1, at('20T23:55'), [{ accountId: 3, loadBalancerId: 31, bytesIn: 1000 }], PROC);
    await sample(api(), 1, at('21T00:10'), [{ accountId: 3, loadBalancerId: 31, bytesIn: 1300 }], PROC);
    api().clock.now = at('21T01:30');
    await rollup(api());
    const midnight = async () => (await accountUsageIn(api().store.db, { startMs: at('21T00:00'), endMs: at('21T00:00') })).map((s) => s.accountId).filter((a) => a >= 3);
    assert.deepEqual(await midnight(), [3, 4], 'both accounts were live at midnight as far as anyone knew');

    await events(api(), [{ type: 'DELETE_LOADBALANCER', time: at('20T23:50'), accountId: 3, loadBalancerId: 31 }]);
    await rollup(api());
    const records = await usage(api(), 31, '20T22:00', '21T01:00');
    assert.deepEqual(records.map((r: any) => [r.startTime, r.endTime, r.eventType ?? '', r.incomingTransfer]), [
      ['2026-11-20T22:00:00Z', '2026-11-20T23:00:00Z', 'CREATE_LOADBALANCER', 0],
      ['2026-11-20T23:00:00Z', '2026-11-20T23:50:00Z', '', 700],
      ['2026-11-20T23:50:00Z', '2026-11-20T23:50:00Z', 'DELETE_LOADBALANCER', 0],
    ], 'nothing follows a DELETE: the 00:00 record is gone');
    assert.deepEqual(await midnight(), [4], 'account 3 had nothing live at midnight');
    const held = (await ok(api().get('/management/usage/anomalies'))).anomalies.filter((a: any) => a.loadBalancerId === 31);
    assert.deepEqual(held.map((a: any) => [a.kind, a.time, a.held.bytesIn]), [
      ['SAMPLE_AFTER_DELETE', '2026-11-20T23:55:00Z', '300'], ['SAMPLE_AFTER_DELETE', '2026-11-21T00:10:00Z', '300'],
    ]);
    await rollup(api());
    assert.equal((await ok(api().get('/management/usage/anomalies'))).anomalies.filter((a: any) => a.loadBalancerId === 31).length, 2, 're-rolling holds them once');

    // Released, they bill the last record, which ends at the deletion.
    await ok(api().send('POST', `/management/usage/anomalies/${held[0].id}/release`, {}));
    assert.equal((await usage(api(), 31, '20T23:00', '20T23:50'))[0].incomingTransfer, 1000);
  });

  test('a late UNSUSPEND bills what an on-time one does', async () => {
    api().clock.now = at('21T03:00');
    for (const lb of [51, 52]) {
      await createLb(api(), { accountId: 5, id: lb, time: at('21T01:00') });
      await events(api(), [{ type: 'SUSPEND_LOADBALANCER', time: at('21T02:00'), accountId: 5, loadBalancerId: lb }]);
    }
    await events(api(), [{ type: 'UNSUSPEND_LOADBALANCER', time: at('21T02:30'), accountId: 5, loadBalancerId: 51 }]);
    for (const [minute, value] of [['02:20', 100], ['02:40', 400], ['02:50', 500]] as const) {
      await sample(api(), 1, at(`21T${minute}`), [{ accountId: 5, loadBalancerId: 51, bytesIn: value }, { accountId: 5, loadBalancerId: 52, bytesIn: value }], { pid: 9, startTime: '2026-11-21T00:00:00Z' });
    }
    await events(api(), [{ type: 'UNSUSPEND_LOADBALANCER', time: at('21T02:30'), accountId: 5, loadBalancerId: 52 }]);
    await rollup(api());
    const [a, b] = [await usage(api(), 51, '21T02:00', '21T03:00'), await usage(api(), 52, '21T02:00', '21T03:00')];
    const shape = (rs: any[]) => rs.map((r) => [r.startTime, r.eventType, r.incomingTransfer]);
    assert.deepEqual(shape(b), shape(a));
    assert.equal(bytesIn(a), 500, 'what the counters counted, once');
  });

  test('a late CREATE before a midnight the rollup has passed gets its daily snapshot', async () => {
    api().clock.now = at('22T00:30');
    await rollup(api());
    await createLb(api(), { accountId: 6, id: 61, time: at('21T23:30') });
    const daily = await accountUsageIn(api().store.db, { startMs: at('22T00:00'), endMs: at('22T00:00') });
    assert.deepEqual(daily.filter((s) => s.accountId === 6).map((s) => s.numLoadBalancers), [1]);
  });

  test('two agents pushing a second apart, each holding 10 connections: 2 polls of 20', async () => {
    api().clock.now = at('22T02:30');
    await createLb(api(), { accountId: 7, id: 71, time: at('22T00:00') });
    for (const minute of ['01:05', '01:10']) {
      await sample(api(), 1, at(`22T${minute}`), [{ accountId: 7, loadBalancerId: 71, connections: 10 }], PROC);
      await sample(api(), 2, at(`22T${minute}`) + 1000, [{ accountId: 7, loadBalancerId: 71, connections: 10 }], PROC);
    }
    await rollup(api());
    const [r] = await usage(api(), 71, '22T01:00', '22T02:00');
    assert.deepEqual([r.numPolls, r.averageNumConnections], [2, 20]);
  });

  test('an event for a final hour is held, not applied; released, it corrects the hour and every later one, as a new revision of exported records', async () => {
    api().clock.now = at('22T08:10');
    await createLb(api(), { accountId: 8, id: 81, time: at('22T05:00') });
    await createLb(api(), { accountId: 8, id: 82, time: at('22T05:00') });
    await sample(api(), 1, at('22T05:20'), [{ accountId: 8, loadBalancerId: 81, bytesIn: 100 }], PROC);
    await sample(api(), 1, at('22T05:40'), [{ accountId: 8, loadBalancerId: 81, bytesIn: 300 }], PROC);
    await rollup(api()); // 05:00 is final (grace 2 h), 06:00 and 07:00 provisional
    await api().store.db.updateTable('usage_records').set({ exported_ms: at('22T08:10') }).where('load_balancer_id', 'in', [81, 82]).where('final', '=', 1).execute();
    const before = await usage(api(), 81, '22T05:00', '22T08:00');

    await events(api(), [
      { id: 'late-ssl-81', type: 'SSL_ONLY_ON', time: at('22T05:30'), accountId: 8, loadBalancerId: 81 },
      { id: 'late-ssl-82', type: 'SSL_ONLY_ON', time: at('22T05:30'), accountId: 8, loadBalancerId: 82 },
    ]);
    await rollup(api());
    assert.deepEqual(await usage(api(), 81, '22T05:00', '22T08:00'), before, 'neither the final hour nor a later one changed');
    const lbs = (await ok(api().get('/management/accounts/8/extendedloadbalancers'))).extendedAccountLoadbalancers;
    assert.equal(lbs.length, 2);
    const held = (await ok(api().get('/management/usage/anomalies'))).anomalies.filter((a: any) => a.kind === 'LATE_EVENT' && a.loadBalancerId >= 81);
    assert.deepEqual(held.map((a: any) => [a.loadBalancerId, a.eventId]), [[81, 'late-ssl-81'], [82, 'late-ssl-82']]);

    const released = await ok(api().send('POST', `/management/usage/anomalies/${held[0].id}/release`, {}));
    assert.equal(released.revisedRecords, 2, 'the exported 05:00 record and the new 05:30 one');
    const after = await usage(api(), 81, '22T05:00', '22T08:00');
    assert.deepEqual(after.map((r: any) => [r.startTime, r.sslMode, r.eventType, r.incomingTransfer]), [
      ['2026-11-22T05:00:00Z', 'OFF', 'CREATE_LOADBALANCER', 100], ['2026-11-22T05:30:00Z', 'ON', 'SSL_ONLY_ON', 200],
      ['2026-11-22T06:00:00Z', 'ON', undefined, 0], ['2026-11-22T07:00:00Z', 'ON', undefined, 0],
    ]);
    const due = (await recordsDueForExport(api().store.db, at('22T08:10'), 10_000)).filter((r) => r.loadBalancerId === 81);
    assert.deepEqual(due.map((r) => [new Date(r.startMs).toISOString(), r.revision]), [['2026-11-22T05:00:00.000Z', 1], ['2026-11-22T05:30:00.000Z', 0]]);
    assert.notEqual(usageEventId(due[0]!), usageEventId({ ...due[0]!, revision: 0 }), 'a revision is a new CloudEvent');

    await ok(api().send('POST', `/management/usage/anomalies/${held[1].id}/discard`, {}));
    await rollup(api());
    assert.ok((await usage(api(), 82, '22T05:00', '22T08:00')).every((r: any) => r.sslMode === 'OFF'), 'discarded: never applied');
  });

  test('a retried event batch racing itself: one accepted, the rest duplicates, never a 500', async () => {
    api().clock.now = at('22T09:00');
    const batch = { events: [1, 2, 3].map((n) => ({ id: `race-${n}`, type: 'CREATE_LOADBALANCER', time: '2026-11-22T08:30:00Z', accountId: 9, loadBalancerId: 90 + n, loadBalancer: { name: `r${n}`, protocol: 'HTTP', clusterId: 1 } })) };
    const answers = await Promise.all([1, 2, 3, 4, 5].map(() => api().send('POST', '/management/usage/events', batch)));
    const bodies = await Promise.all(answers.map((r) => r.json()));
    assert.deepEqual(answers.map((r) => r.status), [200, 200, 200, 200, 200]);
    assert.equal(bodies.reduce((s: number, b: any) => s + b.accepted, 0), 3);
    assert.equal(bodies.reduce((s: number, b: any) => s + b.duplicates, 0), 12);
  });

  test('the audit lists the readings behind a record, with why each billed what it did; reconciliation balances', async () => {
    const [record] = await usage(api(), 11, '20T10:00', '20T11:00');
    const sources = await ok(api().get(`/management/usage/records/${record.id}/sources?loadBalancerId=11`, { token: api().tokens.billing }));
    assert.equal(sources.matches, true);
    assert.deepEqual(sources.readings.map((r: any) => [r.hostId, r.time, r.pid, r.kind, r.decision, r.counters.incomingTransfer, r.billed.incomingTransfer]), [
      [1, '2026-11-20T10:05:00Z', 7, 'FIRST', 'FIRST_IN_FULL', 1000, 1000],
      [1, '2026-11-20T10:10:00Z', 7, 'NORMAL', 'NORMAL', 1500, 500],
    ]);
    assert.deepEqual(sources.events.map((e: any) => e.type), ['CREATE_LOADBALANCER']);
    assert.equal(sources.billed.incomingTransfer, record.incomingTransfer);
    const xml = parseXml(await (await api().get(`/management/usage/records/${record.id}/sources.xml?loadBalancerId=11`)).text());
    assert.equal(xml.name, '{http://docs.openstack.org/loadbalancers/api/management/v1.0}recordSources');
    assert.equal(xml.attrs.matches, 'true');
    assert.equal(xml.children.find((c) => c.name.endsWith('}readings'))!.children.length, 2);
    assert.equal((await api().get('/management/usage/records/999999/sources?loadBalancerId=11')).status, 404);
    assert.equal((await api().get(`/management/usage/records/${record.id}/sources?loadBalancerId=999`)).status, 404, 'a record id is named within its load balancer');
    assert.equal((await api().get('/management/usage/records/abc/sources?loadBalancerId=11')).status, 400);
    const unnamed = await api().get(`/management/usage/records/${record.id}/sources`);
    assert.equal(unnamed.status, 400);
    assert.match((await unnamed.json()).badRequest.message, /loadBalancerId/);
    assert.equal((await api().get(`/management/usage/records/${record.id}/sources?loadBalancerId=11`, { token: await api().tenant(1) })).status, 403);

    api().clock.now = at('23T12:00');
    await rollup(api());
    const r = await ok(api().get('/management/usage/reconciliation?startTime=2026-11-20T00:00:00Z&endTime=2026-11-23T00:00:00Z'));
    assert.deepEqual([r.balanced, r.differences], [true, []]);
    assert.ok(r.taken.incomingTransfer > 0 && r.withheld.incomingTransfer === 300, `taken ${r.taken.incomingTransfer}, withheld ${r.withheld.incomingTransfer}`);
    assert.equal(r.records.incomingTransfer + r.withheld.incomingTransfer, r.taken.incomingTransfer);
    // A record changed behind the rollup's back is found.
    await api().store.db.updateTable('usage_records').set({ bytes_in: 1499 }).where('load_balancer_id', '=', 11).where('id', '=', record.id).execute();
    const off = await ok(api().get('/management/usage/reconciliation?startTime=2026-11-20T00:00:00Z&endTime=2026-11-23T00:00:00Z'));
    assert.deepEqual(off.differences.map((d: any) => [d.loadBalancerId, d.difference.incomingTransfer]), [[11, 1]]);
    assert.equal((await ok(api().get(`/management/usage/records/${record.id}/sources?loadBalancerId=11`))).matches, false);
  });
}, { nowMs: at('20T10:00') });
