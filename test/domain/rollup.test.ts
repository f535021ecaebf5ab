import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { timeline } from '../../src/domain/lifecycle.ts';
import { isQuietHour, rollupHour, rollupQuietHour, totalsOf, liveHours, lifeSpanOf } from '../../src/domain/rollup.ts';
import { decideReading, type StoredReading } from '../../src/domain/reading.ts';
import type { EventType, LifecycleEvent, LoadBalancerPatch } from '../../src/domain/types.ts';
import { timePrinter } from '../../src/domain/time.ts';

const H = Date.UTC(2026, 10, 22, 10); // 10:00Z
const min = (m: number) => H + m * 60_000;
let seq = 0;
const ev = (type: EventType, timeMs: number, loadBalancer?: LoadBalancerPatch): LifecycleEvent => ({
  id: `e${++seq}`, type, timeMs, accountId: 406271, loadBalancerId: 33, ...(loadBalancer ? { loadBalancer } : {}),
});
const vip = (id: number, type: 'PUBLIC' | 'SERVICENET' = 'PUBLIC') => ({ id, address: `10.0.0.${id}`, ipVersion: 'IPV4' as const, type });
const create = (t: number, patch: LoadBalancerPatch = {}) => ev('CREATE_LOADBALANCER', t, { name: 'web', protocol: 'HTTP', clusterId: 1, virtualIps: [vip(1)], ...patch });
const sample = (t: number, bytesIn: bigint, bytesOut = 0n, extra: Partial<StoredReading> = {}): StoredReading => ({
  hostId: 1, timeMs: t, bytesIn, bytesOut, bytesInSsl: 0n, bytesOutSsl: 0n, connections: 0, connectionsSsl: 0, kind: 'NORMAL', hold: 'NONE', operator: 'NONE', ...extra,
});
const summary = (r: ReturnType<typeof rollupHour>) => r.records.map((x) => ({
  start: (x.startMs - H) / 60_000, end: (x.endMs - H) / 60_000, in: x.bytesIn, type: x.eventType, ssl: x.sslMode, vips: x.numVips, polls: x.numPolls,
}));

test('a quiet hour of a live load balancer is one zero record with no polls', () => {
  const steps = timeline([create(H - 3_600_000)]);
  assert.deepEqual(summary(rollupHour(steps, H, [])), [{ start: 0, end: 60, in: 0n, type: undefined, ssl: 'OFF', vips: 1, polls: 0 }]);
});

test('CREATE starts the first record at the event time and takes earlier samples', () => {
  const steps = timeline([create(min(20))]);
  const r = rollupHour(steps, H, [sample(min(20), 0n), sample(min(25), 100n), sample(min(60), 50n)]);
  assert.deepEqual(summary(r), [{ start: 20, end: 60, in: 150n, type: 'CREATE_LOADBALANCER', ssl: 'OFF', vips: 1, polls: 3 }]);
});

test('an event splits the hour; bytes up to the event belong to the record it closes', () => {
  const steps = timeline([create(H - 3_600_000), ev('SSL_ONLY_ON', min(30))]);
  const r = rollupHour(steps, H, [sample(min(10), 10n), sample(min(30), 20n), sample(min(40), 40n), sample(min(60), 80n)]);
  assert.deepEqual(summary(r), [
    { start: 0, end: 30, in: 30n, type: undefined, ssl: 'OFF', vips: 1, polls: 2 },
    { start: 30, end: 60, in: 120n, type: 'SSL_ONLY_ON', ssl: 'ON', vips: 1, polls: 2 },
  ]);
});

test('every SSL transition sets the mode of the record it opens', () => {
  const steps = timeline([create(H - 3_600_000), ev('SSL_MIXED_ON', min(10)), ev('SSL_OFF', min(20)), ev('SSL_ONLY_ON', min(30)), ev('SSL_MIXED_ON', min(40))]);
  assert.deepEqual(rollupHour(steps, H, []).records.map((x) => [x.sslMode, x.eventType]), [
    ['OFF', undefined], ['MIXED', 'SSL_MIXED_ON'], ['OFF', 'SSL_OFF'], ['ON', 'SSL_ONLY_ON'], ['MIXED', 'SSL_MIXED_ON'],
  ]);
});

test('VIP events change numVips and vipType from the next record on', () => {
  const steps = timeline([
    create(H - 3_600_000),
    ev('CREATE_VIRTUAL_IP', min(15), { virtualIps: [vip(1), vip(2, 'SERVICENET')] }),
    ev('DELETE_VIRTUAL_IP', min(45), { virtualIps: [vip(2, 'SERVICENET')] }),
  ]);
  // SPEC 5, Record attributes: PUBLIC when any VIP is public, else SERVICENET.
  assert.deepEqual(rollupHour(steps, H, []).records.map((x) => [x.numVips, x.vipType, x.eventType]), [
    [1, 'PUBLIC', undefined], [2, 'PUBLIC', 'CREATE_VIRTUAL_IP'], [1, 'SERVICENET', 'DELETE_VIRTUAL_IP'],
  ]);
});

test('DELETE closes the last record and leaves a zero-length closing record; later samples are unattributed', () => {
  const steps = timeline([create(H - 3_600_000), ev('DELETE_LOADBALANCER', min(40))]);
  const late = sample(min(50), 7n);
  const r = rollupHour(steps, H, [sample(min(40), 5n), late]);
  assert.deepEqual(summary(r), [
    { start: 0, end: 40, in: 5n, type: undefined, ssl: 'OFF', vips: 1, polls: 1 },
    { start: 40, end: 40, in: 0n, type: 'DELETE_LOADBALANCER', ssl: 'OFF', vips: 0, polls: 0 },
  ]);
  assert.deepEqual(r.unattributed.map((u) => [u.reading, u.decision]), [[late, 'AFTER_DELETE']]);
  assert.deepEqual(r.afterDelete, [late], 'held for an operator: it counted bytes');
  assert.deepEqual(rollupHour(steps, H + 3_600_000, []).records, [], 'nothing follows a deletion');
});

test('DELETE exactly on the hour leaves only the closing record in the new hour', () => {
  const steps = timeline([create(H - 3_600_000), ev('DELETE_LOADBALANCER', H)]);
  assert.deepEqual(summary(rollupHour(steps, H, [])), [{ start: 0, end: 0, in: 0n, type: 'DELETE_LOADBALANCER', ssl: 'OFF', vips: 0, polls: 0 }]);
  assert.equal(rollupHour(steps, H - 3_600_000, []).records.at(-1)!.endMs, H);
});

test('suspension: the record opened by SUSPEND, then SUSPENDED_LOADBALANCER hours, then UNSUSPEND', () => {
  const steps = timeline([create(H - 7_200_000), ev('SUSPEND_LOADBALANCER', H - 1_800_000), ev('UNSUSPEND_LOADBALANCER', min(30))]);
  assert.deepEqual(rollupHour(steps, H - 3_600_000, []).records.map((x) => x.eventType), [undefined, 'SUSPEND_LOADBALANCER']);
  assert.deepEqual(rollupHour(steps, H, []).records.map((x) => x.eventType), ['SUSPENDED_LOADBALANCER', 'UNSUSPEND_LOADBALANCER']);
});

test('events at one instant make one record named by the first', () => {
  const steps = timeline([create(min(10)), ev('SSL_MIXED_ON', min(10))]);
  assert.deepEqual(rollupHour(steps, H, []).records.map((x) => [x.startMs, x.eventType, x.sslMode]), [[min(10), 'CREATE_LOADBALANCER', 'MIXED']]);
});

test('connections: the sum over hosts of each host\'s mean; polls: the busiest host\'s readings (SPEC 5, Connections)', () => {
  const steps = timeline([create(H - 3_600_000)]);
  const r = rollupHour(steps, H, [
    sample(min(5), 0n, 0n, { connections: 3, connectionsSsl: 1 }), sample(min(5), 0n, 0n, { hostId: 2, connections: 4 }),
    sample(min(10), 0n, 0n, { connections: 2, connectionsSsl: 2 }),
  ]);
  assert.equal(r.records[0]!.numPolls, 2, 'host 1 was read twice, host 2 once');
  assert.equal(r.records[0]!.averageNumConnections, 2.5 + 4);
  assert.equal(r.records[0]!.averageNumConnectionsSsl, 1.5);
  // Two agents pushing a second apart, each holding 10 connections: 2 polls of 20, not 4 of 10.
  const agents = rollupHour(steps, H, [1, 2].flatMap((host) => [min(5) + host * 1000, min(10) + host * 1000].map((t) => sample(t, 0n, 0n, { hostId: host, connections: 10 }))));
  assert.deepEqual([agents.records[0]!.numPolls, agents.records[0]!.averageNumConnections], [2, 20]);
});

test('a sample at exactly the hour bills the hour it closes', () => {
  const steps = timeline([create(H - 3_600_000)]);
  assert.equal(rollupHour(steps, H, [sample(H + 3_600_000, 9n)]).records[0].bytesIn, 9n);
});

test('the hours of a load balancer run from its creation hour through its deletion hour', () => {
  const steps = timeline([create(min(30)), ev('DELETE_LOADBALANCER', min(150))]);
  assert.deepEqual(liveHours(steps, H - 7_200_000, H + 10 * 3_600_000), [H, H + 3_600_000, H + 7_200_000]);
});

test('conservation and order independence: any events and samples, bytes in = bytes out, whatever the arrival order', () => {
  const types: EventType[] = ['SSL_ONLY_ON', 'SSL_MIXED_ON', 'SSL_OFF', 'SUSPEND_LOADBALANCER', 'UNSUSPEND_LOADBALANCER', 'CREATE_VIRTUAL_IP'];
  fc.assert(fc.property(
    fc.array(fc.record({ type: fc.constantFrom(...types), minute: fc.integer({ min: 0, max: 59 }) }), { maxLength: 8 }),
    fc.array(fc.record({ minute: fc.integer({ min: 1, max: 60 }), bytes: fc.bigInt({ min: 0n, max: 10n ** 12n }) }), { maxLength: 30 }),
    fc.integer({ min: 0, max: 1000 }),
    (evs, samples, seed) => {
      const events = [create(H - 3_600_000), ...evs.map((e, i) => ({ ...ev(e.type, min(e.minute), e.type === 'CREATE_VIRTUAL_IP' ? { virtualIps: [vip(1), vip(i + 2)] } : undefined), id: `p${i}` }))];
      const shuffled = [...events].sort((a, b) => ((a.id.charCodeAt(1) * seed) % 7) - ((b.id.charCodeAt(1) * seed) % 7));
      const s = samples.map((x) => sample(min(x.minute), x.bytes));
      const a = rollupHour(timeline(events), H, s);
      const b = rollupHour(timeline(shuffled), H, [...s].reverse());
      assert.deepEqual(a.records.map((r) => ({ ...r })), b.records.map((r) => ({ ...r })));
      const total = a.records.reduce((t, r) => t + r.bytesIn, 0n);
      assert.equal(total, s.reduce((t, x) => t + x.bytesIn, 0n));
    },
  ), { numRuns: 300 });
});

test('the SUSPENDED_LOADBALANCER event suspends too: its record opens, later hours carry it', () => {
  const steps = timeline([create(H - 7_200_000), ev('SUSPENDED_LOADBALANCER', min(20))]);
  assert.deepEqual(summary(rollupHour(steps, H, [sample(min(20), 70n)])), [
    { start: 0, end: 20, in: 70n, type: undefined, ssl: 'OFF', vips: 1, polls: 1 },
    { start: 20, end: 60, in: 0n, type: 'SUSPENDED_LOADBALANCER', ssl: 'OFF', vips: 1, polls: 0 },
  ]);
  assert.deepEqual(summary(rollupHour(steps, H + 3_600_000, [])).map((r) => [r.start, r.type, r.in]), [[60, 'SUSPENDED_LOADBALANCER', 0n]]);
});

test('midnight: the 23:00 hour ends at 00:00 of the next day, which takes the poll made at 00:00 exactly', () => {
  const lateEvening = Date.UTC(2026, 10, 22, 23);
  const midnight = Date.UTC(2026, 10, 23, 0);
  const steps = timeline([create(lateEvening - 3_600_000)]);
  const samples = [sample(lateEvening + 30 * 60_000, 5n), sample(midnight, 7n), sample(midnight + 1000, 11n)];
  const evening = rollupHour(steps, lateEvening, samples.filter((s) => s.timeMs > lateEvening && s.timeMs <= midnight)).records;
  const night = rollupHour(steps, midnight, samples.filter((s) => s.timeMs > midnight)).records;
  assert.deepEqual(evening.map((r) => [new Date(r.startMs).toISOString(), new Date(r.endMs).toISOString(), r.bytesIn]), [['2026-11-22T23:00:00.000Z', '2026-11-23T00:00:00.000Z', 12n]]);
  assert.deepEqual(night.map((r) => [new Date(r.startMs).toISOString(), r.bytesIn]), [['2026-11-23T00:00:00.000Z', 11n]]);
});

test('DST in the display zone: hours stay UTC hours; the repeated local hour prints twice with its offset', () => {
  // 2026-11-01 07:00Z: Chicago falls back from 02:00 CDT to 01:00 CST.
  const chicago = timePrinter('America/Chicago');
  const steps = timeline([create(Date.UTC(2026, 10, 1, 0))]);
  const starts = [5, 6, 7, 8].flatMap((h) => rollupHour(steps, Date.UTC(2026, 10, 1, h), []).records)
    .map((r) => `${chicago.print(r.startMs)} ${(r.endMs - r.startMs) / 60_000}m`);
  assert.deepEqual(starts, [
    '2026-11-01T00:00:00-05:00 60m', '2026-11-01T01:00:00-05:00 60m', '2026-11-01T01:00:00-06:00 60m', '2026-11-01T02:00:00-06:00 60m',
  ]);
});

test('a quiet hour made from sample totals is the record made from the samples, and an hour with an event is not quiet', () => {
  const types: EventType[] = ['SSL_ONLY_ON', 'SUSPEND_LOADBALANCER', 'UNSUSPEND_LOADBALANCER', 'DELETE_LOADBALANCER'];
  fc.assert(fc.property(
    fc.array(fc.record({ type: fc.constantFrom(...types), hoursBefore: fc.integer({ min: 1, max: 5 }) }), { maxLength: 4 }),
    fc.array(fc.record({
      minute: fc.integer({ min: 1, max: 60 }), bytes: fc.bigInt({ min: 0n, max: 2n ** 62n }), connections: fc.nat(500),
      host: fc.integer({ min: 1, max: 3 }), hold: fc.constantFrom<StoredReading['hold']>('NONE', 'NONE', 'CEILING', 'LATE'),
    }), { maxLength: 24 }),
    (evs, samples) => {
      const steps = timeline([create(H - 6 * 3_600_000), ...evs.map((e, i) => ({ ...ev(e.type, H - e.hoursBefore * 3_600_000 + i), id: `q${i}` }))]);
      assert.equal(isQuietHour(steps, H), true);
      const s = samples.map((x) => sample(min(x.minute), x.bytes, x.bytes / 3n, { connections: x.connections, hostId: x.host, hold: x.hold }));
      const life = lifeSpanOf(steps);
      assert.deepEqual(rollupQuietHour(steps, H, totalsOf(s.map((x) => ({ reading: x, ...decideReading(x, life) })))), rollupHour(steps, H, s).records);
    },
  ), { numRuns: 200 });
  assert.equal(isQuietHour(timeline([create(min(0))]), H), false, 'created at the first instant of the hour');
  assert.equal(isQuietHour(timeline([create(H - 3_600_000), ev('SSL_OFF', min(59))]), H), false);
  assert.equal(isQuietHour(timeline([create(H - 3_600_000), ev('SSL_OFF', min(60))]), H), true, 'an event at the hour\'s end belongs to the next hour');
  assert.throws(() => rollupQuietHour(timeline([create(min(5))]), H, totalsOf([])));
});

test('totals: bytes of every reading taken, polls of the busiest host, summed means of the hosts', () => {
  const life = { createdMs: 0, deletedMs: undefined };
  const t = totalsOf([sample(min(5), 1n, 0n, { connections: 2 }), sample(min(5), 2n, 0n, { hostId: 2, connections: 3 }), sample(min(10), 4n)].map((x) => ({ reading: x, ...decideReading(x, life) })));
  assert.deepEqual(t, { bytesIn: 7n, bytesOut: 0n, bytesInSsl: 0n, bytesOutSsl: 0n, numPolls: 2, averageConnections: 1 + 3, averageConnectionsSsl: 0 });
});

test('bytes after a deletion that an operator released bill the last record, also when the DELETE is on the hour', () => {
  const released = (t: number, bytesIn: bigint) => sample(t, bytesIn, 0n, { operator: 'RELEASED' });
  // DELETE at 10:40: the last record is 10:00-10:40, in this hour.
  const within = rollupHour(timeline([create(H - 3_600_000), ev('DELETE_LOADBALANCER', min(40))]), H, [sample(min(30), 5n), released(min(50), 7n), released(min(130), 11n)]);
  assert.deepEqual(summary(within).map((r) => [r.start, r.end, r.in]), [[0, 40, 23n], [40, 40, 0n]]);
  // DELETE at 11:00 exactly: the last record is 10:00-11:00 (the closing one is the 11:00 hour's).
  const steps = timeline([create(H - 3_600_000), ev('DELETE_LOADBALANCER', min(60))]);
  assert.deepEqual(summary(rollupHour(steps, H, [sample(min(30), 5n), released(min(70), 7n)])).map((r) => [r.start, r.end, r.in]), [[0, 60, 12n]]);
  assert.deepEqual(summary(rollupHour(steps, H + 3_600_000, [])).map((r) => [r.start, r.end, r.in]), [[60, 60, 0n]]);
});
